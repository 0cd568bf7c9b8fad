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

// xssBody is text that must show as text wherever a member or staff writes it.
const xssBody = "<script>alert(1)</script> and <img src=x onerror=alert(1)>"

// inert fails when body carries live script from xssBody.
func inert(t *testing.T, where, body string) {
	t.Helper()
	for _, bad := range []string{"<script>alert(1)", "onerror=alert(1)>", `onerror="alert(1)"`, "<img src=x"} {
		if strings.Contains(body, bad) {
			t.Fatalf("%s renders %q live", where, bad)
		}
	}
}

func TestHelpCenter(t *testing.T) {
	s := newSite(t)
	s.spaces()
	admin := s.admin("ja")
	member := s.member("hana@example.com", "en")
	anon := s.browser("en")

	// Staff make categories; a bad slug is shown beside its field.
	admin.post("/kb/categories", url.Values{"name": {"はじめに"}, "slug": {"Bad Slug"}}).
		expect(t, http.StatusUnprocessableEntity, "スラッグは半角英小文字")
	admin.post("/kb/categories", url.Values{"name": {"はじめに"}, "slug": {"getting-started"}}).redirectsTo(t, "/kb?notice=category")
	cats, err := s.kbs.Categories(context.Background(), accounts.System())
	if err != nil || len(cats) != 1 {
		t.Fatalf("categories: %v, %v", cats, err)
	}

	// Staff write articles; members may not.
	member.get("/kb/new").expect(t, http.StatusForbidden)
	member.post("/kb/new", url.Values{"title": {"x"}, "body": {"y"}}).expect(t, http.StatusForbidden)
	anon.get("/kb/new").redirectsTo(t, "/login?next=%2Fkb%2Fnew")
	admin.get("/kb/new").expect(t, http.StatusOK, "記事を書く", "はじめに", "下書き")
	admin.post("/kb/new", url.Values{"title": {""}, "body": {"本文"}}).expect(t, http.StatusUnprocessableEntity, `id="title-error">タイトルを入力してください。`)
	admin.post("/kb/new", url.Values{"title": {"ログインできないとき"}, "body": {"**パスワード**を再設定します。" + xssBody},
		"slug": {"login-help"}, "category": {cats[0].ID}, "published": {"1"}}).redirectsTo(t, "/kb/login-help?notice=saved")
	admin.post("/kb/new", url.Values{"title": {"書きかけの記事"}, "body": {"まだ"}, "slug": {"wip"}}).redirectsTo(t, "/kb/wip?notice=saved")
	admin.post("/kb/new", url.Values{"title": {"重複"}, "body": {"x"}, "slug": {"login-help"}}).
		expect(t, http.StatusUnprocessableEntity, "このスラッグの記事はすでにあります")

	// Readers see published articles only, in their language; bodies render inert.
	home := anon.get("/kb")
	home.expect(t, http.StatusOK, "Help center", "はじめに", "1 articles", "ログインできないとき")
	if strings.Contains(home.Body, "書きかけの記事") || strings.Contains(home.Body, "Write an article") {
		t.Fatal("an anonymous reader sees a draft or the staff button")
	}
	admin.get("/kb").expect(t, http.StatusOK, "ヘルプセンター", "書きかけの記事", "下書き", "記事を書く")
	anon.get("/kb/c/getting-started").expect(t, http.StatusOK, "はじめに", "ログインできないとき")
	anon.get("/kb/c/nope").expect(t, http.StatusNotFound)
	anon.get("/kb/wip").expect(t, http.StatusNotFound)
	art := anon.get("/kb/login-help")
	art.expect(t, http.StatusOK, "<strong>パスワード</strong>", "&lt;script&gt;alert(1)&lt;/script&gt;", "Updated ")
	inert(t, "the article", art.Body)
	member.get("/kb/login-help").expect(t, http.StatusOK)
	a, err := s.kbs.Article(context.Background(), accounts.System(), "login-help")
	if err != nil || a.Views != 2 {
		t.Fatalf("views after two readings: %d, %v", a.Views, err)
	}
	if strings.Contains(art.Body, `/kb/login-help/edit`) {
		t.Fatal("a reader is offered the editor")
	}

	// Staff edit.
	member.get("/kb/login-help/edit").expect(t, http.StatusForbidden)
	admin.get("/kb/login-help/edit").expect(t, http.StatusOK, "記事を編集", "ログインできないとき", `value="1" checked`)
	admin.post("/kb/login-help/edit", url.Values{"title": {"ログインできないときは"}, "body": {"再設定"}, "category": {cats[0].ID}, "published": {"1"}}).
		redirectsTo(t, "/kb/login-help?notice=saved")
	anon.get("/kb/login-help").expect(t, http.StatusOK, "ログインできないときは")

	// An accepted answer becomes an article, linked from the question.
	q := s.postAs("hana@example.com", "guide", community.PostInput{Kind: community.Question, Title: "CSV の文字化け", Body: "Excel で開くと化けます"})
	helper := s.member("helper@example.com", "ja")
	res := helper.post("/posts/"+q.ID+"/comments", url.Values{"body": {"UTF-8 (BOM 付き) で保存してください。"}})
	cid := strings.SplitN(res.Header.Get("Location"), "#c-", 2)[1]
	member.post("/posts/"+q.ID+"/accept", url.Values{"comment_id": {cid}})
	// Anonymous readers get the cached page first; the article must show once it exists.
	anon.get("/posts/"+q.ID).expect(t, http.StatusOK, "Accepted answer")
	if strings.Contains(member.get("/posts/"+q.ID).Body, "Turn this answer into an article") {
		t.Fatal("a member is offered to make an article")
	}
	admin.get("/posts/"+q.ID).expect(t, http.StatusOK, "この回答を記事にする")
	member.post("/posts/"+q.ID+"/kb", url.Values{"comment_id": {cid}}).expect(t, http.StatusForbidden)
	res = admin.post("/posts/"+q.ID+"/kb", url.Values{"comment_id": {cid}})
	m := regexp.MustCompile(`^/kb/([^/]+)/edit\?notice=from_answer$`).FindStringSubmatch(res.Header.Get("Location"))
	if m == nil {
		t.Fatalf("from answer: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	admin.get(res.Header.Get("Location")).expect(t, http.StatusOK, "回答から下書きを作りました", "CSV の文字化け", "UTF-8 (BOM 付き)")
	// A draft is related only for staff.
	if strings.Contains(anon.get("/posts/"+q.ID).Body, "Related articles") {
		t.Fatal("a draft is shown to readers")
	}
	admin.get("/posts/"+q.ID).expect(t, http.StatusOK, "関連記事", "CSV の文字化け")
	admin.post("/kb/"+m[1]+"/edit", url.Values{"title": {"CSV が文字化けするとき"}, "body": {"UTF-8 (BOM 付き) で保存します。"}, "published": {"1"}}).
		redirectsTo(t, "/kb/"+m[1]+"?notice=saved")
	anon.get("/posts/"+q.ID).expect(t, http.StatusOK, "Related articles", `href="/kb/`+m[1]+`"`, "CSV が文字化けするとき")
	anon.get("/kb/"+m[1]).expect(t, http.StatusOK, "The community question this article came from", `href="/posts/`+q.ID+`"`)
}
