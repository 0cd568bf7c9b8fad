package score

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// recomputeChunk is how many profiles one transaction of a recomputation rebuilds.
const recomputeChunk = 200

// keepApplied is how long a counted event is remembered: longer than the stream keeps events
// (7 days), so a redelivery always finds it.
const keepApplied = 8 * 24 * time.Hour

// Recompute rebuilds model modelID's scores from the profile event log, a chunk of profiles per
// transaction, each chunk resuming after the last one committed (score_models.recompute_from),
// so a rebuild cut short by a crash or a shutdown resumes where it stopped, on any node. When
// every profile is done, the thresholds of everyone are checked and their crossings announced.
// The segments that compare the model's scores are then recomputed in full, so they follow the
// rebuilt scores at once rather than at their next scheduled recomputation. It returns at once
// when no rebuild is pending.
func (s *Service) Recompute(ctx context.Context, modelID string) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		done, finished, err := s.recomputeChunk(ctx, modelID)
		if err != nil {
			return err
		}
		if finished && s.segments != nil {
			s.recomputeSegments(ctx, modelID)
		}
		if done {
			return nil
		}
	}
}

// recomputeSegments recomputes the segments that use model modelID. A failure is logged: the
// scheduled recomputation of segments catches up.
func (s *Service) recomputeSegments(ctx context.Context, modelID string) {
	users, err := segment.UsingScore(ctx, s.db.R, modelID)
	if err != nil {
		s.log.Warn("score: finding the segments of a model failed", "model", modelID, "err", err)
		return
	}
	for _, sid := range users {
		if _, _, err := s.segments.Recompute(ctx, sid); err != nil {
			s.log.Warn("score: recomputing a segment after a rebuild failed", "model", modelID, "segment", sid, "err", err)
		}
	}
}

// recomputeChunk rebuilds the next chunk of profiles, or finishes the rebuild; done is true when
// no rebuild is pending any more, finished when this call finished it.
func (s *Service) recomputeChunk(ctx context.Context, modelID string) (done, finished bool, err error) {
	now := s.now()
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		done, finished = false, false
		lock := ""
		if s.db.Engine == db.Postgres {
			// The consumer locks every model: a chunk and a batch of events never interleave.
			lock = ` FOR UPDATE`
		}
		m, err := scanModel(tx.QueryRowContext(ctx, `SELECT `+modelColumns+` FROM score_models WHERE id = $1`+lock, modelID))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("no score model %s", modelID)
		}
		if err != nil {
			return err
		}
		var from sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT recompute_from FROM score_models WHERE id = $1`, modelID).Scan(&from); err != nil {
			return err
		}
		if !from.Valid {
			done = true
			return nil
		}
		order := "id"
		if s.db.Engine == db.Postgres {
			order = `id COLLATE "C"`
		}
		ids, err := scanList(tx.QueryContext(ctx, `SELECT id FROM identity_profiles WHERE `+order+` > $1 ORDER BY `+order+
			fmt.Sprintf(` LIMIT %d`, s.chunk), from.String))
		if err != nil {
			return fmt.Errorf("listing profiles to score: %w", err)
		}
		if len(ids) == 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE score_models SET recompute_from = NULL, checked_at = $1 WHERE id = $2`, db.Now(now), modelID); err != nil {
				return err
			}
			m.Recomputing = false
			evs, err := s.checkAll(ctx, tx, &m, now)
			if err != nil {
				return err
			}
			done, finished = true, true
			return s.outbox.Emit(ctx, tx, evs...)
		}
		if err := s.rebuild(ctx, tx, &m, ids, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE score_models SET recompute_from = $1 WHERE id = $2`, ids[len(ids)-1], modelID)
		return err
	})
	return done, finished, err
}

// rebuild replaces the scores of profiles ids under m with the ones their logged events give,
// applied in time order.
func (s *Service) rebuild(ctx context.Context, tx *sql.Tx, m *Model, ids []string, now time.Time) error {
	in, args := db.InList(ids, 2)
	margs := append([]any{m.ID}, args...)
	for _, t := range []string{"score_values", "score_windows", "score_applied"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE model_id = $1 AND profile_id `+in, margs...); err != nil {
			return fmt.Errorf("clearing scores to rebuild: %w", err)
		}
	}
	// Only the types and names the rules name: most of the log is of no interest to a model.
	in, eargs := db.InList(ids, 1)
	var conds []string
	for _, r := range m.Rules {
		typ := r.Type
		if typ == "" {
			typ = "track"
		}
		c := "(type = '" + typ + "'"
		if r.Event != "" {
			eargs = append(eargs, r.Event)
			c += fmt.Sprintf(" AND name = $%d", len(eargs))
		}
		conds = append(conds, c+")")
	}
	rows, err := tx.QueryContext(ctx, `SELECT message_id, profile_id, type, name, at, properties FROM profile_events
		WHERE profile_id `+in+` AND (`+strings.Join(conds, " OR ")+`)
		AND NOT (type = 'track' AND name IN ('`+strings.Join(loopEvents, "', '")+`'))
		ORDER BY profile_id, at, message_id`, eargs...)
	if err != nil {
		return fmt.Errorf("reading events to score: %w", err)
	}
	var evs []loggedEvent
	for rows.Next() {
		var e loggedEvent
		if err := rows.Scan(&e.messageID, &e.profileID, &e.typ, &e.name, &e.at, &e.properties); err != nil {
			rows.Close()
			return err
		}
		evs = append(evs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var st *state
	flush := func(pid string) error {
		if st == nil {
			return nil
		}
		return saveState(ctx, tx, m.ID, pid, st)
	}
	noWindow := func(window) (*windowPoints, error) { return nil, nil }
	for i := range evs {
		ev := &evs[i]
		if i == 0 || evs[i-1].profileID != ev.profileID {
			if i > 0 {
				if err := flush(evs[i-1].profileID); err != nil {
					return err
				}
			}
			st = &state{windows: map[window]*windowPoints{}}
		}
		var props map[string]any
		rules := m.matching(ev, &props)
		if len(rules) == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO score_applied (model_id, message_id, profile_id, applied_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (model_id, message_id) DO NOTHING`, m.ID, ev.messageID, ev.profileID, db.Now(now)); err != nil {
			return fmt.Errorf("recording event %s for score %s: %w", ev.messageID, m.ID, err)
		}
		if err := m.apply(st, rules, ev.at, noWindow); err != nil {
			return err
		}
	}
	if len(evs) > 0 {
		return flush(evs[len(evs)-1].profileID)
	}
	return nil
}

// scanList reads a one-column result of strings.
func scanList(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CheckDue finishes every pending recomputation and checks the thresholds of every model not
// checked (by any node) in the last half period, announcing what decay and merges crossed. It
// also forgets counted events and cap windows too old to matter. A model that fails is logged
// and skipped.
func (s *Service) CheckDue(ctx context.Context) error {
	models, err := s.models(ctx, s.db.R, false)
	if err != nil {
		return err
	}
	var failed []error
	for _, m := range models {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := s.checkDue(ctx, m.ID); err != nil {
			s.log.Error("score: threshold check failed; skipped", "model", m.ID, "err", err)
			failed = append(failed, fmt.Errorf("score model %s: %w", m.ID, err))
		}
	}
	old := db.Now(s.now().Add(-keepApplied))
	if _, err := s.db.W.ExecContext(ctx, `DELETE FROM score_applied WHERE applied_at < $1`, old); err != nil {
		failed = append(failed, fmt.Errorf("forgetting old counted events: %w", err))
	}
	if _, err := s.db.W.ExecContext(ctx, `DELETE FROM score_windows WHERE window_end > 0 AND window_end < $1`, old); err != nil {
		failed = append(failed, fmt.Errorf("forgetting old cap windows: %w", err))
	}
	return errors.Join(failed...)
}

func (s *Service) checkDue(ctx context.Context, modelID string) error {
	if err := s.Recompute(ctx, modelID); err != nil {
		return err
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		// The claim also takes the model's row lock on PostgreSQL.
		res, err := tx.ExecContext(ctx, `UPDATE score_models SET checked_at = $1 WHERE id = $2 AND checked_at <= $3 AND recompute_from IS NULL`,
			db.Now(now), modelID, db.Now(now.Add(-s.every/2)))
		if err != nil {
			return fmt.Errorf("claiming score model %s: %w", modelID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		m, err := scanModel(tx.QueryRowContext(ctx, `SELECT `+modelColumns+` FROM score_models WHERE id = $1`, modelID))
		if err != nil {
			return err
		}
		evs, err := s.checkAll(ctx, tx, &m, now)
		if err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, evs...)
	})
}

// Run checks thresholds and finishes recomputations on schedule until ctx is cancelled. Every
// worker node runs it; the claim in checkDue shares the work.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.every / 2)
	defer t.Stop()
	for {
		if err := s.CheckDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("score check failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
