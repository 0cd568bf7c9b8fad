package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
)

// TestTrackedEventMovesSegmentMembership runs the whole flow on a running server: a tracked event
// lands on a profile (profile consumer), the segment consumer re-evaluates that profile, and
// Segment Entered reaches the event log.
func TestTrackedEventMovesSegmentMembership(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		env := testEnv(t, e)
		s := startServer(t, env)
		writeKey := created(t, env, "source", "create", "--name", "website")
		apiKey := created(t, env, "apikey", "create", "--name", "marketing", "--scopes", "write")
		code, body := s.call(t, "POST", "/api/v1/segments", `{"name":"Pro sign-ups","definition":{"event":"Signed Up",
			"where":[{"property":"plan","op":"eq","value":"pro"}],"within_last":"P30D"}}`, apiKey, false)
		var seg struct {
			ID    string `json:"id"`
			Count int    `json:"count"`
		}
		if err := json.Unmarshal([]byte(body), &seg); code != 201 || err != nil || seg.Count != 0 {
			t.Fatalf("create segment = %d %s", code, body)
		}
		if code, body := s.call(t, "POST", "/v1/batch", `{"batch":[{"type":"track","event":"Signed Up","userId":"u-7","messageId":"s-1","properties":{"plan":"pro"}},
			{"type":"track","event":"Signed Up","userId":"u-8","messageId":"s-2","properties":{"plan":"free"}}]}`, writeKey, true); code != 200 {
			t.Fatalf("batch = %d %s", code, body)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body := s.call(t, "GET", "/api/v1/segments/"+seg.ID+"/members", "", apiKey, false)
			if code == 200 && strings.Count(body, `"entered_at"`) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the tracked user did not enter the segment: %d %s", code, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		a, err := Open(context.Background(), mustConfig(t, env), discard(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		for {
			var n int
			a.LogDB.R.QueryRow(`SELECT COUNT(*) FROM events WHERE event = 'Segment Entered'`).Scan(&n)
			if n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d Segment Entered events in the log", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
