package api

import (
	"context"
	"database/sql"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/profile"
)

func TestConsentAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		ctx := context.Background()
		reader, writer, admin := w.key("reader", accounts.ScopeRead), w.key("writer", accounts.ScopeWrite), w.key("admin", accounts.ScopeAdmin)
		var pid string
		if err := w.db.Tx(ctx, func(tx *sql.Tx) (err error) {
			pid, err = w.identity.Resolve(ctx, tx, []identity.ID{{Type: "email", Value: "yuki@kizuna-shop.jp"}}, "test")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		path := "/profiles/" + pid + "/consents"
		w.events()

		var ae apiError
		body := `{"consents":[{"channel":"email","purpose":"marketing","status":"opted_in","recorded_at":"2026-11-01T10:00:00+09:00",
			"source":"signup_form","text_version":"signup-v3","ip":"203.0.113.9","user_agent":"Mozilla/5.0"},
			{"channel":"line","purpose":"third_party:crm","status":"opted_in"}]}`
		if code, _ := reader.do("POST", path, body, &ae); code != 403 {
			t.Fatalf("a read key recorded consent: %d", code)
		}
		if code, _ := writer.do("POST", path, body, &ae); code != 403 {
			t.Fatalf("a write key recorded consent: %d", code)
		}
		// Bad input names the field, and nothing of the request is written.
		for _, c := range []struct{ body, field string }{
			{`{"consents":[{"channel":"email","purpose":"marketing","status":"opted_in"},{"channel":"fax","purpose":"marketing","status":"opted_in"}]}`, "consents[1].channel"},
			{`{"consents":[{"channel":"email","purpose":"marketing","status":"opted_in","recorded_at":"yesterday"}]}`, "consents[0].recorded_at"},
			{`{"consents":[{"channel":"email","purpose":"marketing","status":"opted_in","source":"signup_form"}]}`, "consents[0].text_version"},
			{`{"consents":[{"channel":"email","purpose":"marketing","status":"opted_in","recorded_at":"2099-01-01T00:00:00Z"}]}`, "consents[0].recorded_at"},
			{`{"consents":[]}`, "consents"},
			{`{"consents":[{"channel":"email","purpose":"marketing","status":"opted_in","colour":"red"}]}`, "colour"},
		} {
			ae = apiError{}
			if code, _ := admin.do("POST", path, c.body, &ae); code != 400 || ae.Error.Field != c.field || ae.Error.Code != "invalid" {
				t.Fatalf("%s: %d %+v, want 400 on %s", c.body, code, ae, c.field)
			}
		}
		if code, _ := admin.do("POST", "/profiles/nobody/consents", body, &ae); code != 404 {
			t.Fatalf("unknown profile: %d", code)
		}
		var view consentsView
		if code, _ := reader.do("GET", path, "", &view); code != 200 || len(view.Current) != 0 || len(view.History) != 0 {
			t.Fatalf("after refused requests: %d %+v", code, view)
		}
		w.wantEvents("refused requests")

		var recorded httpx.List[consent.Record]
		if code, _ := admin.do("POST", path, body, &recorded); code != 201 || len(recorded.Data) != 2 {
			t.Fatalf("record: %d %+v", code, recorded)
		}
		if r := recorded.Data[0]; r.Source != consent.SourceSignupForm || r.IP != "203.0.113.9" || r.RecordedBy == "" ||
			!r.RecordedAt.Equal(time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)) || recorded.Data[1].Source != consent.SourceAPI {
			t.Fatalf("recorded %+v", recorded.Data)
		}
		w.wantEvents("recorded", "Consent Updated", "Consent Updated")
		if got := w.events(); len(got) != 0 {
			t.Fatalf("events again %q", got)
		}
		unsub := `{"consents":[{"channel":"email","purpose":"marketing","status":"opted_out","source":"unsubscribe_link"}]}`
		if code, _ := admin.do("POST", path, unsub, nil); code != 201 {
			t.Fatalf("unsubscribe: %d", code)
		}
		if code, _ := reader.do("GET", path+"?limit=2", "", &view); code != 200 || len(view.Current) != 2 || len(view.History) != 2 ||
			view.NextCursor == "" || view.Current[0].Status != consent.StatusOptedOut || view.Current[1].Purpose != "third_party:crm" {
			t.Fatalf("consents: %d %+v", code, view)
		}
		var rest consentsView
		if code, _ := reader.do("GET", path+"?limit=2&cursor="+url.QueryEscape(view.NextCursor), "", &rest); code != 200 || len(rest.History) != 1 ||
			rest.NextCursor != "" || rest.History[0].Source != consent.SourceSignupForm {
			t.Fatalf("second page: %d %+v", code, rest)
		}

		// The decision.
		var d consent.Decision
		if code, _ := reader.do("GET", path+"/check?channel=email&purpose=marketing", "", &d); code != 200 || d.Allowed || d.Reason != consent.ReasonOptedOut {
			t.Fatalf("check email marketing: %d %+v", code, d)
		}
		if code, _ := reader.do("GET", path+"/check?channel=line&purpose=third_party:crm", "", &d); code != 200 || !d.Allowed || d.Reason != consent.ReasonOptedIn {
			t.Fatalf("check line crm: %d %+v", code, d)
		}
		if code, _ := reader.do("GET", path+"/check?channel=email&purpose=service&address=yuki%40kizuna-shop.jp", "", &d); code != 200 || !d.Allowed ||
			d.Reason != consent.ReasonTransactional {
			t.Fatalf("check service: %d %+v", code, d)
		}
		ae = apiError{}
		if code, _ := reader.do("GET", path+"/check?channel=fax&purpose=service", "", &ae); code != 400 || ae.Error.Field != "channel" {
			t.Fatalf("check fax: %d %+v", code, ae)
		}

		// The suppression list: marketers (write) add, admins take off.
		bounce := `{"channel":"email","value":"ＹＵＫＩ＠kizuna-shop.jp","reason":"hard_bounce","note":"550 5.1.1"}`
		if code, _ := reader.do("POST", "/suppressions", bounce, &ae); code != 403 {
			t.Fatalf("a read key suppressed: %d", code)
		}
		var s consent.Suppression
		if code, _ := writer.do("POST", "/suppressions", bounce, &s); code != 201 || s.Value != "yuki@kizuna-shop.jp" || s.Reason != consent.SuppressHardBounce {
			t.Fatalf("suppress: %d %+v", code, s)
		}
		if code, _ := writer.do("POST", "/suppressions", bounce, &s); code != 200 {
			t.Fatalf("suppress again: %d", code)
		}
		ae = apiError{}
		if code, _ := writer.do("POST", "/suppressions", `{"channel":"email","value":"yuki","reason":"hard_bounce"}`, &ae); code != 400 || ae.Error.Field != "value" {
			t.Fatalf("bad address: %d %+v", code, ae)
		}
		if code, _ := reader.do("GET", path+"/check?channel=email&purpose=service", "", &d); code != 200 || d.Allowed ||
			d.Suppression != consent.SuppressHardBounce {
			t.Fatalf("check after the bounce: %d %+v", code, d)
		}
		var list httpx.List[consent.Suppression]
		if code, _ := reader.do("GET", "/suppressions?channel=email&reason=hard_bounce", "", &list); code != 200 || len(list.Data) != 1 || list.Data[0].Note != "550 5.1.1" {
			t.Fatalf("list: %d %+v", code, list)
		}
		if code, _ := reader.do("GET", "/suppressions?reason=complaint", "", &list); code != 200 || len(list.Data) != 0 {
			t.Fatalf("list complaints: %d %+v", code, list)
		}
		del := "/suppressions?channel=email&value=" + url.QueryEscape("yuki@kizuna-shop.jp")
		if code, _ := writer.do("DELETE", del, "", &ae); code != 403 {
			t.Fatalf("a write key took an address off: %d", code)
		}
		if code, _ := admin.do("DELETE", del+"&reason=hard_bounce", "", nil); code != 204 {
			t.Fatalf("delete: %d", code)
		}
		if code, _ := admin.do("DELETE", del, "", &ae); code != 404 {
			t.Fatalf("delete again: %d", code)
		}
		ae = apiError{}
		if code, _ := admin.do("DELETE", "/suppressions?channel=email", "", &ae); code != 400 || ae.Error.Field != "value" {
			t.Fatalf("delete without an address: %d %+v", code, ae)
		}

		// Provision records, as a connector writes them.
		if _, err := w.consent.RecordProvision(ctx, pid, "Salesforce (crm)", []string{"email", "name"}, consent.BasisConsent, time.Time{}); err != nil {
			t.Fatal(err)
		}
		var provs httpx.List[consent.Provision]
		if code, _ := reader.do("GET", "/profiles/"+pid+"/provisions", "", &provs); code != 200 || len(provs.Data) != 1 ||
			!slices.Equal(provs.Data[0].Items, []string{"email", "name"}) {
			t.Fatalf("provisions: %d %+v", code, provs)
		}
		if code, _ := reader.do("GET", "/profiles/nobody/provisions", "", &ae); code != 404 {
			t.Fatalf("provisions of nobody: %d", code)
		}

		// The profile consumer puts the consent events on the customer's timeline, as Kizuna's.
		w.land()
		var evs httpx.List[profile.Event]
		if code, _ := reader.do("GET", "/profiles/"+pid+"/events", "", &evs); code != 200 {
			t.Fatalf("events: %d", code)
		}
		n := 0
		for _, ev := range evs.Data {
			if ev.Name == "Consent Updated" {
				n++
				if ev.Source != "system" || ev.ProfileID != pid {
					t.Fatalf("timeline event %+v", ev)
				}
			}
		}
		if n != 3 {
			t.Fatalf("%d Consent Updated events on the timeline, want 3: %+v", n, evs.Data)
		}
	})
}
