package badges

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Service)(nil)

// awardExport is a badge the subject holds or held.
type awardExport struct {
	MemberID  string     `json:"member_id"`
	Badge     string     `json:"badge"`
	Name      string     `json:"name"`
	SpaceID   string     `json:"space_id"`
	Reason    string     `json:"reason"`
	AwardedAt time.Time  `json:"awarded_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// ExportSubject returns the badges the subject holds, and those revoked.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.MemberIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.MemberIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT a.member_id, b.slug, b.name, a.space_id, a.reason, a.awarded_at, a.revoked_at
		FROM badge_awards a JOIN badges b ON b.id = a.badge_id WHERE a.member_id `+in+` ORDER BY a.awarded_at`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting badges: %w", err)
	}
	defer rows.Close()
	out := []awardExport{}
	for rows.Next() {
		var a awardExport
		var at int64
		var revoked sql.NullInt64
		if err := rows.Scan(&a.MemberID, &a.Badge, &a.Name, &a.SpaceID, &a.Reason, &at, &revoked); err != nil {
			return nil, err
		}
		a.AwardedAt = db.Time(at)
		if revoked.Valid {
			t := db.Time(revoked.Int64)
			a.RevokedAt = &t
		}
		out = append(out, a)
	}
	return []dsr.Table{{Name: "badges", Rows: out}}, rows.Err()
}

// EraseSubject deletes the subject's badges; awards they gave or revoked as staff name the
// tombstone.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.MemberIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.MemberIDs, 1)
	if _, err := tx.ExecContext(ctx, `DELETE FROM badge_awards WHERE member_id `+in, args...); err != nil {
		return fmt.Errorf("erasing badges: %w", err)
	}
	for _, m := range e.MemberIDs {
		for _, q := range []string{`UPDATE badge_awards SET awarded_by = $2 WHERE awarded_by = $1`, `UPDATE badge_awards SET revoked_by = $2 WHERE revoked_by = $1`} {
			if _, err := tx.ExecContext(ctx, q, m, e.Tombstone); err != nil {
				return fmt.Errorf("erasing badges: %w", err)
			}
		}
	}
	return nil
}
