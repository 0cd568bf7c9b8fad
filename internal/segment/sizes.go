package segment

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
)

// sizeRetention is how long the size history of a segment is kept.
const sizeRetention = 400 * 24 * time.Hour

// Size is the member count of a segment at a time: the last full recomputation in that hour.
type Size struct {
	At    time.Time `json:"at"`
	Count int64     `json:"count"`
}

// recordSize writes count as the size of segmentID in the hour of now, in the recomputation's
// transaction, and prunes the points older than sizeRetention. One row an hour bounds the
// history to under 10,000 points a segment however often it is recomputed.
func (s *Service) recordSize(ctx context.Context, tx *sql.Tx, segmentID string, count int64, now time.Time) error {
	hour := db.Now(now.UTC().Truncate(time.Hour))
	if _, err := tx.ExecContext(ctx, `INSERT INTO segment_sizes (segment_id, at, count) VALUES ($1, $2, $3)
		ON CONFLICT (segment_id, at) DO UPDATE SET count = excluded.count`, segmentID, hour, count); err != nil {
		return fmt.Errorf("recording the size of segment %s: %w", segmentID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM segment_sizes WHERE segment_id = $1 AND at < $2`,
		segmentID, db.Now(now.Add(-sizeRetention))); err != nil {
		return fmt.Errorf("pruning the sizes of segment %s: %w", segmentID, err)
	}
	return nil
}

// Sizes returns the size history of segmentID since since, oldest first.
func (s *Service) Sizes(ctx context.Context, p accounts.Principal, segmentID string, since time.Time) ([]Size, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	if err := s.exists(ctx, segmentID); err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT at, count FROM segment_sizes WHERE segment_id = $1 AND at >= $2 ORDER BY at`,
		segmentID, db.Now(since))
	if err != nil {
		return nil, fmt.Errorf("reading the sizes of segment %s: %w", segmentID, err)
	}
	defer rows.Close()
	out := []Size{}
	for rows.Next() {
		var at, n int64
		if err := rows.Scan(&at, &n); err != nil {
			return nil, err
		}
		out = append(out, Size{At: db.Time(at), Count: n})
	}
	return out, rows.Err()
}
