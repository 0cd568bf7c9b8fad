package segment

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
)

// FuzzParse: any input either fails with an error or gives a definition whose canonical form
// reads back to itself and compiles on both engines.
func FuzzParse(f *testing.F) {
	for _, g := range goldenDefinitions {
		f.Add([]byte(g.def))
	}
	f.Add([]byte(`{"not":{"segment":"x"}}`))
	f.Add([]byte(`{"trait":"a","op":"in","value":[1,"b",true]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, err := Parse(raw)
		if err != nil {
			return
		}
		canon, err := json.Marshal(n)
		if err != nil {
			t.Fatalf("%s: marshal: %v", raw, err)
		}
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("%s: canonical form %s does not parse: %v", raw, canon, err)
		}
		if c2, _ := json.Marshal(again); string(c2) != string(canon) {
			t.Fatalf("canonical form moves: %s then %s", canon, c2)
		}
		x, err := Expand(n, func(string) (Node, bool) {
			return Node{All: []Node{{Trait: &ValueCond{Name: "t", Op: OpExists}}}}, true
		})
		if err != nil {
			return
		}
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		for _, e := range []db.Engine{db.SQLite, db.Postgres} {
			if _, err := Compile(e, x, now); err != nil {
				t.Fatalf("%s: compile on %s: %v", canon, e, err)
			}
		}
		Eval(x, &Facts{}, now)
	})
}
