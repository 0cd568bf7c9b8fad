package backbone

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
)

// EventLogConsumer is the durable name of the consumer that writes the event log.
const EventLogConsumer = "event-log"

// eventLogConsumer appends every event to the event log, once: the unique message_id index turns a
// redelivery into a no-op.
func (b *Backbone) eventLogConsumer() Consumer {
	return Consumer{Name: EventLogConsumer, Handle: func(ctx context.Context, evs []event.Event) error {
		return b.logDB.Tx(ctx, func(tx *sql.Tx) error {
			for len(evs) > 0 {
				n := min(len(evs), maxInsertRows)
				if err := appendLog(ctx, tx, b.logDB.Engine, evs[:n]); err != nil {
					return err
				}
				evs = evs[n:]
			}
			return nil
		})
	}}
}

const logColumns = 10

func appendLog(ctx context.Context, tx *sql.Tx, engine db.Engine, evs []event.Event) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO events (message_id, type, event, user_id, anonymous_id, profile_id, source, ts, received_at, payload) VALUES `)
	args := make([]any, 0, len(evs)*logColumns)
	for i := range evs {
		e := &evs[i]
		payload, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encoding event %s: %w", e.MessageID, err)
		}
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		for j := 1; j <= logColumns; j++ {
			if j > 1 {
				q.WriteByte(',')
			}
			fmt.Fprintf(&q, "$%d", len(args)+j)
		}
		q.WriteByte(')')
		args = append(args, e.MessageID, e.Type, e.Event, e.UserID, e.AnonymousID, e.ProfileID, e.Source,
			db.Now(e.Timestamp), db.Now(e.ReceivedAt), string(payload))
	}
	q.WriteString(` ON CONFLICT (message_id) DO NOTHING`)
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("appending to event log: %w", err)
	}
	return nil
}
