package backbone

import (
	"context"
	"database/sql"
	"fmt"

	gojson "github.com/goccy/go-json"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
)

// Outbox commits events together with the domain change that caused them. The relay moves them
// from the outbox table to the stream after commit, also after a crash, so no event is lost between
// a database commit and the stream.
type Outbox struct {
	db   *db.DB
	wake chan struct{}
}

// NewOutbox returns the outbox of the main database d.
func NewOutbox(d *db.DB) *Outbox {
	return &Outbox{db: d, wake: make(chan struct{}, 1)}
}

// Tx runs fn in a transaction on the main database and, after a successful commit, wakes the relay.
// fn calls Emit with the same tx for the events the change produces.
func (o *Outbox) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := o.db.Tx(ctx, fn); err != nil {
		return err
	}
	o.Wake()
	return nil
}

// Wake tells the relay that committed events are waiting. It never blocks.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// maxInsertRows bounds one multi-row INSERT: SQLite allows 32,766 parameters, PostgreSQL 65,535.
const maxInsertRows = 1000

// Emit writes evs to the outbox inside tx. Each event must be valid.
func (o *Outbox) Emit(ctx context.Context, tx *sql.Tx, evs ...event.Event) error {
	for len(evs) > 0 {
		n := min(len(evs), maxInsertRows)
		if err := emitBatch(ctx, tx, o.db.Engine, evs[:n]); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

func emitBatch(ctx context.Context, tx *sql.Tx, engine db.Engine, evs []event.Event) error {
	args := make([]any, 0, len(evs)*3)
	for i := range evs {
		if err := evs[i].Validate(); err != nil {
			return fmt.Errorf("emitting %s event: %w", evs[i].Event, err)
		}
		payload, err := gojson.Marshal(&evs[i])
		if err != nil {
			return fmt.Errorf("encoding event %s: %w", evs[i].MessageID, err)
		}
		args = append(args, evs[i].MessageID, string(payload), db.Now(evs[i].ReceivedAt))
	}
	q := `INSERT INTO outbox (message_id, payload, created_at) VALUES ` + engine.Values(len(evs), 3)
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("writing outbox: %w", err)
	}
	return nil
}
