package badges

import "testing"

// FuzzParseRule checks that any rule the parser takes prints back to a rule it reads alike.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"points>=50", "signup_rank<=100", " space_accepted_answers >= 5", "accepted_answers>=1", "points>=", "points>=-1", "points>=05"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRule(s)
		if err != nil {
			return
		}
		again, err := parseRule(r.String())
		if err != nil || again != r || r.n < 1 {
			t.Fatalf("%q parsed to %+v, printed %q, parsed again to %+v %v", s, r, r.String(), again, err)
		}
	})
}
