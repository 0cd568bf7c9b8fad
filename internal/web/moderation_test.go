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

func TestReportsAndTheModerationQueue(t *testing.T) {
	s := newSite(t)
	s.spaces()
	admin := s.admin("ja")
	mod := s.member("mod@example.com", "en")
	if err := s.acc.SetRole(context.Background(), accounts.System(), s.memberID("mod@example.com"), accounts.RoleModerator); err != nil {
		t.Fatal(err)
	}
	reporter := s.member("rep@example.com", "ja")
	s.member("spam@example.com", "en")
	spam := s.postAs("spam@example.com", "guide", community.PostInput{Title: "激安セール", Body: "今すぐクリック"})

	// Members report posts; the author is not offered to report their own.
	page := reporter.get("/posts/" + spam.ID)
	reportLink := `href="/report?kind=post&amp;id=` + spam.ID + `"`
	page.expect(t, http.StatusOK, "通報", reportLink)
	if strings.Contains(s.memberBrowserGet(t, "spam@example.com", "/posts/"+spam.ID), reportLink) {
		t.Fatal("the author is offered to report their own post")
	}
	if strings.Contains(s.browser("en").get("/posts/"+spam.ID).Body, `href="/report?`) {
		t.Fatal("a visitor is offered to report")
	}
	// The report page is in the reader's language and returns to the thread.
	reporter.get("/report?kind=post&id="+spam.ID).expect(t, http.StatusOK, "モデレーターに通報", "投稿: 激安セール",
		`name="target_kind" value="post"`, `name="next" value="/posts/`+spam.ID+`"`, "スパム", "詳しい状況（任意）")
	en := s.member("en-rep@example.com", "en")
	en.get("/report?kind=member&id="+s.memberID("spam@example.com")).expect(t, http.StatusOK, "Report to the moderators", "Member: Test spam@example.com", "Abuse or harassment")
	en.do(http.MethodGet, "/report?kind=comment&id=c1", nil, http.Header{"Referer": {s.URL + "/posts/" + spam.ID + "?notice=reported"}}).
		expect(t, http.StatusOK, "A reply in a thread", `name="next" value="/posts/`+spam.ID+`#c-c1"`)
	en.get("/report?kind=bogus&id=x").expect(t, http.StatusNotFound)
	s.browser("en").get("/report?kind=post&id="+spam.ID).redirectsTo(t, "/login?next=%2Freport%3Fkind%3Dpost%26id%3D"+spam.ID)
	reporter.post("/report", url.Values{"target_kind": {"post"}, "target_id": {spam.ID}, "reason": {"spam"}, "note": {"宣伝です"}, "next": {"/posts/" + spam.ID}}).
		redirectsTo(t, "/posts/"+spam.ID+"?notice=reported")
	reporter.get("/posts/"+spam.ID+"?notice=reported").expect(t, http.StatusOK, "ご報告ありがとうございます")
	reporter.post("/report", url.Values{"target_kind": {"member"}, "target_id": {s.memberID("spam@example.com")}, "reason": {"abuse"}, "next": {"/members/spam"}}).
		redirectsTo(t, "/members/spam?notice=reported")
	reporter.post("/report", url.Values{"target_kind": {"post"}, "target_id": {spam.ID}, "reason": {"bogus"}}).expect(t, http.StatusBadRequest)

	// The queue: in the sidebar of those who moderate, in both languages.
	admin.get("/admin").expect(t, http.StatusOK, `href="/admin/moderation"`, "モデレーション")
	admin.get("/admin/moderation").expect(t, http.StatusOK, "未対応の通報", "激安セール", "スパム", "宣伝です", "Test rep@example.com", "嫌がらせ", "新しいメンバーの初投稿を承認制にする")
	page = mod.get("/admin/moderation")
	page.expect(t, http.StatusOK, "Open reports", "Spam", "Hide it", "Dismiss")
	if strings.Contains(page.Body, "first_post_approval") {
		t.Fatal("a moderator is offered the community settings")
	}
	reporter.get("/admin/moderation").expect(t, http.StatusForbidden)
	s.browser("en").get("/admin/moderation").redirectsTo(t, "/login?next=%2Fadmin%2Fmoderation")

	// Hide through htmx: the row says so, the post is hidden, the report moves to resolved.
	id := regexp.MustCompile(`id="report-([^"]+)"[^<]*\s*<td[^>]*>\s*<span class="badge">Post`).FindStringSubmatch(page.Body)
	if id == nil {
		t.Fatalf("no post report row:\n%s", excerpt(page.Body))
	}
	mod.htmx("/admin/moderation/reports/"+id[1], url.Values{"action": {"hide"}, "note": {"spam"}}).expect(t, http.StatusOK, "Hidden and the report closed.")
	if strings.Contains(reporter.get("/s/guide").Body, "激安セール") {
		t.Fatal("the hidden post is still listed")
	}
	mod.get("/admin/moderation?tab=resolved").expect(t, http.StatusOK, "激安セール", "Resolved")
	mod.htmx("/admin/moderation/reports/"+id[1], url.Values{"action": {"dismiss"}}).expect(t, http.StatusUnprocessableEntity, "report-"+id[1])
}

// memberBrowserGet logs in as the member with email and returns the body of path.
func (s *site) memberBrowserGet(t *testing.T, email, path string) string {
	t.Helper()
	b := s.browser("en")
	b.post("/login", url.Values{"email": {email}, "password": {"correct horse battery"}})
	return b.get(path).Body
}

func TestFirstPostApproval(t *testing.T) {
	s := newSite(t)
	s.spaces()
	admin := s.admin("en")
	admin.post("/admin/moderation/settings", url.Values{"first_post_approval": {"1"}}).redirectsTo(t, "/admin/moderation?notice=settings")
	admin.get("/admin/moderation?notice=settings").expect(t, http.StatusOK, "Community settings saved.", `name="first_post_approval" value="1" checked`)
	newbie := s.member("new@example.com", "ja")
	id := postID(t, newbie.post("/s/guide/new", url.Values{"kind": {"discussion"}, "title": {"はじめての投稿"}, "body": {"よろしくお願いします"}}))
	newbie.get("/posts/"+id).expect(t, http.StatusOK, "承認待ちです。", "あなたにだけ表示されます")
	s.browser("en").get("/posts/"+id).expect(t, http.StatusNotFound)
	admin.get("/admin/moderation?tab=pending").expect(t, http.StatusOK, "Waiting for approval", "はじめての投稿", "Approve", "Reject")
	// Rejecting needs a reason; approving publishes.
	admin.htmx("/admin/moderation/posts/"+id, url.Values{"action": {"reject"}}).expect(t, http.StatusUnprocessableEntity, "Give a reason.", `id="pending-`+id+`"`)
	admin.htmx("/admin/moderation/posts/"+id, url.Values{"action": {"approve"}}).expect(t, http.StatusOK, "Approved and published.")
	s.browser("en").get("/posts/"+id).expect(t, http.StatusOK, "はじめての投稿")
	if strings.Contains(newbie.get("/posts/"+id).Body, "承認待ちです") {
		t.Fatal("the approved post still says it is waiting")
	}
	// Only community managers change the setting.
	s.member("m@example.com", "en").post("/admin/moderation/settings", url.Values{}).expect(t, http.StatusForbidden)
}

func TestSuspendAndReinstate(t *testing.T) {
	s := newSite(t)
	admin := s.admin("ja")
	troll := s.member("troll@example.com", "en")
	tid := s.memberID("troll@example.com")
	admin.get("/admin/members").expect(t, http.StatusOK, "状態", "有効", "利用停止")
	admin.htmx("/admin/members/"+tid+"/status", url.Values{"action": {"suspend"}}).expect(t, http.StatusUnprocessableEntity, "理由を入力してください。")
	admin.htmx("/admin/members/"+tid+"/status", url.Values{"action": {"suspend"}, "reason": {"スパム投稿"}}).expect(t, http.StatusOK, "停止中", "停止を解除", "保存しました")
	// The session ended.
	troll.get("/spaces").expect(t, http.StatusOK, "Log in")
	admin.post("/admin/members/"+tid+"/status", url.Values{"action": {"reinstate"}}).redirectsTo(t, "/admin/members")
	en := s.browser("en")
	en.post("/login", url.Values{"email": {"troll@example.com"}, "password": {"correct horse battery"}})
	en.get("/spaces").expect(t, http.StatusOK, "Test troll@example.com")
	en.post("/admin/members/"+s.memberID("admin@example.com")+"/status", url.Values{"action": {"suspend"}, "reason": {"x"}}).expect(t, http.StatusForbidden)
}
