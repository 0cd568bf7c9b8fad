package web_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/privacy"
	"github.com/kizuna-community/kizuna/internal/testkit/e2e"
	"github.com/kizuna-community/kizuna/internal/testkit/piiscan"
)

// TestBrowserPrivacyCentre drives the privacy centre in headless Chromium on the real backbone:
// a member who took part in the community opts out of email marketing, downloads their data and
// deletes their account; once the privacy consumer has erased them, a scan of every table of the
// main database and the event log finds nothing of them. KIZUNA_SCREENSHOTS=DIR writes the
// privacy centre's screenshots in Japanese.
func TestBrowserPrivacyCentre(t *testing.T) {
	br := e2e.Need(t)
	s := newSiteOpts(t, siteOptions{backbone: true})
	s.spaces()
	s.admin("ja")
	ctx := context.Background()
	const (
		email    = "misaki.takahashi@hokkaido-farm.jp"
		name     = "高橋 美咲"
		phone    = "080-4321-9876"
		e164     = "+818043219876"
		line     = "U0f1e2d3c4b5a69788796a5b4c3d2e1f0"
		anon     = "anon-misaki-e2e-5c8d"
		password = "misaki no password"
	)
	m, err := s.acc.SignUp(ctx, accounts.SignUpInput{Email: email, Password: password, DisplayName: name, Locale: "ja", AnonymousID: anon})
	if err != nil {
		t.Fatal(err)
	}
	me := m.Principal()
	friend := s.named("friend@example.com", "友人 一郎")
	// What she did: a question, a reply from a friend, a direct message; a server-side identify
	// with her phone; her LINE account linked; consents from the sign-up form; a provision.
	post, err := s.com.CreatePost(ctx, me, "guide", community.PostInput{Kind: community.Question, Title: "牧場の見学はできますか", Body: "週末に伺いたいです。"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.com.AddComment(ctx, friend, post.ID, community.CommentInput{Body: "土曜日なら大丈夫ですよ。"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.dms.Send(ctx, me, friend.MemberID, "先日はありがとうございました。"); err != nil {
		t.Fatal(err)
	}
	identify := event.New(event.Identify, "", event.SourceTracking, time.Now())
	identify.UserID, identify.AnonymousID = m.ID, anon
	identify.Traits = map[string]any{"email": email, "phone": phone, "name": name, "farm": "十勝"}
	if err := s.bb.Append(ctx, identify); err != nil {
		t.Fatal(err)
	}
	pid := s.eventually("her profile with the phone", func() (string, bool) {
		id, err := s.idg.Lookup(ctx, "phone", phone)
		return id, err == nil
	})
	if err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := s.idg.Resolve(ctx, tx, []identity.ID{{Type: "user_id", Value: m.ID}, {Type: "social:line", Value: line}}, "line login")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cns.Record(ctx, accounts.System(), pid, []consent.Input{
		{Channel: consent.ChannelEmail, Purpose: consent.PurposeMarketing, Status: consent.StatusOptedIn, Source: consent.SourceSignupForm, TextVersion: "signup-2026-05", IP: "203.0.113.50", UserAgent: "Mozilla/5.0"},
		{Channel: consent.ChannelEmail, Purpose: consent.PurposeProductNews, Status: consent.StatusOptedIn, Source: consent.SourceSignupForm, TextVersion: "signup-2026-05", IP: "203.0.113.50", UserAgent: "Mozilla/5.0"},
		{Channel: consent.ChannelLINE, Purpose: consent.PurposeMarketing, Status: consent.StatusOptedIn, Source: consent.SourceLINEFollow},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cns.RecordProvision(ctx, pid, "Salesforce (crm)", []string{"email", "name"}, consent.BasisConsent, time.Time{}); err != nil {
		t.Fatal(err)
	}

	br.Run(t, 180*time.Second, filepath.Join("e2e", "privacy.mjs"), s.URL, email, password, anon)

	// What the browser did, as the parts see it: the opt-out with its evidence, an export, an
	// erasure completed by the privacy consumer.
	reqs, _, err := s.priv.Requests(ctx, accounts.System(), privacy.Filter{}, "", 10)
	if err != nil || len(reqs) != 2 {
		t.Fatalf("requests: %+v %v", reqs, err)
	}
	for _, r := range reqs {
		if r.Status != privacy.StatusCompleted || r.MemberID != "" || r.ProfileID != "" || r.TombstoneID == "" || r.Channel != privacy.ChannelCentre {
			t.Errorf("request after the erasure: %+v", r)
		}
	}
	var optOut int
	if err := s.db.R.QueryRow(`SELECT count(*) FROM consent_records WHERE profile_id = $1 AND channel = 'email' AND purpose = 'marketing'
		AND status = 'opted_out' AND source = 'privacy_centre' AND text_version = 'privacy-centre-2026-05:ja' AND ip = ''`, reqs[0].TombstoneID).Scan(&optOut); err != nil || optOut != 1 {
		t.Fatalf("the opt-out kept as evidence under the tombstone, without the IP address: %d %v", optOut, err)
	}
	if d, err := s.cns.May(ctx, pid, consent.ChannelEmail, consent.PurposeService, email); err == nil && d.Allowed {
		t.Fatal("her address may still be sent to")
	}
	piiscan.Check(t, []*db.DB{s.db, s.logDB}, email, name, phone, e164, line, anon, m.ID, pid)
}
