package profile_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/profile"
)

// TestPeopleMetInOneBatchEndAsOneProfileEach gives the consumer one large batch in which each
// person's calls are split between the parts PostgreSQL applies at once: page views under a new
// anonymous id, an identify joining it to a new user id, and server-side tracks under the user id
// alone. Where two parts create the same person, one fails and is applied again; each person
// must still end as one profile holding all of their events, once each, as on SQLite.
func TestPeopleMetInOneBatchEndAsOneProfileEach(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		d := dbtest.Open(t, e, backbone.Migrations(), identity.Migrations(), crm.Migrations(), profile.Migrations())
		ob := backbone.NewOutbox(d)
		g := identity.New(identity.Deps{DB: d, Outbox: ob})
		s := profile.New(profile.Deps{DB: d, Outbox: ob, Identity: g, CRM: crm.New(crm.Deps{DB: d, Outbox: ob, Identity: g})})
		ctx := context.Background()
		at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
		const people = 300
		var evs []event.Event
		for i := range people {
			anon, user := fmt.Sprintf("anon-%d", i), fmt.Sprintf("user-%d", i)
			page := event.New(event.Page, "Pricing", event.SourceTracking, at)
			page.AnonymousID = anon
			id := event.New(event.Identify, "", event.SourceTracking, at.Add(time.Second))
			id.AnonymousID, id.UserID = anon, user
			id.Traits = map[string]any{"email": fmt.Sprintf("person%d@example.jp", i), "plan": "pro"}
			track := event.New(event.Track, "Order Completed", event.SourceTracking, at.Add(2*time.Second))
			track.UserID = user
			track.Properties = map[string]any{"revenue": 1200}
			evs = append(evs, page, id, track)
		}
		if err := s.Consumer().Handle(ctx, evs); err != nil {
			t.Fatal(err)
		}
		// Delivered again, as after a crash: nothing changes.
		if err := s.Consumer().Handle(ctx, evs); err != nil {
			t.Fatal(err)
		}
		for i := range people {
			byUser, err := s.Lookup(ctx, accounts.System(), "user_id", fmt.Sprintf("user-%d", i))
			if err != nil {
				t.Fatalf("person %d by user id: %v", i, err)
			}
			byAnon, err := s.Lookup(ctx, accounts.System(), "anonymous_id", fmt.Sprintf("anon-%d", i))
			if err != nil {
				t.Fatalf("person %d by anonymous id: %v", i, err)
			}
			if byUser.ID != byAnon.ID {
				t.Fatalf("person %d is two profiles: %s by user id, %s by anonymous id", i, byUser.ID, byAnon.ID)
			}
			if c := byUser.Computed; c.Events != 3 || c.PageViews != 1 || c.EventCounts["Order Completed"] != 1 {
				t.Fatalf("person %d's profile counts %+v; want 3 events, 1 page view, 1 order", i, c)
			}
			if got := byUser.Traits["plan"]; got != "pro" {
				t.Fatalf("person %d's plan trait is %v", i, got)
			}
		}
		var n int
		if err := d.R.QueryRow(`SELECT COUNT(*) FROM profile_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 3*people {
			t.Fatalf("%d events on profiles, want %d", n, 3*people)
		}
	})
}
