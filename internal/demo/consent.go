package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/consent"
)

// The demo consents: what the demo customers agreed to when they signed up, on LINE and later,
// and what went to the CRM, so that the consent sections of their 360 pages are full. The times
// are fixed, so seeding again stores nothing new.

type demoConsent struct {
	member  string
	channel consent.Channel
	purpose consent.Purpose
	status  consent.Status
	source  consent.Source
	text    string
	at      time.Time
}

func jst(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.FixedZone("JST", 9*60*60))
}

var demoConsents = []demoConsent{
	{"haruto.yamamoto@demo.kizuna.example", "email", "marketing", "opted_in", "signup_form", "signup-2025-04", jst(2025, 4, 8, 10, 12)},
	{"haruto.yamamoto@demo.kizuna.example", "email", "product_news", "opted_in", "signup_form", "signup-2025-04", jst(2025, 4, 8, 10, 12)},
	{"haruto.yamamoto@demo.kizuna.example", "email", "third_party:crm", "opted_in", "permission_screen", "crm-sharing-v1", jst(2025, 4, 8, 10, 13)},
	{"haruto.yamamoto@demo.kizuna.example", "line", "marketing", "opted_in", "line_follow", "", jst(2025, 5, 2, 19, 40)},
	{"haruto.yamamoto@demo.kizuna.example", "email", "research", "opted_in", "privacy_centre", "privacy-2025-06", jst(2025, 6, 15, 8, 5)},
	{"yui.nakamura@demo.kizuna.example", "email", "marketing", "opted_in", "signup_form", "signup-2025-04", jst(2025, 4, 20, 13, 0)},
	{"yui.nakamura@demo.kizuna.example", "email", "marketing", "opted_out", "unsubscribe_link", "", jst(2025, 9, 3, 7, 31)},
	{"sota.kobayashi@demo.kizuna.example", "email", "product_news", "opted_in", "import", "crm-form-2024", jst(2024, 11, 1, 0, 0)},
	{"olivia.brown@demo.kizuna.example", "email", "marketing", "opted_in", "signup_form", "signup-2025-04", jst(2025, 7, 1, 23, 10)},
	{"olivia.brown@demo.kizuna.example", "sms", "marketing", "opted_out", "staff", "", jst(2025, 8, 12, 2, 0)},
	{"lucas.martin@demo.kizuna.example", "in_app", "research", "opted_in", "privacy_centre", "privacy-2025-06", jst(2025, 7, 19, 1, 45)},
}

// seedConsents records the demo consents on the members' profiles, and one provision to the CRM.
func seedConsents(ctx context.Context, l *consent.Ledger, profiles map[string]string) error {
	sys := accounts.System()
	for _, c := range demoConsents {
		p, ok := profiles[c.member]
		if !ok {
			return fmt.Errorf("demo consent of %s: the member has no profile", c.member)
		}
		if _, err := l.Record(ctx, sys, p, []consent.Input{{Channel: c.channel, Purpose: c.purpose, Status: c.status, Source: c.source,
			TextVersion: c.text, RecordedAt: c.at}}); err != nil {
			return fmt.Errorf("demo consent of %s: %w", c.member, err)
		}
	}
	p := profiles["haruto.yamamoto@demo.kizuna.example"]
	prev, err := l.Provisions(ctx, sys, p)
	if err != nil || len(prev) > 0 {
		return err
	}
	_, err = l.RecordProvision(ctx, p, "Salesforce (crm)", []string{"email", "name", "company", "community activity"}, consent.BasisConsent,
		jst(2025, 4, 9, 3, 0))
	return err
}
