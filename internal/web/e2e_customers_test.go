package web_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/testkit/e2e"
)

// TestBrowserCustomer360 runs the tracker and the customer 360 end to end in headless Chromium,
// on the real backbone: an anonymous visitor's page views go through kizuna.js and the tracking
// API onto the stream, the sign-up's identify (from the page and from the server, with the
// anonymous id cookie) joins them to the member's profile, and staff find the member by email
// and see those views on the timeline. KIZUNA_SCREENSHOTS=DIR writes its PNGs.
func TestBrowserCustomer360(t *testing.T) {
	br := e2e.Need(t)
	s := newSiteOpts(t, siteOptions{backbone: true})
	s.spaces()
	c := s.seedCustomer()
	token, err := s.acc.SetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	br.Run(t, 120*time.Second, filepath.Join("e2e", "customers.mjs"), s.URL, "/setup?token="+token, c.root)

	// What reached the profile, as the profile service sees it: the two anonymous page views
	// from before the sign-up came through the tracking API and now belong to the member.
	ctx := context.Background()
	member := s.memberID("hinata@sample.co.jp")
	pid, err := s.idg.Lookup(ctx, "user_id", member)
	if err != nil {
		t.Fatal(err)
	}
	evs, _, err := s.prf.Events(ctx, accounts.System(), pid, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var signedUp time.Time
	for _, e := range evs {
		if e.Name == "Member Signed Up" {
			signedUp = e.At
		}
	}
	// Before signing up the visitor viewed /, /spaces and the sign-up page itself.
	var paths []string
	for _, e := range evs {
		if e.Type == event.Page && e.Source == event.SourceTracking && e.At.Before(signedUp) {
			var props struct{ Path string }
			if err := json.Unmarshal(e.Properties, &props); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, props.Path)
		}
	}
	slices.Sort(paths)
	if signedUp.IsZero() || !slices.Equal(paths, []string{"/", "/signup", "/spaces"}) {
		t.Fatalf("profile events: sign-up at %v, tracked page views before it %q", signedUp, paths)
	}
}
