package backbone

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
)

// EventLogConsumer is the durable name of the consumer that writes the event log.
const EventLogConsumer = "event-log"

// eventLogConsumer appends every event to the event log, once: the unique message_id index turns a
// redelivery into a no-op.
func (b *Backbone) eventLogConsumer() Consumer {
	return Consumer{Name: EventLogConsumer, headersOnly: true, handleRaw: func(ctx context.Context, evs []event.Event, raws []json.RawMessage) error {
		return b.logDB.Tx(ctx, func(tx *sql.Tx) error {
			for len(evs) > 0 {
				n := min(len(evs), maxInsertRows)
				if err := appendLog(ctx, tx, b.logDB.Engine, evs[:n], raws[:n]); err != nil {
					return err
				}
				evs, raws = evs[n:], raws[n:]
			}
			return nil
		})
	}}
}

const logColumns = 10

// appendLog appends events with one multi-row INSERT. SQLite uses INSERT OR IGNORE, which unlike
// ON CONFLICT DO NOTHING needs no statement journal for a multi-row statement.
func appendLog(ctx context.Context, tx *sql.Tx, engine db.Engine, evs []event.Event, raws []json.RawMessage) error {
	args := make([]any, 0, len(evs)*logColumns)
	for i := range evs {
		e := &evs[i]
		args = append(args, e.MessageID, e.Type, e.Event, e.UserID, e.AnonymousID, e.ProfileID, e.Source,
			db.Now(e.Timestamp), db.Now(e.ReceivedAt), string(raws[i]))
	}
	verb := `INSERT`
	if engine == db.SQLite {
		verb = `INSERT OR IGNORE`
	}
	q := verb + ` INTO events (message_id, type, event, user_id, anonymous_id, profile_id, source, ts, received_at, payload) VALUES ` +
		engine.Values(len(evs), logColumns)
	if engine == db.Postgres {
		q += ` ON CONFLICT (message_id) DO NOTHING`
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("appending to event log: %w", err)
	}
	return nil
}
