package demo

import (
	"context"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// demoSpaces are the demo community's spaces: an open product Q&A, a members-only user group
// and an invitation-only customer advisory board.
var demoSpaces = []community.SpaceInput{
	{Slug: "product-qa", Name: "製品Q&A / Product Q&A", Visibility: community.Public,
		Description: "使い方の質問はこちらへ。Ask anything about using the product.", Categories: []string{"はじめに", "連携", "請求・契約"}},
	{Slug: "ideas", Name: "アイデアボード / Ideas", Visibility: community.Public,
		Description: "製品への要望を投稿して投票しよう。Suggest and vote on what we build next."},
	{Slug: "user-group", Name: "ユーザー会 / User group", Visibility: community.Members,
		Description: "ユーザー同士の情報交換の場です。Members share tips and meet up."},
	{Slug: "advisory-board", Name: "カスタマー諮問委員会 / Advisory board", Visibility: community.Private,
		Description: "招待制。ロードマップを一緒に考えます。By invitation: shape the roadmap with us."},
}

// demoThread is a post with its replies; Accept names the reply (by index) the asker accepts.
type demoThread struct {
	Space, Author string // slug, email
	Post          community.PostInput
	Replies       []demoReply
	Accept        int // -1 for none
	Votes         []string
	Status        string
	Response      string
}

type demoReply struct{ Author, Body string }

const (
	haruto = "haruto.yamamoto@demo.kizuna.example"
	yui    = "yui.nakamura@demo.kizuna.example"
	sota   = "sota.kobayashi@demo.kizuna.example"
	mei    = "mei.kato@demo.kizuna.example"
	riku   = "riku.yoshida@demo.kizuna.example"
	aoi    = "aoi.yamada@demo.kizuna.example"
	olivia = "olivia.brown@demo.kizuna.example"
	lucas  = "lucas.martin@demo.kizuna.example"
	priya  = "priya.sharma@demo.kizuna.example"
	chen   = "chen.wei@demo.kizuna.example"
	cm     = "community@demo.kizuna.example"
	pm     = "product@demo.kizuna.example"
	cs     = "success@demo.kizuna.example"
)

var demoThreads = []demoThread{
	{Space: "product-qa", Author: yui, Accept: 1,
		Post: community.PostInput{Kind: community.Question, Title: "CSVで会員リストを書き出すには？", Tags: []string{"csv", "export"},
			Body: "管理画面から会員リストをCSVで書き出したいのですが、メニューが見つかりません。\n\n権限の設定が必要でしょうか？"},
		Replies: []demoReply{
			{sota, "私も探しました！ロールによってはメニューが表示されないようです。"},
			{cs, "**設定 → データ → エクスポート** から書き出せます。\n\n表示されない場合は、管理者に「分析担当」以上のロールを付与してもらってください。"},
			{yui, "表示されました。ありがとうございます！ @sota さんもぜひ。"},
		}},
	{Space: "product-qa", Author: olivia, Accept: 0,
		Post: community.PostInput{Kind: community.Question, Title: "SSO login fails with invalid_grant", Tags: []string{"sso"},
			Body: "Since yesterday some of our users get `invalid_grant` when they sign in with SSO. Nothing changed on our side. Any ideas?"},
		Replies: []demoReply{
			{lucas, "Check the redirect URI in your identity provider: it must match exactly, including the trailing slash."},
			{olivia, "That was it — a trailing slash. Thanks Lucas!"},
		}},
	{Space: "product-qa", Author: riku, Accept: -1,
		Post: community.PostInput{Kind: community.Question, Title: "LINE連携でメッセージが届かない", Tags: []string{"line"},
			Body: "LINE公式アカウントと連携しましたが、テスト配信が届きません。チャネルアクセストークンは再発行済みです。"}},
	{Space: "product-qa", Author: chen, Accept: -1,
		Post: community.PostInput{Kind: community.Discussion, Title: "Tips: 日本語と英語のコミュニティを一緒に運営する", Tags: []string{"tips"},
			Body: "We run one community for Tokyo and Singapore. Our tip: keep one space per product, and let members pick their language in the header.\n\n日本語と英語の投稿が混ざっても、検索はどちらでも見つかります。"},
		Replies: []demoReply{{mei, "参考になります！カテゴリで言語を分けるのも良さそうですね。"}}},
	{Space: "ideas", Author: haruto, Votes: []string{yui, sota, mei, riku, olivia, lucas, priya}, Status: community.IdeaPlanned,
		Response: "ご要望ありがとうございます。来四半期に対応予定です。Planned for next quarter.",
		Post:     community.PostInput{Kind: community.Idea, Title: "ダークモードに対応してほしい", Body: "夜に管理画面を見ることが多いので、ダークモードがあると目が疲れにくいです。"}},
	{Space: "ideas", Author: priya, Votes: []string{olivia, chen, aoi}, Status: community.IdeaUnderReview,
		Post: community.PostInput{Kind: community.Idea, Title: "Export segments to BigQuery", Body: "A scheduled export of segment membership to BigQuery would let our analysts join it with sales data."}},
	{Space: "ideas", Author: aoi, Votes: []string{mei},
		Post: community.PostInput{Kind: community.Idea, Title: "イベントの参加者にアンケートを自動送信", Body: "イベント終了後に、参加者だけにアンケートを自動で送れると便利です。"}},
	{Space: "user-group", Author: cm, Accept: -1,
		Post: community.PostInput{Kind: community.Discussion, Title: "【告知】12月のユーザー会は東京で開催します", Tags: []string{"meetup"},
			Body: "今回のテーマは「データ活用の第一歩」。登壇者も募集中です！参加登録はイベントページから。"},
		Replies: []demoReply{{haruto, "参加します！LTで話してもいいですか？"}, {cm, "@haruto ぜひお願いします！"}}},
	{Space: "advisory-board", Author: pm, Accept: -1,
		Post:    community.PostInput{Kind: community.Discussion, Title: "2027年のロードマップ案（非公開）", Body: "委員の皆さまのご意見をお聞かせください。優先したい3項目を返信で教えてください。"},
		Replies: []demoReply{{olivia, "1) BigQuery export 2) LINE segments 3) SSO audit log"}}},
}

// seedCommunity creates the demo spaces and threads when the first demo space does not exist yet.
func seedCommunity(ctx context.Context, acc *accounts.Service, c *community.Service) (bool, error) {
	if _, err := c.Space(ctx, accounts.System(), demoSpaces[0].Slug); err == nil {
		return false, nil
	} else if errs.KindOf(err) != errs.KindNotFound {
		return false, err
	}
	sys := accounts.System()
	member := func(email string) (accounts.Member, error) { return acc.MemberByEmail(ctx, email) }
	cmm, err := member(cm)
	if err != nil {
		return false, err
	}
	for _, in := range demoSpaces {
		if _, err := c.CreateSpace(ctx, cmm.Principal(), in); err != nil {
			return false, fmt.Errorf("demo space %s: %w", in.Slug, err)
		}
	}
	for _, email := range []string{olivia, priya, pm} {
		m, err := member(email)
		if err != nil {
			return false, err
		}
		if err := c.AddSpaceMember(ctx, cmm.Principal(), "advisory-board", m.ID, community.SpaceMember); err != nil {
			return false, err
		}
	}
	for _, th := range demoThreads {
		author, err := member(th.Author)
		if err != nil {
			return false, err
		}
		in := th.Post
		in.AuthorID = author.ID // through the import path, so the demo is not slowed by flood limits
		post, err := c.CreatePost(ctx, sys, th.Space, in)
		if err != nil {
			return false, fmt.Errorf("demo post %q: %w", in.Title, err)
		}
		var replyIDs []string
		for _, r := range th.Replies {
			m, err := member(r.Author)
			if err != nil {
				return false, err
			}
			cm, err := c.AddComment(ctx, sys, post.ID, community.CommentInput{Body: r.Body, AuthorID: m.ID})
			if err != nil {
				return false, fmt.Errorf("demo reply on %q: %w", in.Title, err)
			}
			replyIDs = append(replyIDs, cm.ID)
		}
		if th.Post.Kind == community.Question && th.Accept >= 0 && th.Accept < len(replyIDs) {
			if err := c.AcceptAnswer(ctx, author.Principal(), post.ID, replyIDs[th.Accept]); err != nil {
				return false, err
			}
		}
		for _, v := range th.Votes {
			m, err := member(v)
			if err != nil {
				return false, err
			}
			if err := c.Vote(ctx, m.Principal(), post.ID); err != nil {
				return false, err
			}
		}
		if th.Status != "" {
			pmm, err := member(pm)
			if err != nil {
				return false, err
			}
			if err := c.SetIdeaStatus(ctx, pmm.Principal(), post.ID, th.Status, th.Response); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}
