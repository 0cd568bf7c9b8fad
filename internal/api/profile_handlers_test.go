package api

import (
	"context"
	"database/sql"
	"net/url"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
)

func TestProfilesLookupAndUnmerge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		ctx := context.Background()
		ob := backbone.NewOutbox(w.db)
		resolve := func(reason string, ids ...identity.ID) {
			t.Helper()
			if err := ob.Tx(ctx, func(tx *sql.Tx) error { _, err := w.api.identity.Resolve(ctx, tx, ids, reason); return err }); err != nil {
				t.Fatal(err)
			}
		}
		// A visitor browses, then signs up; a CRM import by full-width email joins them.
		resolve("page", identity.ID{Type: "anonymous_id", Value: "a-1"})
		resolve("identify", identity.ID{Type: "user_id", Value: "u-1"}, identity.ID{Type: "anonymous_id", Value: "a-1"}, identity.ID{Type: "email", Value: "taro@kizuna.co.jp"})
		resolve("import", identity.ID{Type: "crm:salesforce", Value: "003A1"})
		resolve("import", identity.ID{Type: "crm:salesforce", Value: "003A1"}, identity.ID{Type: "email", Value: "ＴＡＲＯ＠ＫＩＺＵＮＡ．ＣＯ．ＪＰ"})

		raw, _, _ := w.acc.CreateAPIKey(ctx, accounts.System(), "reader", []accounts.Scope{accounts.ScopeRead})
		reader := client{t, w.url, raw}
		raw, _, _ = w.acc.CreateAPIKey(ctx, accounts.System(), "admin", []accounts.Scope{accounts.ScopeAdmin})
		admin := client{t, w.url, raw}

		var p profileView
		q := url.Values{"type": {"email"}, "value": {"Taro@Kizuna.co.jp"}}
		if code, _ := reader.do("GET", "/profiles/lookup?"+q.Encode(), "", &p); code != 200 || len(p.Identifiers) != 4 {
			t.Fatalf("lookup = %d %+v", code, p)
		}
		var byCRM profileView
		if code, _ := reader.do("GET", "/profiles/lookup?type=crm:salesforce&value=003A1", "", &byCRM); code != 200 || byCRM.ID != p.ID {
			t.Fatalf("lookup by CRM id = %d %+v, want profile %s", code, byCRM, p.ID)
		}
		var ae apiError
		if code, _ := reader.do("GET", "/profiles/lookup?type=email", "", &ae); code != 400 || ae.Error.Field != "value" {
			t.Fatalf("no value = %d %+v", code, ae)
		}
		if code, _ := reader.do("GET", "/profiles/lookup?type=email&value=nobody%40kizuna.co.jp", "", &ae); code != 404 {
			t.Fatalf("unknown = %d", code)
		}
		var merges httpx.List[identity.Merge]
		if code, _ := reader.do("GET", "/profiles/"+p.ID+"/merges", "", &merges); code != 200 || len(merges.Data) != 1 || merges.Data[0].Rule == "" {
			t.Fatalf("merges = %d %+v", code, merges)
		}
		if code, _ := reader.do("POST", "/merges/"+merges.Data[0].ID+"/undo", "", &ae); code != 403 {
			t.Fatalf("a read key undid a merge: %d", code)
		}
		if code, _ := admin.do("POST", "/merges/"+merges.Data[0].ID+"/undo", "", nil); code != 204 {
			t.Fatalf("undo = %d", code)
		}
		var after profileView
		reader.do("GET", "/profiles/lookup?"+q.Encode(), "", &after)
		reader.do("GET", "/profiles/lookup?type=crm:salesforce&value=003A1", "", &byCRM)
		if byCRM.ID == after.ID {
			t.Fatalf("after the undo the CRM id is still on %s", after.ID)
		}
		if code, _ := admin.do("POST", "/merges/"+merges.Data[0].ID+"/undo", "", &ae); code != 409 {
			t.Fatalf("undoing twice = %d", code)
		}
	})
}
