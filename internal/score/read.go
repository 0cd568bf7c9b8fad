package score

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

// ProfileScore is a person's score under one model, as of now.
type ProfileScore struct {
	Name  string  `json:"name"`  // the model's
	Value float64 `json:"value"` // to two decimals, rounded down
	Level *string `json:"level"` // the highest threshold reached; null when none
}

// Of returns the scores of the person profileID belongs to — its root's whole merge family —
// under every model, by model id. A profile merged into another gets its root's scores.
func (s *Service) Of(ctx context.Context, p accounts.Principal, profileID string) (map[string]ProfileScore, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	_, family, err := s.identity.RootFamily(ctx, s.db.R, profileID)
	if err != nil {
		return nil, err
	}
	models, err := s.models(ctx, s.db.R, false)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := map[string]ProfileScore{}
	for i := range models {
		m := &models[i]
		v, err := familyValue(ctx, s.db.R, m, family, now)
		if err != nil {
			return nil, err
		}
		ps := ProfileScore{Name: m.Name, Value: shown(v)}
		if t, ok := m.Level(v); ok {
			ps.Level = &t.Name
		}
		out[m.ID] = ps
	}
	return out, nil
}

var _ dsr.Part = (*Service)(nil)

// scoreRow is one stored score in a data export.
type scoreRow struct {
	Model     string  `json:"model"`
	ProfileID string  `json:"profile_id"`
	Value     float64 `json:"value"`
	AsOf      string  `json:"as_of"`
}

// ExportSubject returns the subject's stored scores (as of their last change).
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.ProfileIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.ProfileIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT m.name, v.profile_id, v.value, v.as_of FROM score_values v JOIN score_models m ON m.id = v.model_id
		WHERE v.profile_id `+in+` ORDER BY m.name, v.profile_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting scores: %w", err)
	}
	defer rows.Close()
	out := []scoreRow{}
	for rows.Next() {
		var r scoreRow
		var at int64
		if err := rows.Scan(&r.Model, &r.ProfileID, &r.Value, &at); err != nil {
			return nil, err
		}
		r.AsOf = db.Time(at).UTC().Format("2006-01-02T15:04:05Z")
		out = append(out, r)
	}
	return []dsr.Table{{Name: "scores", Rows: out}}, rows.Err()
}

// EraseSubject deletes the subject's scores, cap windows, counted events and levels: a score is
// derived from the person's events, which the erasure removes too.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.ProfileIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.ProfileIDs, 1)
	for _, t := range []string{"score_values", "score_windows", "score_applied", "score_levels"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE profile_id `+in, args...); err != nil {
			return fmt.Errorf("erasing scores: %w", err)
		}
	}
	return nil
}

// Reached returns, per model id, how many people are at each of its thresholds (by name) as last
// announced: the highest threshold each has reached.
func (s *Service) Reached(ctx context.Context, p accounts.Principal) (map[string]map[string]int64, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	models, err := s.models(ctx, s.db.R, false)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT model_id, level, COUNT(*) FROM score_levels GROUP BY model_id, level`)
	if err != nil {
		return nil, fmt.Errorf("counting score levels: %w", err)
	}
	defer rows.Close()
	byID := map[string]*Model{}
	for i := range models {
		byID[models[i].ID] = &models[i]
	}
	out := map[string]map[string]int64{}
	for rows.Next() {
		var mid string
		var level float64
		var n int64
		if err := rows.Scan(&mid, &level, &n); err != nil {
			return nil, err
		}
		m := byID[mid]
		if m == nil {
			continue
		}
		t, ok := m.Level(level)
		if !ok {
			continue
		}
		if out[mid] == nil {
			out[mid] = map[string]int64{}
		}
		out[mid][t.Name] += n
	}
	return out, rows.Err()
}
