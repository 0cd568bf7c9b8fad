package backbone

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/event"
)

// benchEvents makes n realistic track events (about 400 bytes of JSON each).
func benchEvents(n int) []event.Event {
	evs := make([]event.Event, n)
	now := time.Now()
	for i := range evs {
		e := event.New(event.Track, "Post Created", event.SourceCommunity, now)
		e.UserID = "01JD8Z3M6Q0000000000000000"
		e.Properties = map[string]any{"post_id": "01JD8Z3M6Q0000000000000001", "space": "product-questions", "title_length": 42, "language": "ja"}
		e.Context = map[string]any{"ip": "203.0.113.7", "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)", "locale": "ja-JP"}
		evs[i] = e
	}
	return evs
}

const benchBatch = 500

// BenchmarkAppend measures events per second from Append (durable on the stream) until every event
// is in the event log, with four concurrent producers sending batches of benchBatch.
//
//	go test -run '^$' -bench Append -benchtime 200000x ./internal/backbone/
func BenchmarkAppend(b *testing.B) {
	for _, e := range dbtest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			w, stop := benchWorld(b, e)
			defer w.close()
			defer stop()
			evs := benchEvents(b.N)
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			produce(b.N, func(lo, hi int) {
				if err := w.bb.Append(ctx, evs[lo:hi]...); err != nil {
					b.Error(err)
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appended/s")
			waitForLog(b, w, b.N)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkOutbox measures events per second from a committed outbox transaction (batches of
// benchBatch events) through the relay and the stream until every event is in the event log.
//
//	go test -run '^$' -bench Outbox -benchtime 200000x ./internal/backbone/
func BenchmarkOutbox(b *testing.B) {
	for _, e := range dbtest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			w, stop := benchWorld(b, e)
			defer w.close()
			defer stop()
			evs := benchEvents(b.N)
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			produce(b.N, func(lo, hi int) {
				err := w.bb.Outbox().Tx(ctx, func(tx *sql.Tx) error { return w.bb.Outbox().Emit(ctx, tx, evs[lo:hi]...) })
				if err != nil {
					b.Error(err)
				}
			})
			waitForLog(b, w, b.N)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

func benchWorld(b *testing.B, e db.Engine) (*world, func()) {
	dir, url := b.TempDir(), ""
	if e == db.Postgres {
		url = dbtest.PostgresURL(b)
	}
	w := open(b, dir, url, true)
	// Only the event log consumer: the two test consumers would measure the test's own table.
	w.bb = New(Deps{DB: w.main, LogDB: w.log, Stream: w.stream})
	return w, w.run(b)
}

// produce splits n events into batches and hands them to four concurrent producers.
func produce(n int, send func(lo, hi int)) {
	batches := make(chan [2]int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range batches {
				send(r[0], r[1])
			}
		}()
	}
	for lo := 0; lo < n; lo += benchBatch {
		batches <- [2]int{lo, min(lo+benchBatch, n)}
	}
	close(batches)
	wg.Wait()
}

func waitForLog(b *testing.B, w *world, n int) {
	deadline := time.Now().Add(10 * time.Minute)
	// MAX(seq) is one index probe, where COUNT(*) would scan the log; the benchmark has no
	// duplicate events, so it equals the number of rows.
	for count(b, w.log, `SELECT COALESCE(MAX(seq), 0) FROM events`) < n {
		if time.Now().After(deadline) {
			b.Fatal("event log did not catch up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
