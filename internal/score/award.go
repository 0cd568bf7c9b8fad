package score

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// loggedEvent is an event as the profile event log holds it: landed on a profile.
type loggedEvent struct {
	messageID, profileID, typ, name string
	at                              int64 // Unix ms
	properties                      string
}

// state is one profile's score under one model while events are applied to it.
type state struct {
	value   float64
	asOf    int64
	windows map[window]*windowPoints // capped rules' windows read or touched
	changed bool
}

type window struct {
	rule  int
	start int64
}

type windowPoints struct {
	end    int64
	points float64
	dirty  bool
}

// zero is below what a score keeps: a value this small is stored as 0, which also keeps the
// decay in SQL clear of PostgreSQL's underflow errors (see segment.Decay).
const zero = 1e-9

// matching returns the indexes of m's rules that count ev, its properties decoded once.
func (m *Model) matching(ev *loggedEvent, props *map[string]any) []int {
	var out []int
	for i := range m.Rules {
		r := &m.Rules[i]
		if !r.wants(ev.typ, ev.name) {
			continue
		}
		if len(r.Where) > 0 && *props == nil {
			var v map[string]any
			_ = json.Unmarshal([]byte(ev.properties), &v)
			if v == nil {
				v = map[string]any{}
			}
			*props = v
		}
		if r.Matches(ev.typ, ev.name, *props, db.Time(ev.at)) {
			out = append(out, i)
		}
	}
	return out
}

// apply awards st the points of rules (indexes of m's rules that matched an event at at). A
// capped rule awards what is left of its cap in the event's window; the stored value is decayed
// to the event's time first (or the points decayed to the stored time, for an event older than
// it), and the model's cap bounds the result. loadWindow reads a window not yet in st.
func (m *Model) apply(st *state, rules []int, at int64, loadWindow func(w window) (*windowPoints, error)) error {
	total := 0.0
	for _, i := range rules {
		r := &m.Rules[i]
		pts := r.Points
		if r.Cap != nil {
			w := window{rule: i}
			end := int64(0)
			if r.Cap.perMs > 0 {
				w.start = floorDiv(at, r.Cap.perMs) * r.Cap.perMs
				end = w.start + r.Cap.perMs
			}
			wp := st.windows[w]
			if wp == nil {
				var err error
				if wp, err = loadWindow(w); err != nil {
					return err
				}
				if wp == nil {
					wp = &windowPoints{end: end}
				}
				st.windows[w] = wp
			}
			// A rule's points all have one sign, so what it awarded in a window never exceeds the
			// cap whatever order its events come in.
			left := max(0, r.Cap.Points-math.Abs(wp.points))
			pts = math.Copysign(min(math.Abs(pts), left), pts)
			if pts == 0 {
				continue
			}
			wp.points += pts
			wp.dirty = true
		}
		total += pts
	}
	if total == 0 {
		return nil
	}
	if at > st.asOf {
		st.value = segment.Decay(st.value, at-st.asOf, m.halfLifeMs)
		st.asOf = at
	} else {
		total = segment.Decay(total, st.asOf-at, m.halfLifeMs)
	}
	st.value += total
	if m.Cap != nil && st.value > *m.Cap {
		st.value = *m.Cap
	}
	if math.Abs(st.value) < zero {
		st.value = 0
	}
	st.changed = true
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// loadState reads a profile's stored score under a model (zero when none).
func loadState(ctx context.Context, tx *sql.Tx, modelID, profileID string) (*state, error) {
	st := &state{windows: map[window]*windowPoints{}}
	err := tx.QueryRowContext(ctx, `SELECT value, as_of FROM score_values WHERE model_id = $1 AND profile_id = $2`, modelID, profileID).
		Scan(&st.value, &st.asOf)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("reading the score of %s: %w", profileID, err)
	}
	return st, nil
}

// windowLoader reads the points a capped rule awarded a profile in a window, nil when none.
func windowLoader(ctx context.Context, tx *sql.Tx, modelID, profileID string) func(window) (*windowPoints, error) {
	return func(w window) (*windowPoints, error) {
		wp := &windowPoints{}
		err := tx.QueryRowContext(ctx, `SELECT window_end, points FROM score_windows WHERE model_id = $1 AND profile_id = $2 AND rule = $3 AND window_start = $4`,
			modelID, profileID, w.rule, w.start).Scan(&wp.end, &wp.points)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading a score window of %s: %w", profileID, err)
		}
		return wp, nil
	}
}

// saveState writes what apply changed.
func saveState(ctx context.Context, tx *sql.Tx, modelID, profileID string, st *state) error {
	if st.changed {
		if _, err := tx.ExecContext(ctx, `INSERT INTO score_values (model_id, profile_id, value, as_of) VALUES ($1, $2, $3, $4)
			ON CONFLICT (model_id, profile_id) DO UPDATE SET value = excluded.value, as_of = excluded.as_of`, modelID, profileID, st.value, st.asOf); err != nil {
			return fmt.Errorf("storing the score of %s: %w", profileID, err)
		}
	}
	for w, wp := range st.windows {
		if !wp.dirty {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO score_windows (model_id, profile_id, rule, window_start, window_end, points) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (model_id, profile_id, rule, window_start) DO UPDATE SET points = excluded.points`,
			modelID, profileID, w.rule, w.start, wp.end, wp.points); err != nil {
			return fmt.Errorf("storing a score window of %s: %w", profileID, err)
		}
		wp.dirty = false
	}
	return nil
}

// familyValue is the score of the person whose merge family is family under m, as of now: the
// sum of each profile's decayed score, capped. segment.Eval adds up the same way.
func familyValue(ctx context.Context, q db.Queryer, m *Model, family []string, now time.Time) (float64, error) {
	in, args := db.InList(family, 2)
	rows, err := q.QueryContext(ctx, `SELECT value, as_of FROM score_values WHERE model_id = $1 AND profile_id `+in, append([]any{m.ID}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("reading scores: %w", err)
	}
	defer rows.Close()
	var states [][2]float64
	for rows.Next() {
		var v float64
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			return 0, err
		}
		states = append(states, [2]float64{v, float64(at)})
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return m.sum(states, db.Now(now)), nil
}

// sum adds up decayed (value, as_of) pairs at now and applies the cap.
func (m *Model) sum(states [][2]float64, now int64) float64 {
	total := 0.0
	for _, s := range states {
		total += segment.Decay(s[0], now-int64(s[1]), m.halfLifeMs)
	}
	if m.Cap != nil && total > *m.Cap {
		total = *m.Cap
	}
	return total
}
