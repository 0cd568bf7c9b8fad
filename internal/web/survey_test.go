package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
)

func TestPollOnPost(t *testing.T) {
	s := newSite(t)
	s.spaces()
	author := s.member("hana@example.com", "ja")
	voter := s.member("ben@example.com", "en")
	anon := s.browser("en")
	ctx := context.Background()

	author.get("/s/guide/new").expect(t, http.StatusOK, "投票を追加", `name="poll_option"`, "複数選択を許可する")
	id := postID(t, author.post("/s/guide/new", url.Values{"kind": {"discussion"}, "title": {"連携アンケート"}, "body": {"教えてください"},
		"poll_question": {"どの連携を使っていますか？"}, "poll_option": {"Slack", "", xssBody, "Salesforce", ""}}))
	sv, err := s.svy.ForPost(ctx, accounts.System(), id)
	if err != nil || sv == nil || len(sv.Questions[0].Options) != 3 {
		t.Fatalf("poll after publishing: %+v, %v", sv, err)
	}
	opts := sv.Questions[0].Options

	// The post page stays the same for every visitor: the poll comes as a fragment.
	page := anon.get("/posts/" + id)
	page.expect(t, http.StatusOK, `hx-get="/posts/`+id+`/poll"`, `hx-trigger="load"`, "Open the poll")
	if strings.Contains(page.Body, "Salesforce") {
		t.Fatal("the cached post page embeds the poll")
	}
	hx := http.Header{"Hx-Request": {"true"}}
	box := anon.do(http.MethodGet, "/posts/"+id+"/poll", nil, hx)
	box.expect(t, http.StatusOK, "どの連携を使っていますか？", "Salesforce", "Log in to vote", "&lt;script&gt;alert(1)&lt;/script&gt;")
	inert(t, "the poll box", box.Body)
	if strings.Contains(box.Body, "<html") {
		t.Fatal("the fragment is a whole page")
	}
	voter.do(http.MethodGet, "/posts/"+id+"/poll", nil, hx).expect(t, http.StatusOK, `hx-post="/posts/`+id+`/poll/vote"`, `type="radio"`, "Vote")
	// Without JavaScript the poll has a page of its own.
	anon.get("/posts/"+id+"/poll").expect(t, http.StatusOK, "<html", "どの連携を使っていますか？", "Back to the post")

	// Voting through htmx answers with the results.
	voter.htmx("/posts/"+id+"/poll/vote", url.Values{}).expect(t, http.StatusUnprocessableEntity, "This question needs an answer.")
	res := voter.htmx("/posts/"+id+"/poll/vote", url.Values{"option": {opts[2].ID}})
	res.expect(t, http.StatusOK, "100%", "You voted", "1 votes in total", "<progress")
	inert(t, "the results", res.Body)
	voter.htmx("/posts/"+id+"/poll/vote", url.Values{"option": {opts[0].ID}}).expect(t, http.StatusUnprocessableEntity, "You have already responded.")
	// A plain form post goes back to the post.
	author2 := s.member("kenji@example.com", "ja")
	author2.post("/posts/"+id+"/poll/vote", url.Values{"option": {opts[0].ID}}).redirectsTo(t, "/posts/"+id+"#poll")
	author2.do(http.MethodGet, "/posts/"+id+"/poll", nil, hx).expect(t, http.StatusOK, "50%", "投票済み", "投票数 2")
	anon.post("/posts/"+id+"/poll/vote", url.Values{"option": {opts[0].ID}}).redirectsTo(t, "/login?next=%2F")

	// A poll the domain refuses leaves the published post and offers the poll form again.
	fail := author.post("/s/guide/new", url.Values{"kind": {"discussion"}, "title": {"二つ目"}, "body": {"本文"},
		"poll_question": {"どちら？"}, "poll_option": {"A", "A"}})
	fail.expect(t, http.StatusUnprocessableEntity, "投稿は公開されました", "選択肢「A」が重複しています", "投稿に投票を追加")
	posts, _, _ := s.com.Topics(ctx, accounts.System(), communityTopics("guide"))
	var second string
	for _, p := range posts {
		if p.Title == "二つ目" {
			second = p.ID
		}
	}
	if second == "" {
		t.Fatal("the post with a failed poll was not published")
	}
	// The anonymous page is cached without a poll; adding one changes the key.
	if strings.Contains(anon.get("/posts/"+second).Body, "/poll") {
		t.Fatal("a post without a poll loads one")
	}
	voter.post("/posts/"+second+"/poll", url.Values{"poll_question": {"x"}, "poll_option": {"A", "B"}}).expect(t, http.StatusForbidden)
	author.post("/posts/"+second+"/poll", url.Values{"poll_question": {"どちら？"}, "poll_option": {"A", "B"}, "poll_multiple": {"1"}}).
		redirectsTo(t, "/posts/"+second+"#poll")
	anon.get("/posts/"+second).expect(t, http.StatusOK, `hx-get="/posts/`+second+`/poll"`)
	voter.do(http.MethodGet, "/posts/"+second+"/poll", nil, hx).expect(t, http.StatusOK, `type="checkbox"`, "Choose one or more")
	// Posts without a poll have none.
	plain := s.postAs("ben@example.com", "guide", communityPost("No poll here"))
	if strings.Contains(anon.get("/posts/"+plain.ID).Body, "/poll") {
		t.Fatal("a post without a poll loads one")
	}
	anon.get("/posts/"+plain.ID+"/poll").expect(t, http.StatusNotFound)
}

func TestSurveys(t *testing.T) {
	s := newSite(t)
	s.spaces()
	admin := s.admin("ja")
	member := s.member("hana@example.com", "ja")
	marketer := s.member("mika@example.com", "en")
	admin.post("/admin/members/"+s.memberID("mika@example.com")+"/role", url.Values{"role": {"marketer"}})

	member.get("/admin/surveys").expect(t, http.StatusForbidden)
	s.browser("ja").get("/admin/surveys").redirectsTo(t, "/login?next=%2Fadmin%2Fsurveys")
	marketer.get("/admin/surveys").expect(t, http.StatusOK, "Create a survey", "Question 1")
	admin.get("/admin/surveys").expect(t, http.StatusOK, "アンケートを作成", "設問 1", "5 段階評価", `href="/admin/surveys"`, "アンケートはまだありません")

	form := url.Values{"title": {"コミュニティ満足度調査"}, "description": {"今後の改善に使います。"},
		"q0_prompt": {"どのくらい満足していますか？"}, "q0_kind": {"scale"}, "q0_required": {"1"},
		"q1_prompt": {"よく使う機能は？"}, "q1_kind": {"multiple"}, "q1_options": {"Q&A\n" + xssBody},
		"q3_prompt": {"ご意見をどうぞ"}, "q3_kind": {"text"}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("q1_options", "Q&A")
	admin.post("/admin/surveys", bad).expect(t, http.StatusUnprocessableEntity, "選択式の設問には選択肢を 2〜20 個")
	res := admin.post("/admin/surveys", form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/surveys/") {
		t.Fatalf("create: %d %q\n%s", res.StatusCode, loc, excerpt(res.Body))
	}
	sid := strings.TrimSuffix(strings.TrimPrefix(loc, "/admin/surveys/"), "?notice=created")
	admin.get(loc).expect(t, http.StatusOK, "アンケートを作成しました", "/surveys/"+sid, "回答 0 件")
	sv, err := s.svy.Get(context.Background(), accounts.System(), sid)
	if err != nil || len(sv.Questions) != 3 {
		t.Fatalf("survey: %+v, %v", sv, err)
	}
	scale, multi, text := sv.Questions[0], sv.Questions[1], sv.Questions[2]

	// Members answer; errors are named answers.<question>.
	page := member.get("/surveys/" + sid)
	page.expect(t, http.StatusOK, "コミュニティ満足度調査", "どのくらい満足していますか？", "必須", `name="q.`+scale.ID+`"`, "&lt;script&gt;alert(1)&lt;/script&gt;")
	inert(t, "the survey", page.Body)
	member.post("/surveys/"+sid, url.Values{"q." + text.ID: {"とても良い"}}).
		expect(t, http.StatusUnprocessableEntity, `id="q-`+scale.ID+`-error">この設問は回答必須です。`, ">とても良い</textarea>")
	member.post("/surveys/"+sid, url.Values{"q." + scale.ID: {"9"}}).expect(t, http.StatusUnprocessableEntity, "1 から 5 の数字を選んでください")
	member.post("/surveys/"+sid, url.Values{"q." + scale.ID: {"4"}, "q." + multi.ID: {multi.Options[0].ID, multi.Options[1].ID}, "q." + text.ID: {"検索が速いと嬉しいです"}}).
		redirectsTo(t, "/surveys/"+sid+"?notice=thanks")
	member.get("/surveys/"+sid).expect(t, http.StatusOK, "回答ありがとうございました")
	member.post("/surveys/"+sid, url.Values{"q." + scale.ID: {"3"}}).expect(t, http.StatusUnprocessableEntity, "回答ありがとうございました")
	s.browser("en").get("/surveys/"+sid).redirectsTo(t, "/login?next=%2Fsurveys%2F"+sid)

	// Results are for staff.
	member.get("/admin/surveys/"+sid).expect(t, http.StatusForbidden)
	results := admin.get("/admin/surveys/" + sid)
	results.expect(t, http.StatusOK, "回答 1 件", "平均 4.00", "100%", "検索が速いと嬉しいです")
	inert(t, "the results", results.Body)
	marketer.get("/admin/surveys/"+sid).expect(t, http.StatusOK, "1 responses")

	// The list links every standalone survey to its results and its public page.
	admin.get("/admin/surveys").expect(t, http.StatusOK, "アンケート一覧", `href="/admin/surveys/`+sid+`">コミュニティ満足度調査</a>`, "回答 1 件", `href="/surveys/`+sid+`"`, "公開ページ")
	marketer.get("/admin/surveys").expect(t, http.StatusOK, "Surveys", "コミュニティ満足度調査", "1 responses", "Public page")
}

func communityTopics(space string) community.TopicQuery {
	return community.TopicQuery{SpaceID: space, Limit: 50}
}

func communityPost(title string) community.PostInput {
	return community.PostInput{Kind: community.Discussion, Title: title, Body: "body"}
}
