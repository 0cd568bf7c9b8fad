package identity

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
)

// BatchError is the error of one item of ResolveMany: Index is its position.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("item %d: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// manyRows bounds the rows of one statement of ResolveMany (2 or 5 parameters a row).
const manyRows = 400

// maxSlow is how many items of one ResolveMany call may need Resolve before the rest simply go
// through Resolve: each such item makes the owners read so far stale.
const maxSlow = 8

// ResolveMany resolves batch[i] (the identifiers of one record, with reason(i)) for every i, in
// order, inside tx, with the same outcome as calling Resolve for each in turn, and returns their
// profiles. It is for imports: the owners of all the identifiers are read a few hundred per
// statement, and the common cases are written the same way — every identifier unknown (a new
// profile), or all on one profile (attach the new ones, touch last_seen) when no user_id,
// member_id or crm id would be added to it. Items that may merge profiles or hit a per-type
// limit go through Resolve itself. An item with no usable identifier gives a *BatchError.
func (g *Graph) ResolveMany(ctx context.Context, tx *sql.Tx, batch [][]ID, reason func(i int) string) ([]string, error) {
	now := g.now()
	out := make([]string, len(batch))
	keys := make([][]key, len(batch))
	for i, ids := range batch {
		keys[i] = g.normalise(ids)
		if len(keys[i]) == 0 {
			return nil, &BatchError{i, errs.Invalid("ids", "no usable identifier (all empty, invalid or placeholders)")}
		}
	}
	owner, err := g.ownersOf(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	var profiles, attach []any // pending INSERT rows
	var touch []ID
	flush := func() error {
		if err := g.flushMany(ctx, tx, profiles, attach, touch, db.Now(now)); err != nil {
			return err
		}
		profiles, attach, touch = profiles[:0], attach[:0], touch[:0]
		return nil
	}
	slow := 0
	for i, ks := range keys {
		if slow > maxSlow {
			if err := flush(); err != nil {
				return nil, err
			}
			pid, err := g.Resolve(ctx, tx, batch[i], reason(i))
			if err != nil {
				return nil, &BatchError{i, err}
			}
			out[i] = pid
			continue
		}
		var pid string
		fast := true
		limitedNew := false
		seenLimited := map[string]bool{}
		for _, k := range ks {
			if limited(k.base) {
				if seenLimited[k.Type] {
					fast = false // two values of one limited type: Resolve drops one
				}
				seenLimited[k.Type] = true
			}
			p, known := owner[k.ID]
			switch {
			case !known:
				limitedNew = limitedNew || limited(k.base)
			case pid == "":
				pid = p
			case pid != p:
				fast = false // a merge
			}
		}
		if pid != "" && limitedNew {
			fast = false // the profile may already hold another value of that type
		}
		if !fast {
			if err := flush(); err != nil {
				return nil, err
			}
			p, err := g.Resolve(ctx, tx, batch[i], reason(i))
			if err != nil {
				return nil, &BatchError{i, err}
			}
			out[i] = p
			slow++
			// Resolve may have merged profiles: read the owners of what is left again.
			if owner, err = g.ownersOf(ctx, tx, keys[i+1:]); err != nil {
				return nil, err
			}
			continue
		}
		if pid == "" {
			pid = id.New(now)
			profiles = append(profiles, pid, db.Now(now))
		}
		for _, k := range ks {
			if _, known := owner[k.ID]; known {
				touch = append(touch, k.ID)
				continue
			}
			owner[k.ID] = pid
			attach = append(attach, k.Type, k.Value, pid, db.Now(now), db.Now(now))
		}
		out[i] = pid
		if len(profiles) >= 2*manyRows || len(attach) >= 5*manyRows || len(touch) >= manyRows {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// ownersOf returns the profile of each known key of keys.
func (g *Graph) ownersOf(ctx context.Context, tx *sql.Tx, keys [][]key) (map[ID]string, error) {
	owner := map[ID]string{}
	var want []ID
	seen := map[ID]bool{}
	for _, ks := range keys {
		for _, k := range ks {
			if !seen[k.ID] {
				seen[k.ID] = true
				want = append(want, k.ID)
			}
		}
	}
	for start := 0; start < len(want); start += manyRows {
		part := want[start:min(start+manyRows, len(want))]
		args := make([]any, 0, 2*len(part))
		for _, k := range part {
			args = append(args, k.Type, k.Value)
		}
		rows, err := tx.QueryContext(ctx, `SELECT type, value, profile_id FROM identity_identifiers WHERE (type, value) IN (VALUES `+
			g.db.Engine.Values(len(part), 2)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("looking up identifiers: %w", err)
		}
		for rows.Next() {
			var k ID
			var p string
			if err := rows.Scan(&k.Type, &k.Value, &p); err != nil {
				rows.Close()
				return nil, err
			}
			owner[k] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return owner, nil
}

// flushMany writes the new profiles, the identifiers to attach and the last_seen touches that
// ResolveMany gathered.
func (g *Graph) flushMany(ctx context.Context, tx *sql.Tx, profiles, attach []any, touch []ID, now int64) error {
	for start := 0; start < len(profiles); start += 2 * manyRows {
		part := profiles[start:min(start+2*manyRows, len(profiles))]
		if _, err := tx.ExecContext(ctx, `INSERT INTO identity_profiles (id, created_at) VALUES `+g.db.Engine.Values(len(part)/2, 2), part...); err != nil {
			return fmt.Errorf("creating profiles: %w", err)
		}
	}
	for start := 0; start < len(attach); start += 5 * manyRows {
		part := attach[start:min(start+5*manyRows, len(attach))]
		if _, err := tx.ExecContext(ctx, `INSERT INTO identity_identifiers (type, value, profile_id, first_seen, last_seen) VALUES `+
			g.db.Engine.Values(len(part)/5, 5), part...); err != nil {
			return fmt.Errorf("attaching identifiers: %w", err)
		}
	}
	for start := 0; start < len(touch); start += manyRows {
		part := touch[start:min(start+manyRows, len(touch))]
		args := make([]any, 0, 2+2*len(part))
		args = append(args, now, now)
		for _, k := range part {
			args = append(args, k.Type, k.Value)
		}
		// SQLite numbers plain ? placeholders in order; PostgreSQL's list is shifted past the two
		// time parameters.
		q := `UPDATE identity_identifiers SET last_seen = ? WHERE last_seen < ? AND (type, value) IN (VALUES ` + g.db.Engine.Values(len(part), 2) + `)`
		if g.db.Engine == db.Postgres {
			q = `UPDATE identity_identifiers SET last_seen = $1 WHERE last_seen < $2 AND (type, value) IN (VALUES ` + shiftParams(len(part)*2, 2) + `)`
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("touching identifiers: %w", err)
		}
	}
	return nil
}

// shiftParams is a PostgreSQL VALUES list of n/2 pairs numbered from offset+1.
func shiftParams(n, offset int) string {
	var b strings.Builder
	for i := 0; i < n; i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "($%d,$%d)", offset+i+1, offset+i+2)
	}
	return b.String()
}
