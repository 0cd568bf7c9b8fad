package web

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/segment"
)

// formOf builds builder form values from "field=value" pairs.
func formOf(pairs ...string) url.Values {
	f := url.Values{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		f.Add(k, v)
	}
	return f
}

// canonical is raw parsed and written back by the segment language, or "" when it does not parse.
func canonical(t *testing.T, raw []byte) string {
	t.Helper()
	n, err := segment.Parse(raw)
	if err != nil {
		return ""
	}
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSegmentFormToJSON(t *testing.T) {
	root := []string{"c0.kind=all", "c0.parent=-1", "bare=1"}
	for _, c := range []struct {
		name string
		form url.Values
		want string // the JSON the form gives, as written
	}{
		{"one trait is the whole definition", formOf(append(root, "c1.kind=trait", "c1.parent=0", "c1.f.trait= plan ", "c1.f.op=eq", "c1.f.value=enterprise")...),
			`{"op":"eq","trait":"plan","value":"enterprise"}`},
		{"typed values: number, boolean, quoted string, list", formOf(append(root,
			"c1.kind=trait", "c1.parent=0", "c1.f.trait=seats", "c1.f.op=gte", "c1.f.value=10",
			"c2.kind=trait", "c2.parent=0", "c2.f.trait=vip", "c2.f.op=eq", "c2.f.value=true",
			"c3.kind=trait", "c3.parent=0", "c3.f.trait=zip", "c3.f.op=eq", "c3.f.value=\"100\"",
			"c4.kind=trait", "c4.parent=0", "c4.f.trait=plan", "c4.f.op=in", "c4.f.value=pro, enterprise, 3",
			"c5.kind=trait", "c5.parent=0", "c5.f.trait=phone", "c5.f.op=exists", "c5.f.value=ignored")...),
			`{"all":[{"op":"gte","trait":"seats","value":10},{"op":"eq","trait":"vip","value":true},{"op":"eq","trait":"zip","value":"100"},` +
				`{"op":"in","trait":"plan","value":["pro","enterprise",3]},{"op":"exists","trait":"phone"}]}`},
		{"nested groups with not, in form order", formOf(
			"c0.kind=any", "c0.parent=-1",
			"c1.kind=all", "c1.parent=0", "c1.not=1",
			"c2.kind=open_tickets", "c2.parent=1", "c2.f.open_tickets.op=gte", "c2.f.open_tickets.value=2",
			"c3.kind=consent", "c3.parent=1", "c3.not=1", "c3.f.consent.channel=email", "c3.f.consent.purpose=marketing", "c3.f.consent.status=opted_in",
			"c4.kind=segment", "c4.parent=0", "c4.f.segment=01SEG"),
			`{"any":[{"not":{"all":[{"open_tickets":{"op":"gte","value":2}},{"not":{"consent":{"channel":"email","purpose":"marketing","status":"opted_in"}}}]}},{"segment":"01SEG"}]}`},
		{"event with filters, count and window; empty filter rows and optional fields left out", formOf(append(root,
			"c1.kind=event", "c1.parent=0", "c1.f.event=Post Created", "c1.f.count.op=gte", "c1.f.count.value=3", "c1.f.within_last=P30D",
			"c1.w.property=space", "c1.w.op=eq", "c1.w.value=support", "c1.w.property=", "c1.w.op=eq", "c1.w.value=",
			"c2.kind=contract", "c2.parent=0", "c2.f.contract.product=", "c2.f.contract.status=active", "c2.f.contract.renews_within=P30D")...),
			`{"all":[{"count":{"op":"gte","value":3},"event":"Post Created","where":[{"op":"eq","property":"space","value":"support"}],"within_last":"P30D"},` +
				`{"contract":{"renews_within":"P30D","status":"active"}}]}`},
		{"a score with a fractional threshold, and the last log-in", formOf(append(root,
			"c1.kind=score", "c1.parent=0", "c1.f.score=01JENG", "c1.f.op=gte", "c1.f.value=12.5",
			"c2.kind=computed", "c2.parent=0", "c2.f.computed=last_login", "c2.f.op=more_than_ago", "c2.f.value=P60D")...),
			`{"all":[{"op":"gte","score":"01JENG","value":12.5},{"computed":"last_login","op":"more_than_ago","value":"P60D"}]}`},
		{"a JSON row is kept as it is", formOf(append(root, "c1.kind=json", "c1.parent=0", "c1.not=1", `c1.json={"score":"engagement","op":"gte","value":50}`,
			"c2.kind=computed", "c2.parent=0", "c2.f.computed=last_seen", "c2.f.op=within_last", "c2.f.value=P7D")...),
			`{"all":[{"not":{"op":"gte","score":"engagement","value":50}},{"computed":"last_seen","op":"within_last","value":"P7D"}]}`},
		{"rows whose group is missing are dropped; an empty group stays for Parse to name", formOf(append(root,
			"c1.kind=any", "c1.parent=0", "c2.kind=trait", "c2.parent=9", "c2.f.trait=x", "c2.f.op=exists")...),
			`{"any":[]}`},
		{"a count that is no number goes as text for Parse to name", formOf(append(root, "c1.kind=open_tickets", "c1.parent=0", "c1.f.open_tickets.op=gte", "c1.f.open_tickets.value=two")...),
			`{"open_tickets":{"op":"gte","value":"two"}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw, _, err := builderFromForm(c.form).toJSON()
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			json.Unmarshal(raw, &got)
			json.Unmarshal([]byte(c.want), &want)
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("got  %s\nwant %s", g, w)
			}
		})
	}
}

// TestSegmentJSONRoundTrips: a definition read into the form and written back is the same
// definition, and a node the form has no inputs for stays a JSON row with its content.
func TestSegmentJSONRoundTrips(t *testing.T) {
	for _, def := range []string{
		`{"trait":"plan","op":"eq","value":"enterprise"}`,
		`{"all":[{"trait":"plan","op":"eq","value":"42"},{"trait":"seats","op":"eq","value":42},{"trait":"x","op":"eq","value":"\"q\""},{"trait":"b","op":"neq","value":false}]}`,
		`{"all":[{"trait":"plan","op":"in","value":["a,b","c",1,true]},{"trait":"plan","op":"in","value":["pro","enterprise"]},{"trait":"tags","op":"contains","value":"vip"}]}`,
		`{"any":[{"not":{"all":[{"computed":"purchases","op":"gte","value":1},{"not":{"computed":"last_community_activity","op":"within_last","value":"P30D"}}]}},{"segment":"01ABC"}]}`,
		`{"all":[{"event":"Product Viewed","where":[{"property":"product","op":"eq","value":"Pro"},{"property":"price","op":"gt","value":1000}],"within_last":"P30D"},{"not":{"contract":{"product":"Pro","status":"any"}}}]}`,
		`{"all":[{"open_tickets":{"op":"gte","value":2}},{"consent":{"channel":"line","purpose":"third_party:crm","status":"unknown"}},{"trait":"signed_up","op":"before","value":"2026-04-01"}]}`,
		`{"not":{"any":[{"trait":"a","op":"exists"},{"trait":"b","op":"not_exists"}]}}`,
		`{"not":{"not":{"trait":"a","op":"exists"}}}`,
		`{"all":[{"space_member":"support"},{"attended":{}},{"not":{"attended":{"event":"01J","within_last":"P90D"}}},` +
			`{"accepted_answers":{"op":"gte","value":5}},{"unanswered_questions":{"op":"gte","value":1,"older_than":"P1D"}},{"unanswered_questions":{"op":"eq","value":0}}]}`,
	} {
		b, err := builderFromJSON([]byte(def))
		if err != nil {
			t.Fatalf("%s: %v", def, err)
		}
		for _, r := range b.rows {
			if r.Kind == rowJSON && !strings.Contains(def, `"not":{"not"`) {
				t.Errorf("%s: a node became a JSON row: %s", def, r.JSON)
			}
		}
		raw, _, err := b.toJSON()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := canonical(t, raw), canonical(t, []byte(def)); got == "" || got != want {
			t.Errorf("round trip of %s:\n got %s\nwant %s", def, got, want)
		}
	}
	// A kind the form does not know, and a known kind with a field it has no input for.
	def := `{"all":[{"churn_risk":{"op":"gte","value":70}},{"trait":"plan","op":"eq","value":"pro","weight":2},{"lifecycle_stage":"advocate"}]}`
	b, err := builderFromJSON([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, r := range b.rows {
		if r.Kind == rowJSON {
			kept = append(kept, r.JSON)
		}
	}
	want := []string{`{"churn_risk":{"op":"gte","value":70}}`, `{"op":"eq","trait":"plan","value":"pro","weight":2}`, `{"lifecycle_stage":"advocate"}`}
	if strings.Join(kept, " ") != strings.Join(want, " ") {
		t.Fatalf("JSON rows %q, want %q", kept, want)
	}
	raw, _, _ := b.toJSON()
	var got, exp any
	json.Unmarshal(raw, &got)
	json.Unmarshal([]byte(def), &exp)
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if string(g) != string(e) {
		t.Fatalf("written back %s, want %s", g, e)
	}
	if _, err := builderFromJSON([]byte(`{"all":[`)); err == nil {
		t.Fatal("text that is not JSON was read")
	}
}

func TestSegmentErrorRow(t *testing.T) {
	b := builderFromForm(formOf("c0.kind=all", "c0.parent=-1", "c1.kind=trait", "c1.parent=0", "c1.f.trait=plan", "c1.f.op=eq", "c1.f.value=x",
		"c2.kind=any", "c2.parent=0", "c2.not=1", "c3.kind=event", "c3.parent=2", "c3.f.event=E", "c3.f.count.op=gte", "c3.f.count.value=1"))
	_, paths, err := b.toJSON()
	if err != nil {
		t.Fatal(err)
	}
	for field, row := range map[string]int{
		"definition.all[0].value":                  1,
		"definition.all[1].not.any[0].count.op":    3,
		"definition.all[1].not.any":                2,
		"definition.all":                           0,
		"definition.all[1].not.any[0].where[0].op": 3,
		"definition.all[10]":                       0,
	} {
		if got := rowFor(paths, field); got != row {
			t.Errorf("rowFor(%s) = %d, want %d", field, got, row)
		}
	}
	// Add and remove keep the form's shape.
	g := b.add(2, "consent")
	if g == nil || len(b.children(2)) != 2 {
		t.Fatalf("add to a group: %v, children %d", g, len(b.children(2)))
	}
	if b.add(1, "trait") != nil {
		t.Fatal("a condition was added under a condition")
	}
	b.remove(2)
	if len(b.rows) != 2 {
		t.Fatalf("removing a group leaves %d rows, want the root and one condition", len(b.rows))
	}
}

// FuzzSegmentJSONRoundTrip: every definition the language accepts comes back from the form as
// the same definition, and text that is not a definition never panics the builder.
func FuzzSegmentJSONRoundTrip(f *testing.F) {
	for _, seed := range []string{
		`{"trait":"plan","op":"eq","value":"enterprise"}`,
		`{"all":[{"trait":"plan","op":"in","value":["a,b","[x",1,true,"\"q\""]},{"not":{"segment":"01ABC"}}]}`,
		`{"any":[{"event":"Post Created","where":[{"property":"space","op":"contains","value":"sup"}],"count":{"op":"gte","value":3},"within_last":"P30D"}]}`,
		`{"not":{"all":[{"contract":{"renews_within":"P1M"}},{"open_tickets":{"op":"eq","value":0}},{"consent":{"channel":"sms","purpose":"research"}}]}}`,
		`{"all":[{"computed":"events","op":"lt","value":10},{"trait":"signed_up","op":"after","value":"2026-04-01T09:00:00+09:00"}]}`,
		`{"all":[{"trait":"x","op":"eq","value":" padded "},{"trait":"y","op":"eq","value":""}]}`,
		`{"any":[{"attended":{}},{"space_member":"events"},{"unanswered_questions":{"op":"gt","value":2,"older_than":"PT12H"}}]}`,
		`[1,2]`, `"x"`, `{"all":[]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		want := canonical(t, raw)
		b, err := builderFromJSON(raw)
		if err != nil {
			return
		}
		out, _, err := b.toJSON()
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if want == "" {
			return
		}
		if got := canonical(t, out); got != want {
			t.Fatalf("round trip of %s:\n got %s (%s)\nwant %s", raw, got, out, want)
		}
	})
}
