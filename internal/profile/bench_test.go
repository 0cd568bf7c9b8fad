package profile_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/profile"
)

// BenchmarkConsumer measures the profile consumer alone: batches of 3,200 events (the most the
// backbone gathers into one Handle call) from 20,000 people, one in ten an identify with traits,
// every event resolved through the identity graph and put on its profile. It reports events/s.
func BenchmarkConsumer(b *testing.B) {
	for _, e := range dbtest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			d := dbtest.Open(b, e, backbone.Migrations(), identity.Migrations(), crm.Migrations(), profile.Migrations())
			ob := backbone.NewOutbox(d)
			g := identity.New(identity.Deps{DB: d, Outbox: ob})
			s := profile.New(profile.Deps{DB: d, Outbox: ob, Identity: g, CRM: crm.New(crm.Deps{DB: d, Outbox: ob, Identity: g})})
			h := s.Consumer().Handle
			const batch, people = 3200, 20_000
			at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			n := 0
			next := func() event.Event {
				n++
				u := n * 7919 % people
				var ev event.Event
				switch n % 10 {
				case 0:
					ev = event.New(event.Identify, "", event.SourceTracking, at)
					ev.Traits = map[string]any{"email": fmt.Sprintf("user%d@kizuna-shop.jp", u), "plan": []string{"free", "pro"}[n/people%2], "name": fmt.Sprint("会員 ", u)}
				case 1, 2, 3:
					ev = event.New(event.Page, "Pricing", event.SourceTracking, at)
					ev.Properties = map[string]any{"path": "/pricing", "title": "料金"}
				default:
					ev = event.New(event.Track, "Product Viewed", event.SourceTracking, at)
					ev.Properties = map[string]any{"sku": fmt.Sprint("KZ-", n%500), "price": 1200}
				}
				ev.UserID, ev.AnonymousID = fmt.Sprint("u-", u), fmt.Sprint("a-", u)
				ev.Context = map[string]any{"source_id": "bench"}
				at = at.Add(time.Millisecond)
				return ev
			}
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i += batch {
				b.StopTimer()
				evs := make([]event.Event, min(batch, b.N-i))
				for j := range evs {
					evs[j] = next()
				}
				b.StartTimer()
				if err := h(ctx, evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

var _ = db.SQLite
