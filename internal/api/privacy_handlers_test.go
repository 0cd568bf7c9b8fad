package api

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/privacy"
)

// download posts to path and returns the status, headers and body as they are.
func (c client) download(path, body string) (int, http.Header, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.url+Prefix+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func TestPrivacyAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		ctx := context.Background()
		reader, writer, admin := w.key("reader", accounts.ScopeRead), w.key("writer", accounts.ScopeWrite), w.key("admin", accounts.ScopeAdmin)
		member := w.member("kaito@kizuna-shop.jp")
		var pid string
		if err := w.db.Tx(ctx, func(tx *sql.Tx) (err error) {
			pid, err = w.identity.Resolve(ctx, tx, []identity.ID{{Type: "user_id", Value: member}, {Type: "email", Value: "kaito@kizuna-shop.jp"},
				{Type: "phone", Value: "080-2222-3333"}}, "test")
			return err
		}); err != nil {
			t.Fatal(err)
		}

		// Exports: the admin scope, a body whose mistakes are named.
		if code, _, _ := reader.download("/profiles/"+pid+"/export", ""); code != 403 {
			t.Fatalf("a read key exported: %d", code)
		}
		if code, _, _ := writer.download("/profiles/"+pid+"/export", ""); code != 403 {
			t.Fatalf("a write key exported: %d", code)
		}
		for _, c := range []struct{ body, field string }{
			{`{"regime":"eu"}`, "regime"},
			{`{"received_at":"yesterday"}`, "received_at"},
			{`{"received_at":"2099-01-01T00:00:00Z"}`, "received_at"},
			{`{"received_at":"2026-11-20T10:00:00+09:00","due_at":"2026-11-19T10:00:00+09:00"}`, "due_at"},
			{`{"regime":"appi","received_at":"2026-11-20T10:00:00+09:00","due_at":"2027-01-20T10:00:00+09:00"}`, "due_at"},
			{`{"note":"` + strings.Repeat("長", 1001) + `"}`, "note"},
			{`{"hold":true}`, "hold"},
			{`{"regime":"gdpr","ticket":"42"}`, "ticket"},
			{`{"regime":`, "body"},
		} {
			var ae apiError
			if code, _ := admin.do("POST", "/profiles/"+pid+"/export", c.body, &ae); code != 400 || ae.Error.Field != c.field {
				t.Errorf("export %s: %d %+v, want 400 naming %s", c.body, code, ae, c.field)
			}
		}
		var ae apiError
		if code, _ := admin.do("POST", "/profiles/nobody/export", "", &ae); code != 404 {
			t.Fatalf("unknown profile: %d %+v", code, ae)
		}
		code, h, zipped := admin.download("/profiles/"+pid+"/export", `{"regime":"gdpr","received_at":"2026-11-20T10:00:00+09:00","note":"ticket 42"}`)
		if code != 200 || h.Get("Content-Type") != "application/zip" || !strings.HasPrefix(h.Get("Location"), Prefix+"/privacy/requests/") {
			t.Fatalf("export = %d %v", code, h)
		}
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		if !strings.Contains(strings.Join(names, " "), "json/identifiers.json") {
			t.Fatalf("archive: %v", names)
		}
		var got privacy.Request
		if code, _ := reader.do("GET", strings.TrimPrefix(h.Get("Location"), Prefix), "", &got); code != 200 || got.Kind != privacy.KindExport ||
			got.Status != privacy.StatusCompleted || got.Regime != privacy.RegimeGDPR || got.MemberID != member || got.Channel != privacy.ChannelAPI ||
			!got.DueAt.Equal(got.ReceivedAt.AddDate(0, 1, 0)) || got.Note != "ticket 42" {
			t.Fatalf("the export's request: %d %+v", code, got)
		}

		// Erasure: held, listed with its deadline, run, completed.
		var held privacy.Request
		if code, h := admin.do("POST", "/profiles/"+pid+"/erasure", `{"regime":"appi","received_at":"2026-11-01T09:00:00+09:00","hold":true}`, &held); code != 201 ||
			held.Status != privacy.StatusOpen || !held.Overdue || h.Get("Location") != Prefix+"/privacy/requests/"+held.ID {
			t.Fatalf("held erasure = %d %+v", code, held)
		}
		var list httpx.List[privacy.Request]
		if code, _ := reader.do("GET", "/privacy/requests?overdue=true", "", &list); code != 200 || len(list.Data) != 1 || list.Data[0].ID != held.ID {
			t.Fatalf("overdue requests: %d %+v", code, list)
		}
		if code, _ := reader.do("GET", "/privacy/requests?kind=export&profile_id="+pid, "", &list); code != 200 || len(list.Data) != 1 || list.Data[0].ID != got.ID {
			t.Fatalf("export requests of the profile: %d %+v", code, list)
		}
		for q, field := range map[string]string{"overdue=soon": "overdue", "kind=copy": "kind", "status=done": "status", "limit=0": "limit"} {
			ae = apiError{}
			if code, _ := reader.do("GET", "/privacy/requests?"+q, "", &ae); code != 400 || ae.Error.Field != field {
				t.Errorf("GET /privacy/requests?%s = %d %+v, want 400 naming %s", q, code, ae, field)
			}
		}
		if code, _ := writer.do("POST", "/privacy/requests/"+held.ID+"/run", "", &ae); code != 403 {
			t.Fatalf("a write key ran an erasure: %d", code)
		}
		ae = apiError{}
		if code, _ := admin.do("POST", "/privacy/requests/"+held.ID+"/decline", `{"reason":""}`, &ae); code != 400 || ae.Error.Field != "reason" {
			t.Fatalf("decline without a reason: %d %+v", code, ae)
		}
		var running privacy.Request
		if code, _ := admin.do("POST", "/privacy/requests/"+held.ID+"/run", "", &running); code != 202 || running.Status != privacy.StatusRunning {
			t.Fatalf("run = %d %+v", code, running)
		}
		ae = apiError{}
		if code, _ := admin.do("POST", "/profiles/"+pid+"/erasure", "", &ae); code != 409 || ae.Error.Reason != "erasure_running" {
			t.Fatalf("a second erasure = %d %+v", code, ae)
		}
		if err := w.privacy.CompleteErasure(ctx, held.ID); err != nil {
			t.Fatal(err)
		}
		var done privacy.Request
		if code, _ := reader.do("GET", "/privacy/requests/"+held.ID, "", &done); code != 200 || done.Status != privacy.StatusCompleted ||
			done.ProfileID != "" || done.MemberID != "" || done.TombstoneID == "" || done.CompletedAt == nil || done.Overdue {
			t.Fatalf("completed erasure: %d %+v", code, done)
		}
		ae = apiError{}
		if code, _ := admin.do("POST", "/privacy/requests/"+held.ID+"/decline", `{"reason":"too late"}`, &ae); code != 409 || ae.Error.Reason != "request_not_open" {
			t.Fatalf("declining a completed request = %d %+v", code, ae)
		}
		if code, _ := admin.do("POST", "/profiles/"+pid+"/export", "", &ae); code != 404 {
			t.Fatalf("the erased profile is still there: %d", code)
		}
		if code, _ := reader.do("GET", "/privacy/requests/nothing", "", &ae); code != 404 {
			t.Fatalf("unknown request: %d", code)
		}

		// Settings.
		var set privacy.Settings
		if code, _ := reader.do("GET", "/privacy/settings", "", &set); code != 200 || set.ErasedContent != privacy.ContentAnonymise || set.DefaultRegime != privacy.RegimeAPPI {
			t.Fatalf("settings = %d %+v", code, set)
		}
		if code, _ := writer.do("PUT", "/privacy/settings", `{"erased_content":"remove","default_regime":"gdpr"}`, &ae); code != 403 {
			t.Fatalf("a write key changed the settings: %d", code)
		}
		for body, field := range map[string]string{
			`{"erased_content":"shred","default_regime":"gdpr"}`: "erased_content",
			`{"erased_content":"remove","default_regime":"eu"}`:  "default_regime",
		} {
			ae = apiError{}
			if code, _ := admin.do("PUT", "/privacy/settings", body, &ae); code != 400 || ae.Error.Field != field {
				t.Errorf("PUT /privacy/settings %s = %d %+v, want 400 naming %s", body, code, ae, field)
			}
		}
		if code, _ := admin.do("PUT", "/privacy/settings", `{"erased_content":"remove","default_regime":"gdpr"}`, &set); code != 200 || set.ErasedContent != privacy.ContentRemove {
			t.Fatalf("PUT settings = %d %+v", code, set)
		}
	})
}
