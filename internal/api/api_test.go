package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accountmail"
	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/mail"
)

type client struct {
	t   *testing.T
	url string
	key string
}

// do sends a request and decodes the JSON answer into out (when not nil).
func (c client) do(method, path, body string, out any) (int, http.Header) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.url+Prefix+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %d %q is not JSON: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, resp.Header
}

type apiError struct {
	Error httpx.ErrorDetail `json:"error"`
}

func setup(t *testing.T, e db.Engine) (*accounts.Service, string) {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	acc := accounts.New(accounts.Deps{DB: d, Outbox: backbone.NewOutbox(d), Log: log, HashParams: accounts.TestHashParams(),
		Notifier: &accountmail.Mailer{Sender: mail.NewLog(log), BaseURL: "http://127.0.0.1"}})
	mux := http.NewServeMux()
	New(Deps{Accounts: acc, Log: log}).Routes(mux)
	srv := httptest.NewServer(httpx.Chain(mux, httpx.RequestID, httpx.Recover(log)))
	t.Cleanup(srv.Close)
	return acc, srv.URL
}

func TestAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		acc, url := setup(t, e)
		raw, key, err := acc.CreateAPIKey(ctx, accounts.System(), "ops", []accounts.Scope{accounts.ScopeAdmin})
		if err != nil {
			t.Fatal(err)
		}
		admin := client{t, url, raw}

		var me meResponse
		if code, _ := admin.do("GET", "/me", "", &me); code != 200 || me.APIKey.ID != key.ID || me.APIKey.Name != "ops" || me.APIKey.LastUsedAt == nil {
			t.Fatalf("/me = %d %+v", code, me)
		}
		var ae apiError
		if code, h := (client{t, url, ""}).do("GET", "/me", "", &ae); code != 401 || ae.Error.Code != "unauthenticated" || h.Get("WWW-Authenticate") == "" || ae.Error.RequestID == "" {
			t.Fatalf("no key: %d %+v", code, ae)
		}

		// Create a read key through the API; it may read but not manage keys.
		var created createdAPIKey
		code, h := admin.do("POST", "/api-keys", `{"name":"BI 連携","scopes":["read"]}`, &created)
		if code != 201 || !strings.HasPrefix(created.Key, "kzn_") || h.Get("Location") != Prefix+"/api-keys/"+created.APIKey.ID {
			t.Fatalf("create key = %d %+v", code, created)
		}
		reader := client{t, url, created.Key}
		ae = apiError{}
		if code, _ := reader.do("POST", "/api-keys", `{"name":"x","scopes":["admin"]}`, &ae); code != 403 || !strings.Contains(ae.Error.Message, "admin") {
			t.Fatalf("read key creating a key = %d %+v", code, ae)
		}
		for _, tc := range []struct{ body, field string }{
			{`{"name":"x","scopes":["root"]}`, "scopes"},
			{`{"name":"","scopes":["read"]}`, "name"},
			{`{"name":"x","scopes":"read"}`, "scopes"},
			{`{"name":"x","scopes":["read"],"owner":"me"}`, "owner"},
			{`{"name":`, "body"},
		} {
			ae = apiError{}
			if code, _ := admin.do("POST", "/api-keys", tc.body, &ae); code != 400 || ae.Error.Field != tc.field {
				t.Errorf("POST /api-keys %s = %d %+v, want 400 naming %q", tc.body, code, ae, tc.field)
			}
		}

		// Members: pagination with cursors, and role changes.
		var ids []string
		for _, email := range []string{"a@example.jp", "b@example.jp", "c@example.jp"} {
			m, err := acc.SignUp(ctx, accounts.SignUpInput{Email: email, Password: "member password"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
		var got []string
		cursor := ""
		for range 5 {
			var page httpx.List[accounts.Member]
			path := "/members?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			if code, _ := reader.do("GET", path, "", &page); code != 200 {
				t.Fatalf("GET %s = %d", path, code)
			}
			for _, m := range page.Data {
				got = append(got, m.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Fatalf("paged members %v, want %v", got, ids)
		}
		ae = apiError{}
		if code, _ := reader.do("GET", "/members?limit=0", "", &ae); code != 400 || ae.Error.Field != "limit" {
			t.Fatalf("limit=0: %d %+v", code, ae)
		}
		ae = apiError{}
		if code, _ := reader.do("GET", "/members?cursor=not*a*cursor", "", &ae); code != 400 || ae.Error.Field != "cursor" {
			t.Fatalf("bad cursor: %d %+v", code, ae)
		}
		var m accounts.Member
		if code, _ := admin.do("PATCH", "/members/"+ids[0], `{"role":"moderator"}`, &m); code != 200 || m.Role != accounts.RoleModerator {
			t.Fatalf("patch role = %d %+v", code, m)
		}
		ae = apiError{}
		if code, _ := admin.do("PATCH", "/members/"+ids[0], `{"role":"owner"}`, &ae); code != 400 || ae.Error.Field != "role" || ae.Error.Reason != "role_unknown" {
			t.Fatalf("bad role = %d %+v", code, ae)
		}
		if code, _ := reader.do("PATCH", "/members/"+ids[0], `{"role":"admin"}`, nil); code != 403 {
			t.Fatalf("read key patching = %d", code)
		}
		if code, _ := reader.do("GET", "/members/nope", "", &ae); code != 404 || ae.Error.Code != "not_found" {
			t.Fatalf("unknown member = %d", code)
		}

		// Revoke the read key; it stops working at once.
		if code, _ := admin.do("DELETE", "/api-keys/"+created.APIKey.ID, "", nil); code != 204 {
			t.Fatalf("revoke = %d", code)
		}
		if code, _ := reader.do("GET", "/me", "", nil); code != 401 {
			t.Fatalf("revoked key = %d", code)
		}
		var keys httpx.List[accounts.APIKey]
		if code, _ := admin.do("GET", "/api-keys", "", &keys); code != 200 || len(keys.Data) != 2 || keys.Data[0].RevokedAt == nil {
			t.Fatalf("keys = %d %+v", code, keys)
		}

		var audit httpx.List[accounts.AuditEntry]
		if code, _ := admin.do("GET", "/audit-log?limit=2", "", &audit); code != 200 || len(audit.Data) != 2 || audit.NextCursor == "" || audit.Data[0].Action != "api_key.revoked" {
			t.Fatalf("audit = %d %+v", code, audit)
		}

		// Unknown operations answer in JSON too.
		ae = apiError{}
		if code, _ := admin.do("GET", "/nothing-here", "", &ae); code != 404 || ae.Error.Code != "not_found" {
			t.Fatalf("unknown path = %d %+v", code, ae)
		}
		ae = apiError{}
		if code, h := admin.do("PUT", "/api-keys", `{}`, &ae); code != 405 || ae.Error.Code != "method_not_allowed" || !strings.Contains(h.Get("Allow"), "POST") {
			t.Fatalf("wrong method = %d %+v", code, ae)
		}
	})
}

// TestOpenAPIMatchesRoutes keeps the document true: every operation is documented, nothing
// documented is missing, and every reference resolves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			if method != "parameters" {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	// The API built as the composition root builds it: with every part, so every route.
	a := newWorld(t, db.SQLite).api
	for _, rt := range a.routes() {
		op := rt.method + " " + rt.path
		if !documented[op] {
			t.Errorf("%s is served but not in openapi.json", op)
		}
		delete(documented, op)
	}
	for op := range documented {
		t.Errorf("%s is in openapi.json but not served", op)
	}
	var all any
	json.Unmarshal(openAPI, &all)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				var node any = all
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := node.(map[string]any)
					node = m[part]
				}
				if node == nil {
					t.Errorf("$ref %s does not resolve", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(all)
}

func TestOpenAPIIsServed(t *testing.T) {
	_, url := setup(t, db.SQLite)
	resp, err := http.Get(url + Prefix + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(b, openAPI) {
		t.Fatalf("GET openapi.json = %d", resp.StatusCode)
	}
}
