package identity

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Batch resolves many sets of identifiers — the events of one consumer batch, the rows of an
// import chunk — inside one transaction, with the same outcome as Resolve called for each in
// turn. It reads the identifiers they carry with a few queries up front and keeps what it writes
// for Flush, so the common cases cost no statement of their own: a known person (identifiers
// already on one profile, perhaps with new ones to attach that no per-type limit could refuse)
// and a new one (none known yet). Anything else — identifiers on different profiles, a new user
// id for a known profile, an alias — goes through Resolve's full rules.
//
// Another transaction may change the graph after the read. Creating an identifier it created too
// then fails on the primary key, and the caller retries; an event put on a profile it merged
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

// touchEvery is how stale an identifier's last_seen may get before it is refreshed: close enough
// for "last seen", and a busy identifier costs one write a minute rather than one per event.
const touchEvery = time.Minute

func (g *Graph) newBatch(tx *sql.Tx) *Batch {
	return &Batch{g: g, tx: tx, now: g.now(), known: map[ID]*owner{}, keys: map[string][]key{}}
}

// NewBatch reads the identifiers of evs.
func (g *Graph) NewBatch(ctx context.Context, tx *sql.Tx, evs []event.Event) (*Batch, error) {
	b := g.newBatch(tx)
	lists := make([][]key, len(evs))
	for i := range evs {
		lists[i] = g.normalise(plainIDs(&evs[i]))
		b.keys[evs[i].MessageID] = lists[i]
	}
	return b, b.read(ctx, lists)
}

// ResolveMany resolves batch[i] (the identifiers of one record, with reason(i)) for every i, in
// order, inside tx, with the same outcome as calling Resolve for each in turn, and returns their
// profiles. An item with no usable identifier gives a *BatchError.
func (g *Graph) ResolveMany(ctx context.Context, tx *sql.Tx, batch [][]ID, reason func(i int) string) ([]string, error) {
	b := g.newBatch(tx)
	lists := make([][]key, len(batch))
	for i, ids := range batch {
		if lists[i] = g.normalise(ids); len(lists[i]) == 0 {
			return nil, &BatchError{i, errs.Invalid("ids", "no usable identifier (all empty, invalid or placeholders)")}
		}
	}
	if err := b.read(ctx, lists); err != nil {
		return nil, err
	}
	out := make([]string, len(batch))
	for i, keys := range lists {
		p, err := b.resolve(ctx, keys, reason(i))
		if err != nil {
			return nil, &BatchError{i, err}
		}
		out[i] = p
	}
	return out, b.Flush(ctx)
}

// BatchError is the error of one item of ResolveMany: Index is its position.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("item %d: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// read loads the owners of the identifiers in lists, one query per type and chunk.
func (b *Batch) read(ctx context.Context, lists [][]key) error {
	byType := map[string][]string{}
	seen := map[ID]bool{}
	for _, keys := range lists {
		for _, k := range keys {
			if !seen[k.ID] {
				seen[k.ID] = true
				byType[k.Type] = append(byType[k.Type], k.Value)
			}
		}
	}
	for typ, values := range byType {
		for chunk := range slices.Chunk(values, preloadChunk) {
			rows, err := b.g.db.Query(ctx, b.tx, b.g.preloadQuery(len(chunk)), append(b.g.db.Engine.InArgs(chunk), typ)...)
			if err != nil {
				return fmt.Errorf("reading identifiers: %w", err)
			}
			for rows.Next() {
				k := ID{Type: typ}
				o := &owner{}
				if err := rows.Scan(&k.Value, &o.profile, &o.lastSeen); err != nil {
					rows.Close()
					return err
				}
				b.known[k] = o
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// preloadChunk is how many identifiers read reads with one query.
const preloadChunk = 250

// preloadQuery reads n identifiers of one type, the type being the last argument. One type per
// query rather than (type, value) pairs: PostgreSQL plans pairs as a hash join over the whole
// table until it has statistics. On PostgreSQL each value is looked up on its own in the primary
// key (the LIMIT keeps the planner from turning the lookups into one scan of every identifier of
// the type, which it does while its statistics still describe a small table).
func (g *Graph) preloadQuery(n int) string {
	if g.db.Engine == db.Postgres {
		return `SELECT v.value, i.profile_id, i.last_seen FROM unnest($1::text[]) AS v (value)
			CROSS JOIN LATERAL (SELECT profile_id, last_seen FROM identity_identifiers WHERE type = $2 AND value = v.value LIMIT 1) i`
	}
	return `SELECT value, profile_id, last_seen FROM identity_identifiers WHERE value ` + g.db.Engine.In(n, 1) + ` AND type = ?`
}

// Prepare prepares the statement a Batch runs most; call it outside a transaction (see db.Prepare).
func (g *Graph) Prepare(ctx context.Context) error {
	return g.db.Prepare(ctx, g.preloadQuery(preloadChunk))
}

// Resolve resolves the identifiers ev carries — userId, anonymousId (except Kizuna's own
// "kizuna:" actors), traits.email or context.traits.email, traits.phone or context.traits.phone,
// and an alias call's previousId — to one profile, and returns it. An event with none of them but
// a profileId (Kizuna's own events about a customer, such as a CRM change) belongs to that
// profile, or to the one it has since been merged into. It returns "" and no error for an event
// with nothing usable: only placeholders, malformed ids or none. Resolving an event again changes
// nothing but last-seen times, so redelivery is harmless. Call Flush before the transaction
// commits.
func (b *Batch) Resolve(ctx context.Context, ev *event.Event) (string, error) {
	keys, ok := b.keys[ev.MessageID]
	if !ok || ev.Type == event.Alias {
		// An alias's previousId takes its type from the graph: what Flush keeps must be in it.
		if err := b.Flush(ctx); err != nil {
			return "", err
		}
		ids, err := b.g.eventIDs(ctx, b.tx, ev)
		if err != nil {
			return "", err
		}
		keys = b.g.normalise(ids)
		if err := b.read(ctx, [][]key{keys}); err != nil {
			return "", err
		}
	}
	if len(keys) == 0 {
		if ev.ProfileID == "" {
			return "", nil
		}
		return b.g.root(ctx, b.tx, ev.ProfileID)
	}
	p, err := b.resolve(ctx, keys, ev.Type+" "+ev.MessageID)
	if err != nil {
		return "", fmt.Errorf("resolving identities of %s: %w", ev.MessageID, err)
	}
	return p, nil
}

// resolve resolves keys by the fast path when it can and by Resolve's rules otherwise.
func (b *Batch) resolve(ctx context.Context, keys []key, reason string) (string, error) {
	if p, ok := b.fast(keys); ok {
		return p, nil
	}
	// The full rules read the graph: what the fast path keeps for later must be in it first.
	if err := b.Flush(ctx); err != nil {
		return "", err
	}
	winner, losers, err := b.g.resolve(ctx, b.tx, keys, reason, b.now)
	if err != nil {
		return "", err
	}
	// A merge moves every identifier of the losers; the rules may also have left some of keys
	// where they were, so those are read again.
	for _, o := range b.known {
		if slices.Contains(losers, o.profile) {
			o.profile = winner
		}
	}
	for _, k := range keys {
		delete(b.known, k.ID)
	}
	return winner, b.read(ctx, [][]key{keys})
}

// fast resolves keys without reading or writing when they are all unknown, or all known ones are
// on one profile and no new one is of a per-type limited type (the profile may hold another
// value of it). New profiles and identifiers and stale last-seen times wait for Flush. ok is
// false when Resolve's rules must decide.
func (b *Batch) fast(keys []key) (p string, ok bool) {
	limitedNew := false
	seenLimited := map[string]bool{}
	for _, k := range keys {
		isLimited := limited(k.base)
		if isLimited {
			if seenLimited[k.Type] {
				return "", false // two values of one limited type: the rules drop one
			}
			seenLimited[k.Type] = true
		}
		o := b.known[k.ID]
		switch {
		case o == nil:
			limitedNew = limitedNew || isLimited
		case p == "":
			p = o.profile
		case p != o.profile:
			return "", false // a merge
		}
	}
	if p != "" && limitedNew {
		return "", false
	}
	now := db.Now(b.now)
	if p == "" {
		p = id.New(b.now)
		b.profiles = append(b.profiles, p, now)
	}
	for _, k := range keys {
		o := b.known[k.ID]
		switch {
		case o == nil:
			b.ids = append(b.ids, k.Type, k.Value, p, now, now)
			b.known[k.ID] = &owner{profile: p, lastSeen: now}
		case now-o.lastSeen >= touchEvery.Milliseconds():
			b.touch = append(b.touch, k.Type, k.Value)
			o.lastSeen = now
		}
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
