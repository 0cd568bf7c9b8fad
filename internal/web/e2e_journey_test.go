package web_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/accounts/social"
	"github.com/kizuna-community/kizuna/internal/accounts/social/socialtest"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/privacy"
	"github.com/kizuna-community/kizuna/internal/testkit/e2e"
	"github.com/kizuna-community/kizuna/internal/testkit/piiscan"
)

// TestBrowserSignUpToErasure follows one member in headless Chromium from a social sign-up to the
// deletion of their account, on the real backbone with the real consent ledger: they sign up
// through an OIDC provider on loopback, opt in to email offers on the permission screen, link LINE
// and opt in to LINE messages, opt out of email marketing in the privacy centre, download their
// data and delete the account. The ledger then holds each choice with its evidence under the
// tombstone, and a scan of every table of both databases finds nothing of them.
func TestBrowserSignUpToErasure(t *testing.T) {
	br := e2e.Need(t)
	op := socialtest.NewOIDC(t)
	line := socialtest.NewLINE(t, "1660000001", "0123456789abcdef0123456789abcdef")
	s := newSiteOpts(t, siteOptions{backbone: true, ledger: true, providers: []accounts.ProviderConfig{
		{Key: "line", AllowSignUp: true, Config: line.Config()},
		{Key: "google", AllowSignUp: true, Config: op.Config(social.KindGoogle)},
	}})
	const (
		email     = "sakura.kobayashi@kizuna-mail.jp"
		name      = "小林 さくら"
		googleSub = "108765432109876543210"
	)
	lineSub := socialtest.LINEUserID("sakura")
	op.Queue(socialtest.Person{Subject: googleSub, Name: name, Email: email, EmailVerified: true})
	line.Queue(socialtest.Person{Subject: lineSub, Name: "さくら🌸"})

	br.Run(t, 180*time.Second, filepath.Join("e2e", "journey.mjs"), s.URL, email)

	ctx := context.Background()
	var req privacy.Request
	s.eventually("the erasure completed", func() (string, bool) {
		reqs, _, err := s.priv.Requests(ctx, accounts.System(), privacy.Filter{}, "", 10)
		for _, r := range reqs {
			if r.Kind == privacy.KindErasure && r.Status == privacy.StatusCompleted {
				req = r
				return r.ID, err == nil
			}
		}
		return "", false
	})
	// The choices, kept as evidence under the tombstone without IP address or browser: the two
	// opt-ins of the permission screens, and the later opt-out of the privacy centre.
	for _, c := range []struct{ channel, purpose, status, source string }{
		{"email", "marketing", "opted_in", "permission_screen"},
		{"line", "marketing", "opted_in", "permission_screen"},
		{"email", "marketing", "opted_out", "privacy_centre"},
	} {
		var n int
		if err := s.db.R.QueryRow(`SELECT count(*) FROM consent_records WHERE profile_id = $1 AND channel = $2 AND purpose = $3
			AND status = $4 AND source = $5 AND text_version <> '' AND ip = '' AND user_agent = ''`,
			req.TombstoneID, c.channel, c.purpose, c.status, c.source).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s %s %s from the %s: %d records, %v", c.channel, c.purpose, c.status, c.source, n, err)
		}
	}
	piiscan.Check(t, []*db.DB{s.db, s.logDB}, email, name, googleSub, lineSub, "さくら🌸")
}
