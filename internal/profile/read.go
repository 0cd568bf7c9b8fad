package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// Profile is one customer as staff and the API see them.
type Profile struct {
	ID          string                `json:"id"`
	MergedIDs   []string              `json:"merged_ids"` // profiles merged into this one, whose data shows here
	Identifiers []identity.Identifier `json:"identifiers"`
	Traits      map[string]any        `json:"traits"`     // current value of each trait
	TraitMeta   map[string]TraitMeta  `json:"trait_meta"` // where each current value came from, and when
	Computed    Computed              `json:"computed"`
	Account     *crm.Account          `json:"account"` // nil when the profile belongs to no account
}

// TraitMeta is the source and time of a trait's current value.
type TraitMeta struct {
	Source    string    `json:"source"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Computed are the attributes computed from a profile's events and purchases.
type Computed struct {
	FirstSeen             time.Time        `json:"first_seen,omitzero"`
	LastSeen              time.Time        `json:"last_seen,omitzero"`
	LastCommunityActivity time.Time        `json:"last_community_activity,omitzero"`
	Events                int64            `json:"events"`
	PageViews             int64            `json:"page_views"`
	EventCounts           map[string]int64 `json:"event_counts"`   // per track event name
	Purchases             int              `json:"purchases"`      // orders recorded in the CRM
	LifetimeValue         map[string]int64 `json:"lifetime_value"` // minor units per currency
}

// Get returns the profile profileID. A profile since merged into another answers as the one it is
// merged into: its data shows there.
func (s *Service) Get(ctx context.Context, p accounts.Principal, profileID string) (Profile, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return Profile{}, err
	}
	root, family, err := s.family(ctx, profileID)
	if err != nil {
		return Profile{}, err
	}
	pr := Profile{ID: root, MergedIDs: family[1:], Traits: map[string]any{}, TraitMeta: map[string]TraitMeta{}}
	if pr.Identifiers, err = s.identity.Identifiers(ctx, root); err != nil {
		return Profile{}, err
	}
	if pr.Identifiers == nil {
		pr.Identifiers = []identity.Identifier{}
	}
	if err := s.readTraits(ctx, family, &pr); err != nil {
		return Profile{}, err
	}
	if pr.Computed, err = s.computed(ctx, family); err != nil {
		return Profile{}, err
	}
	rec, err := s.crm.ForFamily(ctx, p, family)
	if err != nil {
		return Profile{}, err
	}
	pr.Account = rec.Account
	pr.Computed.Purchases = len(rec.Purchases)
	pr.Computed.LifetimeValue = rec.LifetimeValue
	return pr, nil
}

// Lookup returns the profile an identifier belongs to; see identity.Graph.Lookup.
func (s *Service) Lookup(ctx context.Context, p accounts.Principal, typ, value string) (Profile, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return Profile{}, err
	}
	id, err := s.identity.Lookup(ctx, typ, value)
	if err != nil {
		return Profile{}, err
	}
	return s.Get(ctx, p, id)
}

// family returns the root of profileID and the ids its data is recorded under, root first.
func (s *Service) family(ctx context.Context, profileID string) (string, []string, error) {
	root, err := s.identity.Root(ctx, profileID)
	if err != nil {
		return "", nil, err
	}
	family, err := s.identity.Family(ctx, root)
	return root, family, err
}

func (s *Service) readTraits(ctx context.Context, family []string, pr *Profile) error {
	in, args := db.InList(family, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT name, value, source, updated_at FROM profile_traits WHERE profile_id `+in, args...)
	if err != nil {
		return fmt.Errorf("reading traits: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, value, source string
		var at int64
		if err := rows.Scan(&name, &value, &source, &at); err != nil {
			return err
		}
		if m, ok := pr.TraitMeta[name]; ok && !db.Time(at).After(m.UpdatedAt) {
			continue // across merged profiles, the latest value wins
		}
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			return fmt.Errorf("decoding trait %s: %w", name, err)
		}
		pr.Traits[name] = v
		pr.TraitMeta[name] = TraitMeta{Source: source, UpdatedAt: db.Time(at)}
	}
	return rows.Err()
}

func (s *Service) computed(ctx context.Context, family []string) (Computed, error) {
	c := Computed{EventCounts: map[string]int64{}, LifetimeValue: map[string]int64{}}
	in, args := db.InList(family, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT key, SUM(count), MIN(first_at), MAX(last_at) FROM profile_counts
		WHERE profile_id `+in+` GROUP BY key`, args...)
	if err != nil {
		return c, fmt.Errorf("reading profile counters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var n, first, last int64
		if err := rows.Scan(&key, &n, &first, &last); err != nil {
			return c, err
		}
		switch {
		case key == "all":
			c.Events, c.FirstSeen, c.LastSeen = n, db.Time(first), db.Time(last)
		case key == "source:community":
			c.LastCommunityActivity = db.Time(last)
		case key == "type:page":
			c.PageViews = n
		case strings.HasPrefix(key, "event:"):
			c.EventCounts[strings.TrimPrefix(key, "event:")] = n
		}
	}
	return c, rows.Err()
}

// Event is one event on a profile's timeline.
type Event struct {
	MessageID  string          `json:"message_id"`
	ProfileID  string          `json:"profile_id"` // the profile it landed on, before any merge
	Type       string          `json:"type"`
	Name       string          `json:"name,omitempty"`
	Source     string          `json:"source"`
	At         time.Time       `json:"at"`
	Properties json.RawMessage `json:"properties"` // traits for identify and group
}

// Events returns a profile's events, newest first, limit at a time, continuing after cursor, and
// the cursor of the next page ("" at the end).
func (s *Service) Events(ctx context.Context, p accounts.Principal, profileID, cursor string, limit int) ([]Event, string, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, "", err
	}
	limit = db.Limit(limit, 50, 500)
	_, family, err := s.family(ctx, profileID)
	if err != nil {
		return nil, "", err
	}
	in, args := db.InList(family, 1)
	where := `profile_id ` + in
	if cursor != "" {
		ms, msg, ok := strings.Cut(cursor, ".")
		t, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil {
			return nil, "", errs.Invalid("cursor", "is not a cursor this list gave")
		}
		n := len(args)
		where += fmt.Sprintf(` AND (at < $%d OR (at = $%d AND message_id < $%d))`, n+1, n+1, n+2)
		args = append(args, t, msg)
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT message_id, profile_id, type, name, source, at, properties FROM profile_events
		WHERE `+where+` ORDER BY at DESC, message_id DESC LIMIT `+strconv.Itoa(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("reading profile events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var t int64
		var props string
		if err := rows.Scan(&e.MessageID, &e.ProfileID, &e.Type, &e.Name, &e.Source, &t, &props); err != nil {
			return nil, "", err
		}
		e.At, e.Properties = db.Time(t), json.RawMessage(props)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := db.TrimPage(out, limit, func(e Event) string { return fmt.Sprintf("%d.%s", db.Now(e.At), e.MessageID) })
	return out, next, nil
}

// TraitChange is one value a trait took.
type TraitChange struct {
	Name      string    `json:"name"`
	Value     any       `json:"value"`
	Source    string    `json:"source"`
	At        time.Time `json:"at"`
	MessageID string    `json:"message_id"`
}

// TraitHistory returns every value the profile's traits took, newest first; only trait name's
// when name is not "".
func (s *Service) TraitHistory(ctx context.Context, p accounts.Principal, profileID, name string) ([]TraitChange, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	_, family, err := s.family(ctx, profileID)
	if err != nil {
		return nil, err
	}
	in, args := db.InList(family, 1)
	where := `profile_id ` + in
	if name != "" {
		args = append(args, name)
		where += ` AND name = $` + strconv.Itoa(len(args))
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT name, value, source, at, message_id FROM profile_trait_changes
		WHERE `+where+` ORDER BY at DESC, id DESC LIMIT 500`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading trait history: %w", err)
	}
	defer rows.Close()
	out := []TraitChange{}
	for rows.Next() {
		var c TraitChange
		var v string
		var t int64
		if err := rows.Scan(&c.Name, &v, &c.Source, &t, &c.MessageID); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(v), &c.Value); err != nil {
			return nil, fmt.Errorf("decoding trait %s: %w", c.Name, err)
		}
		c.At = db.Time(t)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Summary is a profile in a list of search results.
type Summary struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Email    string    `json:"email"`
	Matched  string    `json:"matched"` // the identifier type that matched, e.g. "email"
	LastSeen time.Time `json:"last_seen,omitzero"`
}

// Find returns the profiles that hold an identifier equal to q read as an email, a phone number
// or an id (see identity.Graph.Find).
func (s *Service) Find(ctx context.Context, p accounts.Principal, q string) ([]Summary, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, err
	}
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, errs.Invalid("q", "type an email, phone number or id")
	}
	matches, err := s.identity.Find(ctx, q, 20)
	if err != nil {
		return nil, err
	}
	out := []Summary{}
	for _, m := range matches {
		if slices.ContainsFunc(out, func(x Summary) bool { return x.ID == m.ProfileID }) {
			continue
		}
		_, family, err := s.family(ctx, m.ProfileID)
		if err != nil {
			return nil, err
		}
		pr := Profile{Traits: map[string]any{}, TraitMeta: map[string]TraitMeta{}}
		if err := s.readTraits(ctx, family, &pr); err != nil {
			return nil, err
		}
		c, err := s.computed(ctx, family)
		if err != nil {
			return nil, err
		}
		sum := Summary{ID: m.ProfileID, Matched: m.Type, LastSeen: c.LastSeen}
		sum.Name, _ = pr.Traits["name"].(string)
		sum.Email, _ = pr.Traits["email"].(string)
		out = append(out, sum)
	}
	return out, nil
}
