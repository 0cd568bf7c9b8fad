package segment

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// TestSizesPreviewUpdateExport covers what the staff pages read: the size history a
// recomputation writes (one point an hour, old points pruned), a draft's preview, an update that
// moves members and refuses a cycle, the export with traits across a merge family, and the
// segments of one profile.
func TestSizesPreviewUpdateExport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		sys := accounts.System()
		f.exec(t, `INSERT INTO identity_profiles (id, created_at) VALUES ('a', 0), ('b', 0), ('c', 0)`)
		f.exec(t, `INSERT INTO identity_profiles (id, created_at, merged_into) VALUES ('a2', 0, 'a')`)
		f.exec(t, `INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES
			('a', 'plan', '"pro"', 't', 1), ('b', 'plan', '"pro"', 't', 1), ('c', 'plan', '"free"', 't', 1),
			('a', 'email', '"old@example.com"', 't', 1), ('a2', 'email', '"a@example.com"', 't', 2), ('b', 'name', '"ビー"', 't', 1)`)

		pro, err := f.s.Create(ctx, sys, "Pro", []byte(`{"trait":"plan","op":"eq","value":"pro"}`))
		if err != nil {
			t.Fatal(err)
		}
		if pro.Count != 2 || pro.CreatedBy != "system" || pro.Recomputed.IsZero() {
			t.Fatalf("created %+v", pro)
		}
		f.exec(t, `UPDATE profile_traits SET value = '"pro"' WHERE profile_id = 'c' AND name = 'plan'`)
		f.advance(20 * time.Minute) // the same hour: the point is overwritten
		if _, _, err := f.s.Recompute(ctx, pro.ID); err != nil {
			t.Fatal(err)
		}
		f.advance(time.Hour)
		f.exec(t, `UPDATE profile_traits SET value = '"free"' WHERE profile_id = 'b' AND name = 'plan'`)
		if _, _, err := f.s.Recompute(ctx, pro.ID); err != nil {
			t.Fatal(err)
		}
		sizes, err := f.s.Sizes(ctx, sys, pro.ID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		hour := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		want := []Size{{At: hour, Count: 3}, {At: hour.Add(time.Hour), Count: 2}}
		if diff := cmp.Diff(want, sizes); diff != "" {
			t.Fatalf("sizes (-want +got):\n%s", diff)
		}
		f.advance(sizeRetention - 30*time.Minute)
		if _, _, err := f.s.Recompute(ctx, pro.ID); err != nil {
			t.Fatal(err)
		}
		if sizes, _ = f.s.Sizes(ctx, sys, pro.ID, time.Time{}); len(sizes) != 2 || sizes[0].At != hour.Add(time.Hour) {
			t.Fatalf("after 400 days the first point is pruned: %+v", sizes)
		}

		pv, err := f.s.Preview(ctx, sys, "", []byte(`{"any":[{"trait":"plan","op":"eq","value":"free"},{"segment":"`+pro.ID+`"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Preview{Count: 3, Sample: []string{"a", "b", "c"}}, pv); diff != "" {
			t.Fatalf("preview (-want +got):\n%s", diff)
		}
		if _, err := f.s.Preview(ctx, sys, "", []byte(`{"all":[{"trait":"plan","op":"gt","value":"x"}]}`)); fieldOf(err) != "definition.all[0].value" {
			t.Fatalf("a bad draft names its path: %v", err)
		}
		if _, err := f.s.Preview(ctx, sys, pro.ID, []byte(`{"segment":"`+pro.ID+`"}`)); fieldOf(err) != "definition.segment" {
			t.Fatalf("a draft referring to the segment edited is refused: %v", err)
		}
		if _, err := f.s.Preview(ctx, accounts.Principal{MemberID: "m", Role: accounts.RoleMember}, "", []byte(`{"segment":"x"}`)); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("a member may not preview: %v", err)
		}

		free, err := f.s.Create(ctx, sys, "Free or pro", []byte(`{"any":[{"trait":"plan","op":"eq","value":"free"},{"segment":"`+pro.ID+`"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		f.events(t)
		if _, err := f.s.Update(ctx, sys, pro.ID, "Pro", []byte(`{"not":{"segment":"`+free.ID+`"}}`)); fieldOf(err) != "definition.not.segment.any[1].segment" {
			t.Fatalf("a cycle through another segment is refused: %v", err)
		}
		upd, err := f.s.Update(ctx, sys, pro.ID, "Free", []byte(`{"trait":"plan","op":"eq","value":"free"}`))
		if err != nil {
			t.Fatal(err)
		}
		if upd.Name != "Free" || upd.Count != 1 {
			t.Fatalf("updated %+v", upd)
		}
		if got := f.events(t); !slices.Equal(got, []string{"Segment Entered Free b", "Segment Exited Free a", "Segment Exited Free c"}) {
			t.Fatalf("update events %q", got)
		}

		var rows []MemberRow
		if err := f.s.Export(ctx, sys, free.ID, ExportTraits, func(page []MemberRow) error { rows = append(rows, page...); return nil }); err != nil {
			t.Fatal(err)
		}
		got := map[string]map[string]any{}
		for _, r := range rows {
			got[r.ID] = r.Traits
		}
		wantTraits := map[string]map[string]any{"a": {"email": "a@example.com", "plan": "pro"}, "b": {"name": "ビー", "plan": "free"}, "c": {"plan": "pro"}}
		if diff := cmp.Diff(wantTraits, got); diff != "" {
			t.Fatalf("export (-want +got):\n%s", diff)
		}
		ms, err := f.s.ForProfile(ctx, sys, "b")
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 || ms[0].Name != "Free" || ms[1].Name != "Free or pro" {
			t.Fatalf("segments of b: %+v", ms)
		}

		// The scheduled recomputation (a snapshot, then a re-check of the changed profiles)
		// records its point too.
		f.advance(time.Hour)
		f.exec(t, `UPDATE profile_traits SET value = '"free"' WHERE profile_id = 'c' AND name = 'plan'`)
		if err := f.s.RecomputeDue(ctx); err != nil {
			t.Fatal(err)
		}
		if sizes, err = f.s.Sizes(ctx, sys, pro.ID, time.Time{}); err != nil || len(sizes) == 0 {
			t.Fatal(err)
		}
		if got, want := sizes[len(sizes)-1], (Size{At: f.clock().Truncate(time.Hour), Count: 2}); got != want {
			t.Fatalf("the scheduled recomputation recorded %+v, want %+v", got, want)
		}
	})
}
