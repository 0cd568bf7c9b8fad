package api

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/score"
)

func TestScoreAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		ctx := context.Background()
		reader, writer := w.key("reader", accounts.ScopeRead), w.key("writer", accounts.ScopeWrite)
		var pid string
		if err := w.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			pid, err = w.identity.Resolve(ctx, tx, []identity.ID{{Type: "email", Value: "yuki@kizuna-shop.jp"}}, "test")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// Events already on the profile: a new model counts them at once.
		at := db.Now(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) // the world's clock: no decay yet
		if _, err := w.db.W.Exec(`INSERT INTO profile_events (message_id, profile_id, type, name, source, at, properties) VALUES
			('m1', $1, 'track', 'Demo Requested', 'tracking', $2, '{}'), ('m2', $1, 'page', 'Pricing', 'tracking', $2, '{"path":"/pricing"}')`, pid, at); err != nil {
			t.Fatal(err)
		}
		w.events()

		body := `{"name":"Lead","description":"Sales readiness","rules":[{"event":"Demo Requested","points":40},
			{"event":"Pricing","type":"page","points":15,"cap":{"points":30,"per":"P1D"}}],"cap":100,"half_life":"P30D",
			"thresholds":[{"name":"MQL","value":50},{"name":"SQL","value":80}]}`
		if code, _ := reader.do("POST", "/scores", body, nil); code != 403 {
			t.Fatalf("a read key created a model: %d", code)
		}
		wantError(t, writer, "POST", "/scores", `{"name":"x","rules":[{"event":"A","points":1,"cap":{"points":5,"per":"P1M"}}]}`, 400, "rules[0].cap.per")
		wantError(t, writer, "POST", "/scores", `{"name":"x","rules":[{"event":"A","points":1}],"thresholds":[{"name":"MQL"}]}`, 400, "thresholds[0].value")
		wantError(t, writer, "POST", "/scores", `{"name":"x","rules":[{"event":"A","points":1,"where":[{"property":"p","op":"near"}]}]}`, 400, "rules[0].where[0].op")
		var m score.Model
		if code, _ := writer.do("POST", "/scores", body, &m); code != 201 || m.ID == "" || m.Recomputing || len(m.Rules) != 2 || *m.Cap != 100 {
			t.Fatalf("create: %d %+v", code, m)
		}
		w.wantEvents("created", "Score Threshold Crossed")

		var pv struct {
			ID     string                        `json:"id"`
			Scores map[string]score.ProfileScore `json:"scores"`
		}
		// 40 + 15, the world's clock a few seconds on into a 30-day half-life: shown rounded down.
		if code, _ := reader.do("GET", "/profiles/"+pid, "", &pv); code != 200 || pv.Scores[m.ID].Value != 54.99 || *pv.Scores[m.ID].Level != "MQL" {
			t.Fatalf("profile: %d %+v", code, pv)
		}
		if code, _ := reader.do("GET", "/profiles/lookup?type=email&value=yuki@kizuna-shop.jp", "", &pv); code != 200 || pv.Scores[m.ID].Name != "Lead" {
			t.Fatalf("lookup: %d %+v", code, pv)
		}
		var ps struct {
			Scores map[string]score.ProfileScore `json:"scores"`
		}
		if code, _ := reader.do("GET", "/profiles/"+pid+"/scores", "", &ps); code != 200 || ps.Scores[m.ID].Value != 54.99 {
			t.Fatalf("profile scores: %d %+v", code, ps)
		}
		// An edit rebuilds the scores from the log; falling below MQL is announced.
		edited := `{"name":"Lead","rules":[{"event":"Demo Requested","points":20}],"thresholds":[{"name":"MQL","value":50}]}`
		if code, _ := reader.do("PUT", "/scores/"+m.ID, edited, nil); code != 403 {
			t.Fatalf("a read key edited a model: %d", code)
		}
		var got score.Model
		if code, _ := writer.do("PUT", "/scores/"+m.ID, edited, &got); code != 200 || len(got.Rules) != 1 || got.Cap != nil || got.HalfLife != "" {
			t.Fatalf("update: %d %+v", code, got)
		}
		w.wantEvents("edited", "Score Threshold Crossed")
		if code, _ := reader.do("GET", "/profiles/"+pid+"/scores", "", &ps); code != 200 || ps.Scores[m.ID].Value != 20 || ps.Scores[m.ID].Level != nil {
			t.Fatalf("profile scores after the edit: %d %+v", code, ps)
		}
		var list httpx.List[json.RawMessage]
		if code, _ := reader.do("GET", "/scores", "", &list); code != 200 || len(list.Data) != 1 {
			t.Fatalf("list: %d %+v", code, list)
		}
		if code, _ := reader.do("GET", "/scores/"+m.ID, "", &got); code != 200 || got.Name != "Lead" {
			t.Fatalf("get: %d %+v", code, got)
		}
		// A segment on the score holds the model.
		var seg struct{ ID string }
		if code, _ := writer.do("POST", "/segments", `{"name":"Leads","definition":{"score":"`+m.ID+`","op":"gte","value":10}}`, &seg); code != 201 {
			t.Fatalf("segment on the score: %d", code)
		}
		wantError(t, writer, "DELETE", "/scores/"+m.ID, "", 409, "id")
		if code, _ := writer.do("DELETE", "/segments/"+seg.ID, "", nil); code != 204 {
			t.Fatalf("delete segment: %d", code)
		}
		if code, _ := writer.do("DELETE", "/scores/"+m.ID, "", nil); code != 204 {
			t.Fatalf("delete: %d", code)
		}
		wantError(t, reader, "GET", "/scores/"+m.ID, "", 404, "")
		wantError(t, writer, "PUT", "/scores/"+m.ID, edited, 404, "")
	})
}
