package web_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/survey"
	"github.com/kizuna-community/kizuna/internal/testkit/e2e"
)

// TestBrowserExtras drives the help center, badges, a poll voted through htmx, a survey and an
// image upload in Chromium, and takes their screenshots.
func TestBrowserExtras(t *testing.T) {
	br := e2e.Need(t)
	s := newSite(t)
	s.spaces()
	s.seedCommunity()
	pollPost, surveyID, article := s.seedExtras()
	br.Run(t, 120*time.Second, filepath.Join("e2e", "extras.mjs"), s.URL, pollPost, surveyID, article)
	sv, err := s.svy.ForPost(context.Background(), accounts.System(), pollPost)
	if err != nil || sv == nil || sv.Responses != 4 {
		t.Fatalf("poll after the browser's vote: %+v, %v", sv, err)
	}
	sr, err := s.svy.Get(context.Background(), accounts.System(), surveyID)
	if err != nil || sr.Responses != 3 {
		t.Fatalf("survey after the browser's answers: %d, %v", sr.Responses, err)
	}
}

// seedExtras fills the help center, badges, a poll and a survey on top of seedCommunity, and
// returns the poll's post, the survey and an article's slug.
func (s *site) seedExtras() (pollPost, surveyID, article string) {
	s.t.Helper()
	ctx := context.Background()
	must := func(err error) {
		s.t.Helper()
		if err != nil {
			s.t.Fatal(err)
		}
	}
	principal := func(email string) accounts.Principal {
		m, err := s.acc.GetMember(ctx, s.memberID(email))
		must(err)
		return m.Principal()
	}
	staff, sato, lee, yamada := principal("admin@example.com"), principal("sato@example.com"), principal("lee@example.com"), principal("yamada@example.com")
	for _, email := range []string{"admin@example.com", "sato@example.com", "lee@example.com", "yamada@example.com"} {
		_, err := s.com.Profile(ctx, s.memberID(email))
		must(err)
	}

	// The help center.
	var cats []kb.Category
	for _, c := range [][2]string{{"はじめに", "getting-started"}, {"連携", "integrations"}, {"アカウントと請求", "account"}} {
		cat, err := s.kbs.CreateCategory(ctx, staff, c[0], c[1])
		must(err)
		cats = append(cats, cat)
	}
	for _, a := range []kb.ArticleInput{
		{Slug: "first-steps", CategoryID: cats[0].ID, Title: "Kizuna をはじめる 5 つのステップ", Published: true,
			Body: "コミュニティに参加したら、まずは次の 5 つを試してみましょう。\n\n1. プロフィールを書く\n2. 興味のあるスペースに参加する\n3. 質問してみる\n4. 役に立った回答にリアクションする\n5. 通知の設定を見直す"},
		{Slug: "notification-settings", CategoryID: cats[0].ID, Title: "通知の受け取り方を変更する", Published: true,
			Body: "右上のメニューから **通知設定** を開き、種類ごとにメールとアプリ内通知を切り替えられます。"},
		{Slug: "salesforce", CategoryID: cats[1].ID, Title: "Salesforce 連携の設定方法", Published: true,
			Body: "## 事前準備\n\n- Salesforce の管理者権限\n- 接続用の API キー\n\n## 手順\n\n管理画面の **API キー** で `write` 権限のキーを発行し、Salesforce 側の接続設定に貼り付けます。"},
		{Slug: "invoice", CategoryID: cats[2].ID, Title: "請求書を再発行するには", Published: true,
			Body: "請求書の再発行はサポート窓口で受け付けています。"},
	} {
		_, err := s.kbs.CreateArticle(ctx, staff, a)
		must(err)
	}
	solved, _, err := s.com.Topics(ctx, staff, community.TopicQuery{SpaceID: "guide", Filter: "solved"})
	must(err)
	if len(solved) == 0 {
		s.t.Fatal("no solved question to make an article of")
	}
	from, err := s.kbs.ArticleFromAnswer(ctx, staff, solved[0].ID, "", kb.ArticleInput{Slug: "slack-notifications", CategoryID: cats[1].ID,
		Title: "Slack 連携で通知が届かないとき", Published: true,
		Body: "Slack 連携を設定しても通知が届かない場合、ほとんどはアプリがチャンネルに招待されていないことが原因です。\n\n## 解決方法\n\n1. 通知を受け取りたいチャンネルを開く\n2. `/invite @Kizuna` を実行する\n3. テスト通知を送って確認する\n\n> コミュニティの質問「Slack 連携の通知が届きません」への回答をもとにしています。"})
	must(err)
	for range 3 {
		must(s.kbs.RecordView(ctx, from.ID, ""))
	}

	// Badges.
	guide, err := s.com.Space(ctx, staff, "guide")
	must(err)
	_, err = s.bdg.CreateBadge(ctx, staff, badges.BadgeInput{Slug: "speaker", Name: "ユーザー会登壇者", Description: "ユーザー会で LT に登壇しました。", Kind: badges.KindManual})
	must(err)
	_, err = s.bdg.CreateBadge(ctx, staff, badges.BadgeInput{Slug: "centurion", Name: "100 ポイント達成", Description: "コミュニティで 100 ポイントを獲得しました。", Kind: badges.KindRule, Rule: "points>=100"})
	must(err)
	for _, a := range []struct{ badge, email, space string }{
		{badges.Expert, "lee@example.com", guide.ID}, {badges.Helpful, "lee@example.com", ""}, {badges.EarlyAdopter, "lee@example.com", ""},
		{"speaker", "lee@example.com", ""}, {badges.Expert, "yamada@example.com", guide.ID}, {badges.Staff, "admin@example.com", ""},
		{badges.EarlyAdopter, "sato@example.com", ""},
	} {
		must(s.bdg.Award(ctx, staff, a.badge, s.memberID(a.email), a.space, ""))
	}

	// A poll with votes.
	p, err := s.com.CreatePost(ctx, yamada, "guide", community.PostInput{Title: "次回のユーザー会のテーマ、どれがいいですか？",
		Body: "来月のユーザー会のテーマを投票で決めたいと思います。ぜひ 1 票お願いします！", Tags: []string{"イベント"}})
	must(err)
	poll, err := s.svy.CreatePoll(ctx, yamada, p.ID, "次回のテーマ", []string{"Slack・Teams 連携の活用", "ダッシュボードの作り方", "API を使った自動化", "コミュニティ運営のコツ"}, false)
	must(err)
	opts := poll.Questions[0].Options
	for i, who := range []accounts.Principal{staff, lee, yamada} {
		must(s.svy.Respond(ctx, who, poll.ID, map[string]survey.Answer{poll.Questions[0].ID: {OptionIDs: []string{opts[[]int{0, 2, 0}[i]].ID}}}))
	}

	// A survey with answers.
	closes := time.Now().Add(14 * 24 * time.Hour)
	sv, err := s.svy.CreateSurvey(ctx, staff, survey.SurveyInput{Title: "Kizuna コミュニティ満足度アンケート", ClosesAt: &closes, Anonymous: true,
		Description: "コミュニティをより良くするため、3 分ほどのアンケートにご協力ください。回答は匿名で集計します。",
		Questions: []survey.Question{
			{ID: "satisfaction", Kind: survey.Scale, Prompt: "コミュニティ全体の満足度を教えてください", Required: true},
			{ID: "role", Kind: survey.Single, Prompt: "あなたの立場に近いものは？", Options: []survey.Option{{Label: "管理者・運用担当"}, {Label: "開発者"}, {Label: "ビジネス利用者"}, {Label: "その他"}}},
			{ID: "features", Kind: survey.Multiple, Prompt: "よく使う機能を選んでください（複数可）", Options: []survey.Option{{Label: "Q&A"}, {Label: "アイデア"}, {Label: "イベント"}, {Label: "ヘルプセンター"}}},
			{ID: "comment", Kind: survey.Text, Prompt: "改善してほしい点があればお書きください"},
		}})
	must(err)
	for i, who := range []accounts.Principal{lee, yamada} {
		must(s.svy.Respond(ctx, who, sv.ID, map[string]survey.Answer{"satisfaction": {Scale: 4 + i}, "role": {OptionIDs: []string{sv.Questions[1].Options[i].ID}}}))
	}
	_ = sato
	return p.ID, sv.ID, from.Slug
}
