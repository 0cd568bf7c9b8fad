package identity

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Batch resolves the events of one consumer batch inside one transaction. It reads every
// identifier the events carry with a few queries up front, so the common cases need no further
// reads: a known person (all identifiers already on one profile) and a new one (none known yet).
// Anything else — identifiers on different profiles, an alias, per-type limits to check — goes
// through Resolve's full rules.
//
// Another transaction may change the graph after the read. Creating an identifier it created too
// then fails on the primary key, and the batch is retried; an event put on a profile it merged
// meanwhile still shows on the merged profile, because its data is read across merges.
type Batch struct {
	g     *Graph
	tx    *sql.Tx
	now   time.Time
	known map[ID]*owner
	keys  map[string][]key // the normalised identifiers of each event, by message id

	// Written by Flush: rows of identity_profiles and identity_identifiers, and identifiers
	// (type, value) whose last_seen is stale.
	profiles, ids, touch []any
}

type owner struct {
	profile  string
	lastSeen int64
}

// touchEvery is how stale an identifier's last_seen may get before an event refreshes it: close
// enough for "last seen", and a busy identifier costs one write a minute rather than one per event.
const touchEvery = time.Minute

// NewBatch reads the identifiers of evs.
func (g *Graph) NewBatch(ctx context.Context, tx *sql.Tx, evs []event.Event) (*Batch, error) {
	b := &Batch{g: g, tx: tx, now: g.now(), known: map[ID]*owner{}, keys: make(map[string][]key, len(evs))}
	byType := map[string][]any{}
	seen := map[ID]bool{}
	for i := range evs {
		keys := g.normalise(plainIDs(&evs[i]))
		b.keys[evs[i].MessageID] = keys
		for _, k := range keys {
			if !seen[k.ID] {
				seen[k.ID] = true
				byType[k.Type] = append(byType[k.Type], k.Value)
			}
		}
	}
	for typ, values := range byType {
		for chunk := range slices.Chunk(values, preloadChunk) {
			rows, err := g.db.Query(ctx, tx, g.preloadQuery(len(chunk)), append(chunk, typ)...)
			if err != nil {
				return nil, fmt.Errorf("reading identifiers: %w", err)
			}
			for rows.Next() {
				k := ID{Type: typ}
				o := &owner{}
				if err := rows.Scan(&k.Value, &o.profile, &o.lastSeen); err != nil {
					rows.Close()
					return nil, err
				}
				b.known[k] = o
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

// preloadChunk is how many identifiers NewBatch reads with one query.
const preloadChunk = 250

// preloadQuery reads n identifiers of one type, the type being the last argument. One type per
// query rather than (type, value) pairs: PostgreSQL plans a list of pairs as a hash join over the
// whole table until the table has statistics, but a value list as index lookups.
func (g *Graph) preloadQuery(n int) string {
	typ := "?"
	if g.db.Engine == db.Postgres {
		typ = fmt.Sprintf("$%d", n+1)
	}
	return `SELECT value, profile_id, last_seen FROM identity_identifiers WHERE value IN ` + g.db.Engine.Values(1, n) + ` AND type = ` + typ
}

// Prepare prepares the statement a Batch runs most; call it outside a transaction (see db.Prepare).
func (g *Graph) Prepare(ctx context.Context) error {
	return g.db.Prepare(ctx, g.preloadQuery(preloadChunk))
}

// Resolve is Graph.ResolveEvent within the batch. Call Flush before the transaction commits.
func (b *Batch) Resolve(ctx context.Context, ev *event.Event) (string, error) {
	keys, ok := b.keys[ev.MessageID]
	if ok && ev.Type != event.Alias && len(keys) > 0 {
		if p, ok := b.fast(keys); ok {
			return p, nil
		}
	}
	// The full rules read the graph: what the fast path keeps for later must be in it first.
	if err := b.Flush(ctx); err != nil {
		return "", err
	}
	if !ok || ev.Type == event.Alias {
		ids, err := b.g.eventIDs(ctx, b.tx, ev)
		if err != nil {
			return "", err
		}
		keys = b.g.normalise(ids)
	}
	if len(keys) == 0 {
		if ev.ProfileID == "" {
			return "", nil
		}
		return b.g.root(ctx, b.tx, ev.ProfileID)
	}
	winner, losers, err := b.g.resolve(ctx, b.tx, keys, ev.Type+" "+ev.MessageID, b.now)
	if err != nil {
		return "", fmt.Errorf("resolving identities of %s: %w", ev.MessageID, err)
	}
	for _, o := range b.known {
		if slices.Contains(losers, o.profile) {
			o.profile = winner
		}
	}
	for _, k := range keys {
		b.known[k.ID] = &owner{profile: winner, lastSeen: db.Now(b.now)}
	}
	return winner, nil
}

// fast resolves keys that are all known and on one profile, or all unknown and within the
// per-type limits, without writing: new profiles and identifiers and stale last-seen times wait
// for Flush. ok is false when the full rules must decide.
func (b *Batch) fast(keys []key) (p string, ok bool) {
	var found []*owner
	for _, k := range keys {
		if o := b.known[k.ID]; o != nil {
			found = append(found, o)
		}
	}
	now := db.Now(b.now)
	switch {
	case len(found) == len(keys):
		for _, o := range found[1:] {
			if o.profile != found[0].profile {
				return "", false
			}
		}
		for i, k := range keys {
			if now-found[i].lastSeen >= touchEvery.Milliseconds() {
				b.touch = append(b.touch, k.Type, k.Value)
				found[i].lastSeen = now
			}
		}
		return found[0].profile, true
	case len(found) > 0:
		return "", false
	}
	limitedTypes := map[string]bool{}
	for _, k := range keys {
		if limited(k.base) {
			if limitedTypes[k.Type] {
				return "", false
			}
			limitedTypes[k.Type] = true
		}
	}
	p = id.New(b.now)
	b.profiles = append(b.profiles, p, now)
	for _, k := range keys {
		b.ids = append(b.ids, k.Type, k.Value, p, now, now)
		b.known[k.ID] = &owner{profile: p, lastSeen: now}
	}
	return p, true
}

// Flush writes what the fast path kept for later: new profiles, their identifiers and last-seen
// times.
func (b *Batch) Flush(ctx context.Context) error {
	e := b.g.db.Engine
	for rows := range slices.Chunk(b.profiles, 2*flushRows) {
		if _, err := b.g.db.Exec(ctx, b.tx, `INSERT INTO identity_profiles (id, created_at) VALUES `+e.Values(len(rows)/2, 2), rows...); err != nil {
			return fmt.Errorf("creating profiles: %w", err)
		}
	}
	for rows := range slices.Chunk(b.ids, 5*flushRows) {
		if _, err := b.g.db.Exec(ctx, b.tx, `INSERT INTO identity_identifiers (type, value, profile_id, first_seen, last_seen) VALUES `+
			e.Values(len(rows)/5, 5), rows...); err != nil {
			return fmt.Errorf("attaching identifiers: %w", err)
		}
	}
	for rows := range slices.Chunk(b.touch, 2*flushRows) {
		// Numbered placeholders on both engines: the time, named first, is the last argument.
		q := `UPDATE identity_identifiers SET last_seen = $` + fmt.Sprint(len(rows)+1) +
			` WHERE (type, value) IN (VALUES ` + db.Postgres.Values(len(rows)/2, 2) + `)`
		if _, err := b.g.db.Exec(ctx, b.tx, q, append(rows, db.Now(b.now))...); err != nil {
			return fmt.Errorf("touching identifiers: %w", err)
		}
	}
	b.profiles, b.ids, b.touch = b.profiles[:0], b.ids[:0], b.touch[:0]
	return nil
}

// flushRows bounds the rows of one statement Flush writes.
const flushRows = 200
