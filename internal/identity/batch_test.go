package identity_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// ResolveMany ends in the same graph as Resolve called item by item: the same items share a
// profile, every identifier lands on the same group, and the same merges happen.
func TestResolveManyMatchesResolve(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		id := func(t, v string) identity.ID { return identity.ID{Type: t, Value: v} }
		seed := [][]identity.ID{
			{id("email", "a@kizuna-shop.jp"), id("user_id", "u1")},
			{id("email", "z@kizuna-shop.jp")},
		}
		batch := [][]identity.ID{
			{id("email", "A@kizuna-shop.jp")},                                   // known
			{id("email", "n1@kizuna-shop.jp"), id("phone", "090-1111-2222")},    // new
			{id("email", "n1@kizuna-shop.jp")},                                  // created earlier in the batch
			{id("email", "a@kizuna-shop.jp"), id("phone", "03-1234-5678")},      // attach a phone
			{id("user_id", "u2"), id("email", "a@kizuna-shop.jp")},              // per-type limit: Resolve drops the email
			{id("email", "n1@kizuna-shop.jp"), id("email", "z@kizuna-shop.jp")}, // a merge
			{id("email", "z@kizuna-shop.jp"), id("crm:sf", "C-1")},              // after the merge
			{id("crm:sf", "C-2")},
			{id("email", "n1@kizuna-shop.jp"), id("phone", "090-1111-2222")}, // all known, one profile
		}
		run := func(many bool) ([]string, map[identity.ID]string, int) {
			v := newEnv(t, e)
			ctx := context.Background()
			for _, ids := range seed {
				v.resolve("seed", ids...)
			}
			var out []string
			if err := v.db.Tx(ctx, func(tx *sql.Tx) (err error) {
				if many {
					out, err = v.g.ResolveMany(ctx, tx, batch, func(i int) string { return fmt.Sprint("item ", i) })
					return err
				}
				for i, ids := range batch {
					p, err := v.g.Resolve(ctx, tx, ids, fmt.Sprint("item ", i))
					if err != nil {
						return err
					}
					out = append(out, p)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			owners := map[identity.ID]string{}
			rows, err := v.db.R.Query(`SELECT type, value, profile_id FROM identity_identifiers`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var k identity.ID
				var p string
				rows.Scan(&k.Type, &k.Value, &p)
				owners[k] = p
			}
			var merges int
			v.db.R.QueryRow(`SELECT count(*) FROM identity_merges`).Scan(&merges)
			return out, owners, merges
		}
		seqOut, seqOwners, seqMerges := run(false)
		manyOut, manyOwners, manyMerges := run(true)
		if seqMerges != manyMerges || manyMerges == 0 {
			t.Fatalf("merges = %d, Resolve made %d", manyMerges, seqMerges)
		}
		// Profile ids differ between the runs; compare which items and identifiers share one.
		same := func(ids []string) [][]int {
			var groups [][]int
			for i := range ids {
				g := []int{}
				for j := range ids {
					if ids[i] == ids[j] {
						g = append(g, j)
					}
				}
				groups = append(groups, g)
			}
			return groups
		}
		if a, b := same(seqOut), same(manyOut); !slices.EqualFunc(a, b, slices.Equal) {
			t.Fatalf("items sharing a profile: ResolveMany %v, Resolve %v", b, a)
		}
		if len(seqOwners) != len(manyOwners) {
			t.Fatalf("identifiers: %v vs %v", manyOwners, seqOwners)
		}
		rename := map[string]string{}
		for i := range seqOut {
			rename[seqOut[i]] = manyOut[i]
		}
		for k, p := range seqOwners {
			if want, ok := rename[p]; ok && manyOwners[k] != want {
				t.Errorf("%v is on %s, want %s", k, manyOwners[k], want)
			}
			if _, ok := manyOwners[k]; !ok {
				t.Errorf("%v missing", k)
			}
		}

		v := newEnv(t, e)
		err := v.db.Tx(context.Background(), func(tx *sql.Tx) error {
			_, err := v.g.ResolveMany(context.Background(), tx, [][]identity.ID{{id("email", "b@kizuna-shop.jp")}, {id("email", "test@example.com")}},
				func(int) string { return "x" })
			return err
		})
		var be *identity.BatchError
		if !errors.As(err, &be) || be.Index != 1 {
			t.Fatalf("placeholder item: %v", err)
		}
	})
}
