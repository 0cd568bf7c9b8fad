package score

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// fixture is the customer data hub's real parts on one database: events land on profiles
// through the profile consumer, and reach the score consumer as the backbone hands them over.
type fixture struct {
	d       *db.DB
	ob      *backbone.Outbox
	g       *identity.Graph
	profile *profile.Service
	seg     *segment.Service
	s       *Service
	mu      sync.Mutex
	now     time.Time
}

func newFixture(t *testing.T, e db.Engine) *fixture {
	t.Helper()
	f := &fixture{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	f.d = dbtest.Open(t, e, backbone.Migrations(), identity.Migrations(), crm.Migrations(), profile.Migrations(), consent.Migrations(),
		segment.Migrations(), Migrations())
	f.ob = backbone.NewOutbox(f.d)
	f.g = identity.New(identity.Deps{DB: f.d, Outbox: f.ob})
	f.profile = profile.New(profile.Deps{DB: f.d, Outbox: f.ob, Identity: f.g, CRM: crm.New(crm.Deps{DB: f.d, Outbox: f.ob, Identity: f.g})})
	f.seg = segment.New(segment.Deps{DB: f.d, Outbox: f.ob, Identity: f.g, Now: f.clock})
	f.s = f.node()
	return f
}

// node returns a score service on f's database and clock: one more node.
func (f *fixture) node() *Service {
	return New(Deps{DB: f.d, Outbox: f.ob, Identity: f.g, Segments: f.seg, Now: f.clock, CheckEvery: time.Minute})
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// track is a track event by user at the fixture's time.
func (f *fixture) track(user, name string, props map[string]any) event.Event {
	ev := event.New(event.Track, name, event.SourceTracking, f.clock())
	ev.UserID, ev.Properties = user, props
	return ev
}

// lean is ev as a HandleLean consumer receives it.
func lean(t *testing.T, ev event.Event) backbone.Lean {
	t.Helper()
	props, err := json.Marshal(ev.Properties)
	if err != nil {
		t.Fatal(err)
	}
	l := backbone.Lean{Event: ev, Properties: props}
	l.Event.Properties = nil
	return l
}

// deliver lands evs on profiles (the profile consumer) and hands them to the score consumer.
func (f *fixture) deliver(t *testing.T, evs ...event.Event) {
	t.Helper()
	ctx := context.Background()
	if err := f.profile.Consumer().Handle(ctx, evs); err != nil {
		t.Fatal(err)
	}
	var leans []backbone.Lean
	for _, ev := range evs {
		leans = append(leans, lean(t, ev))
	}
	if err := f.s.Consumer().HandleLean(ctx, leans); err != nil {
		t.Fatal(err)
	}
}

// outbox returns the events in the outbox and empties it.
func (f *fixture) outbox(t *testing.T) []event.Event {
	t.Helper()
	rows, err := f.d.W.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	if _, err := f.d.W.Exec(`DELETE FROM outbox`); err != nil {
		t.Fatal(err)
	}
	return out
}

// crossings returns the Score Threshold Crossed events in the outbox as
// "direction threshold value profile" lines, and empties it.
func (f *fixture) crossings(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, ev := range f.outbox(t) {
		if ev.Event == EventThresholdCrossed {
			p := ev.Properties
			out = append(out, fmt.Sprintf("%s %s %v %s", p["direction"], p["threshold"], p["value"], ev.ProfileID))
		}
	}
	return out
}

func (f *fixture) profileOf(t *testing.T, user string) string {
	t.Helper()
	p, err := f.profile.Lookup(context.Background(), accounts.System(), "user_id", user)
	if err != nil {
		t.Fatalf("profile of %s: %v", user, err)
	}
	return p.ID
}

func (f *fixture) score(t *testing.T, profileID, modelID string) ProfileScore {
	t.Helper()
	all, err := f.s.Of(context.Background(), accounts.System(), profileID)
	if err != nil {
		t.Fatal(err)
	}
	return all[modelID]
}

func (f *fixture) create(t *testing.T, in string) Model {
	t.Helper()
	var x Input
	if err := json.Unmarshal([]byte(in), &x); err != nil {
		t.Fatal(err)
	}
	m, err := f.s.Create(context.Background(), accounts.System(), x)
	if err != nil {
		t.Fatalf("creating %s: %v", in, err)
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) <= 0.01 }

func TestParseNamesTheField(t *testing.T) {
	rule := `[{"event":"Post Created","points":5}]`
	for _, tc := range []struct{ in, field string }{
		{`{"rules":` + rule + `}`, "name"},
		{`{"name":"x"}`, "rules"},
		{`{"name":"x","rules":[]}`, "rules"},
		{`{"name":"x","rules":[{"points":5}]}`, "rules[0].event"},
		{`{"name":"x","rules":[{"event":"A","points":5},{"event":"B"}]}`, "rules[1].points"},
		{`{"name":"x","rules":[{"event":"A","points":0}]}`, "rules[0].points"},
		{`{"name":"x","rules":[{"event":"A","points":1,"type":"click"}]}`, "rules[0].type"},
		{`{"name":"x","rules":[{"event":"A","points":1,"type":"identify"}]}`, "rules[0].event"},
		{`{"name":"x","rules":[{"event":"A","points":1,"color":"red"}]}`, "rules[0].color"},
		{`{"name":"x","rules":[{"event":"A","points":1,"where":[{"property":"plan","op":"most","value":1}]}]}`, "rules[0].where[0].op"},
		{`{"name":"x","rules":[{"event":"A","points":1,"where":[{"property":"plan","op":"gt","value":"x"}]}]}`, "rules[0].where[0].value"},
		{`{"name":"x","rules":[{"event":"A","points":1,"cap":{"points":0}}]}`, "rules[0].cap.points"},
		{`{"name":"x","rules":[{"event":"A","points":1,"cap":{"points":5,"per":"P1M"}}]}`, "rules[0].cap.per"},
		{`{"name":"x","rules":[{"event":"A","points":1,"cap":{"points":5,"per":"daily"}}]}`, "rules[0].cap.per"},
		{`{"name":"x","rules":[{"event":"Score Threshold Crossed","points":1}]}`, "rules[0].event"},
		{`{"name":"x","rules":[{"event":"Segment Entered","points":1}]}`, "rules[0].event"},
		{`{"name":"x","rules":` + rule + `,"cap":-1}`, "cap"},
		{`{"name":"x","rules":` + rule + `,"half_life":"P1Y"}`, "half_life"},
		{`{"name":"x","rules":` + rule + `,"half_life":"PT1S"}`, "half_life"},
		{`{"name":"x","rules":` + rule + `,"thresholds":[{"name":"MQL"}]}`, "thresholds[0].value"},
		{`{"name":"x","rules":` + rule + `,"thresholds":[{"name":"MQL","value":5},{"name":"MQL","value":9}]}`, "thresholds[1].name"},
		{`{"name":"x","rules":` + rule + `,"thresholds":[{"name":"A","value":5},{"name":"B","value":5}]}`, "thresholds[1].value"},
	} {
		var in Input
		if err := json.Unmarshal([]byte(tc.in), &in); err != nil {
			t.Fatal(err)
		}
		_, err := Parse(in)
		if e, ok := errs.As(err); !ok || e.Kind != errs.KindInvalid || e.Field != tc.field {
			t.Errorf("Parse(%s) = %v, want invalid %s", tc.in, err, tc.field)
		}
	}
	// A good model reads back the same from its stored form.
	var in Input
	good := `{"name":"Lead","rules":[{"event":"Pricing","type":"page","where":[{"property":"path","op":"contains","value":"/pricing"}],"points":5,
		"cap":{"points":20,"per":"P1D"}},{"event":"Unsubscribed","points":-10}],"cap":100,"half_life":"P14D",
		"thresholds":[{"name":"SQL","value":80},{"name":"MQL","value":40}]}`
	if err := json.Unmarshal([]byte(good), &in); err != nil {
		t.Fatal(err)
	}
	m, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if m.Thresholds[0].Name != "MQL" || m.halfLifeMs != 14*24*3600*1000 || m.Rules[0].Cap.perMs != 24*3600*1000 {
		t.Fatalf("parsed %+v", m)
	}
	rules, thresholds, err := m.stored()
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"cap":{"points":20,"per":"P1D"},"event":"Pricing","points":5,"type":"page","where":[{"op":"contains","property":"path","value":"/pricing"}]},` +
		`{"event":"Unsubscribed","points":-10}]`
	if rules != want || thresholds != `[{"name":"MQL","value":40},{"name":"SQL","value":80}]` {
		t.Fatalf("stored\n%s\n%s", rules, thresholds)
	}
}

func TestPointsCapsDecayAndThresholds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		m := f.create(t, `{"name":"Engagement","rules":[
			{"event":"Post Created","points":10,"cap":{"points":25,"per":"P1D"}},
			{"event":"Pricing","type":"page","where":[{"property":"path","op":"contains","value":"/pricing"}],"points":5},
			{"event":"Unsubscribed","points":-20}],
			"cap":100,"half_life":"P7D","thresholds":[{"name":"MQL","value":30},{"name":"SQL","value":60}]}`)
		page := func(user, path string) event.Event {
			ev := event.New(event.Page, "Pricing", event.SourceTracking, f.clock())
			ev.UserID, ev.Properties = user, map[string]any{"path": path}
			return ev
		}
		// Three posts in one day: the rule's cap stops at 25.
		posts := []event.Event{f.track("u1", "Post Created", nil), f.track("u1", "Post Created", nil), f.track("u1", "Post Created", nil)}
		f.deliver(t, posts...)
		a := f.profileOf(t, "u1")
		if got := f.score(t, a, m.ID); got.Value != 25 || got.Level != nil || got.Name != "Engagement" {
			t.Fatalf("after three posts: %+v", got)
		}
		if c := f.crossings(t); len(c) != 0 {
			t.Fatalf("crossings %v", c)
		}
		// A page whose path the filter refuses counts nothing; the pricing page crosses MQL.
		f.deliver(t, page("u1", "/blog"))
		if got := f.score(t, a, m.ID); got.Value != 25 {
			t.Fatalf("a page the filter refuses counted: %+v", got)
		}
		f.deliver(t, page("u1", "/ja/pricing"))
		if got := f.score(t, a, m.ID); got.Value != 30 || got.Level == nil || *got.Level != "MQL" {
			t.Fatalf("after the pricing page: %+v", got)
		}
		if c := f.crossings(t); fmt.Sprint(c) != "[up MQL 30 "+a+"]" {
			t.Fatalf("crossings %v", c)
		}
		// Delivered again (at least once): nothing counts twice, nothing is announced again.
		f.deliver(t, append(posts, page("u1", "/blog"))...)
		f.deliver(t, posts[0])
		if got := f.score(t, a, m.ID); got.Value != 30 {
			t.Fatalf("redelivery counted: %+v", got)
		}
		if c := f.crossings(t); len(c) != 0 {
			t.Fatalf("redelivery announced %v", c)
		}
		// A day later the cap's window is new: two posts count 20 on the decayed 30.
		f.advance(24 * time.Hour)
		f.deliver(t, f.track("u1", "Post Created", nil), f.track("u1", "Post Created", nil))
		want := 30*math.Pow(2, -1.0/7) + 20
		if got := f.score(t, a, m.ID); !near(got.Value, want) {
			t.Fatalf("next day: %+v, want %.2f", got, want)
		}
		if c := f.crossings(t); len(c) != 0 {
			t.Fatalf("crossings %v", c)
		}
		// Negative points cross MQL down at once.
		f.deliver(t, f.track("u1", "Unsubscribed", nil))
		want -= 20
		if got := f.score(t, a, m.ID); !near(got.Value, want) || got.Level != nil {
			t.Fatalf("after unsubscribing: %+v, want %.2f", got, want)
		}
		if c := f.crossings(t); fmt.Sprint(c) != fmt.Sprintf("[down MQL %v %s]", shown(want), a) {
			t.Fatalf("crossings %v", c)
		}
		f.deliver(t, page("u1", "/pricing"))
		want += 5
		if c := f.crossings(t); fmt.Sprint(c) != fmt.Sprintf("[up MQL %v %s]", shown(want), a) {
			t.Fatalf("crossings %v", c)
		}
		// Three days without events: decay alone crosses MQL down, which only the scheduled
		// pass can see.
		f.advance(3 * 24 * time.Hour)
		var wg sync.WaitGroup
		for range 3 { // several nodes: announced once
			node := f.node()
			wg.Go(func() {
				if err := node.CheckDue(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		want *= math.Pow(2, -3.0/7)
		if c := f.crossings(t); fmt.Sprint(c) != fmt.Sprintf("[down MQL %v %s]", shown(want), a) {
			t.Fatalf("crossings after decay %v, want down at %.2f", c, want)
		}
		if got := f.score(t, a, m.ID); !near(got.Value, want) || got.Level != nil {
			t.Fatalf("after decay: %+v", got)
		}
		// Up through both thresholds at once, then capped at 100.
		var many []event.Event
		for range 20 {
			many = append(many, page("u1", "/pricing"))
		}
		f.deliver(t, many...)
		if got := f.score(t, a, m.ID); got.Value != 100 || *got.Level != "SQL" {
			t.Fatalf("after 20 pricing pages: %+v", got)
		}
		if c := f.crossings(t); fmt.Sprint(c) != fmt.Sprintf("[up MQL 100 %s up SQL 100 %s]", a, a) {
			t.Fatalf("crossings %v", c)
		}
	})
}

// TestMergedFamiliesAddUp: a score is the sum over the merge family, decayed, then capped; a
// merge that lifts the sum over a threshold is announced for the root, and the merged-away
// profile keeps no level.
func TestMergedFamiliesAddUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		m := f.create(t, `{"name":"Fit","rules":[{"event":"Demo Requested","points":20}],"cap":50,
			"thresholds":[{"name":"Hot","value":30}]}`)
		anon := event.New(event.Track, "Demo Requested", event.SourceTracking, f.clock())
		anon.AnonymousID = "browser-1"
		f.deliver(t, anon, f.track("u1", "Demo Requested", nil))
		if c := f.crossings(t); len(c) != 0 {
			t.Fatalf("crossings %v", c)
		}
		// The browser identifies as u1: its profile merges into u1's.
		id := event.New(event.Identify, "", event.SourceTracking, f.clock())
		id.AnonymousID, id.UserID = "browser-1", "u1"
		if err := f.profile.Consumer().Handle(context.Background(), []event.Event{id}); err != nil {
			t.Fatal(err)
		}
		var merges []backbone.Lean
		for _, ev := range f.outbox(t) {
			if ev.Event == identity.EventProfilesMerged {
				merges = append(merges, lean(t, ev))
			}
		}
		if len(merges) != 1 {
			t.Fatalf("%d merges", len(merges))
		}
		if err := f.s.Consumer().HandleLean(context.Background(), merges); err != nil {
			t.Fatal(err)
		}
		b := f.profileOf(t, "u1") // the root
		if c := f.crossings(t); fmt.Sprint(c) != "[up Hot 40 "+b+"]" {
			t.Fatalf("crossings after the merge %v", c)
		}
		if got := f.score(t, b, m.ID); got.Value != 40 {
			t.Fatalf("family score %+v", got)
		}
		// Two more from u1: 20 + 40 = 60 on the family, capped at 50.
		f.deliver(t, f.track("u1", "Demo Requested", nil))
		if got := f.score(t, b, m.ID); got.Value != 50 {
			t.Fatalf("capped family score %+v", got)
		}
		var n int
		if err := f.d.R.QueryRow(`SELECT COUNT(*) FROM score_levels`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d levels, %v", n, err)
		}
	})
}

// TestRecomputeEqualsIncremental: a model edited after the events equals, once rebuilt from the
// event log, a model that had the edited rules all along and counted the events as they came;
// a rebuild cut short resumes on another node and ends the same.
func TestRecomputeEqualsIncremental(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		edited := `{"name":"Lead","rules":[
			{"event":"Post Created","points":3,"cap":{"points":7,"per":"PT6H"}},
			{"event":"Pricing","type":"page","points":4,"where":[{"property":"plan","op":"in","value":["pro","enterprise"]}]},
			{"event":"Order Completed","points":10,"cap":{"points":30}},
			{"event":"Unsubscribed","points":-6}],
			"cap":60,"half_life":"P2D","thresholds":[{"name":"Warm","value":15},{"name":"Hot","value":35}]}`
		var in Input
		if err := json.Unmarshal([]byte(edited), &in); err != nil {
			t.Fatal(err)
		}
		all := f.create(t, edited)
		later := f.create(t, `{"name":"Later","rules":[{"event":"Post Created","points":1}]}`)
		r := rand.New(rand.NewPCG(7, 11))
		names := []string{"Post Created", "Pricing", "Order Completed", "Unsubscribed", "Signed In"}
		for step := range 150 {
			f.advance(time.Duration(r.IntN(180)) * time.Minute)
			var batch []event.Event
			for range 1 + r.IntN(3) {
				user := fmt.Sprintf("u%d", r.IntN(9))
				name := pick(r, names)
				props := map[string]any{"plan": pick(r, []string{"free", "pro", "enterprise"})}
				if name == "Pricing" {
					ev := event.New(event.Page, name, event.SourceTracking, f.clock())
					ev.UserID, ev.Properties = user, props
					batch = append(batch, ev)
					continue
				}
				batch = append(batch, f.track(user, name, props))
			}
			f.deliver(t, batch...)
			if step == 75 {
				f.deliver(t, batch...) // a redelivery on the way
			}
		}
		f.s.chunk = 2
		// The rebuild is cut short after one chunk (the node died) ...
		if _, err := f.s.Update(ctx, accounts.System(), later.ID, in); err != nil {
			t.Fatal(err)
		}
		if _, err := f.d.W.Exec(`UPDATE score_models SET recompute_from = '' WHERE id = $1`, later.ID); err != nil {
			t.Fatal(err)
		}
		if done, _, err := f.s.recomputeChunk(ctx, later.ID); err != nil || done {
			t.Fatalf("first chunk: %v %v", done, err)
		}
		if m, err := f.s.Get(ctx, accounts.System(), later.ID); err != nil || !m.Recomputing {
			t.Fatalf("model mid-rebuild %+v %v", m, err)
		}
		// ... and another node finishes it on schedule.
		other := f.node()
		other.chunk = 3
		if err := other.CheckDue(ctx); err != nil {
			t.Fatal(err)
		}
		values := func(modelID string) map[string][2]float64 {
			rows, err := f.d.R.Query(`SELECT profile_id, value, as_of FROM score_values WHERE model_id = $1`, modelID)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string][2]float64{}
			for rows.Next() {
				var pid string
				var v float64
				var at int64
				if err := rows.Scan(&pid, &v, &at); err != nil {
					t.Fatal(err)
				}
				out[pid] = [2]float64{v, float64(at)}
			}
			return out
		}
		want, got := values(all.ID), values(later.ID)
		if len(want) < 5 || len(got) != len(want) {
			t.Fatalf("%d scores rebuilt, %d counted as they came", len(got), len(want))
		}
		for pid, w := range want {
			if g := got[pid]; math.Abs(g[0]-w[0]) > 1e-9 || g[1] != w[1] {
				t.Errorf("profile %s: rebuilt %v, counted as they came %v", pid, g, w)
			}
		}
		// The levels announced agree as well: the same profiles are Hot and Warm under both.
		levels := func(modelID string) []string {
			rows, err := f.d.R.Query(`SELECT profile_id || ':' || CAST(level AS TEXT) FROM score_levels WHERE model_id = $1`, modelID)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				out = append(out, s)
			}
			slices.Sort(out)
			return out
		}
		if a, b := levels(all.ID), levels(later.ID); len(a) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("levels %v, rebuilt %v", a, b)
		}
		var ups int
		for _, c := range f.crossings(t) {
			if strings.HasPrefix(c, "up") {
				ups++
			}
		}
		if ups == 0 {
			t.Fatal("no crossing was announced")
		}
	})
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// TestSegmentsFollowScores: a segment on "score gte 25" takes a person in as soon as an event
// lifts the score there (no threshold at 25), and lets them go when decay takes it below, at
// the segment's scheduled recomputation. A model a segment uses cannot be deleted, and a
// segment cannot name a model that does not exist.
func TestSegmentsFollowScores(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		m := f.create(t, `{"name":"Engagement","rules":[{"event":"Post Created","points":10}],"half_life":"P1D"}`)
		seg, err := f.seg.Create(ctx, accounts.System(), "Engaged", json.RawMessage(`{"score":"`+m.ID+`","op":"gte","value":25}`))
		if err != nil {
			t.Fatal(err)
		}
		f.deliver(t, f.track("u1", "Post Created", nil), f.track("u1", "Post Created", nil), f.track("u1", "Post Created", nil))
		a := f.profileOf(t, "u1")
		entered := func() []string {
			var out []string
			for _, ev := range f.outbox(t) {
				if ev.Event == segment.EventEntered || ev.Event == segment.EventExited {
					out = append(out, ev.Event+" "+ev.ProfileID)
				}
			}
			return out
		}
		if got := entered(); fmt.Sprint(got) != "[Segment Entered "+a+"]" {
			t.Fatalf("segment events %v", got)
		}
		// A Segment Entered or Score Threshold Crossed event never counts, even for a rule on
		// every track event.
		if _, err := f.s.Update(ctx, accounts.System(), m.ID, Input{Name: "Engagement", Rules: json.RawMessage(`[{"type":"track","points":10}]`),
			HalfLife: "P1D"}); err != nil {
			t.Fatal(err)
		}
		own := event.New(event.Track, segment.EventEntered, event.SourceSystem, f.clock())
		own.AnonymousID, own.ProfileID = "kizuna:segment", a
		f.deliver(t, own)
		if got := f.score(t, a, m.ID); got.Value != 30 {
			t.Fatalf("score after a Segment Entered event: %+v", got)
		}
		// An edit that lowers the score rebuilds it, and the segment follows at once; so does
		// one that raises it again.
		for _, c := range []struct{ points, want string }{{"1", "Segment Exited"}, {"10", "Segment Entered"}} {
			if _, err := f.s.Update(ctx, accounts.System(), m.ID, Input{Name: "Engagement", Rules: json.RawMessage(`[{"type":"track","points":` + c.points + `}]`),
				HalfLife: "P1D"}); err != nil {
				t.Fatal(err)
			}
			if got := entered(); fmt.Sprint(got) != "["+c.want+" "+a+"]" {
				t.Fatalf("segment events after the edit to %s points: %v", c.points, got)
			}
		}
		f.advance(36 * time.Hour) // 30 · 2^-1.5 ≈ 10.6
		if err := f.seg.RecomputeDue(ctx); err != nil {
			t.Fatal(err)
		}
		if got := entered(); fmt.Sprint(got) != "[Segment Exited "+a+"]" {
			t.Fatalf("segment events after decay %v", got)
		}
		err = f.s.Delete(ctx, accounts.System(), m.ID)
		if e, ok := errs.As(err); !ok || e.Kind != errs.KindConflict {
			t.Fatalf("deleting a model in use: %v", err)
		}
		_, err = f.seg.Create(ctx, accounts.System(), "Nope", json.RawMessage(`{"all":[{"trait":"x","op":"exists"},{"score":"nope","op":"gt","value":1}]}`))
		if e, ok := errs.As(err); !ok || e.Field != "definition.all[1].score" {
			t.Fatalf("a segment on an unknown model: %v", err)
		}
		if err := f.seg.Delete(ctx, accounts.System(), seg.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Delete(ctx, accounts.System(), m.ID); err != nil {
			t.Fatal(err)
		}
		if list, err := f.s.List(ctx, accounts.System()); err != nil || len(list) != 0 {
			t.Fatalf("list after delete %v %v", list, err)
		}
		var n int
		if err := f.d.R.QueryRow(`SELECT COUNT(*) FROM score_values`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d scores left, %v", n, err)
		}
	})
}

// TestErasureRemovesScores: an erased person's scores, cap windows, counted events and levels
// are gone, and exported before.
func TestErasureRemovesScores(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		f.create(t, `{"name":"Fit","rules":[{"event":"Demo Requested","points":20,"cap":{"points":40,"per":"P1D"}}],"thresholds":[{"name":"Hot","value":10}]}`)
		f.deliver(t, f.track("u1", "Demo Requested", nil), f.track("u2", "Demo Requested", nil))
		a := f.profileOf(t, "u1")
		sub := dsr.Subject{Root: a, ProfileIDs: []string{a}}
		tables, err := f.s.ExportSubject(ctx, sub)
		if err != nil || len(tables) != 1 || len(tables[0].Rows.([]scoreRow)) != 1 || tables[0].Rows.([]scoreRow)[0].Value != 20 {
			t.Fatalf("export %+v %v", tables, err)
		}
		if err := f.d.Tx(ctx, func(tx *sql.Tx) error { return f.s.EraseSubject(ctx, tx, dsr.Erasure{Subject: sub}) }); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"score_values", "score_windows", "score_applied", "score_levels"} {
			var mine, others int
			if err := f.d.R.QueryRow(`SELECT COUNT(CASE WHEN profile_id = $1 THEN 1 END), COUNT(CASE WHEN profile_id <> $1 THEN 1 END) FROM `+table, a).
				Scan(&mine, &others); err != nil {
				t.Fatal(err)
			}
			if mine != 0 || others != 1 {
				t.Errorf("%s after the erasure: %d rows of the subject, %d of others", table, mine, others)
			}
		}
	})
}

// FuzzParse: no input makes Parse panic, and a model it accepts reads back the same from the
// form it is stored in.
func FuzzParse(f *testing.F) {
	f.Add(`{"name":"Lead","rules":[{"event":"Pricing","type":"page","where":[{"property":"path","op":"contains","value":"/pricing"}],"points":5,
		"cap":{"points":20,"per":"P1D"}},{"event":"Unsubscribed","points":-10}],"cap":100,"half_life":"P14D","thresholds":[{"name":"MQL","value":40}]}`)
	f.Add(`{"name":"x","rules":[{"type":"track","points":1,"cap":{"points":1}}],"thresholds":[]}`)
	f.Add(`{"name":"x","rules":[{"event":"A","points":1e300}]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var in Input
		if json.Unmarshal([]byte(raw), &in) != nil {
			return
		}
		m, err := Parse(in)
		if err != nil {
			if _, ok := errs.As(err); !ok {
				t.Fatalf("Parse(%s): an error without a field: %v", raw, err)
			}
			return
		}
		rules, thresholds, err := m.stored()
		if err != nil {
			t.Fatal(err)
		}
		again := Input{Name: m.Name, Description: m.Description, Rules: json.RawMessage(rules), HalfLife: m.HalfLife, Thresholds: json.RawMessage(thresholds)}
		if m.Cap != nil {
			again.Cap, _ = json.Marshal(*m.Cap)
		}
		m2, err := Parse(again)
		if err != nil {
			t.Fatalf("the stored form of %s does not parse: %v", raw, err)
		}
		r2, t2, _ := m2.stored()
		if r2 != rules || t2 != thresholds {
			t.Fatalf("stored form changed:\n%s\n%s", rules, r2)
		}
	})
}

// TestEventsOfNoPersonDoNotHoldTheConsumer: a community event done by the system lands on no
// profile; a rule on every track event does not make the consumer wait for it.
func TestEventsOfNoPersonDoNotHoldTheConsumer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		f.create(t, `{"name":"Everything","rules":[{"type":"track","points":1}]}`)
		start := time.Now()
		f.deliver(t, event.Community("Space Created", "system", f.clock(), nil), f.track("u1", "Post Created", nil))
		if waited := time.Since(start); waited > profile.LandWait {
			t.Fatalf("the batch took %v", waited)
		}
		if got := f.score(t, f.profileOf(t, "u1"), f.s.mustOnlyModel(t)); got.Value != 1 {
			t.Fatalf("score %+v", got)
		}
	})
}

// mustOnlyModel returns the id of the one model there is.
func (s *Service) mustOnlyModel(t *testing.T) string {
	t.Helper()
	list, err := s.List(context.Background(), accounts.System())
	if err != nil || len(list) != 1 {
		t.Fatalf("models %v %v", list, err)
	}
	return list[0].ID
}
