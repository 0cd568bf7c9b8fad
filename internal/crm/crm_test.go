package crm_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
)

func events(t *testing.T, d *db.DB, name string) []event.Event {
	t.Helper()
	rows, err := d.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var s string
		var ev event.Event
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(s), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event == name {
			out = append(out, ev)
		}
	}
	return out
}

func field(t *testing.T, err error, want string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid || e.Field != want {
		t.Fatalf("err = %v, want invalid %s", err, want)
	}
}

func TestCRM(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		d := dbtest.Open(t, e, backbone.Migrations(), identity.Migrations(), crm.Migrations())
		now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time { now = now.Add(time.Millisecond); return now }
		ob := backbone.NewOutbox(d)
		g := identity.New(identity.Deps{DB: d, Outbox: ob, Now: clock})
		s := crm.New(crm.Deps{DB: d, Outbox: ob, Identity: g, Now: clock})
		sys := accounts.System()

		// An earlier identify by email.
		var prof string
		if err := d.Tx(ctx, func(tx *sql.Tx) (err error) {
			prof, err = g.Resolve(ctx, tx, []identity.ID{{Type: "email", Value: "hana@sakura.co.jp"}}, "identify")
			return err
		}); err != nil {
			t.Fatal(err)
		}

		acc, err := s.UpsertAccount(ctx, sys, crm.AccountInput{ExternalID: "acme", Name: "Acme", Domain: "acme.example", Plan: "pro"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpsertAccount(ctx, sys, crm.AccountInput{ExternalID: "acme", Name: "Acme", Domain: "acme.example", Plan: "pro"}); err != nil {
			t.Fatal(err)
		}
		if n := len(events(t, d, "Account Updated")); n != 1 {
			t.Fatalf("Account Updated events = %d, want 1", n)
		}

		in := crm.PurchaseInput{ExternalID: "o-1", Customer: []identity.ID{{Type: "email", Value: "ｈａｎａ＠ｓａｋｕｒａ．ｃｏ．ｊｐ"}},
			AccountExternalID: "acme", AmountMinor: 12000, Currency: "JPY", PurchasedAt: now, Product: "Pro plan"}
		pu, err := s.UpsertPurchase(ctx, sys, in)
		if err != nil {
			t.Fatal(err)
		}
		if pu.ProfileID != prof {
			t.Fatalf("purchase profile = %s, want %s (full-width email)", pu.ProfileID, prof)
		}
		if _, err := s.UpsertPurchase(ctx, sys, in); err != nil {
			t.Fatal(err)
		}
		oc := events(t, d, "Order Completed")
		if len(oc) != 1 {
			t.Fatalf("Order Completed events = %d, want 1", len(oc))
		}
		if oc[0].ProfileID != prof || oc[0].AnonymousID != "kizuna:crm" || oc[0].UserID != "" || oc[0].Properties["order_id"] != "o-1" {
			t.Fatalf("Order Completed = %+v", oc[0])
		}
		if _, err := s.UpsertPurchase(ctx, sys, crm.PurchaseInput{ExternalID: "o-2", Customer: in.Customer, AmountMinor: 999, Currency: "usd", PurchasedAt: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpsertPurchase(ctx, sys, crm.PurchaseInput{ExternalID: "o-3", Customer: in.Customer, AmountMinor: 500, Currency: "JPY", PurchasedAt: now}); err != nil {
			t.Fatal(err)
		}

		_, err = s.UpsertPurchase(ctx, sys, crm.PurchaseInput{ExternalID: "o-4", Customer: in.Customer, AmountMinor: 1, Currency: "US$", PurchasedAt: now})
		field(t, err, "currency")
		_, err = s.UpsertPurchase(ctx, sys, crm.PurchaseInput{ExternalID: "o-4", Customer: in.Customer, AmountMinor: -1, Currency: "JPY", PurchasedAt: now})
		field(t, err, "amount_minor")
		_, err = s.UpsertContract(ctx, sys, crm.ContractInput{ExternalID: "c-x", AccountExternalID: "acme", Status: "paused", StartsOn: now, Currency: "JPY"})
		field(t, err, "status")

		ct := crm.ContractInput{ExternalID: "c-1", AccountExternalID: "acme", Plan: "pro", Status: "active", StartsOn: now,
			RenewsOn: now.AddDate(1, 0, 0), AmountMinor: 1200000, Currency: "JPY"}
		if _, err := s.UpsertContract(ctx, sys, ct); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpsertContract(ctx, sys, ct); err != nil {
			t.Fatal(err)
		}
		ct.Status, ct.RenewsOn = "cancelled", time.Time{}
		if _, err := s.UpsertContract(ctx, sys, ct); err != nil {
			t.Fatal(err)
		}
		cu := events(t, d, "Contract Updated")
		if len(cu) != 2 || cu[1].Properties["status"] != "cancelled" || cu[1].Properties["renews_on"] != nil || cu[0].Properties["renews_on"] != "2027-04-01" {
			t.Fatalf("Contract Updated events = %+v", cu)
		}

		tk := crm.TicketInput{ExternalID: "t-1", Customer: []identity.ID{{Type: "email", Value: "Hana@Sakura.co.jp"}}, Subject: "Login fails",
			Status: "open", OpenedAt: now}
		if _, err := s.UpsertTicket(ctx, sys, tk); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpsertTicket(ctx, sys, tk); err != nil {
			t.Fatal(err)
		}
		tk.Status, tk.SolvedAt = "solved", now
		if _, err := s.UpsertTicket(ctx, sys, tk); err != nil {
			t.Fatal(err)
		}
		if tu := events(t, d, "Ticket Updated"); len(tu) != 2 || tu[1].ProfileID != prof || tu[1].Properties["priority"] != "normal" {
			t.Fatalf("Ticket Updated events = %+v", tu)
		}

		if err := s.LinkProfileToAccount(ctx, sys, prof, "acme"); err != nil {
			t.Fatal(err)
		}
		if err := s.LinkProfileToAccount(ctx, sys, prof, "acme"); err != nil {
			t.Fatal(err)
		}
		r, err := s.ForProfile(ctx, sys, prof)
		if err != nil {
			t.Fatal(err)
		}
		if r.Account == nil || r.Account.ID != acc.ID || len(r.Purchases) != 3 || len(r.Contracts) != 1 || r.Contracts[0].Status != "cancelled" ||
			len(r.Tickets) != 1 || r.Tickets[0].Status != "solved" {
			t.Fatalf("records = %+v", r)
		}
		if r.LifetimeValue["JPY"] != 12500 || r.LifetimeValue["USD"] != 999 || len(r.LifetimeValue) != 2 {
			t.Fatalf("lifetime value = %v", r.LifetimeValue)
		}

		member := accounts.Principal{MemberID: "m1", Role: accounts.RoleMember}
		if _, err := s.UpsertAccount(ctx, member, crm.AccountInput{ExternalID: "x", Name: "X"}); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("member upsert: %v", err)
		}
		if _, err := s.ForProfile(ctx, member, prof); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("member read: %v", err)
		}
	})
}

// The transaction-level writes report whether anything changed, and a caller's rollback undoes
// both the record and its event.
func TestApplyInCallersTx(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		d := dbtest.Open(t, e, backbone.Migrations(), identity.Migrations(), crm.Migrations())
		now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		ob := backbone.NewOutbox(d)
		g := identity.New(identity.Deps{DB: d, Outbox: ob})
		s := crm.New(crm.Deps{DB: d, Outbox: ob, Identity: g})
		acc := crm.AccountInput{ExternalID: "acme", Name: "Acme"}
		in := crm.PurchaseInput{ExternalID: "o-1", Customer: []identity.ID{{Type: "email", Value: "ken@kizuna-shop.jp"}},
			AccountExternalID: "acme", AmountMinor: 100, Currency: "JPY", PurchasedAt: now}
		apply := func() (changed [3]bool) {
			t.Helper()
			if err := ob.Tx(ctx, func(tx *sql.Tx) (err error) {
				if _, changed[0], err = s.ApplyAccount(ctx, tx, "system", acc, now); err != nil {
					return err
				}
				var pu crm.Purchase
				if pu, changed[1], err = s.ApplyPurchase(ctx, tx, in, now, "test"); err != nil {
					return err
				}
				changed[2], err = s.ApplyProfileAccount(ctx, tx, pu.ProfileID, "acme")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return changed
		}
		if c := apply(); c != [3]bool{true, true, true} {
			t.Fatalf("first apply changed = %v", c)
		}
		if c := apply(); c != [3]bool{false, false, false} {
			t.Fatalf("second apply changed = %v", c)
		}
		if n := len(events(t, d, "Order Completed")) + len(events(t, d, "Account Updated")); n != 2 {
			t.Fatalf("events = %d, want 2", n)
		}

		// A rolled-back transaction leaves neither the purchase nor its event.
		in2 := in
		in2.ExternalID = "o-2"
		err := ob.Tx(ctx, func(tx *sql.Tx) error {
			if _, _, err := s.ApplyPurchase(ctx, tx, in2, now, "test"); err != nil {
				return err
			}
			_, _, err := s.ApplyContract(ctx, tx, "system", crm.ContractInput{ExternalID: "c-1", AccountExternalID: "nope",
				Status: "active", StartsOn: now, Currency: "JPY"}, now)
			return err
		})
		field(t, err, "account_external_id")
		if n := len(events(t, d, "Order Completed")); n != 1 {
			t.Fatalf("Order Completed events after rollback = %d, want 1", n)
		}
		field(t, (crm.TicketInput{ExternalID: "t", Status: "open"}).Validate(), "opened_at")
	})
}

// A batch of purchases is written like separate calls: one event per new purchase, nothing for
// an unchanged one, an external id given twice applied in order, and a fault naming its input.
func TestApplyPurchases(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		d := dbtest.Open(t, e, backbone.Migrations(), identity.Migrations(), crm.Migrations())
		now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		ob := backbone.NewOutbox(d)
		s := crm.New(crm.Deps{DB: d, Outbox: ob, Identity: identity.New(identity.Deps{DB: d, Outbox: ob})})
		p := func(ext, email string, amount int64) crm.PurchaseInput {
			return crm.PurchaseInput{ExternalID: ext, Customer: []identity.ID{{Type: "email", Value: email}}, AmountMinor: amount, Currency: "JPY", PurchasedAt: now}
		}
		apply := func(ins ...crm.PurchaseInput) ([]crm.Purchase, []bool, error) {
			var out []crm.Purchase
			var changed []bool
			err := ob.Tx(ctx, func(tx *sql.Tx) (err error) {
				out, changed, err = s.ApplyPurchases(ctx, tx, ins, now, func(i int) string { return "test" })
				return err
			})
			return out, changed, err
		}
		out, changed, err := apply(p("o-1", "a@kizuna-shop.jp", 1), p("o-2", "b@kizuna-shop.jp", 2), p("o-3", "a@kizuna-shop.jp", 3))
		if err != nil || len(out) != 3 || out[0].ProfileID != out[2].ProfileID || out[0].ProfileID == out[1].ProfileID || changed != nil && !changed[2] {
			t.Fatalf("first batch = %+v, %v, %v", out, changed, err)
		}
		_, changed, err = apply(p("o-1", "a@kizuna-shop.jp", 1), p("o-4", "c@kizuna-shop.jp", 4), p("o-4", "c@kizuna-shop.jp", 5))
		if err != nil || changed[0] || !changed[1] || !changed[2] {
			t.Fatalf("second batch changed = %v, %v", changed, err)
		}
		if n := len(events(t, d, "Order Completed")); n != 4 {
			t.Fatalf("Order Completed events = %d, want 4", n)
		}
		_, _, err = apply(p("o-5", "d@kizuna-shop.jp", 1), p("o-6", "d@kizuna-shop.jp", -1))
		var be *crm.BatchError
		if !errors.As(err, &be) || be.Index != 1 {
			t.Fatalf("err = %v", err)
		}
		field(t, err, "amount_minor")
	})
}
