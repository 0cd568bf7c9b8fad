package ingest

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
)

// SeenRetention is how long message ids are kept for dedupe. An id is one event whichever source
// sends it, as in Segment. Prune drops older ones;
// run it at least every 24 h so the window stays between 48 and 72 h, and so never under
// Segment's 24 h.
const SeenRetention = 48 * time.Hour

// seenChunk bounds the rows of one multi-row INSERT (3 parameters each).
const seenChunk = 500

// appendTimeout bounds recording and appending once a request has been accepted.
// On SQLite the database's single writer waits as long, so it is kept short.
const appendTimeout = 10 * time.Second

// maxGroupEvents bounds the events one group commit takes on, so a group's transaction and
// publish stay short while a backlog drains.
const maxGroupEvents = 5000

// store records the events' message ids and appends the ones not seen before, in that order but
// atomically: the ids are inserted in a transaction that commits only after Append has returned,
// so if Append fails (or the process dies first) nothing is recorded and the client's retry is
// accepted. The transaction holds the unique keys while Append runs, so a concurrent retry of the
// same call on another node waits and is then dropped.
//
// Concurrent calls are committed together (group commit): one transaction and one Append for all
// the requests waiting, so the database's writer is taken, and the stream's acknowledgement awaited,
// once per group rather than once per request. That is what lets SQLite's single writer keep up.
// A failed group fails every request in it, and each client's retry is accepted. The work runs to
// its end even if the client goes away, so what is recorded matches what is on the stream.
func (i *Ingest) store(ctx context.Context, sourceID string, evs []event.Event, now time.Time) error {
	if i.app == nil {
		return errors.New("ingest: no appender")
	}
	// Repeats within one request are dropped before the database sees them.
	seen := make(map[string]bool, len(evs))
	uniq := evs[:0]
	for _, ev := range evs {
		if !seen[ev.MessageID] {
			seen[ev.MessageID] = true
			uniq = append(uniq, ev)
		}
	}
	if len(uniq) == 0 {
		return nil
	}
	if dropped := len(evs) - len(uniq); dropped > 0 {
		i.log.DebugContext(ctx, "dropped repeated message ids", slog.String("source", sourceID), slog.Int("dropped", dropped))
	}
	ctx = context.WithoutCancel(ctx)
	p := &pending{sourceID: sourceID, evs: uniq, now: now, turn: make(chan groupTurn, 1)}
	g := &i.group
	g.mu.Lock()
	lead := g.leaders < i.maxLeaders()
	if lead {
		g.leaders++
	} else {
		g.queue = append(g.queue, p)
	}
	g.mu.Unlock()
	if !lead {
		t := <-p.turn
		if !t.lead {
			return t.err
		}
	}
	// This request leads: it commits itself with the requests queued behind it, hands the lead to
	// the first request still queued (which it takes off the queue, so no other leader takes it)
	// or gives it up, and returns with its own result.
	g.mu.Lock()
	n, events := 0, len(p.evs)
	for n < len(g.queue) && events+len(g.queue[n].evs) <= maxGroupEvents {
		events += len(g.queue[n].evs)
		n++
	}
	batch := append([]*pending{p}, g.queue[:n]...)
	g.queue = g.queue[n:]
	g.mu.Unlock()

	err := i.commitGroupSafely(ctx, batch)

	g.mu.Lock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		g.queue = g.queue[1:]
		next.turn <- groupTurn{lead: true}
	} else {
		g.leaders--
		g.queue = nil
	}
	g.mu.Unlock()
	for _, q := range batch[1:] {
		q.turn <- groupTurn{err: err}
	}
	return err
}

// maxLeaders is how many groups commit at once. SQLite has one writer, so one. PostgreSQL locks
// rows, not the database: a few groups overlap their round trips and the stream's acknowledgement,
// and since each inserts its ids in order, two groups sharing ids never deadlock; the later one
// waits for the earlier and then drops them.
func (i *Ingest) maxLeaders() int {
	if i.seen.Engine == db.Postgres {
		return 4
	}
	return 1
}

// commitGroupSafely is commitGroup with a panic turned into an error, so that the lead is always
// handed on: a leader that vanished would leave every later request waiting.
func (i *Ingest) commitGroupSafely(ctx context.Context, batch []*pending) (err error) {
	defer func() {
		if p := recover(); p != nil {
			i.log.ErrorContext(ctx, "group commit panicked", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("ingest: group commit panicked: %v", p)
		}
	}()
	return i.commitGroup(ctx, batch)
}

// groupCommit is the queue of requests waiting to be committed together.
type groupCommit struct {
	mu      sync.Mutex
	leaders int // groups being committed; when at maxLeaders, new requests queue and wait
	queue   []*pending
}

// pending is one request's new events, waiting for a group commit.
type pending struct {
	sourceID string
	evs      []event.Event // no message id twice
	now      time.Time
	turn     chan groupTurn
}

// groupTurn tells a queued request its result, or that it leads the next group.
type groupTurn struct {
	lead bool
	err  error
}

// seenKey is a message id of a source.
type seenKey struct{ source, id string }

// commitGroup records the message ids of the requests in batch and appends the events not seen
// before, in one transaction and one Append.
func (i *Ingest) commitGroup(ctx context.Context, batch []*pending) error {
	ctx, cancel := context.WithTimeout(ctx, appendTimeout)
	defer cancel()
	type row struct {
		seenKey
		at time.Time
	}
	var rows []row
	first := make(map[seenKey]bool)
	for _, p := range batch {
		for _, ev := range p.evs {
			k := seenKey{p.sourceID, ev.MessageID}
			if !first[k] {
				first[k] = true
				rows = append(rows, row{k, p.now})
			}
		}
	}
	// Rows go in message id order, so two transactions sharing ids lock them in the same order and
	// never deadlock on PostgreSQL.
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(strings.Compare(a.id, b.id), strings.Compare(a.source, b.source))
	})
	return i.seen.Tx(ctx, func(tx *sql.Tx) error {
		fresh := make(map[seenKey]bool, len(rows))
		args := make([]any, 0, 3*min(len(rows), seenChunk))
		for start := 0; start < len(rows); start += seenChunk {
			chunk := rows[start:min(start+seenChunk, len(rows))]
			args = args[:0]
			for _, r := range chunk {
				args = append(args, r.source, r.id, db.Now(r.at))
			}
			res, err := tx.QueryContext(ctx, `INSERT INTO seen_messages (source_id, message_id, at) VALUES `+
				i.seen.Engine.Values(len(chunk), 3)+` ON CONFLICT DO NOTHING RETURNING source_id, message_id`, args...)
			if err != nil {
				return err
			}
			for res.Next() {
				var k seenKey
				if err := res.Scan(&k.source, &k.id); err != nil {
					res.Close()
					return err
				}
				fresh[k] = true
			}
			res.Close()
			if err := res.Err(); err != nil {
				return err
			}
		}
		var out []event.Event
		for _, p := range batch {
			for _, ev := range p.evs {
				k := seenKey{p.sourceID, ev.MessageID}
				if fresh[k] {
					delete(fresh, k) // the same id in two requests of the group goes out once
					out = append(out, ev)
				}
			}
		}
		if dropped := len(rows) - len(out); dropped > 0 {
			i.log.DebugContext(ctx, "dropped message ids seen before", slog.Int("dropped", dropped))
		}
		if len(out) == 0 {
			return nil
		}
		return i.app.Append(ctx, out...)
	})
}

// Prune forgets message ids older than SeenRetention and returns how many it dropped. Run it
// hourly or so.
func (i *Ingest) Prune(ctx context.Context) (int64, error) {
	res, err := i.seen.W.ExecContext(ctx, `DELETE FROM seen_messages WHERE at < $1`, db.Now(i.now().Add(-SeenRetention)))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
