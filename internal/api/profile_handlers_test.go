package api

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/profile"
)

// land hands events to the profile consumer, as the backbone does, and then every event the
// parts committed to the outbox meanwhile (merges, CRM changes), once.
func (w *world) land(evs ...event.Event) {
	w.t.Helper()
	ctx := context.Background()
	if err := w.profiles.Consumer().Handle(ctx, evs); err != nil {
		w.t.Fatal(err)
	}
	rows, err := w.db.R.Query(`SELECT seq, payload FROM outbox ORDER BY seq`)
	if err != nil {
		w.t.Fatal(err)
	}
	var pending []event.Event
	var last int64
	for rows.Next() {
		var s string
		var ev event.Event
		if err := rows.Scan(&last, &s); err != nil {
			w.t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(s), &ev); err != nil {
			w.t.Fatal(err)
		}
		pending = append(pending, ev)
	}
	rows.Close()
	if _, err := w.db.W.Exec(`DELETE FROM outbox WHERE seq <= $1`, last); err != nil {
		w.t.Fatal(err)
	}
	if len(pending) > 0 {
		if err := w.profiles.Consumer().Handle(ctx, pending); err != nil {
			w.t.Fatal(err)
		}
	}
}

func tracked(typ, name string, at time.Time, f func(*event.Event)) event.Event {
	ev := event.New(typ, name, event.SourceTracking, at)
	ev.Context = map[string]any{"source_id": "src-web"}
	f(&ev)
	return ev
}

func TestCustomerProfiles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		w := newWorld(t, e)
		ctx := context.Background()
		raw, _, _ := w.acc.CreateAPIKey(ctx, accounts.System(), "reader", []accounts.Scope{accounts.ScopeRead})
		reader := client{t, w.url, raw}
		raw, _, _ = w.acc.CreateAPIKey(ctx, accounts.System(), "admin", []accounts.Scope{accounts.ScopeAdmin})
		admin := client{t, w.url, raw}
		at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		next := func() time.Time { at = at.Add(time.Minute); return at }

		// A visitor browses on one device and looks at a product on another; then signs in on both.
		browse := tracked(event.Page, "Pricing", next(), func(ev *event.Event) { ev.AnonymousID = "a-1" })
		viewed := tracked(event.Track, "Product Viewed", next(), func(ev *event.Event) {
			ev.AnonymousID = "a-2"
			ev.Properties = map[string]any{"sku": "KZ-100"}
		})
		signIn := tracked(event.Identify, "", next(), func(ev *event.Event) {
			ev.UserID, ev.AnonymousID = "u-1", "a-1"
			ev.Traits = map[string]any{"email": "taro@kizuna-shop.jp", "name": "山田 太郎", "plan": "free"}
		})
		w.land(browse, viewed, signIn)
		second := tracked(event.Identify, "", next(), func(ev *event.Event) {
			ev.UserID, ev.AnonymousID = "u-1", "a-2"
			ev.Traits = map[string]any{"plan": "pro"}
		})
		w.land(second)
		// An order from the CRM names the customer by a full-width address.
		if _, err := w.crm.UpsertPurchase(ctx, accounts.System(), crm.PurchaseInput{
			ExternalID: "ORD-1", Customer: []identity.ID{{Type: "email", Value: "ＴＡＲＯ＠ＫＩＺＵＮＡ－ＳＨＯＰ．ＪＰ"}},
			AmountMinor: 12000, Currency: "JPY", PurchasedAt: next(), Product: "KZ-100",
		}); err != nil {
			t.Fatal(err)
		}
		w.land()
		// A late event from before the upgrade does not undo it, but is in the history.
		late := tracked(event.Identify, "", at.Add(-time.Hour), func(ev *event.Event) {
			ev.UserID = "u-1"
			ev.Traits = map[string]any{"plan": "trial"}
		})
		w.land(late)
		w.land(browse, viewed, signIn, second, late) // redelivery changes nothing

		var p profile.Profile
		q := url.Values{"type": {"email"}, "value": {"Taro@Kizuna-Shop.jp"}}
		if code, _ := reader.do("GET", "/profiles/lookup?"+q.Encode(), "", &p); code != 200 {
			t.Fatalf("lookup = %d", code)
		}
		if len(p.Identifiers) != 4 || len(p.MergedIDs) != 1 {
			t.Errorf("identifiers %+v, merged %v; want a-1, a-2, email, u-1 and one merged profile", p.Identifiers, p.MergedIDs)
		}
		if p.Traits["name"] != "山田 太郎" || p.Traits["plan"] != "pro" || p.TraitMeta["plan"].Source != "tracking:src-web" {
			t.Errorf("traits %v %+v", p.Traits, p.TraitMeta)
		}
		c := p.Computed
		if c.Events != 6 || c.PageViews != 1 || c.EventCounts["Product Viewed"] != 1 || c.EventCounts["Order Completed"] != 1 ||
			c.Purchases != 1 || c.LifetimeValue["JPY"] != 12000 || c.FirstSeen.IsZero() || !c.LastSeen.After(c.FirstSeen) {
			t.Errorf("computed %+v", c)
		}
		var history httpx.List[profile.TraitChange]
		if code, _ := reader.do("GET", "/profiles/"+p.ID+"/traits?name=plan", "", &history); code != 200 || len(history.Data) != 3 ||
			history.Data[0].Value != "pro" || history.Data[2].Value != "trial" {
			t.Errorf("plan history = %d %+v", code, history.Data)
		}
		var evs httpx.List[profile.Event]
		if code, _ := reader.do("GET", "/profiles/"+p.ID+"/events?limit=4", "", &evs); code != 200 || len(evs.Data) != 4 || evs.NextCursor == "" ||
			evs.Data[0].Name != "Order Completed" {
			t.Fatalf("events = %d %+v", code, evs)
		}
		var more httpx.List[profile.Event]
		reader.do("GET", "/profiles/"+p.ID+"/events?limit=4&cursor="+evs.NextCursor, "", &more)
		if len(more.Data) != 2 || more.NextCursor != "" {
			t.Errorf("second page %+v", more)
		}
		var found httpx.List[profile.Summary]
		if code, _ := reader.do("GET", "/profiles?q="+url.QueryEscape("ＴＡＲＯ＠ＫＩＺＵＮＡ－ＳＨＯＰ．ＪＰ"), "", &found); code != 200 || len(found.Data) != 1 ||
			found.Data[0].ID != p.ID || found.Data[0].Name != "山田 太郎" {
			t.Errorf("find = %d %+v", code, found)
		}
		var ae apiError
		if code, _ := reader.do("GET", "/profiles/lookup?type=email", "", &ae); code != 400 || ae.Error.Field != "value" {
			t.Errorf("no value = %d %+v", code, ae)
		}
		if code, _ := reader.do("GET", "/profiles/lookup?type=email&value=nobody%40kizuna-shop.jp", "", &ae); code != 404 {
			t.Errorf("unknown = %d", code)
		}
		// The merged profile's id still answers, as the profile it is part of.
		var old profile.Profile
		if code, _ := reader.do("GET", "/profiles/"+p.MergedIDs[0], "", &old); code != 200 || old.ID != p.ID {
			t.Errorf("merged id = %d %s", code, old.ID)
		}

		// Undoing the merge gives the second device its own profile and event back.
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
		var a, b profile.Profile
		reader.do("GET", "/profiles/lookup?"+q.Encode(), "", &a)
		reader.do("GET", "/profiles/lookup?type=anonymous_id&value=a-2", "", &b)
		if a.ID != p.ID || b.ID == a.ID || b.Computed.EventCounts["Product Viewed"] != 1 || a.Computed.EventCounts["Product Viewed"] != 0 ||
			a.Computed.Events != 5 || len(b.Identifiers) != 1 {
			t.Errorf("after undo: a %+v\nb %+v", a, b)
		}
		if code, _ := admin.do("POST", "/merges/"+merges.Data[0].ID+"/undo", "", &ae); code != 409 {
			t.Errorf("undoing twice = %d", code)
		}
	})
}
