package backbone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/stream"
)

// Deps are what the backbone needs.
type Deps struct {
	DB      *db.DB         // the main database: outbox, consumer bookkeeping, leases
	LogDB   *db.DB         // the event log database; may be the same as DB
	Stream  *stream.Stream // nil for processes that only write to the outbox (the CLI)
	Log     *slog.Logger
	Metrics prometheus.Registerer // may be nil
	Now     func() time.Time
	// AckWait is how long the stream waits for a consumer's acknowledgement before it redelivers,
	// e.g. after the node handling a batch died; DefaultAckWait when zero.
	AckWait time.Duration
}

// DefaultAckWait is the redelivery delay of a batch whose consumer went silent. While a batch is
// being handled (or retried) its consumer tells the stream every AckWait/3 that it is working.
const DefaultAckWait = 10 * time.Second

// Backbone ties the outbox, the stream, the event log and the registered consumers together.
type Backbone struct {
	db, logDB *db.DB
	stream    *stream.Stream
	outbox    *Outbox
	log       *slog.Logger
	now       func() time.Time
	node      string // lease holder name of this process
	m         *metrics
	ackWait   time.Duration

	mu        sync.Mutex
	consumers []Consumer
	running   bool
	shared    *sharedDecoding // set by Run: the consumers' decoding of stream messages, done once

	// afterPublish, when set by a test, runs after the relay published a batch and before it
	// deletes the rows from the outbox: the place a crash would cause a redelivery.
	afterPublish func()
}

// New returns a backbone. Register consumers, then call Run on worker nodes.
func New(d Deps) *Backbone {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.LogDB == nil {
		d.LogDB = d.DB
	}
	if d.AckWait == 0 {
		d.AckWait = DefaultAckWait
	}
	host, _ := os.Hostname()
	b := &Backbone{
		db: d.DB, logDB: d.LogDB, stream: d.Stream, outbox: NewOutbox(d.DB), log: d.Log, now: d.Now,
		node: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), id.Secret(5)),
		m:    newMetrics(d.Metrics), ackWait: d.AckWait,
	}
	b.consumers = append(b.consumers, b.eventLogConsumer())
	return b
}

// Outbox returns the outbox through which domain parts commit events with their changes.
func (b *Backbone) Outbox() *Outbox { return b.outbox }

// Register adds a durable consumer. Call it before Run.
func (b *Backbone) Register(c Consumer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running {
		panic("backbone: Register called after Run")
	}
	b.consumers = append(b.consumers, c)
}

// Run runs the outbox relay, every registered consumer and the janitor until ctx is cancelled,
// then lets each finish the batch in hand. It returns the first error that stopped a component.
func (b *Backbone) Run(ctx context.Context) error {
	if b.stream == nil {
		return errors.New("backbone: Run needs a stream")
	}
	b.mu.Lock()
	b.running = true
	consumers := append([]Consumer(nil), b.consumers...)
	var lean []string
	for _, c := range consumers {
		if c.Want != nil || c.HandleLean != nil {
			lean = append(lean, c.Name)
		}
	}
	b.shared = newSharedDecoding(lean)
	b.mu.Unlock()

	var wg sync.WaitGroup
	errc := make(chan error, len(consumers)+2)
	start := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					b.log.Error("backbone component panicked", "component", name, "panic", p, "stack", string(debug.Stack()))
					errc <- fmt.Errorf("%s panicked: %v", name, p)
				}
			}()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	start("outbox relay", b.relay)
	start("janitor", b.janitor)
	for _, c := range consumers {
		start("consumer "+c.Name, func(ctx context.Context) error { return b.consume(ctx, c) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case err := <-errc:
		return err
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// janitor prunes bookkeeping that outlived its use, hourly.
func (b *Backbone) janitor(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		// Consumers only need to remember events the stream could still redeliver.
		cutoff := db.Now(b.now().Add(-8 * 24 * time.Hour))
		if _, err := b.db.W.ExecContext(ctx, `DELETE FROM consumer_seen WHERE seen_at < $1`, cutoff); err != nil && ctx.Err() == nil {
			b.log.Warn("pruning consumer_seen", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
