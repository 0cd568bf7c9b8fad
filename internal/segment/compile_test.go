package segment

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
)

var update = flag.Bool("update", false, "rewrite the golden files of the generated SQL")

// goldenNow is the time the golden files are compiled at.
var goldenNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// goldenDefinitions are compiled for each engine into testdata/<name>.<engine>.golden.
var goldenDefinitions = []struct{ name, def string }{
	{"issue_example", `{"all":[{"trait":"plan","op":"eq","value":"enterprise"},
		{"event":"Post Created","where":[{"property":"space","op":"eq","value":"support"}],
		"count":{"op":"gte","value":3},"within_last":"P30D"},
		{"not":{"consent":{"channel":"email","purpose":"marketing"}}}]}`},
	{"trait_ops", `{"any":[{"trait":"plan","op":"neq","value":"free"},{"trait":"age","op":"gte","value":20},
		{"trait":"tags","op":"contains","value":"beta"},{"trait":"vip","op":"in","value":[true,"yes",1]},
		{"trait":"signup","op":"within_last","value":"P7D"},{"trait":"phone","op":"not_exists"}]}`},
	{"computed", `{"all":[{"computed":"last_seen","op":"more_than_ago","value":"P30D"},{"computed":"first_seen","op":"exists"},
		{"computed":"events","op":"lt","value":10},{"computed":"purchases","op":"gte","value":1},
		{"computed":"last_community_activity","op":"not_exists"}]}`},
	{"crm", `{"all":[{"contract":{"product":"Pro","renews_within":"P30D"}},{"not":{"contract":{"product":"Enterprise","status":"any"}}},
		{"open_tickets":{"op":"gte","value":2}}]}`},
	{"no_events", `{"event":"Page Viewed","where":[{"property":"when","op":"before","value":"2026-12-01"},
		{"property":"amount","op":"lte","value":9.5}],"count":{"op":"eq","value":0},"within_last":"PT12H"}`},
	{"consent_unknown", `{"consent":{"channel":"line","purpose":"research","status":"unknown"}}`},
	{"community", `{"all":[{"space_member":"support"},{"attended":{"event":"01JMEETUP","within_last":"P90D"}},{"attended":{}},
		{"accepted_answers":{"op":"gte","value":5}},{"not":{"unanswered_questions":{"op":"eq","value":0,"older_than":"P1D"}}},
		{"computed":"last_login","op":"more_than_ago","value":"P60D"},{"contract":{"status":"any","started_within":"P90D"}}]}`},
	{"score", `{"all":[{"score":"01JENGAGEMENT","op":"gte","value":50},{"not":{"score":"01JFIT","op":"gt","value":-2.5}},
		{"score":"01JFIT","op":"lt","value":10}]}`},
}

func TestCompileGolden(t *testing.T) {
	for _, g := range goldenDefinitions {
		n, err := Parse([]byte(g.def))
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		for _, e := range []db.Engine{db.SQLite, db.Postgres} {
			q, err := Compile(e, n, goldenNow)
			if err != nil {
				t.Fatalf("%s on %s: %v", g.name, e, err)
			}
			var b strings.Builder
			b.WriteString(q.SQL)
			b.WriteString("\n\n-- arguments\n")
			for i, a := range q.Args {
				fmt.Fprintf(&b, "-- $%d = %#v\n", i+1, a)
			}
			path := filepath.Join("testdata", g.name+"."+string(e)+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestCompileGolden -update)", err)
			}
			if string(want) != b.String() {
				t.Errorf("%s differs from the generated SQL:\n%s", path, b.String())
			}
		}
	}
}
