package app

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
)

// TestBenchSegmentsBuildsThenReuses runs kizuna bench segments twice on a small data set: the
// first run builds it and creates the benchmark segment, the second reuses both, and both time
// the two evaluators. A bad size is refused with the flag named.
func TestBenchSegmentsBuildsThenReuses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		env := testEnv(t, e)
		args := []string{"bench", "segments", "--profiles", "2000", "--events", "20000", "--runs", "2", "--sample", "20"}
		code, out, errOut := run(t, env, args...)
		if code != 0 {
			t.Fatalf("first run: %d\n%s\n%s", code, out, errOut)
		}
		members := regexp.MustCompile(`over 2000 profiles: ([0-9]+) members`)
		if !strings.Contains(out, "building a data set of 2000 profiles") || !strings.Contains(out, "built it in") || members.FindStringSubmatch(out) == nil ||
			!strings.Contains(out, "created the segment") || !strings.Contains(out, "incremental re-evaluation of one profile against 1 segment(s), 20 profiles") {
			t.Fatalf("first run:\n%s", out)
		}
		code, out, errOut = run(t, env, args...)
		if code != 0 {
			t.Fatalf("second run: %d\n%s\n%s", code, out, errOut)
		}
		// (The members may differ by one: the windows end a moment later than in the first run.)
		if !strings.Contains(out, "reusing the data set of 2000 profiles") || strings.Contains(out, "created the segment") || members.FindStringSubmatch(out) == nil {
			t.Fatalf("second run:\n%s", out)
		}
		if code, _, errOut := run(t, env, "bench", "segments", "--profiles", "10"); code == 0 || !strings.Contains(errOut, "profiles") {
			t.Fatalf("a data set of 10 profiles: %d %s", code, errOut)
		}
	})
}
