package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
)

func TestIdeaMerge(t *testing.T) {
	s := newSite(t)
	s.spaces()
	admin := s.admin("ja")
	mod := s.member("mod@example.com", "en")
	if err := s.acc.SetRole(context.Background(), accounts.System(), s.memberID("mod@example.com"), accounts.RoleModerator); err != nil {
		t.Fatal(err)
	}
	member := s.member("member@example.com", "ja")
	dup := s.postAs("member@example.com", "guide", community.PostInput{Kind: community.Idea, Title: "夜間モード", Body: "暗い画面がほしい"})
	orig := s.postAs("member@example.com", "guide", community.PostInput{Kind: community.Idea, Title: "ダークモード対応", Body: "目にやさしく"})
	member.htmx("/posts/"+dup.ID+"/vote", url.Values{"action": {"vote"}})

	if strings.Contains(member.get("/posts/"+dup.ID).Body, `action="/posts/`+dup.ID+`/merge"`) {
		t.Fatal("a member is offered to merge ideas")
	}
	member.post("/posts/"+dup.ID+"/merge", url.Values{"into": {orig.ID}}).expect(t, http.StatusForbidden)
	admin.get("/posts/"+dup.ID).expect(t, http.StatusOK, "別のアイデアに統合（スタッフ）", `action="/posts/`+dup.ID+`/merge"`)
	mod.get("/posts/"+dup.ID).expect(t, http.StatusOK, "Merge into another idea (staff)")
	admin.post("/posts/"+dup.ID+"/merge", url.Values{"into": {""}}).expect(t, http.StatusUnprocessableEntity, "統合されていない別のアイデアを")
	mod.post("/posts/"+dup.ID+"/merge", url.Values{"into": {dup.ID}}).expect(t, http.StatusUnprocessableEntity, "Name another idea that was not merged itself")
	// The address of the idea's page works as well as its id.
	mod.post("/posts/"+dup.ID+"/merge", url.Values{"into": {s.URL + "/posts/" + orig.ID + "#c-x"}}).redirectsTo(t, "/posts/"+dup.ID+"?notice=merged")
	mod.get("/posts/"+dup.ID+"?notice=merged").expect(t, http.StatusOK, "The idea was merged", "This idea was merged into", `<a href="/posts/`+orig.ID+`">ダークモード対応</a>`)
	member.get("/posts/"+dup.ID).expect(t, http.StatusOK, "このアイデアは次のアイデアに統合されました", "ダークモード対応")
	if strings.Contains(admin.get("/posts/"+dup.ID).Body, `/merge"`) {
		t.Fatal("a merged idea offers to merge again")
	}
	post, err := s.com.Post(context.Background(), accounts.System(), orig.ID)
	if err != nil || post.VoteCount != 1 {
		t.Fatalf("votes after the merge: %d, %v", post.VoteCount, err)
	}
	// Visitors who are not logged in see it too, and the shared page follows a renamed target.
	anon := s.browser("ja")
	anon.get("/posts/"+dup.ID).expect(t, http.StatusOK, "ダークモード対応")
	member.post("/posts/"+orig.ID+"/edit", url.Values{"title": {"ダークテーマ対応"}, "body": {"目にやさしく"}})
	anon.get("/posts/"+dup.ID).expect(t, http.StatusOK, "ダークテーマ対応")
}

func TestEditHistory(t *testing.T) {
	clock := &testClock{t: time.Now()}
	s := newSiteClock(t, nil, clock.now)
	s.spaces()
	author := s.member("author@example.com", "ja")
	p := s.postAs("author@example.com", "guide", community.PostInput{Title: "最初の題名", Body: "最初の **本文** <script>alert(1)</script>"})
	if strings.Contains(author.get("/posts/"+p.ID).Body, "/history") {
		t.Fatal("an unedited post links to its history")
	}
	clock.add(2 * time.Minute)
	author.post("/posts/"+p.ID+"/edit", url.Values{"title": {"二番目の題名"}, "body": {"二番目の本文"}}).redirectsTo(t, "/posts/"+p.ID)
	clock.add(2 * time.Minute)
	author.post("/posts/"+p.ID+"/edit", url.Values{"title": {"今の題名"}, "body": {"今の本文"}}).redirectsTo(t, "/posts/"+p.ID)

	reader := s.browser("ja")
	reader.get("/posts/"+p.ID).expect(t, http.StatusOK, `href="/posts/`+p.ID+`/history">（編集済み）</a>`)
	page := reader.get("/posts/" + p.ID + "/history")
	page.expect(t, http.StatusOK, "編集履歴", "最初の題名", "最初の <strong>本文</strong>", "二番目の題名", "Test author@example.com さんが", "投稿に戻る")
	inert(t, "the edit history", page.Body)
	if strings.Index(page.Body, "二番目の題名") > strings.Index(page.Body, "最初の題名") {
		t.Fatal("the history is not newest first")
	}
	s.browser("en").get("/posts/"+p.ID+"/history").expect(t, http.StatusOK, "Edit history", "Before Test author@example.com edited it on", "Back to the post")
	team := s.postAs("author@example.com", "team", community.PostInput{Title: "社内", Body: "秘密"})
	s.browser("en").get("/posts/"+team.ID+"/history").expect(t, http.StatusNotFound)
}
