package identity_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/identity/normalize"
)

type env struct {
	t   *testing.T
	db  *db.DB
	g   *identity.Graph
	now time.Time
}

func newEnv(t *testing.T, e db.Engine) *env {
	d := dbtest.Open(t, e, backbone.Migrations(), identity.Migrations())
	v := &env{t: t, db: d, now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	v.g = identity.New(identity.Deps{DB: d, Outbox: backbone.NewOutbox(d), Now: func() time.Time {
		v.now = v.now.Add(time.Millisecond) // every call a later instant, so "oldest" is well defined
		return v.now
	}})
	return v
}

func (v *env) resolve(reason string, ids ...identity.ID) string {
	v.t.Helper()
	p, err := v.tryResolve(reason, ids...)
	if err != nil {
		v.t.Fatalf("resolve %s: %v", reason, err)
	}
	return p
}

func (v *env) tryResolve(reason string, ids ...identity.ID) (p string, err error) {
	err = v.db.Tx(context.Background(), func(tx *sql.Tx) error {
		p, err = v.g.Resolve(context.Background(), tx, ids, reason)
		return err
	})
	return p, err
}

// resolveEvents resolves each event in its own transaction, as the profile consumer does.
func (v *env) resolveEvents(evs []event.Event) error {
	for i := range evs {
		err := v.db.Tx(context.Background(), func(tx *sql.Tx) error {
			b, err := v.g.NewBatch(context.Background(), tx, evs[i:i+1])
			if err != nil {
				return err
			}
			if _, err := b.Resolve(context.Background(), &evs[i]); err != nil {
				return err
			}
			return b.Flush(context.Background())
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (v *env) lookup(t, val string) string {
	v.t.Helper()
	p, err := v.g.Lookup(context.Background(), t, val)
	if err != nil {
		v.t.Fatalf("lookup %s %s: %v", t, val, err)
	}
	return p
}

// ids lists a profile's identifiers as "type=value".
func (v *env) ids(profile string) []string {
	v.t.Helper()
	its, err := v.g.Identifiers(context.Background(), profile)
	if err != nil {
		v.t.Fatal(err)
	}
	var out []string
	for _, it := range its {
		out = append(out, it.Type+"="+it.Value)
	}
	return out
}

// events returns the outbox's events in order.
func (v *env) events() []event.Event {
	v.t.Helper()
	rows, err := v.db.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		v.t.Fatal(err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var p string
		var ev event.Event
		if err := rows.Scan(&p); err != nil {
			v.t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			v.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func (v *env) count(table string) int {
	v.t.Helper()
	var n int
	if err := v.db.R.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		v.t.Fatal(err)
	}
	return n
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestVisitorSignsUpAndIsImported(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		anon := v.resolve("page", identity.ID{Type: "anonymous_id", Value: "a1"})
		signed := v.resolve("identify", identity.ID{Type: "user_id", Value: "u1"}, identity.ID{Type: "anonymous_id", Value: "a1"},
			identity.ID{Type: "email", Value: "Taro@Kizuna.co.jp"})
		if signed != anon {
			t.Fatalf("sign-up made profile %s, want the visitor's %s", signed, anon)
		}
		// The CRM import knows the address in full-width characters, and a Salesforce id.
		crm := v.resolve("import", identity.ID{Type: "email", Value: "ＴＡＲＯ＠ＫＩＺＵＮＡ．ＣＯ．ＪＰ"},
			identity.ID{Type: "crm:Salesforce", Value: "0035g00000ABCDE"})
		if crm != anon {
			t.Fatalf("import made profile %s, want %s", crm, anon)
		}
		equal(t, "identifiers", v.ids(anon), []string{"anonymous_id=a1", "crm:salesforce=0035g00000ABCDE", "email=taro@kizuna.co.jp", "user_id=u1"})
		if p := v.lookup("EMAIL", " ｔａｒｏ＠kizuna.co.jp "); p != anon {
			t.Errorf("lookup by full-width email = %s, want %s", p, anon)
		}
		if v.count("identity_profiles") != 1 || v.count("identity_merges") != 0 {
			t.Errorf("profiles %d merges %d, want 1 and 0", v.count("identity_profiles"), v.count("identity_merges"))
		}

		// The brief's address is at example.co.jp, a documentation domain: a placeholder that
		// normalises fine but never links.
		ex := "ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ"
		if n, _ := normalize.Value("email", ex); !normalize.Junk(n) {
			t.Fatalf("%s (%s) is not junk", ex, n)
		}
		v.resolve("import", identity.ID{Type: "email", Value: ex}, identity.ID{Type: "anonymous_id", Value: "a1"})
		if _, err := v.g.Lookup(context.Background(), "email", ex); errs.KindOf(err) != errs.KindNotFound {
			t.Errorf("lookup of a placeholder email: %v, want not found", err)
		}
	})
}

func TestDifferentUserIDsNeverMerge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		p1 := v.resolve("identify", identity.ID{Type: "user_id", Value: "u1"}, identity.ID{Type: "email", Value: "family@kizuna.jp"})
		p2 := v.resolve("identify", identity.ID{Type: "user_id", Value: "u2"}, identity.ID{Type: "email", Value: "family@kizuna.jp"})
		if p1 == p2 {
			t.Fatal("two user ids sharing an email were merged")
		}
		if p := v.lookup("email", "family@kizuna.jp"); p != p1 {
			t.Errorf("the shared email moved to %s, want it kept by %s", p, p1)
		}
		equal(t, "u2's identifiers", v.ids(p2), []string{"user_id=u2"})
		// A device seen with both users is linked to the higher-priority side only, never merging them.
		p3 := v.resolve("identify", identity.ID{Type: "anonymous_id", Value: "a9"}, identity.ID{Type: "user_id", Value: "u2"})
		p4 := v.resolve("identify", identity.ID{Type: "anonymous_id", Value: "a9"}, identity.ID{Type: "user_id", Value: "u1"})
		if p3 != p2 || p4 != p1 || v.lookup("anonymous_id", "a9") != p2 {
			t.Errorf("device a9: %s %s, lookup %s; want %s %s and %s", p3, p4, v.lookup("anonymous_id", "a9"), p2, p1, p2)
		}
		// Two CRM ids of the same system do not merge either; different systems do.
		c1 := v.resolve("import", identity.ID{Type: "crm:hubspot", Value: "h1"}, identity.ID{Type: "phone", Value: "090-1234-5678"})
		c2 := v.resolve("import", identity.ID{Type: "crm:hubspot", Value: "h2"}, identity.ID{Type: "phone", Value: "+81 90 1234 5678"})
		if c1 == c2 {
			t.Error("two hubspot ids sharing a phone were merged")
		}
		if v.count("identity_merges") != 0 {
			t.Errorf("%d merges recorded, want 0", v.count("identity_merges"))
		}
	})
}

func TestJunkNeverLinks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		p1 := v.resolve("identify", identity.ID{Type: "anonymous_id", Value: "dev-1"}, identity.ID{Type: "user_id", Value: "null"},
			identity.ID{Type: "member_id", Value: "0000"})
		p2 := v.resolve("identify", identity.ID{Type: "anonymous_id", Value: "dev-2"}, identity.ID{Type: "user_id", Value: "NULL"},
			identity.ID{Type: "member_id", Value: "0000"})
		if p1 == p2 {
			t.Fatal("profiles linked by placeholders")
		}
		equal(t, "identifiers", v.ids(p1), []string{"anonymous_id=dev-1"})
		for _, id := range []identity.ID{{Type: "user_id", Value: "null"}, {Type: "member_id", Value: "0000"}} {
			if _, err := v.g.Lookup(context.Background(), id.Type, id.Value); errs.KindOf(err) != errs.KindNotFound {
				t.Errorf("lookup %v: %v, want not found", id, err)
			}
		}
		if _, err := v.tryResolve("identify", identity.ID{Type: "user_id", Value: "null"}, identity.ID{Type: "phone", Value: "0000"}); errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("resolving only placeholders: %v, want invalid", err)
		}
		if v.count("identity_profiles") != 2 {
			t.Errorf("%d profiles, want 2", v.count("identity_profiles"))
		}
	})
}

func TestMergeAndUnmerge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		older := v.resolve("page", identity.ID{Type: "anonymous_id", Value: "a1"})
		newer := v.resolve("identify", identity.ID{Type: "user_id", Value: "u1"}, identity.ID{Type: "email", Value: "hanako@kizuna.jp"})
		got := v.resolve("identify msg-3", identity.ID{Type: "anonymous_id", Value: "a1"}, identity.ID{Type: "email", Value: "hanako@kizuna.jp"})
		if got != older {
			t.Fatalf("merge winner %s, want the oldest %s", got, older)
		}
		equal(t, "winner", v.ids(older), []string{"anonymous_id=a1", "email=hanako@kizuna.jp", "user_id=u1"})
		equal(t, "loser", v.ids(newer), nil)
		ms, err := v.g.Merges(ctx, newer)
		if err != nil || len(ms) != 1 {
			t.Fatalf("merges %v %v, want one", ms, err)
		}
		m := ms[0]
		if m.WinnerID != older || m.LoserID != newer || m.Reason != "identify msg-3" || m.Rule != "shared email" || !m.UndoneAt.IsZero() {
			t.Errorf("merge = %+v", m)
		}
		if want := []identity.ID{{Type: "email", Value: "hanako@kizuna.jp"}, {Type: "user_id", Value: "u1"}}; !slices.Equal(m.Identifiers, want) {
			t.Errorf("moved %v, want %v", m.Identifiers, want)
		}

		if err := v.g.Unmerge(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		equal(t, "winner after unmerge", v.ids(older), []string{"anonymous_id=a1"})
		equal(t, "loser after unmerge", v.ids(newer), []string{"email=hanako@kizuna.jp", "user_id=u1"})
		if p := v.lookup("user_id", "u1"); p != newer {
			t.Errorf("u1 is on %s, want %s", p, newer)
		}
		var merged sql.NullString
		if err := v.db.R.QueryRow(`SELECT merged_into FROM identity_profiles WHERE id = $1`, newer).Scan(&merged); err != nil || merged.Valid {
			t.Errorf("merged_into = %v (%v), want NULL", merged, err)
		}
		ms, _ = v.g.Merges(ctx, older)
		if len(ms) != 1 || ms[0].UndoneAt.IsZero() {
			t.Errorf("merge not marked undone: %+v", ms)
		}
		if err := v.g.Unmerge(ctx, m.ID); errs.KindOf(err) != errs.KindConflict {
			t.Errorf("second unmerge: %v, want conflict", err)
		}
		if err := v.g.Unmerge(ctx, "nope"); errs.KindOf(err) != errs.KindNotFound {
			t.Errorf("unknown merge: %v, want not found", err)
		}

		evs := v.events()
		var names []string
		for _, ev := range evs {
			names = append(names, ev.Event)
			if ev.AnonymousID != "kizuna:system" || ev.Properties["winner"] != older || ev.Properties["loser"] != newer || ev.Properties["reason"] != "identify msg-3" {
				t.Errorf("event %s: anonymousId %q properties %v", ev.Event, ev.AnonymousID, ev.Properties)
			}
		}
		equal(t, "events", names, []string{identity.EventProfilesMerged, identity.EventProfilesUnmerged})
	})
}

func TestResolveEventsAgainChangesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		at := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
		ev := func(typ string, f func(*event.Event)) event.Event {
			at = at.Add(time.Second)
			x := event.New(typ, "Viewed", event.SourceTracking, at)
			f(&x)
			return x
		}
		evs := []event.Event{
			ev(event.Page, func(x *event.Event) { x.AnonymousID = "a1" }),
			ev(event.Identify, func(x *event.Event) {
				x.UserID = "u1"
				x.Traits = map[string]any{"email": "Taro@Kizuna.co.jp", "phone": "090-1234-5678"}
			}),
			// The visitor signs in: the device and the account meet, so the two profiles merge.
			ev(event.Track, func(x *event.Event) {
				x.UserID, x.AnonymousID = "u1", "a1"
				x.Context = map[string]any{"traits": map[string]any{"email": "ＴＡＲＯ＠ＫＩＺＵＮＡ．ＣＯ．ＪＰ"}}
			}),
			ev(event.Alias, func(x *event.Event) { x.UserID, x.PreviousID = "u1", "a-old" }),
			ev(event.Track, func(x *event.Event) { x.AnonymousID = "kizuna:system"; x.Event = "Post Created" }),
			ev(event.Identify, func(x *event.Event) { x.AnonymousID = "a7"; x.Traits = map[string]any{"email": "null"} }),
		}
		c := v.resolveEvents
		if err := c(evs); err != nil {
			t.Fatal(err)
		}
		p := v.lookup("anonymous_id", "a1")
		equal(t, "identifiers", v.ids(p), []string{"anonymous_id=a-old", "anonymous_id=a1", "email=taro@kizuna.co.jp", "phone=+819012345678", "user_id=u1"})
		if _, err := v.g.Lookup(ctx, "anonymous_id", "kizuna:system"); errs.KindOf(err) != errs.KindNotFound {
			t.Errorf("kizuna:system linked: %v", err)
		}
		snapshot := func() [4]int {
			return [4]int{v.count("identity_profiles"), v.count("identity_identifiers"), v.count("identity_merges"), v.count("outbox")}
		}
		before := snapshot()
		if before != [4]int{3, 6, 1, 1} {
			t.Errorf("profiles, identifiers, merges, outbox = %v, want [3 6 1 1]", before)
		}
		// Redelivery, whole and in part, changes nothing.
		if err := c(evs); err != nil {
			t.Fatal(err)
		}
		if err := c(evs[2:3]); err != nil {
			t.Fatal(err)
		}
		if after := snapshot(); after != before {
			t.Errorf("after redelivery %v, want %v", after, before)
		}
		if evs := v.events(); len(evs) != 1 || evs[0].Event != identity.EventProfilesMerged || evs[0].Properties["winner"] != p {
			t.Errorf("outbox events %+v", evs)
		}
	})
}

func TestMergeCapAttachesOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		v.g.SetMaxMerges(2)
		hub := v.resolve("page", identity.ID{Type: "anonymous_id", Value: "shared-tablet"})
		for _, d := range []string{"d1", "d2", "d3"} {
			other := v.resolve("page", identity.ID{Type: "anonymous_id", Value: d})
			got := v.resolve("page", identity.ID{Type: "anonymous_id", Value: "shared-tablet"}, identity.ID{Type: "anonymous_id", Value: d},
				identity.ID{Type: "email", Value: d + "@kizuna.jp"})
			if got != hub {
				t.Fatalf("%s: resolved to %s, want %s", d, got, hub)
			}
			if d == "d3" && v.lookup("anonymous_id", d) != other {
				t.Errorf("a third merge happened past the cap")
			}
		}
		if v.count("identity_merges") != 2 {
			t.Errorf("%d merges, want 2", v.count("identity_merges"))
		}
		// Past the cap new identifiers are still attached to the winner.
		if p := v.lookup("email", "d3@kizuna.jp"); p != hub {
			t.Errorf("d3's email on %s, want %s", p, hub)
		}
	})
}

func TestAliasPreviousIDType(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		at := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
		alias := func(user, prev string) event.Event {
			at = at.Add(time.Second)
			x := event.New(event.Alias, "", event.SourceTracking, at)
			x.UserID, x.PreviousID = user, prev
			return x
		}
		evs := []event.Event{alias("1001", "0999"), alias("u5", "device-5")}
		if err := v.resolveEvents(evs); err != nil {
			t.Fatal(err)
		}
		// A numeric previousId beside a numeric userId is taken for a user id, and a profile holds one
		// user id: the alias of one account to another is refused rather than merging two people.
		equal(t, "numeric previousId like a numeric userId", v.ids(v.lookup("user_id", "1001")), []string{"user_id=1001"})
		if _, err := v.g.Lookup(ctx, "user_id", "0999"); errs.KindOf(err) != errs.KindNotFound {
			t.Errorf("previous user id linked: %v", err)
		}
		equal(t, "device previousId", v.ids(v.lookup("user_id", "u5")), []string{"anonymous_id=device-5", "user_id=u5"})
	})
}

// Kizuna's own events put other systems' ids on the profile through context.externalIds (a
// member's linked social accounts); a tracking call cannot.
func TestExternalIDsOfCommunityEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		at := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
		linked := event.New(event.Identify, "", event.SourceCommunity, at)
		linked.UserID = "m-1"
		linked.Context = map[string]any{"externalIds": []any{
			map[string]any{"id": "U4AF4980629ABCDEF0123456789ABCDEF", "type": "social:line", "collection": "users", "encoding": "none"},
			map[string]any{"id": "108001234567890123456", "type": "social:google"},
			map[string]any{"id": "", "type": "social:x"}, // nothing usable
		}}
		claimed := event.New(event.Identify, "", event.SourceTracking, at.Add(time.Second))
		claimed.AnonymousID = "a-9"
		claimed.Context = map[string]any{"externalIds": []any{map[string]any{"id": "108001234567890123456", "type": "social:google"}}}
		if err := v.resolveEvents([]event.Event{linked, claimed}); err != nil {
			t.Fatal(err)
		}
		p := v.lookup("user_id", "m-1")
		equal(t, "identifiers", v.ids(p), []string{"social:google=108001234567890123456", "social:line=U4af4980629abcdef0123456789abcdef", "user_id=m-1"})
		if v.lookup("anonymous_id", "a-9") == p {
			t.Error("a tracking call's externalIds merged a visitor into the member's profile")
		}
	})
}
