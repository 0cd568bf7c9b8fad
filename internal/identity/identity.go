// Package identity is the identity graph of the customer data hub: every identifier (email,
// phone, user id, CRM id, device id …) maps to exactly one profile. Resolve links the identifiers
// seen together, creating, extending or merging profiles by rules (type priority, per-type
// limits, a cap on merges); every merge is recorded, can be undone, and emits an event in the
// same transaction.
package identity

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"time"

	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/identity/normalize"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the identity graph tables.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "identity", FS: sub}
}

// MaxMerges is how many profiles one profile may absorb. Past it the profile stops merging
// (Segment Unify's limit): Resolve logs and only attaches new identifiers, because a profile that
// keeps absorbing others is almost always glued together by a shared value nobody blocked yet.
const MaxMerges = 100

// Deps are what the identity graph needs.
type Deps struct {
	DB     *db.DB
	Outbox *backbone.Outbox
	Log    *slog.Logger     // discarded when nil
	Now    func() time.Time // time.Now when nil
}

// Graph is the identity graph.
type Graph struct {
	db        *db.DB
	outbox    *backbone.Outbox
	log       *slog.Logger
	now       func() time.Time
	maxMerges int
}

// New returns the identity graph.
func New(d Deps) *Graph {
	g := &Graph{db: d.DB, outbox: d.Outbox, log: d.Log, now: d.Now, maxMerges: MaxMerges}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g
}

// ID is an identifier as a source gives it: a type such as "email", "user_id" or
// "crm:salesforce" and a value. Resolve and Lookup normalise both through normalize.Value.
type ID struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Identifier is an identifier attached to a profile, with when it was first and last seen.
type Identifier struct {
	Type      string    `json:"type"`
	Value     string    `json:"value"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// priority ranks identifier types for merging, lower first: when the identifiers of one call
// cannot all be linked, the lowest-ranked one is dropped and matching is retried. Custom types
// rank after social accounts and before device ids, which are the most often shared.
func priority(base normalize.Type) int {
	switch base {
	case normalize.TypeUserID, normalize.TypeMemberID:
		return 0
	case normalize.TypeCRM:
		return 1
	case normalize.TypeEmail:
		return 2
	case normalize.TypePhone:
		return 3
	case normalize.TypeStoreMember:
		return 4
	case normalize.TypeSocial:
		return 5
	case normalize.TypeAnonymousID:
		return 7
	default:
		return 6
	}
}

// limited reports whether a profile may hold at most one value of type t: one user_id, one
// member_id and one id per CRM system. Two people with different user ids are two people, even
// when they share an email (a family address, a shop's tablet), so such profiles never merge.
func limited(base normalize.Type) bool {
	return base == normalize.TypeUserID || base == normalize.TypeMemberID || base == normalize.TypeCRM
}

// key is a normalised identifier with its rank.
type key struct {
	ID
	base normalize.Type
	rank int
}

// normalise returns the usable identifiers of ids, normalised, without duplicates, by priority.
// Invalid and junk values are dropped: a placeholder many people share must never link them.
func (g *Graph) normalise(ids []ID) []key {
	var out []key
	seen := map[ID]bool{}
	for _, in := range ids {
		k, err := normaliseOne(in.Type, in.Value)
		if err != nil {
			g.log.Debug("identity: identifier ignored", "type", in.Type, "err", err)
			continue
		}
		if seen[k.ID] {
			continue
		}
		seen[k.ID] = true
		out = append(out, k)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].rank < out[j].rank })
	return out
}

// errJunk marks a placeholder value.
var errJunk = errors.New("placeholder value")

func normaliseOne(t, v string) (key, error) {
	base, sys, err := normalize.ParseType(t)
	if err != nil {
		return key{}, err
	}
	nv, err := normalize.Value(t, v)
	if err != nil {
		return key{}, err
	}
	if normalize.Junk(nv) {
		return key{}, errJunk
	}
	typ := string(base)
	if sys != "" {
		typ += ":" + sys
	}
	return key{ID: ID{Type: typ, Value: nv}, base: base, rank: priority(base)}, nil
}

// Resolve links ids, seen together for one reason (e.g. "identify msg-1"), inside tx and returns
// the profile they belong to. When none is known a profile is created; when they belong to one
// profile the new ones are attached; when they belong to several, those profiles are merged into
// the oldest (the winner), each merge recorded with the rule that allowed it and emitted as a
// "Profiles Merged" event through the outbox in tx.
//
// Rules: a profile holds at most one user_id, one member_id and one id per CRM system; when the
// identifiers would break that, the lowest-priority one (user_id/member_id > crm:* > email > phone
// > store_member > social:* > custom > anonymous_id) is dropped and matching is retried, so two
// user ids sharing an email stay two profiles and the email stays where it was. A winner that has
// already absorbed MaxMerges profiles only gets new identifiers attached. Invalid and junk values
// are ignored; when nothing usable is left Resolve returns an errs.Invalid error.
//
// Two concurrent calls that create the same identifier conflict on its primary key and one fails;
// the caller's retry then finds it.
func (g *Graph) Resolve(ctx context.Context, tx *sql.Tx, ids []ID, reason string) (string, error) {
	keys := g.normalise(ids)
	if len(keys) == 0 {
		return "", errs.Invalid("ids", "no usable identifier (all empty, invalid or placeholders)")
	}
	winner, _, err := g.resolve(ctx, tx, keys, reason, g.now())
	return winner, err
}

// resolve is Resolve of normalised keys; it also returns the profiles merged into the winner.
func (g *Graph) resolve(ctx context.Context, tx *sql.Tx, keys []key, reason string, now time.Time) (winner string, losers []string, err error) {
	var owners map[ID]string
	var profiles []profile
	for {
		var err error
		owners, profiles, err = g.owners(ctx, tx, keys)
		if err != nil {
			return "", nil, err
		}
		ok, err := g.allowed(ctx, tx, keys, owners, profiles)
		if err != nil {
			return "", nil, err
		}
		if ok || len(keys) == 1 {
			break
		}
		g.log.Info("identity: identifier dropped by per-type limit", "type", keys[len(keys)-1].Type, "reason", reason)
		keys = keys[:len(keys)-1]
	}

	if len(profiles) == 0 {
		winner = id.New(now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO identity_profiles (id, created_at) VALUES ($1, $2)`, winner, db.Now(now)); err != nil {
			return "", nil, fmt.Errorf("creating profile: %w", err)
		}
	} else {
		winner = profiles[0].id
		for _, loser := range profiles[1:] {
			n, err := g.mergeCount(ctx, tx, winner)
			if err != nil {
				return "", nil, err
			}
			if n >= g.maxMerges {
				g.log.Warn("identity: merge cap reached, attaching only", "profile", winner, "loser", loser.id, "merges", n, "reason", reason)
				break
			}
			if err := g.merge(ctx, tx, winner, loser.id, reason, rule(keys, owners, loser.id), now); err != nil {
				return "", nil, err
			}
			losers = append(losers, loser.id)
			for k, p := range owners {
				if p == loser.id {
					owners[k] = winner
				}
			}
		}
	}

	for _, k := range keys {
		switch owners[k.ID] {
		case "":
			if _, err := tx.ExecContext(ctx, `INSERT INTO identity_identifiers (type, value, profile_id, first_seen, last_seen)
				VALUES ($1, $2, $3, $4, $4)`, k.Type, k.Value, winner, db.Now(now)); err != nil {
				return "", nil, fmt.Errorf("attaching %s identifier: %w", k.Type, err)
			}
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE identity_identifiers SET last_seen = $1 WHERE type = $2 AND value = $3 AND last_seen < $1`,
				db.Now(now), k.Type, k.Value); err != nil {
				return "", nil, fmt.Errorf("touching %s identifier: %w", k.Type, err)
			}
		}
	}
	return winner, losers, nil
}

// rule names what allowed merging loser: the highest-priority identifier of the call it held.
func rule(keys []key, owners map[ID]string, loser string) string {
	for _, k := range keys {
		if owners[k.ID] == loser {
			return "shared " + k.Type
		}
	}
	return "shared identifier"
}

// profile is a profile matched by a call.
type profile struct {
	id        string
	createdAt int64
}

// owners returns the profile of each known key and the distinct profiles, oldest first.
func (g *Graph) owners(ctx context.Context, tx *sql.Tx, keys []key) (map[ID]string, []profile, error) {
	owners := map[ID]string{}
	seen := map[string]bool{}
	var ps []profile
	for _, k := range keys {
		var p profile
		err := tx.QueryRowContext(ctx, `SELECT p.id, p.created_at FROM identity_identifiers i
			JOIN identity_profiles p ON p.id = i.profile_id WHERE i.type = $1 AND i.value = $2`, k.Type, k.Value).Scan(&p.id, &p.createdAt)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("looking up %s identifier: %w", k.Type, err)
		}
		owners[k.ID] = p.id
		if !seen[p.id] {
			seen[p.id] = true
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].createdAt != ps[j].createdAt {
			return ps[i].createdAt < ps[j].createdAt
		}
		return ps[i].id < ps[j].id
	})
	return owners, ps, nil
}

// allowed reports whether linking keys and the profiles they match keeps every limited type to
// one value.
func (g *Graph) allowed(ctx context.Context, tx *sql.Tx, keys []key, owners map[ID]string, ps []profile) (bool, error) {
	values := map[string]map[string]bool{}
	add := func(typ, v string) {
		base, _, err := normalize.ParseType(typ)
		if err != nil || !limited(base) {
			return
		}
		if values[typ] == nil {
			values[typ] = map[string]bool{}
		}
		values[typ][v] = true
	}
	for _, k := range keys {
		add(k.Type, k.Value)
	}
	for _, p := range ps {
		rows, err := tx.QueryContext(ctx, `SELECT type, value FROM identity_identifiers WHERE profile_id = $1`, p.id)
		if err != nil {
			return false, fmt.Errorf("reading identifiers of %s: %w", p.id, err)
		}
		for rows.Next() {
			var t, v string
			if err := rows.Scan(&t, &v); err != nil {
				rows.Close()
				return false, err
			}
			add(t, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, err
		}
	}
	for _, vs := range values {
		if len(vs) > 1 {
			return false, nil
		}
	}
	return true, nil
}

// Lookup returns the profile identifier (t, v) belongs to, normalising it first. It returns an
// errs.NotFound error when the identifier is unknown or a placeholder.
func (g *Graph) Lookup(ctx context.Context, t, v string) (string, error) {
	k, err := normaliseOne(t, v)
	if errors.Is(err, errJunk) {
		return "", errs.NotFound("no profile has %s %q", t, v)
	}
	if err != nil {
		return "", err
	}
	var p string
	err = g.db.R.QueryRowContext(ctx, `SELECT profile_id FROM identity_identifiers WHERE type = $1 AND value = $2`, k.Type, k.Value).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.NotFound("no profile has %s %q", k.Type, k.Value)
	}
	if err != nil {
		return "", fmt.Errorf("looking up %s: %w", k.Type, err)
	}
	return p, nil
}

// Identifiers lists the identifiers of a profile by type and value. A profile merged into
// another has none until the merge is undone. It returns an errs.NotFound error for an unknown
// profile.
func (g *Graph) Identifiers(ctx context.Context, profileID string) ([]Identifier, error) {
	if err := g.exists(ctx, profileID); err != nil {
		return nil, err
	}
	rows, err := g.db.R.QueryContext(ctx, `SELECT type, value, first_seen, last_seen FROM identity_identifiers
		WHERE profile_id = $1 ORDER BY type, value`, profileID)
	if err != nil {
		return nil, fmt.Errorf("listing identifiers of %s: %w", profileID, err)
	}
	defer rows.Close()
	var out []Identifier
	for rows.Next() {
		var it Identifier
		var first, last int64
		if err := rows.Scan(&it.Type, &it.Value, &first, &last); err != nil {
			return nil, err
		}
		it.FirstSeen, it.LastSeen = db.Time(first), db.Time(last)
		out = append(out, it)
	}
	return out, rows.Err()
}

func (g *Graph) exists(ctx context.Context, profileID string) error {
	var one int
	err := g.db.R.QueryRowContext(ctx, `SELECT 1 FROM identity_profiles WHERE id = $1`, profileID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFound("no profile %s", profileID)
	}
	return err
}
