package ingest

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
)

// SeenRetention is how long a source's message ids are kept for dedupe. Prune drops older ones;
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
	g.queue = append(g.queue, p)
	lead := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !lead {
		t := <-p.turn
		if !t.lead {
			return t.err
		}
	}
	// This request leads: it commits every request queued so far (its own among them), hands the
	// lead to the first request queued after them, and returns with its own result.
	g.mu.Lock()
	n, events := 0, 0
	for n < len(g.queue) && (n == 0 || events+len(g.queue[n].evs) <= maxGroupEvents) {
		events += len(g.queue[n].evs)
		n++
	}
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	err := i.commitGroup(ctx, batch)

	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].turn <- groupTurn{lead: true}
	} else {
		g.busy = false
		g.queue = nil
	}
	g.mu.Unlock()
	var mine error
	for _, q := range batch {
		if q == p {
			mine = err
			continue
		}
		q.turn <- groupTurn{err: err}
	}
	// A request that was not in its leader's group leads the next one; it cannot be p.
	return mine
}

// groupCommit is the queue of requests waiting to be committed together.
type groupCommit struct {
	mu    sync.Mutex
	busy  bool // a leader is committing; new requests queue and wait for their turn
	queue []*pending
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
	// Rows go in (source, message id) order, so two transactions sharing ids lock them in the same
	// order and never deadlock on PostgreSQL.
	slices.SortFunc(rows, func(a, b row) int {
		if c := strings.Compare(a.source, b.source); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return i.db.Tx(ctx, func(tx *sql.Tx) error {
		fresh := make(map[seenKey]bool, len(rows))
		args := make([]any, 0, 3*min(len(rows), seenChunk))
		for start := 0; start < len(rows); start += seenChunk {
			chunk := rows[start:min(start+seenChunk, len(rows))]
			args = args[:0]
			for _, r := range chunk {
				args = append(args, r.source, r.id, db.Now(r.at))
			}
			res, err := tx.QueryContext(ctx, `INSERT INTO seen_messages (source_id, message_id, at) VALUES `+
				i.db.Engine.Values(len(chunk), 3)+` ON CONFLICT DO NOTHING RETURNING source_id, message_id`, args...)
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
	res, err := i.db.W.ExecContext(ctx, `DELETE FROM seen_messages WHERE at < $1`, db.Now(i.now().Add(-SeenRetention)))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
