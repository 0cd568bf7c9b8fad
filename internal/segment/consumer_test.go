package segment

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/profile"
)

func TestConsumerReevaluatesTheProfilesEventsTouch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		f.exec(t, `INSERT INTO identity_profiles (id, created_at) VALUES ('a', 0), ('b', 0)`)
		if _, err := f.s.Create(ctx, accounts.System(), "Posters", json.RawMessage(`{"event":"Post Created"}`)); err != nil {
			t.Fatal(err)
		}
		lean := func(msg, user string, received time.Time) backbone.Lean {
			ev := event.New(event.Track, "Post Created", event.SourceCommunity, received)
			ev.MessageID, ev.UserID = msg, user
			return backbone.Lean{Event: ev}
		}
		// The event has not landed on a profile yet and is young: the batch fails, to be retried.
		start := time.Now()
		if err := f.s.handleLean(ctx, []backbone.Lean{lean("m1", "u1", f.clock())}); err == nil {
			t.Fatal("a batch whose events are not on profiles passed")
		}
		if waited := time.Since(start); waited < profile.LandWait {
			t.Fatalf("gave up after %v", waited)
		}
		// Once the profile consumer put it on a, a enters.
		f.exec(t, `INSERT INTO profile_events (message_id, profile_id, type, name, source, at) VALUES ('m1', 'a', 'track', 'Post Created', 'community', 1)`)
		old := lean("m9", "u9", f.clock().Add(-time.Hour)) // never lands: left to the recomputation
		if err := f.s.handleLean(ctx, []backbone.Lean{lean("m1", "u1", f.clock()), old}); err != nil {
			t.Fatal(err)
		}
		if evs := f.events(t); fmt.Sprint(evs) != "[Segment Entered Posters a]" {
			t.Fatalf("events %v", evs)
		}
		// An event naming b's profile (a CRM or consent event) re-evaluates b.
		f.exec(t, `INSERT INTO profile_events (message_id, profile_id, type, name, source, at) VALUES ('m2', 'b', 'track', 'Post Created', 'community', 1)`)
		ev := event.New(event.Track, "Ticket Updated", event.SourceCRM, f.clock())
		ev.AnonymousID, ev.ProfileID = "kizuna:crm", "b"
		f.exec(t, `INSERT INTO profile_events (message_id, profile_id, type, name, source, at) VALUES ($1, 'b', 'track', 'Ticket Updated', 'crm', 1)`, ev.MessageID)
		if err := f.s.handleLean(ctx, []backbone.Lean{{Event: ev}}); err != nil {
			t.Fatal(err)
		}
		if evs := f.events(t); fmt.Sprint(evs) != "[Segment Entered Posters b]" {
			t.Fatalf("events %v", evs)
		}
	})
}
