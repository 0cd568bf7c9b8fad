package backbone

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	gojson "github.com/goccy/go-json"
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

	// Want, when set, picks the events Handle sees from their scalar fields alone (Properties,
	// Traits and Context are not decoded yet); the others are decoded no further. A consumer that
	// acts on a few kinds of event so does not pay for decoding all the others.
	Want func(ev *event.Event) bool

	// HandleLean, instead of Handle, receives every event with its scalar fields decoded and its
	// maps as JSON, for consumers that decode only what they use: decoding the maps is most of
	// the cost of decoding an event.
	HandleLean func(ctx context.Context, evs []Lean) error
}

// Lean is an event as HandleLean receives it. Mind that l.Event is the embedded event: its name
// is l.Event.Event.
type Lean struct {
	event.Event                                 // Properties, Traits and Context are nil
	Properties, Traits, Context json.RawMessage // as on the stream; empty when absent
	JSON                        json.RawMessage // the whole event, as on the stream
}

var consumerName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

const (
	maxPending     = 64 // stream messages (each a batch of events) in flight per consumer
	gatherMessages = 32 // stream messages gathered into one Handle call when they are already waiting
)

// consume delivers the stream to c until ctx is cancelled. Fetching and decoding the next batch
// overlaps with handling the current one. A failed batch is retried in place with backoff, so a
// consumer sees events in stream order; a batch in hand when ctx is cancelled is finished first.
func (b *Backbone) consume(ctx context.Context, c Consumer) error {
	if !consumerName.MatchString(c.Name) {
		return fmt.Errorf("consumer name %q: use 1-64 letters, digits, - or _", c.Name)
	}
	js := b.stream.JetStream()
	cons, err := js.CreateOrUpdateConsumer(ctx, stream.Name, jetstream.ConsumerConfig{
		Durable:       c.Name,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.ackWait,
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

	batches := make(chan batch, 1)
	go b.fetch(ctx, c, it, batches)

	// The handler runs on a context that outlives shutdown, so the batch in hand completes.
	hctx := context.WithoutCancel(ctx)
	for bt := range batches {
		working := b.keepAlive(bt.msgs)
		for failures := 1; ; failures++ {
			err := b.handle(hctx, c, bt)
			if err == nil {
				break
			}
			b.m.failures.WithLabelValues(c.Name).Inc()
			delay := backoff(failures)
			b.log.Error("consumer failed, will retry", "consumer", c.Name, "events", bt.n, "retry_in", delay, "err", err)
			if !sleep(ctx, delay) {
				working()
				for _, m := range bt.msgs {
					m.Nak()
				}
				return nil
			}
		}
		working()
		for _, m := range bt.msgs {
			if err := m.Ack(); err != nil {
				b.log.Warn("acking", "consumer", c.Name, "err", err)
			}
		}
	}
	return nil
}

// keepAlive tells the stream every AckWait/3 that msgs are still being worked on, so a slow or
// retried batch is not redelivered to another node, until the returned stop is called.
func (b *Backbone) keepAlive(msgs []jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(b.ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					m.InProgress()
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// batch is what one Handle or HandleLean call receives: the events of one or more stream
// messages.
type batch struct {
	msgs  []jetstream.Msg
	evs   []event.Event // for Handle
	leans []Lean        // for HandleLean
	n     int           // events in msgs, wanted or not
	last  time.Time     // when the last one was received
}

// fetch gathers stream messages that are already waiting into batches, decodes them and sends them
// to out until the iterator stops; then it closes out.
func (b *Backbone) fetch(ctx context.Context, c Consumer, it jetstream.MessagesContext, out chan<- batch) {
	name := c.Name
	defer close(out)
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return
			}
			b.log.Warn("consumer fetch", "consumer", name, "err", err)
			continue
		}
		bt := batch{msgs: []jetstream.Msg{msg}}
		for len(bt.msgs) < gatherMessages {
			m, err := it.Next(jetstream.NextMaxWait(time.Millisecond))
			if err != nil {
				break
			}
			bt.msgs = append(bt.msgs, m)
		}
		good := bt.msgs[:0]
		for _, m := range bt.msgs {
			shared, seq := b.shared, uint64(0)
			if meta, err := m.Metadata(); err == nil {
				seq = meta.Sequence.Stream
			} else {
				shared = nil // without its sequence, the message is decoded for this consumer alone
			}
			if err := bt.decode(seq, m.Data(), c, shared); err != nil {
				// A message that is not a batch of events can never succeed: keep it out of the way.
				b.log.Error("dropping malformed stream message", "consumer", name, "err", err)
				m.Term()
				continue
			}
			good = append(good, m)
		}
		bt.msgs = good
		if len(bt.msgs) > 0 {
			out <- bt
		}
	}
}

// decode appends the events of one stream message (a JSON array of events) in the form c takes.
// Stream messages are JSON that Append or the relay wrote, so they are decoded with go-json, which
// takes a third of the time encoding/json does (BenchmarkDecode). The scalar fields, which
// HandleLean and Want consumers read, are decoded once for all the consumers of the process
// (shared); the full events a Handle consumer wants are decoded by each.
func (bt *batch) decode(seq uint64, data []byte, c Consumer, shared *sharedDecoding) error {
	// Nothing of a message joins the batch unless all of it decodes: a malformed message is
	// dropped whole.
	var evs []event.Event
	var leans []Lean
	if c.Want == nil && c.HandleLean == nil {
		raws, err := splitArray(data)
		if err != nil {
			return err
		}
		for i, r := range raws {
			var ev event.Event
			if err := gojson.Unmarshal(r, &ev); err != nil {
				return fmt.Errorf("event %d: %w", i, err)
			}
			evs = append(evs, ev)
		}
		bt.evs = append(bt.evs, evs...)
		bt.n += len(raws)
		if len(evs) > 0 {
			bt.last = evs[len(evs)-1].ReceivedAt
		}
		return nil
	}
	raws, wires, err := shared.wires(c.Name, seq, data)
	if err != nil {
		return err
	}
	for i, r := range raws {
		l := &wires[i]
		switch {
		case c.HandleLean != nil:
			leans = append(leans, l.lean(r))
		case c.Want(&l.Event):
			var ev event.Event
			if err := gojson.Unmarshal(r, &ev); err != nil {
				return fmt.Errorf("event %d: %w", i, err)
			}
			evs = append(evs, ev)
		}
	}
	bt.evs, bt.leans = append(bt.evs, evs...), append(bt.leans, leans...)
	bt.n += len(raws)
	if len(wires) > 0 {
		bt.last = wires[len(wires)-1].ReceivedAt
	}
	return nil
}

// leanWire decodes an event's scalar fields and keeps its maps as JSON. Its embedded Event's own
// map fields are shadowed, so they are never decoded.
type leanWire struct {
	event.Event
	Properties json.RawMessage `json:"properties"`
	Traits     json.RawMessage `json:"traits"`
	Context    json.RawMessage `json:"context"`
}

func (l *leanWire) lean(raw json.RawMessage) Lean {
	return Lean{Event: l.Event, Properties: l.Properties, Traits: l.Traits, Context: l.Context, JSON: raw}
}

func (b *Backbone) handle(ctx context.Context, c Consumer, bt batch) (err error) {
	if bt.n == 0 {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	switch {
	case c.HandleLean != nil:
		err = c.HandleLean(ctx, bt.leans)
	case len(bt.evs) > 0:
		err = c.Handle(ctx, bt.evs)
	}
	if err != nil {
		return err
	}
	b.m.consumed.WithLabelValues(c.Name).Add(float64(bt.n))
	b.m.lagMillis.WithLabelValues(c.Name).Set(b.now().Sub(bt.last).Seconds())
	return nil
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
