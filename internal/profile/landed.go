package profile

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
)

// How long a consumer that runs beside the profile consumer waits for events to land on
// profiles: LandWait per batch; LandGiveUp is the age after which an event that never landed (it
// carried no identifier the graph could place) is not waited for.
const (
	LandWait   = 3 * time.Second
	LandGiveUp = 2 * time.Minute
)

// AwaitLanded reads the profile_events rows of the events pending (message id → received at) as
// they land, calling scan for each row of the columns cols (message_id first, then what the
// caller reads), and waits up to LandWait for the ones still missing. Events older than
// LandGiveUp are not waited for; younger ones still missing then are an error, so that the
// caller's batch is retried. pending is emptied.
func AwaitLanded(ctx context.Context, d *db.DB, now func() time.Time, pending map[string]time.Time, cols string, scan func(rows *sql.Rows) (messageID string, err error)) error {
	deadline := time.Now().Add(LandWait)
	for len(pending) > 0 {
		msgs := make([]string, 0, len(pending))
		for m := range pending {
			msgs = append(msgs, m)
		}
		for chunk := range slices.Chunk(msgs, 500) {
			in, args := db.InList(chunk, 1)
			rows, err := d.R.QueryContext(ctx, `SELECT `+cols+` FROM profile_events WHERE message_id `+in, args...)
			if err != nil {
				return fmt.Errorf("reading events on profiles: %w", err)
			}
			for rows.Next() {
				m, err := scan(rows)
				if err != nil {
					rows.Close()
					return err
				}
				delete(pending, m)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		t := now()
		for m, at := range pending {
			if t.Sub(at) > LandGiveUp {
				delete(pending, m)
			}
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d events are not on profiles yet", len(pending))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
