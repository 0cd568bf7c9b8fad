package web_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/testkit/e2e"
)

// TestBrowserFlow drives real headless Chromium through the shell: set-up link, admin, an API key
// created and revoked through htmx, the language switch, log-out and a Japanese sign-up. Set
// KIZUNA_SCREENSHOTS=DIR to also write the PNGs of docs/screenshots; KIZUNA_E2E=required makes
// a missing browser or node a failure instead of a skip.
func TestBrowserFlow(t *testing.T) {
	br := e2e.Need(t)

	s := newSite(t)
	token, err := s.acc.SetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	br.Run(t, 90*time.Second, filepath.Join("e2e", "flow.mjs"), s.URL, "/setup?token="+token)

	// What the browser did, as the accounts service sees it.
	keys, err := s.acc.ListAPIKeys(context.Background(), accounts.System())
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys after the flow: %d, %v", len(keys), err)
	}
	if keys[1].Name != "BI エクスポート" || keys[1].RevokedAt == nil || keys[0].RevokedAt != nil {
		t.Fatalf("keys after the flow: %+v", keys)
	}
	m, err := s.acc.GetMember(context.Background(), s.memberID("hanako@example.com"))
	if err != nil || m.Locale != "ja" || m.EmailVerified || m.DisplayName != "山田 花子" {
		t.Fatalf("member after sign-up: %+v, %v", m, err)
	}
	admin, err := s.acc.GetMember(context.Background(), s.memberID("aiko@example.com"))
	if err != nil || admin.Role != accounts.RoleAdmin || admin.Locale != "en" {
		t.Fatalf("admin after the flow (switched to English): %+v, %v", admin, err)
	}
}

// TestBrowserCommunity drives two members through the community in headless Chromium: a
// question asked, answered and accepted, an idea voted through htmx, an RSVP to an event through
// htmx, direct messages, and markup typed into every form that never opens a dialog. KIZUNA_SCREENSHOTS=DIR writes its PNGs too.
func TestBrowserCommunity(t *testing.T) {
	br := e2e.Need(t)
	s := newSite(t)
	s.spaces()
	idea := s.seedCommunity()
	event := s.seedEvents()
	s.seedReports()
	br.Run(t, 120*time.Second, filepath.Join("e2e", "community.mjs"), s.URL, idea, event)
	// What the browser did, as the community sees it.
	posts, _, err := s.com.Topics(context.Background(), accounts.System(), community.TopicQuery{SpaceID: "guide", Filter: "solved"})
	if err != nil || len(posts) != 2 { // the seeded one and the browser's
		t.Fatalf("solved questions after the flow: %d, %v", len(posts), err)
	}
	p, err := s.com.Post(context.Background(), accounts.System(), idea)
	if reports, _, err := s.com.Reports(context.Background(), accounts.System(), community.ReportDismissed, "", 10); err != nil || len(reports) != 1 {
		t.Fatalf("dismissed reports after the flow: %d, %v", len(reports), err)
	}
	if err != nil || p.VoteCount != 4 {
		t.Fatalf("idea after the vote: %d votes, %v", p.VoteCount, err)
	}
	m, err := s.acc.GetMember(context.Background(), s.memberID("misaki@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.mtp.Get(context.Background(), m.Principal(), event)
	if err != nil || e.MyRSVP != meetup.Going || e.Going != 4 {
		t.Fatalf("event after the RSVP: %q, %d going, %v", e.MyRSVP, e.Going, err)
	}
}

// seedReports files reports for the moderation screenshot.
func (s *site) seedReports() {
	s.t.Helper()
	ctx := context.Background()
	spammer := s.named("deals@example.com", "激安ショップ")
	spam, err := s.com.CreatePost(ctx, spammer, "guide", community.PostInput{Title: "【期間限定】フォロワーが 1 日で 1 万人増える方法", Body: "今すぐこちらのリンクから登録してください！"})
	if err != nil {
		s.t.Fatal(err)
	}
	for _, r := range []struct {
		email string
		in    community.ReportInput
	}{
		{"sato@example.com", community.ReportInput{TargetKind: "post", TargetID: spam.ID, Reason: "spam", Note: "外部サイトへの誘導です"}},
		{"lee@example.com", community.ReportInput{TargetKind: "member", TargetID: s.memberID("deals@example.com"), Reason: "abuse", Note: "同じ宣伝を何度も投稿しています"}},
	} {
		m, err := s.acc.GetMember(ctx, s.memberID(r.email))
		if err != nil {
			s.t.Fatal(err)
		}
		if _, err := s.com.ReportContent(ctx, m.Principal(), r.in); err != nil {
			s.t.Fatal(err)
		}
	}
}

// seedEvents schedules the events of the browser test and its screenshots and returns the id of
// the Tokyo meetup, which three members are going to.
func (s *site) seedEvents() string {
	s.t.Helper()
	ctx := context.Background()
	start := nextWeek()
	tokyo := s.event("guide", meetup.EventInput{Title: "Kizuna 東京ユーザー会 #12 — 連携活用 LT 大会",
		Description: "ユーザー同士で Slack・Salesforce 連携の活用事例を共有する LT 大会です。\n\n" +
			"## タイムテーブル\n\n- 19:00 開場・受付（チェックインコードを会場で案内します）\n- 19:15 LT（5 分 × 6 本）\n- 20:15 懇親会\n\n" +
			"初めての方も歓迎です。登壇希望の方はコメントでお知らせください。",
		Place: "東京都渋谷区 渋谷スクランブルスクエア 15F イベントスペース", StartsAt: start, EndsAt: start.Add(2 * time.Hour), TimeZone: "Asia/Tokyo", Capacity: 40})
	s.event("guide", meetup.EventInput{Title: "新機能ウェビナー：ダッシュボードの使いこなし", Online: true, URL: "https://meet.example.com/kizuna-webinar",
		StartsAt: start.Add(50 * time.Hour), EndsAt: start.Add(51 * time.Hour), TimeZone: "Asia/Tokyo"})
	s.event("guide", meetup.EventInput{Title: "Global community office hours", Online: true, URL: "https://meet.example.com/office-hours",
		StartsAt: start.Add(7*24*time.Hour + 5*time.Hour), EndsAt: start.Add(7*24*time.Hour + 6*time.Hour), TimeZone: "America/Los_Angeles", Capacity: 100})
	s.event("guide", meetup.EventInput{Title: "大阪もくもく勉強会", Place: "大阪市北区 梅田コワーキング", StartsAt: start.AddDate(0, 0, -20),
		EndsAt: start.AddDate(0, 0, -20).Add(3 * time.Hour), TimeZone: "Asia/Tokyo"})
	for _, email := range []string{"sato@example.com", "lee@example.com", "yamada@example.com"} {
		m, err := s.acc.GetMember(ctx, s.memberID(email))
		if err != nil {
			s.t.Fatal(err)
		}
		if _, err := s.mtp.RSVP(ctx, m.Principal(), tokyo.ID, meetup.Going); err != nil {
			s.t.Fatal(err)
		}
	}
	return tokyo.ID
}
