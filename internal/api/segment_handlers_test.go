package api

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/segment"
)

func TestSegmentAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		ctx := context.Background()
		reader, writer := w.key("reader", accounts.ScopeRead), w.key("writer", accounts.ScopeWrite)
		var pids []string
		for _, email := range []string{"yuki@kizuna-shop.jp", "ken@kizuna-shop.jp", "mei@kizuna-shop.jp"} {
			if err := w.db.Tx(ctx, func(tx *sql.Tx) error {
				pid, err := w.identity.Resolve(ctx, tx, []identity.ID{{Type: "email", Value: email}}, "test")
				pids = append(pids, pid)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		for _, pid := range pids[:2] {
			if _, err := w.db.W.Exec(`INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES ($1, 'plan', '"enterprise"', 'test', 1)`, pid); err != nil {
				t.Fatal(err)
			}
		}
		w.events()

		var ae apiError
		def := `{"all":[{"trait":"plan","op":"eq","value":"enterprise"},{"not":{"consent":{"channel":"email","purpose":"marketing"}}}]}`
		if code, _ := reader.do("POST", "/segments", `{"name":"Enterprise","definition":`+def+`}`, &ae); code != 403 {
			t.Fatalf("a read key created a segment: %d", code)
		}
		for _, c := range []struct{ body, field string }{
			{`{"name":"x","definition":{"all":[{"trait":"plan","op":"eq","value":"a"},{"event":"Post Created","count":{"op":"most","value":3}}]}}`, "definition.all[1].count.op"},
			{`{"name":"x","definition":{"segment":"nope"}}`, "definition.segment"},
			{`{"name":"","definition":` + def + `}`, "name"},
			{`{"name":"x"}`, "definition"},
			// A space or community event that does not exist would match nobody, or under not everybody.
			{`{"name":"x","definition":{"all":[{"trait":"plan","op":"exists"},{"not":{"space_member":"nowhere"}}]}}`, "definition.all[1].not.space_member"},
			{`{"name":"x","definition":{"attended":{"event":"01JNOSUCHEVENT"}}}`, "definition.attended.event"},
		} {
			ae = apiError{}
			if code, _ := writer.do("POST", "/segments", c.body, &ae); code != 400 || ae.Error.Field != c.field {
				t.Fatalf("%s: %d %+v, want 400 on %s", c.body, code, ae, c.field)
			}
		}
		w.wantEvents("refused requests")

		var seg segment.Segment
		if code, _ := writer.do("POST", "/segments", `{"name":"Enterprise","definition":`+def+`}`, &seg); code != 201 || seg.ID == "" || seg.Count != 2 {
			t.Fatalf("create: %d %+v", code, seg)
		}
		w.wantEvents("created", "Segment Entered", "Segment Entered")
		var got segment.Segment
		if code, _ := reader.do("GET", "/segments/"+seg.ID, "", &got); code != 200 || got.Count != 2 || got.Name != "Enterprise" {
			t.Fatalf("get: %d %+v", code, got)
		}
		var members []string
		cursor := ""
		for {
			var page segmentMembersView
			q := url.Values{"limit": {"1"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			if code, _ := reader.do("GET", "/segments/"+seg.ID+"/members?"+q.Encode(), "", &page); code != 200 || len(page.Profiles) != 1 {
				t.Fatalf("members: %d %+v", code, page)
			}
			members = append(members, page.Profiles[0].ID)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		want := slices.Clone(pids[:2])
		slices.Sort(want)
		if !slices.Equal(members, want) {
			t.Fatalf("members %v, want %v", members, want)
		}
		var list httpx.List[segment.Segment]
		if code, _ := reader.do("GET", "/segments", "", &list); code != 200 || len(list.Data) != 1 || list.Data[0].Count != 2 {
			t.Fatalf("list: %d %+v", code, list)
		}
		var sizes httpx.List[segment.Size]
		if code, _ := reader.do("GET", "/segments/"+seg.ID+"/sizes?since=2026-01-01T00:00:00Z", "", &sizes); code != 200 || len(sizes.Data) != 1 || sizes.Data[0].Count != 2 {
			t.Fatalf("sizes: %d %+v", code, sizes)
		}
		if code, _ := reader.do("GET", "/segments/"+seg.ID+"/sizes?since=yesterday", "", &ae); code != 400 || ae.Error.Field != "since" {
			t.Fatalf("sizes with a bad since: %d %+v", code, ae)
		}
		// The CSV export: a header and one row per member in id order, traits filled; audited.
		w.db.W.Exec(`INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES ($1, 'name', '"=HYPERLINK()"', 'test', 1)`, want[0])
		// It needs the write scope: a reader may list the members, not take their addresses away.
		if code, _ := reader.do("GET", "/segments/"+seg.ID+"/members.csv", "", nil); code != http.StatusForbidden {
			t.Fatalf("members.csv with the read scope: %d", code)
		}
		req, _ := http.NewRequest("GET", writer.url+Prefix+"/segments/"+seg.ID+"/members.csv", nil)
		req.Header.Set("Authorization", "Bearer "+writer.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("members.csv: %d %s %v\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), err, body)
		}
		wantCSV := [][]string{{"id", "entered_at", "email", "name", "company", "plan"},
			{want[0], recs[1][1], "", "'=HYPERLINK()", "", "enterprise"}, {want[1], recs[2][1], "", "", "", "enterprise"}}
		if len(recs) != 3 || !slices.EqualFunc(recs, wantCSV, slices.Equal) || !strings.HasPrefix(recs[1][1], "2026-11-23T09:") {
			t.Fatalf("members.csv:\n%q\nwant\n%q", recs, wantCSV)
		}
		entries, _, err := w.acc.ListAudit(ctx, accounts.System(), "", 10)
		if err != nil || !slices.ContainsFunc(entries, func(e accounts.AuditEntry) bool { return e.Action == "segment.exported" && e.Target == seg.ID }) {
			t.Fatalf("the export is not audited: %v %+v", err, entries)
		}
		if code, _ := reader.do("DELETE", "/segments/"+seg.ID, "", nil); code != 403 {
			t.Fatalf("a read key deleted a segment: %d", code)
		}
		if code, _ := writer.do("DELETE", "/segments/"+seg.ID, "", nil); code != 204 {
			t.Fatalf("delete: %d", code)
		}
		for _, path := range []string{"/segments/" + seg.ID, "/segments/" + seg.ID + "/members"} {
			if code, _ := reader.do("GET", path, "", &ae); code != 404 {
				t.Fatalf("%s after delete: %d", path, code)
			}
		}
	})
}

func TestSegmentTemplatesAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		ctx := context.Background()
		reader, writer := w.key("reader", accounts.ScopeRead), w.key("writer", accounts.ScopeWrite)
		var list struct {
			Data []struct {
				ID          string            `json:"id"`
				Name        map[string]string `json:"name"`
				Description map[string]string `json:"description"`
				Params      []struct {
					Name    string `json:"name"`
					Example string `json:"example"`
				} `json:"params"`
				Definition json.RawMessage `json:"definition"`
			} `json:"data"`
		}
		if code, _ := reader.do("GET", "/segments/templates", "", &list); code != 200 || len(list.Data) != len(segment.Templates()) {
			t.Fatalf("templates: %d %+v", code, list)
		}
		var params []string
		for _, tp := range list.Data {
			var def map[string]any
			if err := json.Unmarshal(tp.Definition, &def); err != nil || tp.Name["ja"] == "" || tp.Description["en"] == "" || tp.Params == nil {
				t.Errorf("template %s as served: %+v (%v)", tp.ID, tp, err)
			}
			if tp.ID == segment.TemplateInterestedNoContract {
				for _, p := range tp.Params {
					params = append(params, p.Name)
				}
			}
		}
		if !slices.Equal(params, []string{"interest", "product"}) {
			t.Fatalf("the interested template's params: %v", params)
		}

		// Someone interested in Pro with no contract.
		var pid string
		if err := w.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			pid, err = w.identity.Resolve(ctx, tx, []identity.ID{{Type: "email", Value: "aoi@kizuna-shop.jp"}}, "test")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.W.Exec(`INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES ($1, 'interests', '["tag:pro"]', 'test', 1)`, pid); err != nil {
			t.Fatal(err)
		}
		w.events()
		for _, c := range []struct{ body, field string }{
			{`{"name":"Upsell","template":"interested_without_contract","params":{"interest":"tag:pro"}}`, "params.product"},
			{`{"name":"Upsell","template":"interested_without_contract","params":{"interest":"tag:pro","product":"Pro","plan":"x"}}`, "params.plan"},
			{`{"name":"Upsell","template":"interested_without_contract","params":{"interest":"tag:pro","product":"Pro\""}}`, "params.product"},
			{`{"name":"Upsell","template":"upsell","params":{}}`, "template"},
			{`{"name":"Upsell","template":"experts","definition":{"trait":"plan","op":"exists"}}`, "template"},
			{`{"name":"Upsell","params":{"product":"Pro"}}`, "template"},
			{`{"name":"","template":"experts"}`, "name"},
		} {
			var ae apiError
			if code, _ := writer.do("POST", "/segments", c.body, &ae); code != 400 || ae.Error.Field != c.field {
				t.Errorf("%s: %d %+v, want 400 on %s", c.body, code, ae, c.field)
			}
		}
		if code, _ := reader.do("POST", "/segments", `{"name":"Experts","template":"experts"}`, nil); code != 403 {
			t.Fatalf("a read key created a segment from a template: %d", code)
		}
		w.wantEvents("refused requests")
		var seg segment.Segment
		if code, _ := writer.do("POST", "/segments", `{"name":"Pro の見込み客","template":"interested_without_contract",
			"params":{"interest":"tag:pro","product":"Pro"}}`, &seg); code != 201 || seg.Count != 1 {
			t.Fatalf("create from a template: %d %+v", code, seg)
		}
		if got, _ := json.Marshal(seg.Definition); string(got) != `{"all":[{"op":"contains","trait":"interests","value":"tag:pro"},`+
			`{"not":{"contract":{"product":"Pro","status":"active"}}}]}` {
			t.Errorf("stored definition %s", got)
		}
		w.wantEvents("created from a template", "Segment Entered")
		if code, _ := writer.do("POST", "/segments", `{"name":"Experts","template":"experts"}`, &seg); code != 201 || seg.Count != 0 {
			t.Fatalf("create the experts: %d %+v", code, seg)
		}
	})
}
