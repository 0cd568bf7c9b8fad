package segment

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// exampleParams are the template's parameters filled with their examples.
func exampleParams(t Template) map[string]string {
	out := map[string]string{}
	for _, p := range t.Params {
		out[p.Name] = p.Example
	}
	return out
}

func TestTemplatesBuildAndParse(t *testing.T) {
	placeholder := regexp.MustCompile(`\{\{([a-z_]+)\}\}`)
	seen := map[string]bool{}
	for _, tp := range Templates() {
		if seen[tp.ID] {
			t.Errorf("template id %s twice", tp.ID)
		}
		seen[tp.ID] = true
		for _, lang := range []string{"ja", "en"} {
			if tp.Name[lang] == "" || tp.Description[lang] == "" {
				t.Errorf("%s has no name or description in %s", tp.ID, lang)
			}
			for _, p := range tp.Params {
				if p.Label[lang] == "" || p.Hint[lang] == "" || p.Example == "" {
					t.Errorf("%s: parameter %s lacks a label, hint or example in %s", tp.ID, p.Name, lang)
				}
			}
		}
		var used []string
		for _, m := range placeholder.FindAllStringSubmatch(tp.Definition, -1) {
			used = append(used, m[1])
		}
		slices.Sort(used)
		used = slices.Compact(used)
		var declared []string
		for _, p := range tp.Params {
			declared = append(declared, p.Name)
		}
		slices.Sort(declared)
		if !slices.Equal(used, declared) {
			t.Errorf("%s: placeholders %v, parameters %v", tp.ID, used, declared)
		}
		n, err := tp.Build(exampleParams(tp))
		if err != nil {
			t.Fatalf("%s does not build: %v", tp.ID, err)
		}
		canon, _ := json.Marshal(n)
		if again, err := Parse(canon); err != nil {
			t.Errorf("%s: canonical form %s does not parse: %v", tp.ID, canon, err)
		} else if c2, _ := json.Marshal(again); string(c2) != string(canon) {
			t.Errorf("%s: canonical form moves: %s then %s", tp.ID, canon, c2)
		}
		if got, ok := TemplateByID(tp.ID); !ok || got.Definition != tp.Definition {
			t.Errorf("TemplateByID(%s) = %v", tp.ID, ok)
		}
		// Each parameter is required, and a value that cannot be one is refused by its name.
		for _, p := range tp.Params {
			params := exampleParams(tp)
			delete(params, p.Name)
			if _, err := tp.Build(params); fieldOf(err) != "params."+p.Name {
				t.Errorf("%s without %s: %v", tp.ID, p.Name, err)
			}
			params[p.Name] = ` say "hi" `
			if _, err := tp.Build(params); fieldOf(err) != "params."+p.Name {
				t.Errorf("%s with a quote in %s: %v", tp.ID, p.Name, err)
			}
		}
		params := exampleParams(tp)
		params["colour"] = "blue"
		if _, err := tp.Build(params); fieldOf(err) != "params.colour" {
			t.Errorf("%s with an unknown parameter: %v", tp.ID, err)
		}
	}
	for _, id := range []string{TemplateEngagedCustomers, TemplateRecentButQuiet, TemplateInterestedNoContract, TemplateDormantMembers,
		TemplateExperts, TemplateUnansweredAskers} {
		if !seen[id] {
			t.Errorf("no template %s", id)
		}
	}
	// The interest and product are the staff's: another choice gives another definition.
	tp, _ := TemplateByID(TemplateInterestedNoContract)
	n, err := tp.Build(map[string]string{"interest": "space:events", "product": "イベントパック"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(n); string(got) != `{"all":[{"op":"contains","trait":"interests","value":"space:events"},`+
		`{"not":{"contract":{"product":"イベントパック","status":"active"}}}]}` {
		t.Errorf("built %s", got)
	}
}

// templateWorld is a small community with one person each template should find, and people
// each template should not: a near miss beside each hit.
func templateWorld(now time.Time) *world {
	ms := func(daysAgo float64) int64 { return db.Now(now.Add(-time.Duration(daysAgo * float64(24*time.Hour)))) }
	date := func(daysAgo int) string { return now.AddDate(0, 0, -daysAgo).Format(time.DateOnly) }
	w := &world{}
	for _, p := range []string{"engaged", "attendee", "chatty", "buyer", "newcontract", "interested", "dormant", "newbie",
		"expert", "almost", "asker", "answered", "fresh"} {
		w.profiles = append(w.profiles, wProfile{id: p})
	}
	w.profiles = append(w.profiles, wProfile{id: "asker-old", merged: "asker"}) // the asker's member id is on a merged profile
	k := 0
	ev := func(profile, name, source string, daysAgo float64) {
		k++
		w.events = append(w.events, []any{"m" + string(rune('A'+k/26)) + string(rune('a'+k%26)), profile, "track", name, source, ms(daysAgo), "{}"})
	}
	// Engaged: an active contract and a post this month; the attendee came to an event instead;
	// chatty replied only twice.
	ev("engaged", "Member Signed Up", "community", 300)
	ev("engaged", EventLoggedIn, "community", 1)
	ev("engaged", "Post Created", "community", 5)
	ev("engaged", "Order Completed", "crm", 10)
	ev("chatty", "Member Signed Up", "community", 100)
	ev("chatty", EventLoggedIn, "community", 10)
	ev("chatty", "Comment Created", "community", 3)
	ev("chatty", "Comment Created", "community", 4)
	// Recent but quiet: a purchase 20 days ago and a post 45 days ago; a contract started 10 days
	// ago and nothing in the community.
	ev("buyer", "Order Completed", "crm", 20)
	ev("buyer", "Post Created", "community", 45)
	ev("interested", "Member Signed Up", "community", 20)
	ev("interested", "Post Created", "community", 2)
	// Dormant: signed up long ago and last logged in 90 days ago; the newbie signed up 10 days ago.
	ev("dormant", "Member Signed Up", "community", 200)
	ev("dormant", EventLoggedIn, "community", 90)
	ev("newbie", "Member Signed Up", "community", 10)
	w.accounts = []string{"acc-pro", "acc-new", "acc-old"}
	w.contracts = [][]any{
		{"k-pro", "x-k-pro", "acc-pro", "Pro", "active", "2025-01-01", date(-40), 100, "JPY", 0},
		{"k-new", "x-k-new", "acc-new", "Basic", "active", date(10), nil, 100, "JPY", 0},
		{"k-old", "x-k-old", "acc-old", "Pro", "cancelled", "2024-01-01", nil, 100, "JPY", 0},
	}
	w.links = [][]any{{"engaged", "acc-pro"}, {"attendee", "acc-pro"}, {"chatty", "acc-pro"}, {"newcontract", "acc-new"}, {"interested", "acc-old"}}
	trait := func(profile, name, value string) {
		w.traits = append(w.traits, []any{profile, name, value, "test", ms(1)})
	}
	trait("engaged", "interests", `["tag:pro"]`)
	trait("interested", "interests", `["tag:pro","space:events"]`)
	trait("chatty", "interests", `["tag:basic"]`)

	// The community: members on profiles, a space, an event, questions and answers.
	for _, m := range [][2]string{{"M-attendee", "attendee"}, {"M-expert", "expert"}, {"M-almost", "almost"}, {"M-asker", "asker-old"},
		{"M-answered", "answered"}, {"M-fresh", "fresh"}} {
		w.members = append(w.members, m[0])
		w.identifiers = append(w.identifiers, []any{"user_id", m[0], m[1], 0, 0})
	}
	w.spaceRows = [][]any{{"sp1", "support", "サポート", "public", "system", 0, 0}}
	w.meetups = [][]any{{"ev1", "sp1", "ユーザー会", ms(10), ms(10), "Asia/Tokyo", "CODE", "system", 0, 0}}
	w.rsvps = [][]any{{"ev1", "M-attendee", "going", 0, ms(10)}}
	post := func(id, author string, daysAgo float64) {
		w.posts = append(w.posts, []any{id, "sp1", author, "question", "q", "b", "b", 0, ms(daysAgo), ms(daysAgo), ms(daysAgo)})
	}
	reply := func(id, post, author string, hidden int, accepted bool) {
		w.comments = append(w.comments, []any{id, post, author, "a", "a", hidden, ms(1), ms(1)})
		if accepted {
			w.accepted = append(w.accepted, []any{id, post})
		}
	}
	// The expert has six accepted answers, one of them hidden: five count.
	for i, id := range []string{"e1", "e2", "e3", "e4", "e5", "e6"} {
		post("p-"+id, "M-answered", 20)
		reply("c-"+id, "p-"+id, "M-expert", map[bool]int{true: 1}[i == 5], true)
	}
	// Almost: four accepted answers, and a fifth to their own question, which does not count.
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		post("p-"+id, "M-answered", 20)
		reply("c-"+id, "p-"+id, "M-almost", 0, true)
	}
	post("p-a5", "M-almost", 20)
	reply("c-a5", "p-a5", "M-almost", 0, true)
	// The asker's question of three days ago has only the asker's own reply; the answered one
	// has a reply from the expert; the fresh one is two hours old.
	post("p-ask", "M-asker", 3)
	reply("c-ask", "p-ask", "M-asker", 0, false)
	post("p-ans", "M-answered", 3)
	reply("c-ans", "p-ans", "M-expert", 0, false)
	post("p-fresh", "M-fresh", 2.0/24)
	return w
}

// TestTemplatesSelectTheRightProfiles builds each template (with the example parameters) and
// checks, on a small community of hits and near misses, that the compiled SQL and the
// incremental evaluator both give exactly the people the template is for, on both engines.
func TestTemplatesSelectTheRightProfiles(t *testing.T) {
	want := map[string][]string{
		TemplateEngagedCustomers:     {"attendee", "engaged"},
		TemplateRecentButQuiet:       {"buyer", "newcontract"},
		TemplateInterestedNoContract: {"interested"},
		TemplateDormantMembers:       {"dormant"},
		TemplateExperts:              {"expert"},
		TemplateUnansweredAskers:     {"asker"},
	}
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		d := openAll(t, e)
		g := identity.New(identity.Deps{DB: d})
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		w := templateWorld(now)
		if err := w.store(ctx, d); err != nil {
			t.Fatal(err)
		}
		for _, tp := range Templates() {
			n, err := tp.Build(exampleParams(tp))
			if err != nil {
				t.Fatal(err)
			}
			q, err := Compile(e, n, now)
			if err != nil {
				t.Fatal(err)
			}
			inSQL, err := scanIDs(d.W.QueryContext(ctx, q.SQL, q.Args...))
			if err != nil {
				t.Fatalf("%s: %v", tp.ID, err)
			}
			var sqlGot, evalGot []string
			names := map[string]bool{}
			var w2 wants
			wantsOf(n, names, &w2.community)
			for name := range names {
				w2.events = append(w2.events, name)
			}
			for _, root := range w.roots() {
				if inSQL[root] {
					sqlGot = append(sqlGot, root)
				}
				_, family, err := g.RootFamily(ctx, d.W, root)
				if err != nil {
					t.Fatal(err)
				}
				f, err := loadFacts(ctx, d.W, family, w2)
				if err != nil {
					t.Fatal(err)
				}
				if Eval(n, f, now) {
					evalGot = append(evalGot, root)
				}
			}
			slices.Sort(sqlGot)
			slices.Sort(evalGot)
			if !slices.Equal(sqlGot, want[tp.ID]) || !slices.Equal(evalGot, want[tp.ID]) {
				t.Errorf("%s: SQL finds %v, the incremental evaluator %v; want %v", tp.ID, sqlGot, evalGot, want[tp.ID])
			}
		}
	})
}

// fieldOf is the field an errs.Invalid error names, or "".
func fieldOf(err error) string {
	if e, ok := errs.As(err); ok && e.Kind == errs.KindInvalid {
		return e.Field
	}
	return ""
}
