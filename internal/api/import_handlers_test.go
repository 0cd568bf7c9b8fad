package api

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/imports"
)

// send posts body with contentType to path and decodes the JSON answer into out.
func send(t *testing.T, c client, path, contentType string, body io.Reader, out any) int {
	t.Helper()
	req, _ := http.NewRequest("POST", c.url+Prefix+path, body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("POST %s: %d %q is not JSON", path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

func TestImportsAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		admin := w.key("ops", accounts.ScopeAdmin)
		reader := w.key("bi", accounts.ScopeRead)

		// A raw CSV body.
		var rep imports.Report
		csv := "会社ID,会社名,業種\nA-1,株式会社きずな,小売\n"
		if code := send(t, admin, "/imports?kind=accounts&file_name=a.csv", "text/csv; charset=utf-8", strings.NewReader(csv), &rep); code != 201 ||
			rep.Status != imports.StatusDone || rep.AppliedRows != 1 {
			t.Fatalf("raw CSV import = %d %+v", code, rep)
		}

		// Multipart, the mapping part after the file part.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "orders.csv")
		fw.Write([]byte("No,Mail,Kingaku,Hi,会社ID\nP-1,ken@kizunashop.jp,\"１２,３４５円\",令和7年1月2日,A-1\nP-2,ken@kizunashop.jp,500,2025/01/03,\n"))
		mw.WriteField("mapping", `{"No":"external_id","Mail":"email","Kingaku":"amount","Hi":"purchased_at"}`)
		mw.Close()
		if code := send(t, admin, "/imports?kind=purchases", mw.FormDataContentType(), &body, &rep); code != 201 || rep.AppliedRows != 2 || rep.FileName != "orders.csv" {
			t.Fatalf("multipart import = %d %+v", code, rep)
		}
		id := rep.ID

		// JSON Lines with a bad row: 422 naming it, nothing written.
		var failure struct {
			Error  httpx.ErrorDetail `json:"error"`
			Import imports.Report    `json:"import"`
		}
		jsonl := `{"id":"P-3","email":"ken@kizunashop.jp","amount":100,"date":"2025-01-02"}` + "\n" + `{"id":"P-4","email":"ken@kizunashop.jp","amount":"abc","date":"2025-01-02"}` + "\n"
		if code := send(t, admin, "/imports?kind=purchases", "application/x-ndjson", strings.NewReader(jsonl), &failure); code != 422 ||
			failure.Error.Code != "invalid" || len(failure.Import.Errors) != 1 || failure.Import.Errors[0].Line != 2 || failure.Import.Errors[0].Field != "amount" {
			t.Fatalf("bad JSONL = %d %+v", code, failure)
		}
		var ae apiError
		if code := send(t, admin, "/imports?kind=leads", "text/csv", strings.NewReader(csv), &ae); code != 400 || ae.Error.Field != "kind" {
			t.Fatalf("unknown kind = %d %+v", code, ae)
		}
		if code := send(t, reader, "/imports?kind=accounts", "text/csv", strings.NewReader(csv), &ae); code != 403 {
			t.Fatalf("read key import = %d", code)
		}

		var got imports.Import
		if code, _ := reader.do("GET", "/imports/"+id, "", &got); code != 200 || got.Status != imports.StatusDone || got.AppliedLine != 3 {
			t.Fatalf("GET import = %d %+v", code, got)
		}
		var list httpx.List[imports.Import]
		if code, _ := reader.do("GET", "/imports?limit=2", "", &list); code != 200 || len(list.Data) != 2 || list.NextCursor == "" || list.Data[0].Status != imports.StatusFailed {
			t.Fatalf("list = %d %+v", code, list)
		}
		var page2 httpx.List[imports.Import]
		if code, _ := reader.do("GET", "/imports?limit=2&cursor="+list.NextCursor, "", &page2); code != 200 || len(page2.Data) != 1 || page2.NextCursor != "" {
			t.Fatalf("list page 2 = %d %+v", code, page2)
		}
		if code, _ := reader.do("GET", "/imports/nope", "", &ae); code != 404 {
			t.Fatalf("unknown import = %d", code)
		}
	})
}

func TestCRMAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		admin := w.key("ops", accounts.ScopeAdmin)
		reader := w.key("bi", accounts.ScopeRead)

		var acc crm.Account
		if code, _ := admin.do("PUT", "/accounts/A-1", `{"name":"株式会社きずな","plan":"pro"}`, &acc); code != 200 || acc.ExternalID != "A-1" || acc.Plan != "pro" {
			t.Fatalf("put account = %d %+v", code, acc)
		}
		var pu crm.Purchase
		if code, _ := admin.do("PUT", "/purchases/O-1", `{"customer":[{"type":"email","value":"ＨＡＮＡ＠ＫＩＺＵＮＡＳＨＯＰ．ＪＰ"}],"account_external_id":"A-1",
			"amount":"￥１２,３４５","purchased_at":"令和7年1月2日","product":"お茶"}`, &pu); code != 200 || pu.AmountMinor != 12345 || pu.Currency != "JPY" || pu.ProfileID == "" {
			t.Fatalf("put purchase = %d %+v", code, pu)
		}
		if code, _ := admin.do("PUT", "/purchases/O-2", `{"customer":[{"type":"email","value":"hana@kizunashop.jp"}],"amount":12.5,"currency":"USD","purchased_at":"2025-01-03"}`, &pu); code != 200 || pu.AmountMinor != 1250 {
			t.Fatalf("put purchase in USD = %d %+v", code, pu)
		}
		var c crm.Contract
		if code, _ := admin.do("PUT", "/contracts/C-1", `{"account_external_id":"A-1","status":"active","starts_on":"2025/01/02","renews_on":"2026-01-02","amount":120000}`, &c); code != 200 || c.Status != "active" {
			t.Fatalf("put contract = %d %+v", code, c)
		}
		var tk crm.Ticket
		if code, _ := admin.do("PUT", "/tickets/T-1", `{"customer":[{"type":"email","value":"hana@kizunashop.jp"}],"subject":"ログイン","status":"open","opened_at":"2025-01-02T10:00:00+09:00"}`, &tk); code != 200 || tk.Priority != "normal" {
			t.Fatalf("put ticket = %d %+v", code, tk)
		}
		wantError(t, admin, "PUT", "/purchases/O-3", `{"customer":[{"type":"email","value":"hana@kizunashop.jp"}],"amount":"12.5","purchased_at":"2025-01-03"}`, 400, "amount")
		wantError(t, admin, "PUT", "/tickets/T-2", `{"customer":[{"type":"email","value":"hana@kizunashop.jp"}],"status":"open","opened_at":"令和7年2月30日"}`, 400, "opened_at")
		wantError(t, admin, "PUT", "/contracts/C-2", `{"account_external_id":"nope","status":"active","starts_on":"2025-01-02","amount":1}`, 400, "account_external_id")
		if code, _ := reader.do("PUT", "/accounts/A-2", `{"name":"x"}`, nil); code != 403 {
			t.Fatalf("read key put = %d", code)
		}

		if err := w.api.crm.LinkProfileToAccount(t.Context(), accounts.System(), pu.ProfileID, "A-1"); err != nil {
			t.Fatal(err)
		}
		var recs crm.Records
		if code, _ := reader.do("GET", "/profiles/"+pu.ProfileID+"/records", "", &recs); code != 200 || len(recs.Purchases) != 2 || len(recs.Tickets) != 1 ||
			len(recs.Contracts) != 1 || recs.Account == nil || recs.LifetimeValue["JPY"] != 12345 {
			t.Fatalf("records = %d %+v", code, recs)
		}
	})
}
