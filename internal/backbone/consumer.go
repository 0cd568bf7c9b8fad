package backbone

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/stream"
)

// Consumer is a durable subscriber to every event on the stream. Its position is kept by the
// stream under Name, so it resumes where it stopped. Delivery is at least once: Handle may see an
// event again after a crash or a failed batch, and must be idempotent on the event's MessageID
// (FirstTime helps consumers that write to the main database).
type Consumer struct {
	Name   string // durable name: letters, digits, - and _
	Handle func(ctx context.Context, evs []event.Event) error
}

var consumerName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

const (
	maxPending     = 64 // stream messages (each a batch of events) in flight per consumer
	gatherMessages = 32 // stream messages gathered into one Handle call when they are already waiting
)

// consume delivers the stream to c until ctx is cancelled. A failed batch is retried with backoff;
// a batch in hand when ctx is cancelled is finished and acknowledged first.
func (b *Backbone) consume(ctx context.Context, c Consumer) error {
	if !consumerName.MatchString(c.Name) {
		return fmt.Errorf("consumer name %q: use 1-64 letters, digits, - or _", c.Name)
	}
	js := b.stream.JetStream()
	cons, err := js.CreateOrUpdateConsumer(ctx, stream.Name, jetstream.ConsumerConfig{
		Durable:       c.Name,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       2 * time.Minute,
		MaxAckPending: maxPending * 4,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("creating consumer %s: %w", c.Name, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(maxPending))
	if err != nil {
		return fmt.Errorf("subscribing consumer %s: %w", c.Name, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()

	// The handler runs on a context that outlives shutdown, so the batch in hand completes.
	hctx := context.WithoutCancel(ctx)
	failures := 0
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			b.log.Warn("consumer fetch", "consumer", c.Name, "err", err)
			continue
		}
		msgs := []jetstream.Msg{msg}
		for len(msgs) < gatherMessages {
			m, err := it.Next(jetstream.NextMaxWait(time.Millisecond))
			if err != nil {
				break
			}
			msgs = append(msgs, m)
		}
		evs, bad := decodeBatch(msgs)
		for _, m := range bad {
			// A message that is not a batch of events can never succeed: keep it out of the way.
			b.log.Error("dropping malformed stream message", "consumer", c.Name, "subject", m.Subject())
			m.Term()
		}
		if err := b.handle(hctx, c, evs); err != nil {
			failures++
			b.m.failures.WithLabelValues(c.Name).Inc()
			delay := backoff(failures)
			b.log.Error("consumer failed, will retry", "consumer", c.Name, "events", len(evs), "retry_in", delay, "err", err)
			for _, m := range msgs {
				m.NakWithDelay(delay)
			}
			continue
		}
		failures = 0
		for _, m := range msgs {
			if err := m.Ack(); err != nil {
				b.log.Warn("acking", "consumer", c.Name, "err", err)
			}
		}
	}
}

func (b *Backbone) handle(ctx context.Context, c Consumer, evs []event.Event) (err error) {
	if len(evs) == 0 {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	if err := c.Handle(ctx, evs); err != nil {
		return err
	}
	b.m.consumed.WithLabelValues(c.Name).Add(float64(len(evs)))
	b.m.lagMillis.WithLabelValues(c.Name).Set(b.now().Sub(evs[len(evs)-1].ReceivedAt).Seconds())
	return nil
}

// decodeBatch decodes stream messages into events, returning the messages that are not batches.
func decodeBatch(msgs []jetstream.Msg) ([]event.Event, []jetstream.Msg) {
	var evs []event.Event
	var bad []jetstream.Msg
	for _, m := range msgs {
		var part []event.Event
		if err := json.Unmarshal(m.Data(), &part); err != nil {
			bad = append(bad, m)
			continue
		}
		evs = append(evs, part...)
	}
	return evs, bad
}

// backoff is the retry delay after n consecutive failures: 1s, 2s, 4s … up to 5 minutes.
func backoff(n int) time.Duration {
	d := time.Second << min(n-1, 9)
	return min(d, 5*time.Minute)
}

// FirstTime records, inside tx, that consumer has applied the event messageID and reports whether
// this is the first time. A consumer that writes its effect in the same tx applies each event
// exactly once even though the stream delivers at least once.
func FirstTime(ctx context.Context, tx *sql.Tx, consumer, messageID string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO consumer_seen (consumer, message_id, seen_at) VALUES ($1, $2, $3)
		ON CONFLICT (consumer, message_id) DO NOTHING`, consumer, messageID, db.Now(now))
	if err != nil {
		return false, fmt.Errorf("recording %s saw %s: %w", consumer, messageID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
