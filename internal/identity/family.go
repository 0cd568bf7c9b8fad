package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// Data recorded about a profile — events, traits, CRM records — stays under the profile id it
// was recorded for. A merge only sets the loser's merged_into, so whatever is shown for a profile
// is read across its family, and undoing the merge gives the loser its own data back untouched.

// Root returns the profile profileID has been merged into, following merges of merges, or
// profileID itself when it stands alone. It returns an errs.NotFound error for an unknown id.
func (g *Graph) Root(ctx context.Context, profileID string) (string, error) {
	return g.root(ctx, g.db.R, profileID)
}

func (g *Graph) root(ctx context.Context, q db.Queryer, profileID string) (string, error) {
	cur := profileID
	for range MaxMerges + 1 {
		var next sql.NullString
		err := q.QueryRowContext(ctx, `SELECT merged_into FROM identity_profiles WHERE id = $1`, cur).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			return "", errs.NotFound("no profile %s", profileID)
		}
		if err != nil {
			return "", fmt.Errorf("following merges of %s: %w", profileID, err)
		}
		if !next.Valid {
			return cur, nil
		}
		cur = next.String
	}
	return "", fmt.Errorf("profile %s: merge chain longer than %d", profileID, MaxMerges+1)
}

// Family returns root and every profile merged into it, directly or through another merge, root
// first: the ids under which the data of the person root stands for is recorded.
func (g *Graph) Family(ctx context.Context, root string) ([]string, error) {
	return g.family(ctx, g.db.R, root)
}

// RootFamily is Root and then Family of the root, read through q: inside a caller's transaction
// it sees the profiles that transaction has just created or merged.
func (g *Graph) RootFamily(ctx context.Context, q db.Queryer, profileID string) (root string, family []string, err error) {
	if root, err = g.root(ctx, q, profileID); err != nil {
		return "", nil, err
	}
	family, err = g.family(ctx, q, root)
	return root, family, err
}

func (g *Graph) family(ctx context.Context, q db.Queryer, root string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `WITH RECURSIVE family (id) AS (
			SELECT id FROM identity_profiles WHERE id = $1
			UNION SELECT p.id FROM identity_profiles p JOIN family f ON p.merged_into = f.id
		) SELECT id FROM family`, root)
	if err != nil {
		return nil, fmt.Errorf("reading the family of %s: %w", root, err)
	}
	defer rows.Close()
	out := []string{root}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if id != root {
			out = append(out, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 1 {
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM identity_profiles WHERE id = $1`, root).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.NotFound("no profile %s", root)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Match is an identifier found by Find, with its profile.
type Match struct {
	ProfileID string `json:"profile_id"`
	Type      string `json:"type"`
	Value     string `json:"value"`
}

// Find returns the identifiers whose value is v read as any type — an email, a phone number, a
// user, CRM or membership id typed the way staff have it at hand ("090-1234-5678",
// "ＴＡＲＯ＠…") — at most limit of them. Placeholders find nothing.
func (g *Graph) Find(ctx context.Context, v string, limit int) ([]Match, error) {
	seen := map[string]bool{}
	var values []any
	for _, t := range []string{"email", "phone", "user_id"} {
		k, err := normaliseOne(t, v)
		if err != nil || seen[k.Value] {
			continue
		}
		seen[k.Value] = true
		values = append(values, k.Value)
	}
	if len(values) == 0 {
		return nil, nil
	}
	rows, err := g.db.R.QueryContext(ctx, `SELECT profile_id, type, value FROM identity_identifiers
		WHERE value IN `+g.db.Engine.Values(1, len(values))+` ORDER BY last_seen DESC LIMIT `+fmt.Sprint(db.Limit(limit, 20, 100)), values...)
	if err != nil {
		return nil, fmt.Errorf("finding %q: %w", v, err)
	}
	defer rows.Close()
	var out []Match
	for rows.Next() {
		var m Match
		if err := rows.Scan(&m.ProfileID, &m.Type, &m.Value); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RootFamilies is RootFamily for many profiles at once, in a few statements: roots maps each
// known id of ids to its root, and families each of those roots to its family, root first.
// Unknown ids are left out.
func (g *Graph) RootFamilies(ctx context.Context, q db.Queryer, ids []string) (roots map[string]string, families map[string][]string, err error) {
	parent := map[string]string{} // id → the profile it is merged into, "" for a root
	pending := ids
	for range MaxMerges + 2 {
		if len(pending) == 0 {
			break
		}
		var next []string
		for chunk := range slices.Chunk(pending, 500) {
			in, args := db.InList(chunk, 1)
			rows, err := q.QueryContext(ctx, `SELECT id, COALESCE(merged_into, '') FROM identity_profiles WHERE id `+in, args...)
			if err != nil {
				return nil, nil, fmt.Errorf("following merges: %w", err)
			}
			for rows.Next() {
				var id, into string
				if err := rows.Scan(&id, &into); err != nil {
					rows.Close()
					return nil, nil, err
				}
				parent[id] = into
				if _, seen := parent[into]; into != "" && !seen {
					next = append(next, into)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, nil, err
			}
		}
		slices.Sort(next)
		pending = slices.Compact(next)
	}
	roots = map[string]string{}
	families = map[string][]string{}
	for _, id := range ids {
		if _, known := parent[id]; !known {
			continue
		}
		cur, steps := id, 0
		for parent[cur] != "" {
			if steps++; steps > MaxMerges+1 {
				return nil, nil, fmt.Errorf("profile %s: merge chain longer than %d", id, MaxMerges+1)
			}
			cur = parent[cur]
		}
		if _, known := parent[cur]; !known {
			continue // merged into a profile that is gone: as unknown as the profile itself
		}
		roots[id] = cur
		families[cur] = []string{cur}
	}
	list := make([]string, 0, len(families))
	for r := range families {
		list = append(list, r)
	}
	slices.Sort(list)
	for chunk := range slices.Chunk(list, 500) {
		in, args := db.InList(chunk, 1)
		rows, err := q.QueryContext(ctx, `WITH RECURSIVE family (id, root) AS (
				SELECT id, id FROM identity_profiles WHERE id `+in+`
				UNION SELECT p.id, f.root FROM identity_profiles p JOIN family f ON p.merged_into = f.id
			) SELECT id, root FROM family WHERE id <> root`, args...)
		if err != nil {
			return nil, nil, fmt.Errorf("reading families: %w", err)
		}
		for rows.Next() {
			var id, root string
			if err := rows.Scan(&id, &root); err != nil {
				rows.Close()
				return nil, nil, err
			}
			families[root] = append(families[root], id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	return roots, families, nil
}
