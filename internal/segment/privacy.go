package segment

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

// membershipRow is one segment a data subject is in, for their copy of their data.
type membershipRow struct {
	Segment   string `json:"segment"`
	ProfileID string `json:"profile_id"`
	EnteredAt string `json:"entered_at"`
}

// ExportSubject returns the segments the subject's profiles are in.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.ProfileIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.ProfileIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT g.name, m.profile_id, m.entered_at FROM segment_members m JOIN segments g ON g.id = m.segment_id
		WHERE m.profile_id `+in+` ORDER BY g.name, m.profile_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting segment memberships: %w", err)
	}
	defer rows.Close()
	out := []membershipRow{}
	for rows.Next() {
		var r membershipRow
		var at int64
		if err := rows.Scan(&r.Segment, &r.ProfileID, &at); err != nil {
			return nil, err
		}
		r.EnteredAt = db.Time(at).UTC().Format(TimeLayout)
		out = append(out, r)
	}
	return []dsr.Table{{Name: "segments", Rows: out}}, rows.Err()
}

// EraseSubject takes the subject's profiles out of every segment. No Segment Exited is sent: the
// profiles no longer exist, and the erasure is announced by its own event.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.ProfileIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.ProfileIDs, 1)
	if _, err := tx.ExecContext(ctx, `DELETE FROM segment_members WHERE profile_id `+in, args...); err != nil {
		return fmt.Errorf("erasing segment memberships: %w", err)
	}
	return nil
}
