package web_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/onboarding"
	"github.com/kizuna-community/kizuna/internal/testkit/e2e"
)

// seedFeed makes a community whose popular posts are about the product and whose event posts,
// as popular as nothing, come last until a member says events interest them; and the onboarding
// survey that lets them say so. It returns the ids of the event posts.
func (s *site) seedFeed() (events []string) {
	s.t.Helper()
	ctx := context.Background()
	sys := accounts.System()
	for _, in := range []community.SpaceInput{
		{Slug: "product", Name: "製品Q&A", Description: "使い方の質問と回答", Visibility: community.Public},
		{Slug: "events", Name: "イベント", Description: "ユーザー会・勉強会のお知らせ", Visibility: community.Public},
	} {
		if _, err := s.com.CreateSpace(ctx, sys, in); err != nil {
			s.t.Fatal(err)
		}
	}
	member := func(email, name string) accounts.Principal {
		m, err := s.acc.CreateMember(ctx, sys, accounts.SignUpInput{Email: email, Password: "correct horse battery", DisplayName: name}, accounts.RoleMember)
		if err != nil {
			s.t.Fatal(err)
		}
		return m.Principal()
	}
	authors := []accounts.Principal{member("sato@example.com", "佐藤 健"), member("lee@example.com", "李 美玲"), member("yamada@example.com", "山田 太郎")}
	fans := []accounts.Principal{member("fan1@example.com", "田中 優"), member("fan2@example.com", "鈴木 蓮"), member("fan3@example.com", "高橋 葵")}
	post := func(i int, space, title, body string, reactions int, tags ...string) string {
		p, err := s.com.CreatePost(ctx, authors[i%len(authors)], space, community.PostInput{Title: title, Body: body, Tags: tags})
		if err != nil {
			s.t.Fatal(err)
		}
		for _, f := range fans[:reactions] {
			if err := s.com.React(ctx, f, "post", p.ID, "like"); err != nil {
				s.t.Fatal(err)
			}
		}
		return p.ID
	}
	events = append(events,
		post(0, "events", "Kizuna 東京ユーザー会 #12 の参加者募集", "連携活用の LT 大会を渋谷で開催します。初めての方も歓迎です。", 0, "イベント"),
		post(1, "events", "大阪もくもく勉強会のふりかえり", "当日の資料と質問への回答をまとめました。", 0, "イベント"))
	post(2, "product", "CSV の書き出しで文字化けする", "Excel で開くと日本語が化けます。BOM 付きにできますか？", 1, "csv")
	post(0, "product", "Salesforce 連携の同期間隔を短くしたい", "5 分ごとの同期を 1 分にする方法はありますか。", 2, "連携")
	post(1, "product", "ダッシュボードのおすすめ設定を教えてください", "皆さんが最初に置いているウィジェットが知りたいです。", 3)
	if _, err := s.onb.CreateQuestion(ctx, sys, onboarding.Question{Key: "topics", Kind: onboarding.Multiple,
		PromptJA: "興味のあることを教えてください", PromptEN: "What are you interested in?",
		Choices: []onboarding.Choice{
			{Value: "events", LabelJA: "イベント・勉強会", LabelEN: "Events & meetups", InterestKind: onboarding.InterestSpace, InterestRef: "events", AutoSegment: true},
			{Value: "product", LabelJA: "製品の使い方", LabelEN: "Using the product", InterestKind: onboarding.InterestSpace, InterestRef: "product"},
			{Value: "integrations", LabelJA: "外部サービス連携", LabelEN: "Integrations", InterestKind: onboarding.InterestTag, InterestRef: "連携"},
			{Value: "ideas", LabelJA: "新機能のアイデア", LabelEN: "Feature ideas"},
		}}); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.onb.CreateQuestion(ctx, sys, onboarding.Question{Key: "role", Kind: onboarding.Single,
		PromptJA: "お仕事での役割は？", PromptEN: "What is your role?",
		Choices: []onboarding.Choice{{Value: "marketing", LabelJA: "マーケティング", LabelEN: "Marketing"}, {Value: "engineering", LabelJA: "開発", LabelEN: "Engineering"},
			{Value: "success", LabelJA: "カスタマーサクセス", LabelEN: "Customer success"}, {Value: "other", LabelJA: "その他", LabelEN: "Other"}}}); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.onb.CreateQuestion(ctx, sys, onboarding.Question{Key: "experience", Kind: onboarding.Scale,
		PromptJA: "Kizuna にどのくらい慣れていますか？", PromptEN: "How familiar are you with Kizuna?", ScaleMin: 1, ScaleMax: 5}); err != nil {
		s.t.Fatal(err)
	}
	return events
}

var feedTitle = regexp.MustCompile(`class="feed-title" href="/posts/([^"]+)"`)

// feedOrder is the post ids of a page's feed, in order.
func feedOrder(body string) []string {
	var out []string
	for _, m := range feedTitle.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestOnboardingAndFeed(t *testing.T) {
	s := newSiteOpts(t, siteOptions{onboarding: true})
	events := s.seedFeed()
	ctx := context.Background()

	// Visitors get the popular feed on the landing page: the most reacted first.
	visitor := s.browser("ja")
	home := visitor.get("/")
	home.expect(t, http.StatusOK, "いま話題の投稿", "ダッシュボードのおすすめ設定")
	if order := feedOrder(home.Body); len(order) != 5 || !contains(order[3:], events[0]) || !contains(order[3:], events[1]) {
		t.Fatalf("the popular feed %v puts the event posts %v before popular ones", order, events)
	}

	// A new member is sent to the survey, which they may skip.
	b := s.browser("ja")
	b.post("/signup", url.Values{"email": {"new@example.com"}, "password": {"correct horse battery"}, "display_name": {"新井 春"}}).redirectsTo(t, "/welcome")
	page := b.get("/welcome")
	page.expect(t, http.StatusOK, "あなたのことを教えてください", "イベント・勉強会", "お仕事での役割は？", `id="onboarding-skip"`)
	en := s.browser("en")
	en.post("/signup", url.Values{"email": {"en@example.com"}, "password": {"correct horse battery"}, "display_name": {"Ann"}}).redirectsTo(t, "/welcome")
	en.get("/welcome").expect(t, http.StatusOK, "Tell us about yourself", "Events &amp; meetups", "What is your role?", "Later")
	before := feedOrder(b.get("/").Body)
	if contains(before[:3], events[0]) || contains(before[:3], events[1]) {
		t.Fatalf("before the survey the feed %v starts with event posts", before)
	}

	qs, err := s.onb.Questions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.post("/welcome", url.Values{"q_" + qs[0].ID: {"nope"}}).expect(t, http.StatusUnprocessableEntity, "nope")
	b.post("/welcome", url.Values{"q_" + qs[0].ID: {"events", "ideas"}, "q_" + qs[1].ID: {"marketing"}, "q_" + qs[2].ID: {"4"}}).redirectsTo(t, "/?notice=interests")
	after := b.get("/?notice=interests")
	after.expect(t, http.StatusOK, "回答を保存しました", "「イベント」に興味があるため")
	order := feedOrder(after.Body)
	if !contains(order[:2], events[0]) || !contains(order[:2], events[1]) {
		t.Fatalf("after choosing events the feed is %v, want %v first", order, events)
	}
	in, err := s.onb.Interests(ctx, s.memberID("new@example.com"))
	if err != nil || len(in.Spaces) != 1 || in.Spaces[0] != "events" {
		t.Fatalf("interests %+v, %v", in, err)
	}

	// The member changes their answers from their settings.
	b.get("/settings/interests").expect(t, http.StatusOK, "興味・関心", `value="events" checked`, `value="marketing" checked`)
	b.post("/settings/interests", url.Values{"q_" + qs[0].ID: {"integrations"}}).redirectsTo(t, "/settings/interests?saved=1")
	order = feedOrder(b.get("/").Body)
	p, err := s.com.Post(ctx, accounts.System(), order[0])
	if err != nil || !strings.Contains(p.Title, "Salesforce") {
		t.Fatalf("after choosing integrations the feed starts with %q, %v", p.Title, err)
	}

	// Staff define questions and pin posts; members may not.
	b.get("/admin/onboarding").expect(t, http.StatusForbidden)
	admin := s.admin("ja")
	admin.get("/admin/onboarding").expect(t, http.StatusOK, "オンボーディング", "topics", "自動セグメント", "space:events")
	admin.post("/admin/onboarding", url.Values{"key": {"Bad Key"}, "kind": {"text"}, "prompt_ja": {"?"}}).expect(t, http.StatusUnprocessableEntity)
	admin.post("/admin/onboarding", url.Values{"key": {"plan"}, "kind": {"single"}, "prompt_ja": {"ご利用のプランは？"}, "prompt_en": {"Your plan?"},
		"c0_label_ja": {"無料"}, "c0_label_en": {"Free"}, "c0_value": {"free"}, "c1_label_ja": {"エンタープライズ"}, "c1_label_en": {"Enterprise"}, "c1_tag": {"#enterprise"}}).
		redirectsTo(t, "/admin/onboarding?notice=created")
	qs, _ = s.onb.Questions(ctx)
	if len(qs) != 4 || qs[3].Key != "plan" || qs[3].Choices[1].Interest() != "tag:enterprise" {
		t.Fatalf("questions after the form: %+v", qs)
	}
	admin.post("/admin/onboarding/"+qs[3].ID+"/delete", nil).redirectsTo(t, "/admin/onboarding?notice=deleted")
	admin.post("/posts/"+events[1]+"/feed-pin", url.Values{"pin": {"1"}}).redirectsTo(t, "/posts/"+events[1])
	if order := feedOrder(visitor.get("/").Body); order[0] != events[1] {
		t.Fatalf("the pinned post is not first: %v", order)
	}
	b.post("/posts/"+events[1]+"/feed-pin", url.Values{"pin": {"0"}}).expect(t, http.StatusForbidden)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestBrowserOnboarding signs a member up in Chromium, answers the onboarding survey by choosing
// events, and sees the home feed put the event posts first; KIZUNA_SCREENSHOTS=DIR writes the
// survey and the feed in Japanese.
func TestBrowserOnboarding(t *testing.T) {
	br := e2e.Need(t)
	s := newSiteOpts(t, siteOptions{onboarding: true})
	events := s.seedFeed()
	s.admin("ja") // the staff page's screenshot
	br.Run(t, 120*time.Second, filepath.Join("e2e", "onboarding.mjs"), s.URL, strings.Join(events, ","))
	in, err := s.onb.Interests(context.Background(), s.memberID("haru@example.com"))
	if err != nil || len(in.Spaces) != 1 || in.Spaces[0] != "events" {
		t.Fatalf("interests after the browser's answers: %+v, %v", in, err)
	}
}
