package consent_test

import (
	"context"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// TestPermissionScreenChoicesReachTheMembersProfile records a new member's permission-screen
// choices before any event of theirs reached a profile, as accounts does right after a social
// sign-up: the boxes ticked allow those messages and the unticked one is a recorded "no", on the
// profile their later events land on, with the screen's evidence.
func TestPermissionScreenChoicesReachTheMembersProfile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := newEnv(t, e)
		ctx := context.Background()
		choices := []accounts.ConsentChoice{
			{Channel: accounts.ChannelLINE, Purpose: accounts.PurposeMarketing, OptedIn: true},
			{Channel: accounts.ChannelEmail, Purpose: accounts.PurposeMarketing, OptedIn: true},
			{Channel: accounts.ChannelEmail, Purpose: accounts.PurposeProductNews, OptedIn: false},
		}
		ev := accounts.ConsentEvidence{At: v.now, Source: accounts.ConsentSourceSocialSignUp, TextVersion: "social-permission/ja/abc123",
			Locale: "ja", Provider: "line", IP: "203.0.113.9", UserAgent: "Mozilla/5.0 (iPhone)"}
		if err := v.l.RecordConsents(ctx, "member-1", choices, ev); err != nil {
			t.Fatal(err)
		}
		// The member's own events land on the same profile.
		pid := v.profile(identity.ID{Type: "user_id", Value: "member-1"})
		cur, err := v.l.Current(ctx, accounts.System(), pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(cur) != 3 {
			t.Fatalf("%d current records, want 3: %+v", len(cur), cur)
		}
		for _, r := range cur {
			if r.Source != consent.SourcePermissionScreen || r.TextVersion != ev.TextVersion || r.IP != ev.IP || r.UserAgent != ev.UserAgent {
				t.Errorf("record %s/%s has evidence %s %q %q %q", r.Channel, r.Purpose, r.Source, r.TextVersion, r.IP, r.UserAgent)
			}
		}
		for _, c := range []struct {
			ch      consent.Channel
			pu      consent.Purpose
			allowed bool
		}{
			{consent.ChannelLINE, consent.PurposeMarketing, true},
			{consent.ChannelEmail, consent.PurposeMarketing, true},
			{consent.ChannelEmail, consent.PurposeProductNews, false},
			{consent.ChannelSMS, consent.PurposeMarketing, false},
		} {
			d, err := v.l.May(ctx, pid, c.ch, c.pu, "")
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != c.allowed {
				t.Errorf("May(%s, %s) = %+v; want allowed %v", c.ch, c.pu, d, c.allowed)
			}
		}
		if n := len(v.consentEvents()); n != 3 {
			t.Errorf("%d Consent Updated events, want 3", n)
		}
	})
}
