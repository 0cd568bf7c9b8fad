package backbone

import (
	"context"
	"errors"
	"fmt"

	gojson "github.com/goccy/go-json"

	"github.com/kizuna-community/kizuna/internal/event"
)

// Append puts events straight on the stream, for sources with no domain change to commit (the
// tracking API, imports). It returns once the stream has stored them durably, so a caller may
// acknowledge its client then. Every event must be valid; none is appended otherwise.
func (b *Backbone) Append(ctx context.Context, evs ...event.Event) error {
	if b.stream == nil {
		return errors.New("backbone: Append needs a stream")
	}
	payloads := make([]string, len(evs))
	for i := range evs {
		if err := evs[i].Validate(); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
		p, err := gojson.Marshal(&evs[i]) // as encoding/json does, in two thirds of the time

		if err != nil {
			return fmt.Errorf("encoding event %s: %w", evs[i].MessageID, err)
		}
		payloads[i] = string(p)
	}
	if err := b.publishJSON(ctx, payloads, nil); err != nil {
		return err
	}
	b.m.appended.Add(float64(len(evs)))
	return nil
}
