package backbone

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/stream"
)

var _ dsr.Part = (*Backbone)(nil)

// ExportSubject exports nothing: the event log holds the events the profile part exports from
// the subject's timeline.
func (b *Backbone) ExportSubject(context.Context, dsr.Subject) ([]dsr.Table, error) { return nil, nil }

// EraseSubject puts the tombstone in place of the subject's ids in events still waiting in the
// outbox: by the time an erasure runs the relay has moved everything before it, so this only
// concerns events committed alongside it.
func (b *Backbone) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	for _, v := range e.IDs() {
		if err := db.Replace(ctx, tx, "outbox", "payload", v, e.Tombstone); err != nil {
			return err
		}
	}
	return nil
}

// EraseLog deletes the subject's events from the event log (those by their user ids or
// anonymous ids, or on their profiles), and puts the tombstone in place of their ids inside the
// events of other people that name them (an answer of theirs accepted, a message sent to them),
// in one transaction on the event log database. It scans the log, as erasures are rare.
//
// The stream itself keeps every event for its retention (7 days) in batches shared with other
// people's events, which cannot be rewritten one event at a time: they age out.
func (b *Backbone) EraseLog(ctx context.Context, e dsr.Erasure) error {
	users := append(slices.Clone(e.MemberIDs), e.Values("user_id")...)
	anons := e.Values("anonymous_id")
	return b.logDB.Tx(ctx, func(tx *sql.Tx) error {
		for _, c := range []struct {
			column string
			values []string
		}{{"user_id", users}, {"anonymous_id", anons}, {"profile_id", e.ProfileIDs}} {
			if len(c.values) == 0 {
				continue
			}
			in, args := db.InList(c.values, 1)
			if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE `+c.column+` `+in, args...); err != nil {
				return fmt.Errorf("erasing from the event log: %w", err)
			}
		}
		for _, v := range e.IDs() {
			if err := db.ReplaceJSON(ctx, tx, b.logDB.Engine, "events", "payload", v, e.Tombstone); err != nil {
				return err
			}
		}
		return nil
	})
}

// CaughtUp waits until every registered consumer except those named has handled every event
// that was on the stream when it was called, or ctx ends. A consumer that must act on what the
// others have stored (the privacy part erasing what they wrote about a person) calls it first.
// Consumers of other processes count too: positions are kept by the stream.
func (b *Backbone) CaughtUp(ctx context.Context, except ...string) error {
	if b.stream == nil {
		return errors.New("backbone: CaughtUp needs a stream")
	}
	st, err := b.stream.JetStream().Stream(ctx, stream.Name)
	if err != nil {
		return fmt.Errorf("reading stream %s: %w", stream.Name, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("reading stream %s: %w", stream.Name, err)
	}
	last := info.State.LastSeq
	b.mu.Lock()
	var names []string
	for _, c := range b.consumers {
		if !slices.Contains(except, c.Name) {
			names = append(names, c.Name)
		}
	}
	b.mu.Unlock()
	for _, name := range names {
		for {
			c, err := st.Consumer(ctx, name)
			if err == nil {
				var ci *jetstream.ConsumerInfo
				if ci, err = c.Info(ctx); err == nil && ci.AckFloor.Stream >= last {
					break
				}
			}
			if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				return fmt.Errorf("reading consumer %s: %w", name, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for consumer %s: %w", name, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}
