package segment

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
)

type fixture struct {
	d   *db.DB
	s   *Service
	now time.Time
	mu  sync.Mutex
}

func newFixture(t *testing.T, e db.Engine) *fixture {
	f := &fixture{d: openAll(t, e), now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	f.s = f.service()
	return f
}

// service returns a service on f's database and clock: one node.
func (f *fixture) service() *Service {
	ob := backbone.NewOutbox(f.d)
	return New(Deps{DB: f.d, Outbox: ob, Identity: identity.New(identity.Deps{DB: f.d, Outbox: ob}), Now: f.clock, RecomputeEvery: time.Minute})
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// events returns the membership events in the outbox as "Entered segment profile" lines, and
// empties it.
func (f *fixture) events(t *testing.T) []string {
	t.Helper()
	rows, err := f.d.W.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event == EventEntered || ev.Event == EventExited {
			out = append(out, fmt.Sprintf("%s %s %s", ev.Event, ev.Properties["segment_name"], ev.ProfileID))
		}
	}
	if _, err := f.d.W.Exec(`DELETE FROM outbox`); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := f.d.W.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) members(t *testing.T, segmentID string) map[string]bool {
	t.Helper()
	got, err := scanIDs(f.d.W.Query(`SELECT profile_id FROM segment_members WHERE segment_id = $1`, segmentID))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestStoredMembershipAgrees creates random segments on random worlds: the membership the full
// recomputation stores is the one the incremental evaluator then finds, and it announces each
// entry once.
func TestStoredMembershipAgrees(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		sys := accounts.System()
		for w := range 4 {
			r := rand.New(rand.NewPCG(*seed, 1000+uint64(w)))
			wd := genWorld(r, f.clock())
			if err := wd.store(ctx, f.d); err != nil {
				t.Fatal(err)
			}
			f.events(t)
			var ids []string
			entered := 0
			for k := range 12 {
				js, _ := json.Marshal(genDefinition(r, 0, ids))
				seg, err := f.s.Create(ctx, sys, fmt.Sprintf("w%d-%d", w, k), js)
				for err != nil && (strings.HasSuffix(fieldOf(err), ".space_member") || strings.HasSuffix(fieldOf(err), ".attended.event")) {
					// The generator names a space and an event that do not exist, which Create
					// refuses (the evaluators are held to them in TestEvaluatorsAgree): draw again.
					js, _ = json.Marshal(genDefinition(r, 0, ids))
					seg, err = f.s.Create(ctx, sys, fmt.Sprintf("w%d-%d", w, k), js)
				}
				if err != nil {
					t.Fatalf("creating %s: %v", js, err)
				}
				ids = append(ids, seg.ID)
				entered += int(seg.Count)
			}
			if evs := f.events(t); len(evs) != entered {
				t.Fatalf("world %d: %d entry events for %d members", w, len(evs), entered)
			}
			before := map[string]map[string]bool{}
			for _, sid := range ids {
				before[sid] = f.members(t, sid)
			}
			var all []string
			for _, p := range wd.profiles {
				all = append(all, p.id)
			}
			// Nothing changed: the incremental evaluator agrees and says nothing.
			if err := f.s.Reevaluate(ctx, all); err != nil {
				t.Fatal(err)
			}
			if evs := f.events(t); len(evs) != 0 {
				t.Fatalf("world %d: re-evaluating unchanged profiles emitted %v", w, evs)
			}
			// From empty, the incremental evaluator finds the same members.
			f.exec(t, `DELETE FROM segment_members`)
			if err := f.s.Reevaluate(ctx, all); err != nil {
				t.Fatal(err)
			}
			if evs := f.events(t); len(evs) != entered {
				t.Fatalf("world %d: %d entry events re-evaluating, want %d", w, len(evs), entered)
			}
			for _, sid := range ids {
				if got := f.members(t, sid); fmt.Sprint(got) != fmt.Sprint(before[sid]) {
					t.Fatalf("world %d segment %s: incremental %v, full %v", w, sid, got, before[sid])
				}
			}
			// So does the scheduled recomputation, which re-checks one by one the profiles its
			// snapshot says changed.
			f.exec(t, `DELETE FROM segment_members`)
			f.exec(t, `UPDATE segments SET recomputed_at = 0`)
			if err := f.s.RecomputeDue(ctx); err != nil {
				t.Fatal(err)
			}
			if evs := f.events(t); len(evs) != entered {
				t.Fatalf("world %d: %d entry events recomputing on schedule, want %d", w, len(evs), entered)
			}
			for _, sid := range ids {
				if got := f.members(t, sid); fmt.Sprint(got) != fmt.Sprint(before[sid]) {
					t.Fatalf("world %d segment %s: scheduled %v, full %v", w, sid, got, before[sid])
				}
			}
			// And the full recomputation, run again, finds nothing to change.
			for _, sid := range ids {
				if in, out, err := f.s.Recompute(ctx, sid); err != nil || in+out != 0 {
					t.Fatalf("recomputing again: %d in, %d out, %v", in, out, err)
				}
			}
		}
	})
}

func TestMembershipMoves(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		sys := accounts.System()
		at := func(ago time.Duration) int64 { return db.Now(f.clock().Add(-ago)) }
		f.exec(t, `INSERT INTO identity_profiles (id, created_at) VALUES ('a', 0), ('b', 0), ('c', 0)`)
		f.exec(t, `INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES ('a', 'plan', '"pro"', 't', 1), ('b', 'plan', '"pro"', 't', 1)`)
		active, err := f.s.Create(ctx, sys, "Active pros", json.RawMessage(`{"all":[{"trait":"plan","op":"eq","value":"pro"},
			{"event":"Post Created","count":{"op":"gte","value":2},"within_last":"P7D"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		quiet, err := f.s.Create(ctx, sys, "Quiet pros", json.RawMessage(`{"all":[{"trait":"plan","op":"eq","value":"pro"},
			{"not":{"segment":"`+active.ID+`"}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if active.Count != 0 || quiet.Count != 2 {
			t.Fatalf("counts %d, %d", active.Count, quiet.Count)
		}
		if evs := f.events(t); fmt.Sprint(evs) != "[Segment Entered Quiet pros a Segment Entered Quiet pros b]" {
			t.Fatalf("events %v", evs)
		}
		// a posts twice: the incremental evaluator moves a from quiet to active.
		f.exec(t, `INSERT INTO profile_events (message_id, profile_id, type, name, source, at) VALUES
			('m1', 'a', 'track', 'Post Created', 'community', $1), ('m2', 'a', 'track', 'Post Created', 'community', $2)`, at(2*24*time.Hour), at(time.Hour))
		if err := f.s.Reevaluate(ctx, []string{"a"}); err != nil {
			t.Fatal(err)
		}
		if evs := f.events(t); fmt.Sprint(evs) != "[Segment Entered Active pros a Segment Exited Quiet pros a]" {
			t.Fatalf("events %v", evs)
		}
		// Six days on, the first post leaves the window with no new event: the scheduled
		// recomputation catches it, once however many nodes run it.
		f.advance(6 * 24 * time.Hour)
		var wg sync.WaitGroup
		for range 3 {
			node := f.service()
			wg.Go(func() {
				if err := node.RecomputeDue(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// Two nodes may recompute the two segments at once, each committing when it is done: the
		// events come in either order, each once.
		evs := f.events(t)
		slices.Sort(evs)
		if fmt.Sprint(evs) != "[Segment Entered Quiet pros a Segment Exited Active pros a]" {
			t.Fatalf("events %v", evs)
		}
		// c is merged into b: b now has c's posts; c, merged, is in no segment.
		f.exec(t, `INSERT INTO profile_events (message_id, profile_id, type, name, source, at) VALUES
			('m3', 'c', 'track', 'Post Created', 'community', $1), ('m4', 'b', 'track', 'Post Created', 'community', $1)`, at(time.Hour))
		f.exec(t, `INSERT INTO segment_members (segment_id, profile_id, entered_at) VALUES ($1, 'c', 0)`, quiet.ID) // as if c had been in
		f.exec(t, `UPDATE identity_profiles SET merged_into = 'b' WHERE id = 'c'`)
		if err := f.s.Reevaluate(ctx, []string{"c"}); err != nil {
			t.Fatal(err)
		}
		if evs := f.events(t); fmt.Sprint(evs) != "[Segment Exited Quiet pros c Segment Entered Active pros b Segment Exited Quiet pros b]" {
			t.Fatalf("events %v", evs)
		}
		got, next, err := f.s.Members(ctx, sys, active.ID, "", 10)
		if err != nil || len(got) != 1 || got[0].ID != "b" || next != "" {
			t.Fatalf("members %v %q %v", got, next, err)
		}
		// A segment another uses cannot go; the other can, and then it can.
		if err := f.s.Delete(ctx, sys, active.ID); err == nil {
			t.Fatal("deleted a segment in use")
		} else if e, ok := errs.As(err); !ok || e.Kind != errs.KindConflict {
			t.Fatalf("delete in use: %v", err)
		}
		if err := f.s.Delete(ctx, sys, quiet.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Delete(ctx, sys, active.ID); err != nil {
			t.Fatal(err)
		}
		if list, err := f.s.List(ctx, sys); err != nil || len(list) != 0 {
			t.Fatalf("list after delete %v %v", list, err)
		}
	})
}

func TestMembersPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		for _, id := range []string{"a", "B", "c", "D", "e"} {
			f.exec(t, `INSERT INTO identity_profiles (id, created_at) VALUES ($1, 0)`, id)
		}
		seg, err := f.s.Create(ctx, accounts.System(), "Everyone", json.RawMessage(`{"consent":{"channel":"email","purpose":"marketing","status":"unknown"}}`))
		if err != nil || seg.Count != 5 {
			t.Fatalf("%+v %v", seg, err)
		}
		var got []string
		after := ""
		for {
			page, next, err := f.s.Members(ctx, accounts.System(), seg.ID, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				got = append(got, m.ID)
			}
			if next == "" {
				break
			}
			after = next
		}
		if fmt.Sprint(got) != "[B D a c e]" {
			t.Fatalf("pages %v", got)
		}
		if _, err := f.s.Create(ctx, accounts.Principal{}, "x", json.RawMessage(`{"segment":"`+seg.ID+`"}`)); err == nil {
			t.Fatal("an anonymous caller created a segment")
		}
		_, err = f.s.Create(ctx, accounts.System(), "x", json.RawMessage(`{"all":[{"segment":"nope"}]}`))
		if e, ok := errs.As(err); !ok || e.Field != "definition.all[0].segment" {
			t.Fatalf("unknown reference: %v", err)
		}
	})
}

// TestSystemEventsAreNotActivity: an inactive customer stays in "no activity in 30 days" although
// the system recorded events about them since (their Segment Entered among them).
func TestSystemEventsAreNotActivity(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		old, recent := db.Now(f.clock().AddDate(0, 0, -40)), db.Now(f.clock().Add(-time.Minute))
		f.exec(t, `INSERT INTO identity_profiles (id, created_at) VALUES ('a', 0)`)
		f.exec(t, `INSERT INTO profile_counts (profile_id, key, count, first_at, last_at) VALUES
			('a', 'all', 3, $1, $2), ('a', 'source:tracking', 2, $1, $1), ('a', 'source:system', 1, $2, $2)`, old, recent)
		seg, err := f.s.Create(ctx, accounts.System(), "Dormant", json.RawMessage(`{"all":[{"computed":"last_seen","op":"more_than_ago","value":"P30D"},
			{"computed":"events","op":"eq","value":2}]}`))
		if err != nil || seg.Count != 1 {
			t.Fatalf("%+v %v", seg, err)
		}
		if err := f.s.Reevaluate(ctx, []string{"a"}); err != nil {
			t.Fatal(err)
		}
		if got := f.members(t, seg.ID); !got["a"] {
			t.Fatal("a system event made a dormant customer active")
		}
	})
}

// TestBrokenSegmentHoldsUpNoOther: a stored definition that no longer expands (it refers to a
// segment deleted meanwhile) or no longer parses is skipped, and every other segment is still
// created, recomputed and re-evaluated.
func TestBrokenSegmentHoldsUpNoOther(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		sys := accounts.System()
		// Their ids sort before every ULID: they come first in every pass.
		f.exec(t, `INSERT INTO segments (id, name, definition, created_by, created_at) VALUES
			('00-dangling', 'Dangling', '{"segment":"01-deleted"}', 'system', 0),
			('00-garbled', 'Garbled', '{"nope":1}', 'system', 0)`)
		f.exec(t, `INSERT INTO identity_profiles (id, created_at) VALUES ('a', 0), ('b', 0), ('c', 0)`)
		f.exec(t, `INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES ('a', 'plan', '"pro"', 't', 1)`)
		pros, err := f.s.Create(ctx, sys, "Pros", json.RawMessage(`{"trait":"plan","op":"eq","value":"pro"}`))
		if err != nil || pros.Count != 1 {
			t.Fatalf("create beside broken segments: %+v %v", pros, err)
		}
		also, err := f.s.Create(ctx, sys, "Also pros", json.RawMessage(`{"segment":"`+pros.ID+`"}`))
		if err != nil || also.Count != 1 {
			t.Fatalf("create referring beside broken segments: %+v %v", also, err)
		}
		f.events(t)
		// b becomes a pro: the scheduled recomputation skips the broken segments and does the rest.
		f.exec(t, `INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES ('b', 'plan', '"pro"', 't', 2)`)
		f.advance(time.Hour)
		err = f.s.RecomputeDue(ctx)
		if err == nil || !strings.Contains(err.Error(), "2 of 4 segments") {
			t.Fatalf("RecomputeDue: %v, want the two broken segments counted", err)
		}
		if evs := f.events(t); fmt.Sprint(evs) != "[Segment Entered Pros b Segment Entered Also pros b]" {
			t.Fatalf("events %v", evs)
		}
		// c becomes a pro: the incremental evaluator skips them too.
		f.exec(t, `INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES ('c', 'plan', '"pro"', 't', 3)`)
		if err := f.s.Reevaluate(ctx, []string{"c"}); err != nil {
			t.Fatal(err)
		}
		if evs := f.events(t); fmt.Sprint(evs) != "[Segment Entered Pros c Segment Entered Also pros c]" {
			t.Fatalf("events %v", evs)
		}
		if _, _, err := f.s.Recompute(ctx, "00-dangling"); err == nil {
			t.Fatal("recomputed a segment whose reference is gone")
		}
	})
}

// TestConsentOptOutWinsATie: an opt-in and an opt-out recorded in the same millisecond — the
// opt-out is the current status for both evaluators, whichever record's id is greater.
func TestConsentOptOutWinsATie(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		f.exec(t, `INSERT INTO identity_profiles (id, created_at) VALUES ('a', 0), ('b', 0)`)
		f.exec(t, `INSERT INTO consent_records (id, profile_id, channel, purpose, status, recorded_at, source, recorded_by, created_at) VALUES
			('01A', 'a', 'email', 'marketing', 'opted_out', 5, 'api', 'system', 5), ('01Z', 'a', 'email', 'marketing', 'opted_in', 5, 'api', 'system', 5),
			('01B', 'b', 'email', 'marketing', 'opted_in', 5, 'api', 'system', 5), ('01C', 'b', 'email', 'marketing', 'opted_out', 5, 'api', 'system', 5)`)
		seg, err := f.s.Create(ctx, accounts.System(), "Opted in", json.RawMessage(`{"consent":{"channel":"email","purpose":"marketing"}}`))
		if err != nil || seg.Count != 0 {
			t.Fatalf("full recomputation: %+v %v", seg, err)
		}
		if err := f.s.Reevaluate(ctx, []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
		if got := f.members(t, seg.ID); len(got) != 0 {
			t.Fatalf("incremental evaluator: members %v", got)
		}
	})
}

// TestCreateWaitsForADeleteOfWhatItRefersTo: on PostgreSQL, a Create referring to a segment
// that a Delete has locked waits for it, and then refuses the reference to the segment gone,
// instead of storing a definition that no longer expands.
func TestCreateWaitsForADeleteOfWhatItRefersTo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		if e != db.Postgres {
			t.Skip("SQLite has one writer: a Create and a Delete never overlap")
		}
		ctx := context.Background()
		f := newFixture(t, e)
		sys := accounts.System()
		target, err := f.s.Create(ctx, sys, "Target", json.RawMessage(`{"trait":"plan","op":"exists"}`))
		if err != nil {
			t.Fatal(err)
		}
		// A Delete half-way: the row locked and removed, not committed yet.
		tx, err := f.d.W.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec(`SELECT id FROM segments WHERE id = $1 FOR UPDATE`, target.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`DELETE FROM segments WHERE id = $1`, target.ID); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := f.s.Create(ctx, sys, "Referrer", json.RawMessage(`{"segment":"`+target.ID+`"}`))
			done <- err
		}()
		// Wait until the Create waits for the lock (or has finished without waiting).
		deadline := time.Now().Add(10 * time.Second)
		for waiting := 0; waiting == 0; {
			select {
			case err := <-done:
				t.Fatalf("Create did not wait for the Delete: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("Create neither waited nor finished")
			}
			if err := f.d.R.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
				AND query LIKE '%FROM segments WHERE id%FOR SHARE%' AND query NOT LIKE '%pg_stat_activity%'`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		err = <-done
		if e, ok := errs.As(err); !ok || e.Kind != errs.KindInvalid || e.Field != "definition.segment" {
			t.Fatalf("Create after the Delete: %v, want invalid definition.segment", err)
		}
	})
}

// TestGoneProfilesLeaveAndEditsApply covers two ways membership could go stale: a profile erased
// (its row gone) leaves every segment at the next scheduled recomputation, and an edit applies
// even when a scheduled run claimed the segment just before it.
func TestGoneProfilesLeaveAndEditsApply(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		sys := accounts.System()
		f.exec(t, `INSERT INTO identity_profiles (id, created_at) VALUES ('a', 0), ('b', 0), ('c', 0)`)
		f.exec(t, `INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES
			('a', 'plan', '"pro"', 't', 1), ('b', 'plan', '"pro"', 't', 1), ('c', 'plan', '"free"', 't', 1)`)
		seg, err := f.s.Create(ctx, sys, "Pros", json.RawMessage(`{"trait":"plan","op":"eq","value":"pro"}`))
		if err != nil || seg.Count != 2 {
			t.Fatalf("create: %+v %v", seg, err)
		}
		f.events(t)
		// a is erased as the identity part does it: its rows go.
		f.exec(t, `DELETE FROM profile_traits WHERE profile_id = 'a'`)
		f.exec(t, `DELETE FROM identity_profiles WHERE id = 'a'`)
		f.exec(t, `UPDATE segments SET recomputed_at = 0`)
		if err := f.s.RecomputeDue(ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.members(t, seg.ID); fmt.Sprint(got) != "map[b:true]" {
			t.Fatalf("after the erasure, members %v", got)
		}
		if evs := f.events(t); len(evs) != 0 {
			t.Fatalf("an exit was announced about a profile that is gone: %v", evs)
		}
		// A scheduled run on another node claimed the segment a moment after this edit began.
		f.exec(t, `UPDATE segments SET recomputed_at = $1`, db.Now(f.clock().Add(500*time.Millisecond)))
		up, err := f.s.Update(ctx, sys, seg.ID, "Free", json.RawMessage(`{"trait":"plan","op":"eq","value":"free"}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.members(t, seg.ID); up.Count != 1 || fmt.Sprint(got) != "map[c:true]" {
			t.Fatalf("after the edit, count %d, members %v", up.Count, got)
		}
	})
}
