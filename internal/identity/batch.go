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
	var args []any
	seen := map[ID]bool{}
	for i := range evs {
		keys := g.normalise(plainIDs(&evs[i]))
		b.keys[evs[i].MessageID] = keys
		for _, k := range keys {
			if !seen[k.ID] {
				seen[k.ID] = true
				args = append(args, k.Type, k.Value)
			}
		}
	}
	for chunk := range slices.Chunk(args, 2*preloadChunk) {
		rows, err := g.db.Query(ctx, tx, g.preloadQuery(len(chunk)/2), chunk...)
		if err != nil {
			return nil, fmt.Errorf("reading identifiers: %w", err)
		}
		for rows.Next() {
			var k ID
			o := &owner{}
			if err := rows.Scan(&k.Type, &k.Value, &o.profile, &o.lastSeen); err != nil {
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
	return b, nil
}

// preloadChunk is how many identifiers NewBatch reads with one query.
const preloadChunk = 250

func (g *Graph) preloadQuery(n int) string {
	return `SELECT type, value, profile_id, last_seen FROM identity_identifiers WHERE (type, value) IN (VALUES ` + g.db.Engine.Values(n, 2) + `)`
}

const (
	touchQuery         = `UPDATE identity_identifiers SET last_seen = $1 WHERE type = $2 AND value = $3`
	insertProfileQuery = `INSERT INTO identity_profiles (id, created_at) VALUES ($1, $2)`
)

// Prepare prepares the statements a Batch runs most; call it outside a transaction (see db.Prepare).
func (g *Graph) Prepare(ctx context.Context) error {
	return g.db.Prepare(ctx, g.preloadQuery(preloadChunk), touchQuery, insertProfileQuery)
}

// Resolve is Graph.ResolveEvent within the batch.
func (b *Batch) Resolve(ctx context.Context, ev *event.Event) (string, error) {
	keys, ok := b.keys[ev.MessageID]
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
	if ev.Type != event.Alias {
		if p, ok, err := b.fast(ctx, keys); ok || err != nil {
			return p, err
		}
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
// per-type limits. ok is false when the full rules must decide.
func (b *Batch) fast(ctx context.Context, keys []key) (p string, ok bool, err error) {
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
				return "", false, nil
			}
		}
		for i, k := range keys {
			if now-found[i].lastSeen < touchEvery.Milliseconds() {
				continue
			}
			if _, err := b.g.db.Exec(ctx, b.tx, touchQuery, now, k.Type, k.Value); err != nil {
				return "", false, fmt.Errorf("touching %s identifier: %w", k.Type, err)
			}
			found[i].lastSeen = now
		}
		return found[0].profile, true, nil
	case len(found) > 0:
		return "", false, nil
	}
	limitedTypes := map[string]bool{}
	for _, k := range keys {
		if limited(k.base) {
			if limitedTypes[k.Type] {
				return "", false, nil
			}
			limitedTypes[k.Type] = true
		}
	}
	p = id.New(b.now)
	if _, err := b.g.db.Exec(ctx, b.tx, insertProfileQuery, p, now); err != nil {
		return "", false, fmt.Errorf("creating profile: %w", err)
	}
	args := make([]any, 0, len(keys)*5)
	for _, k := range keys {
		args = append(args, k.Type, k.Value, p, now, now)
		b.known[k.ID] = &owner{profile: p, lastSeen: now}
	}
	if _, err := b.tx.ExecContext(ctx, `INSERT INTO identity_identifiers (type, value, profile_id, first_seen, last_seen) VALUES `+
		b.g.db.Engine.Values(len(keys), 5), args...); err != nil {
		return "", false, fmt.Errorf("attaching identifiers: %w", err)
	}
	return p, true, nil
}
