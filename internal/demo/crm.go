package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// The demo CRM: the community's members are customers of three companies, with orders,
// subscription contracts (one renewing soon) and support tickets, so that their customer 360
// pages are full. Records are keyed by external id, so seeding again changes nothing.

type demoAccount struct {
	ext, name, domain, industry, plan string
	members                           []string // emails of demo members who work there
	contract                          [2]int   // started this many days ago, renews in this many days
	amount                            int64
}

var demoAccounts = []demoAccount{
	{"001SAKURA", "株式会社さくら製作所", "sakura-mfg.co.jp", "製造", "Enterprise",
		[]string{"haruto.yamamoto@demo.kizuna.example", "yui.nakamura@demo.kizuna.example"}, [2]int{340, 25}, 1_800_000},
	{"001AOBA", "青葉システムズ株式会社", "aoba-systems.jp", "IT", "Business",
		[]string{"sota.kobayashi@demo.kizuna.example", "mei.kato@demo.kizuna.example", "riku.yoshida@demo.kizuna.example"}, [2]int{120, 245}, 960_000},
	{"001NORTHWIND", "Northwind Trading Ltd.", "northwind-trading.com", "Retail", "Business",
		[]string{"olivia.brown@demo.kizuna.example", "lucas.martin@demo.kizuna.example", "priya.sharma@demo.kizuna.example"}, [2]int{400, -35}, 720_000},
}

type demoOrder struct {
	member, product string
	amount          int64 // minor units
	currency        string
	daysAgo         int
}

var demoOrders = []demoOrder{
	{"haruto.yamamoto@demo.kizuna.example", "Kizuna Sensor Kit S", 49_800, "JPY", 210},
	{"haruto.yamamoto@demo.kizuna.example", "増設ゲートウェイ G2", 128_000, "JPY", 35},
	{"yui.nakamura@demo.kizuna.example", "Kizuna Sensor Kit S", 49_800, "JPY", 90},
	{"sota.kobayashi@demo.kizuna.example", "分析オプション Pro", 240_000, "JPY", 60},
	{"mei.kato@demo.kizuna.example", "Kizuna Sensor Kit M", 89_800, "JPY", 14},
	{"riku.yoshida@demo.kizuna.example", "スターターキット", 9_800, "JPY", 180},
	{"aoi.yamada@demo.kizuna.example", "Kizuna Sensor Kit S", 49_800, "JPY", 8},
	{"olivia.brown@demo.kizuna.example", "Gateway G2 (US)", 899_00, "USD", 120},
	{"lucas.martin@demo.kizuna.example", "Sensor Kit M (US)", 649_00, "USD", 300},
	{"priya.sharma@demo.kizuna.example", "Analytics add-on Pro", 1_990_00, "USD", 30},
}

type demoTicket struct {
	member, subject, status, priority string
	daysAgo                           int
}

var demoTickets = []demoTicket{
	{"haruto.yamamoto@demo.kizuna.example", "ゲートウェイがオフラインになる", "solved", "high", 40},
	{"haruto.yamamoto@demo.kizuna.example", "API のレート制限について", "open", "normal", 3},
	{"sota.kobayashi@demo.kizuna.example", "ダッシュボードの CSV 出力が文字化けする", "pending", "normal", 6},
	{"olivia.brown@demo.kizuna.example", "Invoice address change", "solved", "low", 75},
	{"lucas.martin@demo.kizuna.example", "Sensor readings drift after firmware 2.3", "open", "urgent", 1},
}

// seedCRM writes the demo CRM records. A member is known to the CRM by its member id (the
// community's user id) and a Salesforce contact id, which puts the records on the member's profile.
// It returns the profile of each member with CRM records, by email.
func seedCRM(ctx context.Context, acc *accounts.Service, c *crm.Service, now time.Time) (map[string]string, error) {
	sys := accounts.System()
	day := func(n int) time.Time { return now.AddDate(0, 0, n).Truncate(24 * time.Hour) }
	customer := func(email string) ([]identity.ID, error) {
		m, err := acc.MemberByEmail(ctx, email)
		if err != nil {
			return nil, fmt.Errorf("demo customer %s: %w", email, err)
		}
		return []identity.ID{{Type: "user_id", Value: m.ID}, {Type: "crm:salesforce", Value: "003" + m.ID}}, nil
	}
	for _, a := range demoAccounts {
		if _, err := c.UpsertAccount(ctx, sys, crm.AccountInput{ExternalID: a.ext, Name: a.name, Domain: a.domain, Industry: a.industry, Plan: a.plan}); err != nil {
			return nil, fmt.Errorf("demo account %s: %w", a.ext, err)
		}
		if _, err := c.UpsertContract(ctx, sys, crm.ContractInput{ExternalID: "800" + a.ext, AccountExternalID: a.ext, Plan: a.plan,
			Status: map[bool]string{true: "active", false: "expired"}[a.contract[1] > 0], StartsOn: day(-a.contract[0]), RenewsOn: day(a.contract[1]),
			AmountMinor: a.amount, Currency: "JPY"}); err != nil {
			return nil, fmt.Errorf("demo contract of %s: %w", a.ext, err)
		}
	}
	profiles := map[string]string{}
	for i, o := range demoOrders {
		ids, err := customer(o.member)
		if err != nil {
			return nil, err
		}
		pu, err := c.UpsertPurchase(ctx, sys, crm.PurchaseInput{ExternalID: fmt.Sprintf("ORD-DEMO-%03d", i+1), Customer: ids,
			AmountMinor: o.amount, Currency: o.currency, PurchasedAt: day(-o.daysAgo).Add(10 * time.Hour), Product: o.product})
		if err != nil {
			return nil, fmt.Errorf("demo order %d: %w", i+1, err)
		}
		profiles[o.member] = pu.ProfileID
	}
	for i, t := range demoTickets {
		ids, err := customer(t.member)
		if err != nil {
			return nil, err
		}
		in := crm.TicketInput{ExternalID: fmt.Sprintf("TCK-DEMO-%03d", i+1), Customer: ids, Subject: t.subject, Status: t.status,
			Priority: t.priority, OpenedAt: day(-t.daysAgo).Add(9 * time.Hour)}
		if t.status == "solved" {
			in.SolvedAt = in.OpenedAt.Add(30 * time.Hour)
		}
		tk, err := c.UpsertTicket(ctx, sys, in)
		if err != nil {
			return nil, fmt.Errorf("demo ticket %d: %w", i+1, err)
		}
		profiles[t.member] = tk.ProfileID
	}
	for _, a := range demoAccounts {
		for _, email := range a.members {
			p, ok := profiles[email]
			if !ok {
				return nil, fmt.Errorf("demo member %s of %s has no order or ticket to find the profile by", email, a.ext)
			}
			if err := c.LinkProfileToAccount(ctx, sys, p, a.ext); err != nil {
				return nil, fmt.Errorf("demo member %s in %s: %w", email, a.ext, err)
			}
		}
	}
	return profiles, nil
}
