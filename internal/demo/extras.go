package demo

import (
	"context"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/survey"
)

// demoArticles are the help center's first articles, in Japanese and English.
var demoArticles = []struct {
	Category string
	In       kb.ArticleInput
}{
	{"getting-started", kb.ArticleInput{Slug: "first-steps", Title: "はじめに：コミュニティの使い方", Published: true,
		Body: "ようこそ！このコミュニティでは、製品の質問、アイデアの投稿、イベントへの参加ができます。\n\n1. 興味のあるスペースに参加する\n2. わからないことは **製品Q&A** で質問する\n3. 要望は **アイデアボード** で投票する"}},
	{"getting-started", kb.ArticleInput{Slug: "notifications", Title: "Managing your notifications", Published: true,
		Body: "Open **Settings → Notifications** to choose which notifications you get. Mute a space to stop hearing from it."}},
	{"integrations", kb.ArticleInput{Slug: "line-setup", Title: "LINE公式アカウントとの連携手順", Published: false,
		Body: "（下書き）チャネルアクセストークンの発行から、テスト配信までの手順をまとめます。"}},
}

// seedExtras fills the help center, awards badges and adds a poll to a discussion.
func seedExtras(ctx context.Context, acc *accounts.Service, c *community.Service, k *kb.Service, b *badges.Service, sv *survey.Service) error {
	cmm, err := acc.MemberByEmail(ctx, cm)
	if err != nil {
		return err
	}
	staff := cmm.Principal()
	for _, cat := range []struct{ slug, name string }{{"getting-started", "はじめに / Getting started"}, {"integrations", "連携 / Integrations"}} {
		if _, err := k.CreateCategory(ctx, staff, cat.name, cat.slug); err != nil {
			return fmt.Errorf("demo help center category %s: %w", cat.slug, err)
		}
	}
	for _, a := range demoArticles {
		in := a.In
		in.CategoryID = a.Category
		if _, err := k.CreateArticle(ctx, staff, in); err != nil {
			return fmt.Errorf("demo article %s: %w", in.Slug, err)
		}
	}
	// The accepted answer about CSV exports becomes an article, linked from the question.
	solved, _, err := c.Topics(ctx, staff, community.TopicQuery{SpaceID: "product-qa", Filter: "solved"})
	if err != nil {
		return err
	}
	for _, p := range solved {
		if p.Title == demoThreads[0].Post.Title {
			if _, err := k.ArticleFromAnswer(ctx, staff, p.ID, "", kb.ArticleInput{Slug: "export-members-csv", CategoryID: "getting-started",
				Title: "会員リストをCSVで書き出す", Published: true}); err != nil {
				return fmt.Errorf("demo article from an answer: %w", err)
			}
		}
	}
	for _, email := range []string{cm, cs, pm, "moderator@demo.kizuna.example"} {
		m, err := acc.MemberByEmail(ctx, email)
		if err != nil {
			return err
		}
		if err := b.Award(ctx, staff, "staff", m.ID, "", "demo staff"); err != nil {
			return fmt.Errorf("demo staff badge: %w", err)
		}
	}
	qa, err := c.Space(ctx, staff, "product-qa")
	if err != nil {
		return err
	}
	for _, email := range []string{cs, lucas} {
		m, err := acc.MemberByEmail(ctx, email)
		if err != nil {
			return err
		}
		if err := b.Award(ctx, staff, "expert", m.ID, qa.ID, "answers questions about exports and SSO"); err != nil {
			return fmt.Errorf("demo expert badge: %w", err)
		}
	}
	// A poll on the user-group announcement, answered by a few members.
	topics, _, err := c.Topics(ctx, staff, community.TopicQuery{SpaceID: "user-group"})
	if err != nil || len(topics) == 0 {
		return err
	}
	poll, err := sv.CreatePoll(ctx, staff, topics[0].ID, "聞きたいテーマは？ / Which topic do you want?",
		[]string{"データ活用事例 / Data use cases", "LINE連携 / LINE", "ダッシュボード / Dashboards"}, false)
	if err != nil {
		return fmt.Errorf("demo poll: %w", err)
	}
	for i, email := range []string{haruto, yui, sota, mei, chen} {
		m, err := acc.MemberByEmail(ctx, email)
		if err != nil {
			return err
		}
		q := poll.Questions[0]
		if err := sv.Respond(ctx, m.Principal(), poll.ID, map[string]survey.Answer{q.ID: {OptionIDs: []string{q.Options[i%2].ID}}}); err != nil {
			return fmt.Errorf("demo poll answer: %w", err)
		}
	}
	return nil
}
