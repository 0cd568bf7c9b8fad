package backbone

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/kizuna-community/kizuna/internal/db"
)

// EventLogConsumer is the durable name of the consumer that writes the event log.
const EventLogConsumer = "event-log"

// eventLogConsumer appends every event to the event log, once: the unique message_id index turns a
// redelivery into a no-op.
func (b *Backbone) eventLogConsumer() Consumer {
	return Consumer{Name: EventLogConsumer, HandleLean: func(ctx context.Context, evs []Lean) error {
		if b.logDB.Engine == db.Postgres {
			// COPY is several times cheaper than a multi-row INSERT but cannot skip duplicates. A
			// batch holds one only after a redelivery, which is rare: then the whole batch goes
			// through the INSERT that skips them.
			err := copyLog(ctx, b.logDB, evs)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != uniqueViolation {
				return err
			}
		}
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

// uniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const uniqueViolation = "23505"

var logColumnNames = []string{"message_id", "type", "event", "user_id", "anonymous_id", "profile_id", "source", "ts", "received_at", "payload"}

// copyLog appends events with one COPY, which is atomic: all rows or none.
func copyLog(ctx context.Context, d *db.DB, evs []Lean) error {
	conn, err := d.W.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		c := driverConn.(*stdlib.Conn).Conn()
		_, err := c.CopyFrom(ctx, pgx.Identifier{"events"}, logColumnNames, pgx.CopyFromSlice(len(evs), func(i int) ([]any, error) {
			e := &evs[i].Event
			return []any{e.MessageID, e.Type, e.Event, e.UserID, e.AnonymousID, e.ProfileID, e.Source,
				db.Now(e.Timestamp), db.Now(e.ReceivedAt), evs[i].JSON}, nil
		}))
		return err
	})
}

// appendLog appends events with one multi-row INSERT. SQLite uses INSERT OR IGNORE, which unlike
// ON CONFLICT DO NOTHING needs no statement journal for a multi-row statement.
func appendLog(ctx context.Context, tx *sql.Tx, engine db.Engine, evs []Lean) error {
	args := make([]any, 0, len(evs)*logColumns)
	for i := range evs {
		e := &evs[i].Event
		args = append(args, e.MessageID, e.Type, e.Event, e.UserID, e.AnonymousID, e.ProfileID, e.Source,
			db.Now(e.Timestamp), db.Now(e.ReceivedAt), string(evs[i].JSON))
	}
	verb := `INSERT`
	if engine == db.SQLite {
		verb = `INSERT OR IGNORE`
	}
	q := verb + ` INTO events (` + strings.Join(logColumnNames, ", ") + `) VALUES ` +
		engine.Values(len(evs), logColumns)
	if engine == db.Postgres {
		q += ` ON CONFLICT (message_id) DO NOTHING`
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("appending to event log: %w", err)
	}
	return nil
}
