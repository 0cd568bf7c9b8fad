package identity

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Graph)(nil)

// identifierExport is one identifier of the subject's profile.
type identifierExport struct {
	ProfileID string `json:"profile_id"`
	Identifier
}

// ExportSubject returns the identifiers of the subject's profile family and the merges it took
// part in.
func (g *Graph) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.ProfileIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.ProfileIDs, 1)
	rows, err := g.db.R.QueryContext(ctx, `SELECT profile_id, type, value, first_seen, last_seen FROM identity_identifiers
		WHERE profile_id `+in+` ORDER BY type, value`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting identifiers: %w", err)
	}
	ids := []identifierExport{}
	for rows.Next() {
		var it identifierExport
		var first, last int64
		if err := rows.Scan(&it.ProfileID, &it.Type, &it.Value, &first, &last); err != nil {
			rows.Close()
			return nil, err
		}
		it.FirstSeen, it.LastSeen = db.Time(first), db.Time(last)
		ids = append(ids, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	merges := []Merge{}
	seen := map[string]bool{}
	for _, p := range sub.ProfileIDs {
		ms, err := g.Merges(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if !seen[m.ID] {
				seen[m.ID] = true
				merges = append(merges, m)
			}
		}
	}
	return []dsr.Table{{Name: "identifiers", Rows: ids}, {Name: "profile_merges", Rows: merges}}, nil
}

// EraseSubject deletes the subject's profiles, their identifiers and the records of the merges
// they took part in (which list identifiers that moved). Nothing stays that could link the
// person's addresses or ids to anything.
func (g *Graph) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.ProfileIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.ProfileIDs, 1)
	for _, q := range []string{
		`DELETE FROM identity_identifiers WHERE profile_id ` + in,
		`DELETE FROM identity_merges WHERE winner_id ` + in + ` OR loser_id ` + in,
		`UPDATE identity_profiles SET merged_into = NULL WHERE merged_into ` + in,
		`DELETE FROM identity_profiles WHERE id ` + in,
	} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("erasing profiles: %w", err)
		}
	}
	return nil
}
