package score

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
)

// crossings compares the level last announced (prev, the value of the highest threshold
// reached; ok false when none) with value, and returns the Score Threshold Crossed events for
// root — up through each threshold now reached, lowest first, down through each no longer
// reached, highest first — and the new level.
func (m *Model) crossings(root string, prev float64, hadPrev bool, value float64, now time.Time) (level float64, hasLevel bool, evs []event.Event) {
	for _, t := range m.Thresholds {
		was := hadPrev && t.Value <= prev
		is := value >= t.Value
		if is && !was {
			evs = append(evs, m.crossedEvent(root, t, value, "up", now))
		}
		if is {
			level, hasLevel = t.Value, true
		}
	}
	for i := len(m.Thresholds) - 1; i >= 0; i-- {
		t := m.Thresholds[i]
		if hadPrev && t.Value <= prev && value < t.Value {
			evs = append(evs, m.crossedEvent(root, t, value, "down", now))
		}
	}
	return level, hasLevel, evs
}

func (m *Model) crossedEvent(root string, t Threshold, value float64, direction string, now time.Time) event.Event {
	ev := event.New(event.Track, EventThresholdCrossed, event.SourceSystem, now)
	ev.AnonymousID = anonymousID
	ev.ProfileID = root
	ev.Properties = map[string]any{"model_id": m.ID, "model_name": m.Name, "threshold": t.Name, "threshold_value": t.Value,
		"value": shown(value), "direction": direction}
	return ev
}

// shown is a score as it is shown: to two decimals, rounded down, so that a score shown at a
// threshold's value has reached it (39.9996 is shown 39.99, not 40, and is not MQL at 40). The
// 10⁻⁷ keeps a value stored a hair under its decimal form (0.29 is 0.28999…) at it.
func shown(v float64) float64 { return math.Floor(v*100+1e-7) / 100 }

// setLevel records root's announced level under m.
func setLevel(ctx context.Context, tx *sql.Tx, modelID, root string, level float64, has bool) error {
	var err error
	if has {
		_, err = tx.ExecContext(ctx, `INSERT INTO score_levels (model_id, profile_id, level) VALUES ($1, $2, $3)
			ON CONFLICT (model_id, profile_id) DO UPDATE SET level = excluded.level`, modelID, root, level)
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM score_levels WHERE model_id = $1 AND profile_id = $2`, modelID, root)
	}
	if err != nil {
		return fmt.Errorf("recording the level of %s: %w", root, err)
	}
	return nil
}

// checkProfiles re-checks the thresholds of m for the roots of profileIDs inside tx, records
// their new levels and returns the crossing events. A profile merged into another loses its
// level silently: its root stands for it from now on.
func (s *Service) checkProfiles(ctx context.Context, tx *sql.Tx, m *Model, profileIDs []string, now time.Time) ([]event.Event, error) {
	done := map[string]bool{}
	var evs []event.Event
	for _, pid := range profileIDs {
		root, family, err := s.identity.RootFamily(ctx, tx, pid)
		if e, ok := errs.As(err); ok && e.Kind == errs.KindNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if root != pid {
			if _, err := tx.ExecContext(ctx, `DELETE FROM score_levels WHERE model_id = $1 AND profile_id = $2`, m.ID, pid); err != nil {
				return nil, fmt.Errorf("dropping the level of %s: %w", pid, err)
			}
		}
		if done[root] {
			continue
		}
		done[root] = true
		value, err := familyValue(ctx, tx, m, family, now)
		if err != nil {
			return nil, err
		}
		var prev sql.NullFloat64
		err = tx.QueryRowContext(ctx, `SELECT level FROM score_levels WHERE model_id = $1 AND profile_id = $2`, m.ID, root).Scan(&prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("reading the level of %s: %w", root, err)
		}
		level, has, out := m.crossings(root, prev.Float64, prev.Valid, value, now)
		if len(out) == 0 && has == prev.Valid && (!has || level == prev.Float64) {
			continue
		}
		if err := setLevel(ctx, tx, m.ID, root, level, has); err != nil {
			return nil, err
		}
		evs = append(evs, out...)
	}
	return evs, nil
}

// roots maps every merged profile to its root, as the segment SQL does.
const rootsCTE = `WITH RECURSIVE up (id, root) AS (
  SELECT id, merged_into FROM identity_profiles WHERE merged_into IS NOT NULL
  UNION ALL
  SELECT up.id, p.merged_into FROM up JOIN identity_profiles p ON p.id = up.root WHERE p.merged_into IS NOT NULL
),
merged (id, root) AS (
  SELECT up.id, up.root FROM up JOIN identity_profiles p ON p.id = up.root WHERE p.merged_into IS NULL
)
`

// checkAll re-checks the thresholds of m for every root that has a score or a level, inside tx,
// and returns the crossing events: this is how decay and merges, which come with no event that
// awards points, move people across thresholds.
func (s *Service) checkAll(ctx context.Context, tx *sql.Tx, m *Model, now time.Time) ([]event.Event, error) {
	rows, err := tx.QueryContext(ctx, rootsCTE+`SELECT COALESCE(m.root, v.profile_id), v.value, v.as_of
		FROM score_values v LEFT JOIN merged m ON m.id = v.profile_id WHERE v.model_id = $1`, m.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the scores of model %s: %w", m.ID, err)
	}
	states := map[string][][2]float64{}
	for rows.Next() {
		var root string
		var v float64
		var at int64
		if err := rows.Scan(&root, &v, &at); err != nil {
			rows.Close()
			return nil, err
		}
		states[root] = append(states[root], [2]float64{v, float64(at)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT l.profile_id, l.level, p.id IS NOT NULL AND p.merged_into IS NULL
		FROM score_levels l LEFT JOIN identity_profiles p ON p.id = l.profile_id WHERE l.model_id = $1`, m.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the levels of model %s: %w", m.ID, err)
	}
	levels := map[string]float64{}
	var gone []string
	for rows.Next() {
		var pid string
		var level float64
		var isRoot bool
		if err := rows.Scan(&pid, &level, &isRoot); err != nil {
			rows.Close()
			return nil, err
		}
		if isRoot {
			levels[pid] = level
		} else {
			gone = append(gone, pid)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, pid := range gone {
		if _, err := tx.ExecContext(ctx, `DELETE FROM score_levels WHERE model_id = $1 AND profile_id = $2`, m.ID, pid); err != nil {
			return nil, fmt.Errorf("dropping the level of %s: %w", pid, err)
		}
	}
	roots := make([]string, 0, len(states)+len(levels))
	for r := range states {
		roots = append(roots, r)
	}
	for r := range levels {
		if _, ok := states[r]; !ok {
			roots = append(roots, r)
		}
	}
	slices.Sort(roots)
	var evs []event.Event
	for _, root := range roots {
		prev, had := levels[root]
		level, has, out := m.crossings(root, prev, had, m.sum(states[root], db.Now(now)), now)
		if len(out) == 0 && has == had && (!has || level == prev) {
			continue
		}
		if err := setLevel(ctx, tx, m.ID, root, level, has); err != nil {
			return nil, err
		}
		evs = append(evs, out...)
	}
	return evs, nil
}
