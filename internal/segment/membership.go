package segment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
)

// Reevaluate is the incremental evaluator: it re-checks every segment for the profiles
// profileIDs — each one's root, evaluated over its family with Eval — and records the changes of
// membership with their Segment Entered and Segment Exited events, in one transaction. A profile
// since merged into another leaves every segment (its root stands for it). Unknown ids are
// skipped.
func (s *Service) Reevaluate(ctx context.Context, profileIDs []string) error {
	ids := slices.Clone(profileIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return nil
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		segs, err := s.segments(ctx, tx, true)
		if err != nil || len(segs) == 0 {
			return err
		}
		evs, err := s.reevaluateIn(ctx, tx, ids, segs, "", now)
		if err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, evs...)
	})
}

// reevaluateIn is Reevaluate in tx over the segments segs (read with their lock), or only over
// segment only when it is not "", and returns the events of the changes it made.
func (s *Service) reevaluateIn(ctx context.Context, tx *sql.Tx, ids []string, segs []stored, only string, now time.Time) ([]event.Event, error) {
	byID := map[string]stored{}
	names, models := map[string]bool{}, map[string]bool{}
	var w wants
	for _, sg := range segs {
		byID[sg.id] = sg
		if sg.err == nil && (only == "" || sg.id == only) {
			wantsOf(sg.def, names, &w.community)
			scoreModels(sg.def, models)
		}
	}
	w.events, w.scores = sortedKeys(names), sortedKeys(models)
	var evs []event.Event
	for chunk := range slices.Chunk(ids, 200) {
		rootOf, families, err := s.identity.RootFamilies(ctx, tx, chunk)
		if err != nil {
			return nil, err
		}
		var gone []string
		for _, pid := range chunk {
			root, ok := rootOf[pid]
			if !ok {
				gone = append(gone, pid)
			} else if root != pid {
				// pid is merged: it is in no segment any more.
				out, err := s.leaveAll(ctx, tx, pid, byID, now)
				if err != nil {
					return nil, err
				}
				evs = append(evs, out...)
			}
		}
		if len(gone) > 0 {
			// A profile that no longer exists (erased) is in no segment; there is nobody to
			// announce its exit about.
			in, args := db.InList(gone, 1)
			if _, err := tx.ExecContext(ctx, `DELETE FROM segment_members WHERE profile_id `+in, args...); err != nil {
				return nil, fmt.Errorf("removing profiles that are gone from segments: %w", err)
			}
		}
		roots := make([]string, 0, len(families))
		for root := range families {
			roots = append(roots, root)
		}
		if len(roots) == 0 {
			continue
		}
		slices.Sort(roots)
		fams := make([][]string, len(roots))
		for i, root := range roots {
			fams[i] = families[root]
		}
		facts, err := loadFactsMany(ctx, tx, fams, w)
		if err != nil {
			return nil, err
		}
		cur, err := membersOf(ctx, tx, roots)
		if err != nil {
			return nil, err
		}
		for i, root := range roots {
			for _, sg := range segs {
				if sg.err != nil || (only != "" && sg.id != only) {
					continue // a broken one is logged by segments; its membership stays as it was
				}
				in := Eval(sg.def, facts[i], now)
				switch {
				case in && !cur[root][sg.id]:
					if _, err := tx.ExecContext(ctx, `INSERT INTO segment_members (segment_id, profile_id, entered_at) VALUES ($1, $2, $3)`,
						sg.id, root, db.Now(now)); err != nil {
						return nil, fmt.Errorf("adding %s to segment %s: %w", root, sg.id, err)
					}
					evs = append(evs, membershipEvent(EventEntered, sg, root, now))
				case !in && cur[root][sg.id]:
					if _, err := tx.ExecContext(ctx, `DELETE FROM segment_members WHERE segment_id = $1 AND profile_id = $2`, sg.id, root); err != nil {
						return nil, fmt.Errorf("removing %s from segment %s: %w", root, sg.id, err)
					}
					evs = append(evs, membershipEvent(EventExited, sg, root, now))
				}
			}
		}
	}
	return evs, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// membersOf returns the segments each of profileIDs is in.
func membersOf(ctx context.Context, tx *sql.Tx, profileIDs []string) (map[string]map[string]bool, error) {
	in, args := db.InList(profileIDs, 1)
	rows, err := tx.QueryContext(ctx, `SELECT profile_id, segment_id FROM segment_members WHERE profile_id `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("reading segments of profiles: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]bool{}
	for rows.Next() {
		var pid, sid string
		if err := rows.Scan(&pid, &sid); err != nil {
			return nil, err
		}
		if out[pid] == nil {
			out[pid] = map[string]bool{}
		}
		out[pid][sid] = true
	}
	return out, rows.Err()
}

// leaveAll takes profileID out of every segment and returns the exit events.
func (s *Service) leaveAll(ctx context.Context, tx *sql.Tx, profileID string, byID map[string]stored, now time.Time) ([]event.Event, error) {
	all, err := membersOf(ctx, tx, []string{profileID})
	cur := all[profileID]
	if err != nil || len(cur) == 0 {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM segment_members WHERE profile_id = $1`, profileID); err != nil {
		return nil, fmt.Errorf("removing %s from segments: %w", profileID, err)
	}
	sids := make([]string, 0, len(cur))
	for sid := range cur {
		sids = append(sids, sid)
	}
	slices.Sort(sids)
	var evs []event.Event
	for _, sid := range sids {
		evs = append(evs, membershipEvent(EventExited, byID[sid], profileID, now))
	}
	return evs, nil
}

// Recompute recomputes segment segmentID in full with its compiled SQL and records the
// difference with the stored membership, emitting an event per profile that entered or exited.
func (s *Service) Recompute(ctx context.Context, segmentID string) (entered, exited int, err error) {
	return s.recompute(ctx, segmentID, s.now(), true)
}

// recheckMax is the most changes of membership a scheduled recomputation checks one profile at a
// time; past it, it recomputes the whole segment again while it holds the segment.
const recheckMax = 2000

// recompute is Recompute. Unless force, it is a scheduled recomputation: it first claims the
// segment, and does nothing when another node recomputed it less than half a period ago; then it
// runs the statement on a snapshot, holding nothing, and re-checks only the profiles whose
// membership the snapshot says has changed, with the incremental evaluator, under the segment's
// lock. Those are usually few (a time window expired), and a profile an event changed meanwhile
// is judged on what is true now. Otherwise, and when there are many, the statement runs under
// the lock.
//
// A full statement over a million profiles takes seconds: run under the lock, it would hold up
// the incremental evaluator of every segment (PostgreSQL) or every writer (SQLite) that long.
func (s *Service) recompute(ctx context.Context, segmentID string, now time.Time, force bool) (entered, exited int, err error) {
	if !force {
		res, err := s.db.W.ExecContext(ctx, `UPDATE segments SET recomputed_at = $1 WHERE id = $2 AND recomputed_at <= $3`,
			db.Now(now), segmentID, db.Now(now.Add(-s.every/2)))
		if err != nil {
			return 0, 0, fmt.Errorf("claiming segment %s: %w", segmentID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return 0, 0, err
		}
		done := false
		entered, exited, done, err = s.recheck(ctx, segmentID, now)
		if err != nil || done {
			return entered, exited, err
		}
	}
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		entered, exited = 0, 0
		// The claim also takes the segment's row lock on PostgreSQL: the statement below then sees
		// every membership change committed before it. It is unconditional: a scheduled run that
		// claimed the segment meanwhile (with the definition before an edit) must not make this
		// one, which the edit asked for, a no-op.
		res, err := tx.ExecContext(ctx, `UPDATE segments SET recomputed_at = $1 WHERE id = $2`, db.Now(now), segmentID)
		if err != nil {
			return fmt.Errorf("claiming segment %s: %w", segmentID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		segs, err := s.segments(ctx, tx, false)
		if err != nil {
			return err
		}
		sg, err := find(segs, segmentID)
		if err != nil {
			return err
		}
		q, err := Compile(s.db.Engine, sg.def, now)
		if err != nil {
			return err
		}
		want, err := Members(ctx, tx, s.db.Engine, q)
		if err != nil {
			return fmt.Errorf("computing segment %s: %w", segmentID, err)
		}
		have, err := scanIDs(tx.QueryContext(ctx, `SELECT profile_id FROM segment_members WHERE segment_id = $1`, segmentID))
		if err != nil {
			return fmt.Errorf("reading members of segment %s: %w", segmentID, err)
		}
		var in, out []string
		for pid := range want {
			if !have[pid] {
				in = append(in, pid)
			}
		}
		for pid := range have {
			if !want[pid] {
				out = append(out, pid)
			}
		}
		slices.Sort(in)
		slices.Sort(out)
		var evs []event.Event
		for chunk := range slices.Chunk(in, 500) {
			args := make([]any, 0, 3*len(chunk))
			for _, pid := range chunk {
				args = append(args, segmentID, pid, db.Now(now))
				evs = append(evs, membershipEvent(EventEntered, sg, pid, now))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO segment_members (segment_id, profile_id, entered_at) VALUES `+
				s.db.Engine.Values(len(chunk), 3), args...); err != nil {
				return fmt.Errorf("adding members to segment %s: %w", segmentID, err)
			}
		}
		for chunk := range slices.Chunk(out, 500) {
			in, args := s.db.Engine.In(len(chunk), 2), append([]any{segmentID}, s.db.Engine.InArgs(chunk)...)
			if s.db.Engine == db.SQLite {
				// On SQLite the list is numbered after $1.
				var list []any
				in, list = db.InList(chunk, 2)
				args = append([]any{segmentID}, list...)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM segment_members WHERE segment_id = $1 AND profile_id `+in, args...); err != nil {
				return fmt.Errorf("removing members from segment %s: %w", segmentID, err)
			}
			for _, pid := range chunk {
				evs = append(evs, membershipEvent(EventExited, sg, pid, now))
			}
		}
		entered, exited = len(in), len(out)
		if err := s.recordSize(ctx, tx, segmentID, int64(len(want)), now); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, evs...)
	})
	return entered, exited, err
}

// recheck is a scheduled recomputation that holds the segment only to apply it (see recompute).
// done is false when it left the work to a recomputation under the lock: a definition (this
// segment's or another's, which it may refer to) changed after the snapshot, or the snapshot
// differs from the stored members in more than recheckMax profiles.
func (s *Service) recheck(ctx context.Context, segmentID string, now time.Time) (entered, exited int, done bool, err error) {
	var want map[string]bool
	var defs string
	err = s.snapshot(ctx, func(tx *sql.Tx) error {
		segs, err := s.segments(ctx, tx, false)
		if err != nil {
			return err
		}
		sg, err := find(segs, segmentID)
		if err != nil {
			return err
		}
		q, err := Compile(s.db.Engine, sg.def, now)
		if err != nil {
			return err
		}
		if want, err = Members(ctx, tx, s.db.Engine, q); err != nil {
			return fmt.Errorf("computing segment %s: %w", segmentID, err)
		}
		defs = definitionsOf(segs)
		return nil
	})
	if err != nil {
		return 0, 0, false, err
	}
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		segs, err := s.segments(ctx, tx, true)
		if err != nil {
			return err
		}
		if _, err := find(segs, segmentID); err != nil {
			return err
		}
		if definitionsOf(segs) != defs {
			return nil // a definition changed, this one or one it refers to: recompute under the lock
		}
		have, err := scanIDs(tx.QueryContext(ctx, `SELECT profile_id FROM segment_members WHERE segment_id = $1`, segmentID))
		if err != nil {
			return fmt.Errorf("reading members of segment %s: %w", segmentID, err)
		}
		var changed []string
		for pid := range want {
			if !have[pid] {
				changed = append(changed, pid)
			}
		}
		for pid := range have {
			if !want[pid] {
				changed = append(changed, pid)
			}
		}
		if len(changed) > recheckMax {
			return nil
		}
		slices.Sort(changed)
		evs, err := s.reevaluateIn(ctx, tx, changed, segs, segmentID, s.now())
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Event == EventEntered {
				entered++
			} else {
				exited++
			}
		}
		var size int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM segment_members WHERE segment_id = $1`, segmentID).Scan(&size); err != nil {
			return fmt.Errorf("counting members of segment %s: %w", segmentID, err)
		}
		if err := s.recordSize(ctx, tx, segmentID, size, now); err != nil {
			return err
		}
		done = true
		return s.outbox.Emit(ctx, tx, evs...)
	})
	return entered, exited, done, err
}

// definitionsOf is every stored definition of segs, with its segment's id: an edit of any of them
// (of one that a segment refers to, too) changes it.
func definitionsOf(segs []stored) string {
	var b strings.Builder
	for _, sg := range segs {
		b.WriteString(sg.id)
		b.WriteByte(0)
		b.WriteString(sg.text)
		b.WriteByte(0)
	}
	return b.String()
}

// find returns segment id of segs, or why it cannot be evaluated.
func find(segs []stored, id string) (stored, error) {
	i := slices.IndexFunc(segs, func(x stored) bool { return x.id == id })
	if i < 0 {
		return stored{}, errs.NotFound("no segment %s", id)
	}
	return segs[i], segs[i].err
}

// snapshot runs fn in a read-only transaction.
func (s *Service) snapshot(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// Members runs a compiled segment in tx and returns its members. On PostgreSQL it turns JIT
// compilation off for the transaction: the planner cannot estimate the recursive family CTE and
// guesses it a hundred times too large, which makes it compile the statement to machine code,
// costing more than running it.
func Members(ctx context.Context, tx *sql.Tx, e db.Engine, q Query) (map[string]bool, error) {
	if e == db.Postgres {
		if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
			return nil, err
		}
	}
	return scanIDs(tx.QueryContext(ctx, q.SQL, q.Args...))
}

// RecomputeDue recomputes every segment not recomputed (by any node) in the last half period.
// A segment that fails is logged with its id and skipped, so that it holds up none of the others;
// the error returned then counts the failures.
func (s *Service) RecomputeDue(ctx context.Context) error {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id FROM segments ORDER BY id`)
	ids, err := scanIDs(rows, err)
	if err != nil {
		return fmt.Errorf("listing segments: %w", err)
	}
	sorted := make([]string, 0, len(ids))
	for sid := range ids {
		sorted = append(sorted, sid)
	}
	slices.Sort(sorted)
	var failed []error
	for _, sid := range sorted {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		entered, exited, err := s.recompute(ctx, sid, s.now(), false)
		if err != nil {
			if e, ok := errs.As(err); ok && e.Kind == errs.KindNotFound {
				continue // deleted meanwhile
			}
			s.log.Error("segment: recomputation failed; skipped", "segment", sid, "err", err)
			failed = append(failed, fmt.Errorf("segment %s: %w", sid, err))
			continue
		}
		if entered+exited > 0 {
			s.log.Info("segment recomputed", "segment", sid, "entered", entered, "exited", exited)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d segments failed to recompute: %w", len(failed), len(sorted), errors.Join(failed...))
	}
	return nil
}

// Run recomputes the segments on schedule until ctx is cancelled: this catches time windows that
// expire with no new event. Every worker node runs it; the claim in recompute shares the work.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.every / 2)
	defer t.Stop()
	for {
		if err := s.RecomputeDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("segment recomputation failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
