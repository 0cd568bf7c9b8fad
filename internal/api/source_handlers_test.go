package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/ingest"
)

func TestSources(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		admin := w.key("ops", accounts.ScopeAdmin)
		reader := w.key("bi", accounts.ScopeRead)

		var created createdSource
		code, h := admin.do("POST", "/sources", `{"name":"Web サイト"}`, &created)
		if code != 201 || created.WriteKey == "" || created.Source.Name != "Web サイト" ||
			!strings.HasPrefix(created.WriteKey, created.Source.KeyPrefix) || created.Source.RevokedAt != nil ||
			h.Get("Location") != Prefix+"/sources/"+created.Source.ID {
			t.Fatalf("create source = %d %+v", code, created)
		}

		var raw map[string]any
		if code, _ := admin.do("GET", "/sources", "", &raw); code != 200 || strings.Contains(toJSON(t, raw), created.WriteKey) {
			t.Fatalf("list shows the write key: %d %v", code, raw)
		}
		var list httpx.List[ingest.Source]
		if code, _ := admin.do("GET", "/sources", "", &list); code != 200 || len(list.Data) != 1 ||
			list.Data[0].ID != created.Source.ID || list.Data[0].KeyPrefix != created.Source.KeyPrefix || list.Data[0].RevokedAt != nil {
			t.Fatalf("list = %d %+v", code, list)
		}

		// A read key may neither see nor manage sources; the answer names the admin scope.
		for _, tc := range []struct{ method, path, body string }{
			{"GET", "/sources", ""},
			{"POST", "/sources", `{"name":"x"}`},
			{"DELETE", "/sources/" + created.Source.ID, ""},
		} {
			var ae apiError
			if code, _ := reader.do(tc.method, tc.path, tc.body, &ae); code != 403 || !strings.Contains(ae.Error.Message, "admin") {
				t.Errorf("read key %s %s = %d %+v", tc.method, tc.path, code, ae)
			}
		}

		for _, tc := range []struct{ body, field string }{
			{`{}`, "name"},
			{`{"name":"  "}`, "name"},
			{`{"name":"` + strings.Repeat("あ", 101) + `"}`, "name"},
			{`{"name":"x","owner":"me"}`, "owner"},
			{`{"name":`, "body"},
		} {
			var ae apiError
			if code, _ := admin.do("POST", "/sources", tc.body, &ae); code != 400 || ae.Error.Field != tc.field {
				t.Errorf("POST /sources %s = %d %+v, want 400 naming %q", tc.body, code, ae, tc.field)
			}
		}

		if code, _ := admin.do("DELETE", "/sources/"+created.Source.ID, "", nil); code != 204 {
			t.Fatalf("revoke = %d", code)
		}
		if code, _ := admin.do("DELETE", "/sources/"+created.Source.ID, "", nil); code != 204 {
			t.Fatalf("revoke again = %d", code)
		}
		var ae apiError
		if code, _ := admin.do("DELETE", "/sources/nope", "", &ae); code != 404 || ae.Error.Code != "not_found" {
			t.Fatalf("revoke unknown = %d %+v", code, ae)
		}
		list = httpx.List[ingest.Source]{}
		if code, _ := admin.do("GET", "/sources", "", &list); code != 200 || len(list.Data) != 1 || list.Data[0].RevokedAt == nil {
			t.Fatalf("list after revoke = %d %+v", code, list)
		}
	})
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
