package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
)

// spaces makes the fixture's spaces as the system: a public one with categories, a members-only
// one and a private one.
func (s *site) spaces() {
	s.t.Helper()
	ctx := context.Background()
	for _, in := range []community.SpaceInput{
		{Slug: "guide", Name: "使い方ガイド", Description: "製品の使い方を質問し合う場所", Visibility: community.Public, Categories: []string{"はじめに", "連携"}},
		{Slug: "team", Name: "Team room", Description: "Members only", Visibility: community.Members},
		{Slug: "secret", Name: "Secret lab", Description: "Invitation only", Visibility: community.Private},
	} {
		if _, err := s.com.CreateSpace(ctx, accounts.System(), in); err != nil {
			s.t.Fatal(err)
		}
	}
}

// postAs creates a post through the service as the member with email.
func (s *site) postAs(email, space string, in community.PostInput) community.Post {
	s.t.Helper()
	m, err := s.acc.GetMember(context.Background(), s.memberID(email))
	if err != nil {
		s.t.Fatal(err)
	}
	p, err := s.com.CreatePost(context.Background(), m.Principal(), space, in)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// postID is the post a redirect after publishing points to.
func postID(t *testing.T, p page) string {
	t.Helper()
	loc := p.Header.Get("Location")
	m := regexp.MustCompile(`^/posts/([^/?#]+)`).FindStringSubmatch(loc)
	if p.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("%s %s: status %d, location %q, want a redirect to a post:\n%s", p.Request.Method, p.Request.URL, p.StatusCode, loc, excerpt(p.Body))
	}
	return m[1]
}

func TestQuestionAnsweredAndAccepted(t *testing.T) {
	s := newSite(t)
	s.spaces()
	asker := s.member("asker@example.com", "ja")
	helper := s.member("helper@example.com", "en")

	asker.get("/s/guide/new?kind=question").expect(t, http.StatusOK, "新しい投稿", `value="question" checked`, "Markdown が使えます")
	// Validation in the reader's language, next to the field.
	asker.post("/s/guide/new", url.Values{"kind": {"question"}, "title": {""}, "body": {"本文"}}).
		expect(t, http.StatusUnprocessableEntity, `id="title-error">タイトルを入力してください。`, `>本文</textarea>`)
	helper.post("/s/guide/new", url.Values{"kind": {"discussion"}, "title": {"Hello"}, "body": {""}}).
		expect(t, http.StatusUnprocessableEntity, `id="body-error">Write something first.`)

	id := postID(t, asker.post("/s/guide/new", url.Values{"kind": {"question"}, "title": {"CSV の取り込みができません"},
		"body": {"**エラー**が出ます"}, "tags": {"csv、import"}}))
	asker.get("/posts/"+id).expect(t, http.StatusOK, "CSV の取り込みができません", "<strong>エラー</strong>", "未解決", "#csv", "#import", "まだ回答はありません")

	helper.post("/posts/"+id+"/comments", url.Values{"body": {""}}).expect(t, http.StatusUnprocessableEntity, `id="reply-error">Write something first.`)
	res := helper.post("/posts/"+id+"/comments", url.Values{"body": {"Use **UTF-8** encoding."}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "#c-") {
		t.Fatalf("answer: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	cid := strings.SplitN(res.Header.Get("Location"), "#c-", 2)[1]
	// Only the asker (and moderators) may accept.
	page := helper.get("/posts/" + id)
	page.expect(t, http.StatusOK, "1 answers", `id="c-`+cid+`"`, "<strong>UTF-8</strong>")
	if strings.Contains(page.Body, "Accept this answer") {
		t.Fatal("the answerer is offered the accept button")
	}
	asker.get("/posts/"+id).expect(t, http.StatusOK, "ベストアンサーに選ぶ", `value="`+cid+`"`)
	// The asker was notified of the answer: badge and inbox.
	asker.get("/spaces").expect(t, http.StatusOK, `id="notif-count">1`)
	asker.get("/notifications").expect(t, http.StatusOK, "未読 1 件", "CSV の取り込みができません", "回答")

	asker.post("/posts/"+id+"/accept", url.Values{"comment_id": {cid}}).redirectsTo(t, "/posts/"+id+"?notice=accepted#answer")
	asker.get("/posts/"+id+"?notice=accepted").expect(t, http.StatusOK, "解決済み", `id="answer"`, "ベストアンサー", "この質問は解決済みです")
	helper.get("/posts/"+id).expect(t, http.StatusOK, "Solved", "Accepted answer")
	// The space's tabs put it under solved, not unsolved.
	asker.get("/s/guide?tab=solved").expect(t, http.StatusOK, "CSV の取り込みができません")
	if strings.Contains(asker.get("/s/guide?tab=unsolved").Body, "CSV の取り込みができません") {
		t.Fatal("a solved question is listed as unsolved")
	}
	helper.get("/notifications").expect(t, http.StatusOK, "Answer accepted")
	helper.post("/notifications/read-all", nil).redirectsTo(t, "/notifications?notice=read")
	helper.get("/notifications").expect(t, http.StatusOK, "all caught up")

	// The author may edit; others may not.
	asker.get("/posts/"+id+"/edit").expect(t, http.StatusOK, "投稿を編集", "CSV の取り込みができません")
	helper.get("/posts/"+id+"/edit").expect(t, http.StatusForbidden)
	asker.post("/posts/"+id+"/edit", url.Values{"title": {"CSV の取り込み（解決）"}, "body": {"文字コードでした"}, "tags": {"csv"}}).redirectsTo(t, "/posts/"+id)
	asker.get("/posts/"+id).expect(t, http.StatusOK, "CSV の取り込み（解決）", "文字コードでした")
}

func TestSpacesTopicsIdeasAndSearch(t *testing.T) {
	s := newSite(t)
	s.spaces()
	ja := s.member("hana@example.com", "ja")
	en := s.member("ben@example.com", "en")
	anon := s.browser("en")
	idea := s.postAs("hana@example.com", "guide", community.PostInput{Kind: community.Idea, Title: "ダークモードがほしい", Body: "夜に目が疲れます"})
	s.postAs("ben@example.com", "guide", community.PostInput{Kind: community.Discussion, Title: "Welcome thread", Body: "Say hi"})
	team := s.postAs("ben@example.com", "team", community.PostInput{Kind: community.Discussion, Title: "Team only 会議メモ", Body: "社内の会議メモ"})

	ja.get("/spaces").expect(t, http.StatusOK, "使い方ガイド", "Team room", "メンバー限定", "参加する")
	en.get("/spaces").expect(t, http.StatusOK, "Community", "Public", "Members only", "Join")
	en.get("/s/guide").expect(t, http.StatusOK, "Welcome thread", "ダークモードがほしい", "New post", "Unanswered", "All categories")
	ja.get("/s/guide?tab=ideas").expect(t, http.StatusOK, "ダークモードがほしい", "新規", `aria-current="page">アイデア`)
	if strings.Contains(ja.get("/s/guide?tab=ideas").Body, "Welcome thread") {
		t.Fatal("the ideas tab lists a discussion")
	}

	// Join through htmx: the button comes back as "Joined".
	en.htmx("/s/guide/join", nil).expect(t, http.StatusOK, "Joined", "/s/guide/leave")
	en.post("/s/guide/leave", url.Values{"next": {"/spaces"}}).redirectsTo(t, "/spaces")

	// Votes through htmx: the count goes up and the button toggles.
	en.htmx("/posts/"+idea.ID+"/vote", url.Values{"action": {"vote"}}).expect(t, http.StatusOK, `<span class="vote-count">1</span>`, "Voted", `value="unvote"`)
	ja.get("/ideas").expect(t, http.StatusOK, "アイデアボード", "ダークモードがほしい", "得票順", "使い方ガイド")
	en.get("/ideas?sort=newest&status=planned").expect(t, http.StatusOK, "No ideas here yet")
	en.get("/posts/"+idea.ID).expect(t, http.StatusOK, `aria-pressed="true"`, "Voted")

	// Reactions through htmx.
	en.htmx("/react", url.Values{"kind": {"post"}, "id": {idea.ID}, "emoji": {"heart"}, "next": {"/posts/" + idea.ID}}).
		expect(t, http.StatusOK, `value="heart" aria-pressed="true" aria-label="Love 1">❤️<span class="reaction-n">1</span>`, `value="like" aria-pressed="false"`)
	// The same button again takes the reaction back: the server knows it was given.
	en.htmx("/react", url.Values{"kind": {"post"}, "id": {idea.ID}, "emoji": {"heart"}, "next": {"/posts/" + idea.ID}}).
		expect(t, http.StatusOK, `value="heart" aria-pressed="false" aria-label="Love">❤️</button>`)
	// Without JavaScript the form posts and comes back to the thread.
	en.post("/react", url.Values{"kind": {"post"}, "id": {idea.ID}, "emoji": {"like"}, "next": {"/posts/" + idea.ID}}).redirectsTo(t, "/posts/"+idea.ID)
	en.get("/posts/"+idea.ID).expect(t, http.StatusOK, `value="like" aria-pressed="true"`)

	// Search: Japanese works; members-only posts are absent for a visitor.
	ja.get("/search?q="+url.QueryEscape("目が疲れ")).expect(t, http.StatusOK, "「目が疲れ」の検索結果", "<mark>目が疲れ</mark>", "投稿", "ダークモードがほしい")
	ja.get("/search?q="+url.QueryEscape("会議")).expect(t, http.StatusOK, "Team only 会議メモ")
	if strings.Contains(anon.get("/search?q="+url.QueryEscape("会議")).Body, "Team only") {
		t.Fatal("a visitor finds a members-only post")
	}
	anon.get("/search?q="+url.QueryEscape("会議")).expect(t, http.StatusOK, "Nothing found")
	en.get("/search").expect(t, http.StatusOK, "Japanese works too")
	anon.get("/s/team").expect(t, http.StatusNotFound)
	anon.get("/posts/"+team.ID).expect(t, http.StatusNotFound)
	anon.get("/s/guide").expect(t, http.StatusOK, "Welcome thread", "Log in to post")
	anon.get("/s/guide/new").redirectsTo(t, "/login?next=%2Fs%2Fguide%2Fnew")
}

func TestPrivateSpaceIsInvisible(t *testing.T) {
	s := newSite(t)
	s.spaces()
	insider := s.member("insider@example.com", "en")
	outsider := s.member("outsider@example.com", "en")
	if err := s.com.AddSpaceMember(context.Background(), accounts.System(), "secret", s.memberID("insider@example.com"), community.SpaceMember); err != nil {
		t.Fatal(err)
	}
	p := s.postAs("insider@example.com", "secret", community.PostInput{Title: "Roadmap codename Falcon", Body: "Falcon ships in May"})
	insider.get("/spaces").expect(t, http.StatusOK, "Secret lab", "Private")
	insider.get("/posts/"+p.ID).expect(t, http.StatusOK, "Falcon ships in May")
	insider.get("/search?q=Falcon").expect(t, http.StatusOK, "Roadmap codename")
	if strings.Contains(outsider.get("/spaces").Body, "Secret lab") {
		t.Fatal("an outsider sees the private space in the list")
	}
	outsider.get("/s/secret").expect(t, http.StatusNotFound)
	outsider.get("/posts/"+p.ID).expect(t, http.StatusNotFound)
	outsider.post("/posts/"+p.ID+"/comments", url.Values{"body": {"hi"}}).expect(t, http.StatusNotFound)
	if strings.Contains(outsider.get("/search?q=Falcon").Body, "Roadmap") {
		t.Fatal("an outsider finds a private post")
	}
	s.browser("en").get("/s/secret").expect(t, http.StatusNotFound)
}

// executable finds markup that would run script: script elements, event handler attributes and
// javascript: URLs in attributes.
var executable = regexp.MustCompile(`(?i)<script[\s>]|<[a-z][^>]*\son[a-z]+\s*=|(href|src|action)\s*=\s*["']?\s*javascript:`)

// mainPart is the page without its head, whose own script tags are ours.
func mainPart(body string) string {
	if _, after, ok := strings.Cut(body, "<main"); ok {
		return after
	}
	return body
}

const xssPayload = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) 終わり"

func TestTypedMarkupNeverRuns(t *testing.T) {
	s := newSite(t)
	s.spaces()
	a := s.member("mallory@example.com", "en")
	b := s.member("victim@example.com", "ja")
	id := postID(t, a.post("/s/guide/new", url.Values{"kind": {"discussion"}, "title": {"<script>alert(1)</script>"}, "body": {xssPayload}}))
	a.post("/posts/"+id+"/comments", url.Values{"body": {xssPayload}})
	res := a.post("/messages/to/"+s.memberID("victim@example.com"), url.Values{"body": {xssPayload}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sending a message: %d\n%s", res.StatusCode, excerpt(res.Body))
	}
	conv := strings.TrimSuffix(strings.TrimPrefix(res.Header.Get("Location"), "/messages/"), "#latest")
	a.post("/settings/profile", url.Values{"bio": {xssPayload}}).redirectsTo(t, "/settings/profile?notice=saved")
	// The message reached the recipient: the header's badge.
	b.get("/spaces").expect(t, http.StatusOK, `id="dm-count">1`)
	for _, path := range []string{"/posts/" + id, "/members/mallory", "/messages/" + conv, "/messages", "/s/guide", "/search?q=alert", "/notifications"} {
		p := b.get(path)
		p.expect(t, http.StatusOK)
		if m := executable.FindString(mainPart(p.Body)); m != "" {
			t.Errorf("%s has executable markup %q:\n%s", path, m, excerpt(p.Body))
		}
	}
	b.get("/posts/"+id).expect(t, http.StatusOK, "&lt;script&gt;alert(1)&lt;/script&gt;", "終わり")
	b.get("/messages/"+conv).expect(t, http.StatusOK, "終わり", "Test mallory@example.com")
	b.get("/members/mallory").expect(t, http.StatusOK, "&lt;script&gt;alert(1)&lt;/script&gt;", "終わり")
	if p := a.get("/settings/profile"); executable.MatchString(mainPart(p.Body)) {
		t.Errorf("the profile form has executable markup:\n%s", excerpt(p.Body))
	}
}

func TestProfilesMessagesAndSettings(t *testing.T) {
	s := newSite(t)
	s.spaces()
	ja := s.member("yui@example.com", "ja")
	en := s.member("tom@example.com", "en")
	yui := s.memberID("yui@example.com")
	// A member id leads to the handle, also before the member wrote anything.
	ja.get("/members/"+yui).redirectsTo(t, "/members/yui")
	ja.get("/members/yui").expect(t, http.StatusOK, "Test yui@example.com", "@yui", "ポイント", "自己紹介はまだありません", `href="/settings/profile"`)
	ja.get("/members/YUI").redirectsTo(t, "/members/yui")
	s.postAs("yui@example.com", "guide", community.PostInput{Title: "はじめまして", Body: "よろしくお願いします"})
	ja.get("/members/yui").expect(t, http.StatusOK, "Test yui@example.com", "@yui", "ポイント")

	// The bio: Markdown, saved through the settings form, shown on the profile.
	ja.get("/settings/profile").expect(t, http.StatusOK, "プロフィールの編集", `name="bio"`)
	ja.post("/settings/profile", url.Values{"bio": {strings.Repeat("長", 2001)}}).expect(t, http.StatusUnprocessableEntity, `id="bio-error">自己紹介は 2,000 文字以内にしてください。`)
	ja.post("/settings/profile", url.Values{"bio": {"Go と **SQLite** が好きです。"}}).redirectsTo(t, "/settings/profile?notice=saved")
	ja.get("/settings/profile?notice=saved").expect(t, http.StatusOK, "プロフィールを保存しました", "Go と **SQLite** が好きです。")
	en.get("/members/yui").expect(t, http.StatusOK, "About", "<strong>SQLite</strong>")
	if strings.Contains(en.get("/members/yui").Body, `class="btn btn-secondary" href="/settings/profile"`) {
		t.Fatal("another member is offered to edit the profile")
	}
	s.browser("en").get("/settings/profile").redirectsTo(t, "/login?next=%2Fsettings%2Fprofile")
	en.get("/members/yui").expect(t, http.StatusOK, "Points", "Message", "/messages/to/"+yui)
	s.browser("en").get("/members/nobody").expect(t, http.StatusNotFound)

	// First message: an empty thread, then the conversation.
	en.get("/messages/to/"+s.memberID("yui@example.com")).expect(t, http.StatusOK, "Say hello to Test yui@example.com")
	en.post("/messages/to/"+s.memberID("yui@example.com"), url.Values{"body": {""}}).expect(t, http.StatusUnprocessableEntity, "Write a message first.")
	res := en.post("/messages/to/"+s.memberID("yui@example.com"), url.Values{"body": {"こんにちは！ *よろしく*"}})
	conv := strings.TrimSuffix(strings.TrimPrefix(res.Header.Get("Location"), "/messages/"), "#latest")
	en.get("/messages/to/"+s.memberID("yui@example.com")).redirectsTo(t, "/messages/"+conv)
	ja.get("/messages").expect(t, http.StatusOK, "メッセージ", "Test tom@example.com", "こんにちは！ よろしく")
	ja.get("/messages/"+conv).expect(t, http.StatusOK, "<em>よろしく</em>", "さんとのメッセージ")
	ja.post("/messages/"+conv, url.Values{"body": {"はい、よろしくお願いします"}}).redirectsTo(t, "/messages/"+conv+"#latest")
	en.get("/messages/"+conv).expect(t, http.StatusOK, "はい、よろしくお願いします", "Messages with Test yui@example.com")
	s.member("eve@example.com", "en").get("/messages/"+conv).expect(t, http.StatusNotFound)
	s.browser("en").get("/messages").redirectsTo(t, "/login?next=%2Fmessages")

	// Notification preferences.
	ja.get("/settings/notifications").expect(t, http.StatusOK, "通知の設定", `value="mention" checked`, "メッセージが届いたとき")
	ja.post("/settings/notifications", url.Values{"types": {"mention", "reply"}}).redirectsTo(t, "/settings/notifications?notice=saved")
	page := en.get("/settings/notifications")
	page.expect(t, http.StatusOK, "Notification settings")
	ja.get("/settings/notifications?notice=saved").expect(t, http.StatusOK, "設定を保存しました")
	p := ja.get("/settings/notifications")
	p.expect(t, http.StatusOK, `value="reply" checked`)
	if strings.Contains(p.Body, `value="dm" checked`) {
		t.Fatal("the dm preference stayed on")
	}
}

func TestModeration(t *testing.T) {
	s := newSite(t)
	s.spaces()
	admin := s.admin("en")
	m := s.member("kai@example.com", "ja")
	p := s.postAs("kai@example.com", "guide", community.PostInput{Kind: community.Idea, Title: "API の拡張", Body: "Webhook がほしい"})
	m.get("/posts/"+p.ID).expect(t, http.StatusOK, "API の拡張")
	if strings.Contains(m.get("/posts/"+p.ID).Body, "/moderate") {
		t.Fatal("a member sees the moderation panel")
	}
	admin.get("/posts/"+p.ID).expect(t, http.StatusOK, "Moderation", "Update status (staff)", "Test kai@example.com")
	admin.post("/posts/"+p.ID+"/moderate", url.Values{"action": {"hide"}}).expect(t, http.StatusUnprocessableEntity, "Give a reason.")
	admin.post("/posts/"+p.ID+"/moderate", url.Values{"action": {"lock"}}).redirectsTo(t, "/posts/"+p.ID+"?notice=moderated")
	m.get("/posts/"+p.ID).expect(t, http.StatusOK, "このスレッドはロックされています", "ロック中")
	admin.post("/posts/"+p.ID+"/status", url.Values{"status": {"planned"}, "response": {"次のリリースで対応します"}}).redirectsTo(t, "/posts/"+p.ID+"?notice=status")
	m.get("/posts/"+p.ID).expect(t, http.StatusOK, "公式回答", "次のリリースで対応します", "予定")
	m.get("/ideas?status=planned").expect(t, http.StatusOK, "API の拡張")
	m.post("/posts/"+p.ID+"/status", url.Values{"status": {"declined"}}).expect(t, http.StatusForbidden)
	// The staff author's badge.
	sp := s.postAs("admin@example.com", "guide", community.PostInput{Title: "お知らせ", Body: "メンテナンスのお知らせ"})
	m.get("/posts/"+sp.ID).expect(t, http.StatusOK, `<span class="badge badge-role">管理者</span>`)
}

// named signs up a member with a display name and returns their principal.
func (s *site) named(email, name string) accounts.Principal {
	s.t.Helper()
	s.browser("ja").post("/signup", url.Values{"email": {email}, "password": {"correct horse battery"}, "display_name": {name}}).
		redirectsTo(s.t, "/?notice=welcome")
	m, err := s.acc.GetMember(context.Background(), s.memberID(email))
	if err != nil {
		s.t.Fatal(err)
	}
	return m.Principal()
}

// seedCommunity fills the guide space for the browser test and its screenshots, and returns the
// id of an idea with three votes.
func (s *site) seedCommunity() string {
	s.t.Helper()
	ctx := context.Background()
	s.admin("ja")
	admin, err := s.acc.GetMember(ctx, s.memberID("admin@example.com"))
	if err != nil {
		s.t.Fatal(err)
	}
	staff := admin.Principal()
	sato := s.named("sato@example.com", "佐藤 健")
	lee := s.named("lee@example.com", "李 美玲")
	yamada := s.named("yamada@example.com", "山田 太郎")
	sp, err := s.com.Space(ctx, staff, "guide")
	if err != nil {
		s.t.Fatal(err)
	}
	must := func(err error) {
		s.t.Helper()
		if err != nil {
			s.t.Fatal(err)
		}
	}
	post := func(p accounts.Principal, in community.PostInput) community.Post {
		s.t.Helper()
		out, err := s.com.CreatePost(ctx, p, "guide", in)
		must(err)
		return out
	}
	welcome := post(staff, community.PostInput{Title: "コミュニティへようこそ！はじめにお読みください", Body: "質問・アイデア・ノウハウを気軽に共有してください。", CategoryID: sp.Categories[0].ID, Tags: []string{"お知らせ"}})
	must(s.com.Moderate(ctx, staff, welcome.ID, community.ActionPin, ""))
	q := post(sato, community.PostInput{Kind: community.Question, Title: "Slack 連携の通知が届きません", Body: "連携を設定しましたが、チャンネルに何も届きません。", CategoryID: sp.Categories[1].ID, Tags: []string{"slack"}})
	c, err := s.com.AddComment(ctx, lee, q.ID, community.CommentInput{Body: "Slack 側でアプリをチャンネルに招待する必要があります。"})
	must(err)
	must(s.com.AcceptAnswer(ctx, sato, q.ID, c.ID))
	post(lee, community.PostInput{Kind: community.Question, Title: "API のレート制限はいくつですか？", Body: "1 分あたりのリクエスト数を知りたいです。", Tags: []string{"api"}})
	post(yamada, community.PostInput{Title: "週次のユーザー会、参加者募集中です", Body: "毎週木曜 19 時からオンラインで開催しています。", Tags: []string{"イベント"}})
	idea := post(sato, community.PostInput{Kind: community.Idea, Title: "ダッシュボードをダークモードに対応してほしい", Body: "夜間の作業で画面がまぶしいです。"})
	for _, p := range []accounts.Principal{staff, lee, yamada} {
		must(s.com.Vote(ctx, p, idea.ID))
	}
	must(s.com.SetIdeaStatus(ctx, staff, idea.ID, community.IdeaPlanned, "次の四半期に対応予定です。ご要望ありがとうございます！"))
	other := post(lee, community.PostInput{Kind: community.Idea, Title: "CSV エクスポートで列を選べるようにしたい", Body: "不要な列が多く、毎回削除しています。"})
	must(s.com.Vote(ctx, yamada, other.ID))
	must(s.com.SetIdeaStatus(ctx, staff, other.ID, community.IdeaUnderReview, ""))
	return idea.ID
}

// TestAnonymousThreadPagesStayCurrent checks that the page visitors who are not logged in get
// (rendered once and reused) changes as soon as the post or its replies do.
func TestAnonymousThreadPagesStayCurrent(t *testing.T) {
	s := newSite(t)
	s.spaces()
	author := s.member("author@example.com", "ja")
	p := s.postAs("author@example.com", "guide", community.PostInput{Kind: community.Question, Title: "キャッシュの確認", Body: "最初の本文"})
	visitor := s.browser("ja-JP,ja;q=0.9")
	visitor.get("/posts/"+p.ID).expect(t, http.StatusOK, "最初の本文", "まだ回答はありません")
	visitor.get("/posts/"+p.ID).expect(t, http.StatusOK, "最初の本文")
	author.post("/posts/"+p.ID+"/comments", url.Values{"body": {"自己解決しました"}})
	visitor.get("/posts/"+p.ID).expect(t, http.StatusOK, "自己解決しました")
	author.post("/posts/"+p.ID+"/edit", url.Values{"title": {"キャッシュの確認"}, "body": {"書き直した本文"}})
	visitor.get("/posts/"+p.ID).expect(t, http.StatusOK, "書き直した本文")
	english := s.browser("en-US,en;q=0.9")
	if body := english.get("/posts/" + p.ID).Body; htmlLang(body) != "en" {
		t.Fatal("the English visitor got the cached Japanese page")
	}
}

// TestAnonymousTopicListsStayCurrent checks that the shared rendering of a space's first page
// follows new topics and replies.
func TestAnonymousTopicListsStayCurrent(t *testing.T) {
	s := newSite(t)
	s.spaces()
	author := s.member("author@example.com", "ja")
	first := s.postAs("author@example.com", "guide", community.PostInput{Title: "最初の話題", Body: "本文"})
	visitor := s.browser("ja-JP,ja;q=0.9")
	visitor.get("/s/guide").expect(t, http.StatusOK, "最初の話題")
	s.postAs("author@example.com", "guide", community.PostInput{Title: "二つ目の話題", Body: "本文"})
	visitor.get("/s/guide").expect(t, http.StatusOK, "最初の話題", "二つ目の話題")
	before := visitor.get("/s/guide").Body
	author.post("/posts/"+first.ID+"/comments", url.Values{"body": {"返信です"}})
	if after := visitor.get("/s/guide").Body; after == before {
		t.Fatal("the topic list did not change after a reply moved a topic")
	}
}

// TestMemberThreadRepliesStayCurrent checks the replies members share (rendered once per thread
// version and language): each member still sees their own reactions, the report link only on
// others' replies, and changes at once.
func TestMemberThreadRepliesStayCurrent(t *testing.T) {
	s := newSite(t)
	s.spaces()
	asker := s.member("asker@example.com", "ja")
	helper := s.member("helper@example.com", "ja")
	p := s.postAs("asker@example.com", "guide", community.PostInput{Kind: community.Question, Title: "共有の確認", Body: "本文"})
	helper.post("/posts/"+p.ID+"/comments", url.Values{"body": {"最初の回答"}})
	page := helper.get("/posts/" + p.ID)
	cid := regexp.MustCompile(`id="c-([^"]+)"`).FindStringSubmatch(page.Body)[1]
	report := `href="/report?kind=comment&amp;id=` + cid + `"`
	if strings.Contains(page.Body, report) {
		t.Fatal("the author of a reply is offered to report it")
	}
	asker.get("/posts/"+p.ID).expect(t, http.StatusOK, "最初の回答", report, `value="like" aria-pressed="false" aria-label="いいね">👍</button>`)
	asker.post("/react", url.Values{"kind": {"comment"}, "id": {cid}, "emoji": {"like"}, "next": {"/posts/" + p.ID + "#c-" + cid}}).
		redirectsTo(t, "/posts/"+p.ID+"#c-"+cid)
	asker.get("/posts/"+p.ID).expect(t, http.StatusOK, `value="like" aria-pressed="true" aria-label="いいね 1">👍<span class="reaction-n">1</span>`)
	helper.get("/posts/"+p.ID).expect(t, http.StatusOK, `value="like" aria-pressed="false" aria-label="いいね 1">👍<span class="reaction-n">1</span>`)
	helper.post("/posts/"+p.ID+"/comments", url.Values{"body": {"追記です"}})
	asker.get("/posts/"+p.ID).expect(t, http.StatusOK, "最初の回答", "追記です", `aria-pressed="true"`)
	s.browser("en").get("/posts/"+p.ID).expect(t, http.StatusOK, "追記です", `<span class="visually-hidden">Like 1</span>`)
}

// TestMemberTopicListsStayCurrent checks the topic rows members share follow new topics.
func TestMemberTopicListsStayCurrent(t *testing.T) {
	s := newSite(t)
	s.spaces()
	reader := s.member("reader@example.com", "ja")
	s.member("author@example.com", "ja")
	s.postAs("author@example.com", "guide", community.PostInput{Title: "最初の話題", Body: "本文"})
	reader.get("/s/guide").expect(t, http.StatusOK, "最初の話題")
	s.postAs("author@example.com", "guide", community.PostInput{Title: "二つ目の話題", Body: "本文"})
	reader.get("/s/guide").expect(t, http.StatusOK, "最初の話題", "二つ目の話題")
	reader.get("/s/guide?tab=questions").expect(t, http.StatusOK)
}
