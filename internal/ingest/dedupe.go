package ingest

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"slices"
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

// store records the events' message ids and appends the ones not seen before, in that order but
// atomically: the ids are inserted in a transaction that commits only after Append has returned,
// so if Append fails (or the process dies first) nothing is recorded and the client's retry is
// accepted. The transaction holds the unique keys while Append runs, so a concurrent retry of the
// same call waits and is then dropped. The cost, on SQLite, is that its single writer is held for
// the stream's acknowledgement (a few ms). The work runs to its end even if the client goes away,
// so what is recorded matches what is on the stream.
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
	// Rows go in message id order, so two requests sharing ids lock them in the same order and
	// never deadlock on PostgreSQL.
	ids := make([]string, len(uniq))
	for n, ev := range uniq {
		ids[n] = ev.MessageID
	}
	slices.Sort(ids)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), appendTimeout)
	defer cancel()
	return i.db.Tx(ctx, func(tx *sql.Tx) error {
		fresh := make(map[string]bool, len(uniq))
		for start := 0; start < len(ids); start += seenChunk {
			chunk := ids[start:min(start+seenChunk, len(ids))]
			args := make([]any, 0, 3*len(chunk))
			for _, m := range chunk {
				args = append(args, sourceID, m, db.Now(now))
			}
			rows, err := tx.QueryContext(ctx, `INSERT INTO seen_messages (source_id, message_id, at) VALUES `+
				i.db.Engine.Values(len(chunk), 3)+` ON CONFLICT DO NOTHING RETURNING message_id`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var m string
				if err := rows.Scan(&m); err != nil {
					rows.Close()
					return err
				}
				fresh[m] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		out := uniq[:0]
		for _, ev := range uniq {
			if fresh[ev.MessageID] {
				out = append(out, ev)
			}
		}
		if dropped := len(evs) - len(out); dropped > 0 {
			i.log.DebugContext(ctx, "dropped repeated message ids", slog.String("source", sourceID), slog.Int("dropped", dropped))
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
