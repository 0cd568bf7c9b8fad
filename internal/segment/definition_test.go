package segment

import (
	"encoding/json"
	"testing"

	"github.com/kizuna-community/kizuna/internal/errs"
)

func TestParseNamesThePathOfTheBadNode(t *testing.T) {
	for _, tc := range []struct{ def, field string }{
		{`[]`, "definition"},
		{`{}`, "definition"},
		{`{"all":[]}`, "definition.all"},
		{`{"all":[{"trait":"plan","op":"eq","value":"pro"},{"event":"Post Created","count":{"op":"most","value":3}}]}`, "definition.all[1].count.op"},
		{`{"all":[{"trait":"plan","op":"eq"}]}`, "definition.all[0].value"},
		{`{"any":[{"not":{"trait":"plan","op":"exists","value":1}}]}`, "definition.any[0].not.value"},
		{`{"trait":"plan","op":"gt","value":"pro"}`, "definition.value"},
		{`{"trait":"plan","op":"in","value":[]}`, "definition.value"},
		{`{"trait":"plan","op":"in","value":["a",{"x":1}]}`, "definition.value[1]"},
		{`{"trait":"signup","op":"within_last","value":"30 days"}`, "definition.value"},
		{`{"trait":"signup","op":"before","value":"yesterday"}`, "definition.value"},
		{`{"trait":"plan","op":"eq","value":"pro","extra":1}`, "definition.extra"},
		{`{"trait":"plan","event":"x"}`, "definition"},
		{`{"computed":"karma","op":"gt","value":1}`, "definition.computed"},
		{`{"computed":"last_seen","op":"gt","value":1}`, "definition.op"},
		{`{"computed":"events","op":"gt","value":1.5}`, "definition.value"},
		{`{"event":"Post Created","where":[{"property":"space","op":"eq","value":"a"},{"property":"","op":"exists"}]}`, "definition.where[1].property"},
		{`{"event":"Post Created","count":{"op":"gte","value":-1}}`, "definition.count.value"},
		{`{"event":"Post Created","within_last":"P"}`, "definition.within_last"},
		{`{"contract":{"product":"Pro","status":"lapsed"}}`, "definition.contract.status"},
		{`{"contract":{"renews_within":"P1X"}}`, "definition.contract.renews_within"},
		{`{"open_tickets":{"op":"gte"}}`, "definition.open_tickets.value"},
		{`{"consent":{"channel":"email"}}`, "definition.consent.purpose"},
		{`{"consent":{"channel":"email","purpose":"marketing","status":"maybe"}}`, "definition.consent.status"},
		{`{"consent":{"channel":"emial","purpose":"marketing"}}`, "definition.consent.channel"},
		{`{"consent":{"channel":"email","purpose":"marketting"}}`, "definition.consent.purpose"},
		{`{"consent":{"channel":"email","purpose":"third_party:"}}`, "definition.consent.purpose"},
		{`{"all":[{"trait":"plan","op":"exists"},{"trait":"age","op":"exists"},{"not":{"consent":{"channel":"fax","purpose":"marketing"}}}]}`, "definition.all[2].not.consent.channel"},
		{`{"all":[{"trait":"plan","op":"exists"},{"trait":"age","op":"exists"},{"consent":{"channel":"sms","purpose":"research","status":"opted-in"}}]}`, "definition.all[2].consent.status"},
		{`{"segment":""}`, "definition.segment"},
		{`{"trait":"a\"b","op":"exists"}`, "definition.trait"},
		{`{"trait":"plan","op":"eq","value":"pro\u0000"}`, "definition.value"},
		{`{"trait":"plan","op":"in","value":["pro","\u0000"]}`, "definition.value[1]"},
		{`{"trait":"plan","op":"contains","value":"\u0000"}`, "definition.value"},
		{`{"space_member":""}`, "definition.space_member"},
		{`{"space_member":{"slug":"support"}}`, "definition.space_member"},
		{`{"all":[{"attended":{"event":"x","within":"P1D"}}]}`, "definition.all[0].attended.within"},
		{`{"attended":{"within_last":"90 days"}}`, "definition.attended.within_last"},
		{`{"attended":[]}`, "definition.attended"},
		{`{"accepted_answers":{"op":"gte","value":2.5}}`, "definition.accepted_answers.value"},
		{`{"accepted_answers":{"op":"contains","value":2}}`, "definition.accepted_answers.op"},
		{`{"not":{"unanswered_questions":{"op":"gte"}}}`, "definition.not.unanswered_questions.value"},
		{`{"unanswered_questions":{"op":"gte","value":1,"older_than":"1d"}}`, "definition.unanswered_questions.older_than"},
		{`{"unanswered_questions":{"op":"gte","value":1,"open_for":"P1D"}}`, "definition.unanswered_questions.open_for"},
		{`{"computed":"last_login","op":"gte","value":1}`, "definition.op"},
		{`{"contract":{"started_within":"soon"}}`, "definition.contract.started_within"},
		{`{"any":[{"score":"01J","op":"gte"}]}`, "definition.any[0].value"},
		{`{"score":"01J","op":"contains","value":1}`, "definition.op"},
		{`{"score":"01J","op":"gte","value":"50"}`, "definition.value"},
		{`{"score":"","op":"gte","value":50}`, "definition.score"},
		{`{"score":"01J","op":"gte","value":50,"within_last":"P1D"}`, "definition.within_last"},
	} {
		_, err := Parse([]byte(tc.def))
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.KindInvalid || e.Field != tc.field {
			t.Errorf("Parse(%s) = %v, want invalid %s", tc.def, err, tc.field)
		}
	}
}

func TestParseTheIssueExampleAndWriteItCanonically(t *testing.T) {
	def := `{"all":[{"trait":"plan","op":"eq","value":"enterprise"},
		{"event":"Post Created","where":[{"property":"space","op":"eq","value":"support"}],
		"count":{"op":"gte","value":3},"within_last":"P30D"},
		{"not":{"consent":{"channel":"email","purpose":"marketing"}}},
		{"contract":{"product":"Pro","renews_within":"P30D"}},
		{"open_tickets":{"op":"gte","value":2}},
		{"computed":"last_seen","op":"more_than_ago","value":"P1M2DT3H"},
		{"trait":"signup","op":"after","value":"2026-04-01T10:30:00+09:00"},
		{"space_member":" support "},{"attended":{"event":"01JM","within_last":"P90D"}},{"attended":{}},
		{"accepted_answers":{"op":"gte","value":5}},{"unanswered_questions":{"older_than":"P1D","op":"gte","value":1}},
		{"computed":"last_login","op":"within_last","value":"P60D"},{"contract":{"started_within":"P3M","status":"any"}},
		{"score":"01JENG","op":"gte","value":50}]}`
	n, err := Parse([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"all":[{"op":"eq","trait":"plan","value":"enterprise"},` +
		`{"count":{"op":"gte","value":3},"event":"Post Created","where":[{"op":"eq","property":"space","value":"support"}],"within_last":"P30D"},` +
		`{"not":{"consent":{"channel":"email","purpose":"marketing","status":"opted_in"}}},` +
		`{"contract":{"product":"Pro","renews_within":"P30D","status":"active"}},` +
		`{"open_tickets":{"op":"gte","value":2}},` +
		`{"computed":"last_seen","op":"more_than_ago","value":"P1M2DT3H"},` +
		`{"op":"after","trait":"signup","value":"2026-04-01T01:30:00Z"},` +
		`{"space_member":"support"},{"attended":{"event":"01JM","within_last":"P90D"}},{"attended":{}},` +
		`{"accepted_answers":{"op":"gte","value":5}},{"unanswered_questions":{"older_than":"P1D","op":"gte","value":1}},` +
		`{"computed":"last_login","op":"within_last","value":"P60D"},{"contract":{"started_within":"P3M","status":"any"}},` +
		`{"op":"gte","score":"01JENG","value":50}]}`
	if string(got) != want {
		t.Errorf("canonical form\n got %s\nwant %s", got, want)
	}
	again, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if g2, _ := json.Marshal(again); string(g2) != want {
		t.Errorf("canonical form does not read back the same: %s", g2)
	}
}

func TestExpandRefusesCyclesAndUnknownSegments(t *testing.T) {
	defs := map[string]Node{}
	for id, def := range map[string]string{
		"a": `{"segment":"b"}`,
		"b": `{"any":[{"trait":"x","op":"exists"},{"segment":"a"}]}`,
		"c": `{"trait":"x","op":"exists"}`,
	} {
		n, err := Parse([]byte(def))
		if err != nil {
			t.Fatal(err)
		}
		defs[id] = n
	}
	lookup := lookupIn(defs)
	if _, err := Expand(defs["a"], lookup); err == nil {
		t.Error("a cycle expanded")
	} else if e, ok := errs.As(err); !ok || e.Field != "definition.segment.any[1].segment.segment" {
		t.Errorf("cycle error = %v", err)
	}
	n, _ := Parse([]byte(`{"not":{"segment":"zz"}}`))
	if _, err := Expand(n, lookup); err == nil {
		t.Error("an unknown segment expanded")
	} else if e, ok := errs.As(err); !ok || e.Field != "definition.not.segment" {
		t.Errorf("unknown segment error = %v", err)
	}
	n, _ = Parse([]byte(`{"all":[{"segment":"c"},{"segment":"c"}]}`))
	if _, err := Expand(n, lookup); err != nil {
		t.Errorf("a segment used twice: %v", err)
	}
}

func TestDurations(t *testing.T) {
	for _, s := range []string{"P30D", "PT12H", "P1Y2M3W4DT5H6M7S", "P2W", "PT0S"} {
		d, err := ParseDuration(s)
		if err != nil || d.String() != s {
			t.Errorf("ParseDuration(%s) = %v, %v", s, d, err)
		}
	}
	for _, s := range []string{"", "P", "PT", "30D", "P1D2Y", "P1.5D", "P-1D", "PT1D", "P1DT", "P1M1M"} {
		if _, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) accepted", s)
		}
	}
}
