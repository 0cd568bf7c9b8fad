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

// TestTrackedEventsMoveScores runs the whole flow on a running server, with the real backbone:
// tracked events land on a profile (profile consumer), the score consumer counts their points
// once each (a batch sent twice with the same message ids counts once), Score Threshold Crossed
// reaches the event log, the profile shows the score, and a segment on the score follows it
// without a threshold of its own.
func TestTrackedEventsMoveScores(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		env := testEnv(t, e)
		s := startServer(t, env)
		writeKey := created(t, env, "source", "create", "--name", "website")
		apiKey := created(t, env, "apikey", "create", "--name", "marketing", "--scopes", "write")
		code, body := s.call(t, "POST", "/api/v1/scores", `{"name":"Lead","rules":[{"event":"Demo Requested","points":30},
			{"event":"Pricing Viewed","points":5,"where":[{"property":"plan","op":"eq","value":"pro"}]}],
			"half_life":"P30D","thresholds":[{"name":"MQL","value":38}]}`, apiKey, false)
		var m struct{ ID string }
		if err := json.Unmarshal([]byte(body), &m); code != 201 || err != nil || m.ID == "" {
			t.Fatalf("create model = %d %s", code, body)
		}
		code, body = s.call(t, "POST", "/api/v1/segments", `{"name":"Warm leads","definition":{"score":"`+m.ID+`","op":"gte","value":32}}`, apiKey, false)
		var seg struct{ ID string }
		if err := json.Unmarshal([]byte(body), &seg); code != 201 || err != nil {
			t.Fatalf("create segment = %d %s", code, body)
		}
		batch := `{"batch":[{"type":"track","event":"Demo Requested","userId":"u-7","messageId":"sc-1"},
			{"type":"track","event":"Pricing Viewed","userId":"u-7","messageId":"sc-2","properties":{"plan":"pro"}},
			{"type":"track","event":"Pricing Viewed","userId":"u-7","messageId":"sc-3","properties":{"plan":"free"}},
			{"type":"track","event":"Pricing Viewed","userId":"u-7","messageId":"sc-4","properties":{"plan":"pro"}}]}`
		for range 2 {
			if code, body := s.call(t, "POST", "/v1/batch", batch, writeKey, true); code != 200 {
				t.Fatalf("batch = %d %s", code, body)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		var pv struct {
			Scores map[string]struct {
				Value float64
				Level *string
			}
		}
		for {
			code, body := s.call(t, "GET", "/api/v1/profiles/lookup?type=user_id&value=u-7", "", apiKey, false)
			pv.Scores = nil
			_ = json.Unmarshal([]byte(body), &pv)
			if sc := pv.Scores[m.ID]; code == 200 && sc.Level != nil && *sc.Level == "MQL" {
				if sc.Value < 39.9 || sc.Value >= 40 {
					t.Fatalf("score %v, want just under 40 (30 + 5 + 5, a moment decayed)", sc.Value)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the score did not reach MQL: %d %s", code, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for {
			code, body := s.call(t, "GET", "/api/v1/segments/"+seg.ID+"/members", "", apiKey, false)
			if code == 200 && strings.Count(body, `"entered_at"`) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the scored person did not enter the segment: %d %s", code, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		a, err := Open(context.Background(), mustConfig(t, env), discard(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		for {
			// payload is jsonb on PostgreSQL: read as text, row by row.
			var payloads []string
			rows, err := a.LogDB.R.Query(`SELECT payload FROM events WHERE event = 'Score Threshold Crossed'`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var p string
				if err := rows.Scan(&p); err != nil {
					t.Fatal(err)
				}
				payloads = append(payloads, p)
			}
			rows.Close()
			if len(payloads) == 1 && strings.Contains(payloads[0], `"direction":"up"`) && strings.Contains(payloads[0], `"threshold":"MQL"`) {
				break
			}
			if time.Now().After(deadline) || len(payloads) > 1 {
				t.Fatalf("Score Threshold Crossed events in the log: %v", payloads)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
