package identity_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
)

// TestRootFamiliesAgreesWithRootFamily checks the batch against the one-profile reads on a
// graph with merges of merges, profiles standing alone and an unknown id.
func TestRootFamiliesAgreesWithRootFamily(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		// r ← a ← b (a chain), r ← c, s alone, t ← u, and d merged into a profile that is gone.
		for _, p := range [][2]string{{"r", ""}, {"a", "r"}, {"b", "a"}, {"c", "r"}, {"s", ""}, {"t", ""}, {"u", "t"}, {"d", "gone"}} {
			var into any
			if p[1] != "" {
				into = p[1]
			}
			if _, err := v.db.W.ExecContext(ctx, `INSERT INTO identity_profiles (id, created_at, merged_into) VALUES ($1, 0, $2)`, p[0], into); err != nil {
				t.Fatal(err)
			}
		}
		ids := []string{"b", "s", "u", "c", "nobody", "r", "d"}
		roots, families, err := v.g.RootFamilies(ctx, v.db.R, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			root, family, err := v.g.RootFamily(ctx, v.db.R, id)
			if id == "d" {
				if _, ok := roots[id]; ok {
					t.Fatalf("a profile merged into one that is gone has root %q", roots[id])
				}
				continue
			}
			if id == "nobody" {
				if _, ok := roots[id]; ok || err == nil {
					t.Fatalf("unknown id: root %q, error %v", roots[id], err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Clone(families[roots[id]])
			slices.Sort(family[1:])
			slices.Sort(got[1:])
			if roots[id] != root || fmt.Sprint(got) != fmt.Sprint(family) {
				t.Errorf("%s: batch %s %v, one by one %s %v", id, roots[id], got, root, family)
			}
		}
		if len(families) != 3 {
			t.Errorf("families %v, want r, s and t", families)
		}
	})
}
