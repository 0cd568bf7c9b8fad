package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
)

func TestSpacesAdmin(t *testing.T) {
	s := newSite(t)
	s.spaces()
	admin := s.admin("ja")
	cm := s.member("cm@example.com", "en")
	if err := s.acc.SetRole(context.Background(), accounts.System(), s.memberID("cm@example.com"), accounts.RoleCommunityManager); err != nil {
		t.Fatal(err)
	}
	member := s.member("member@example.com", "ja")
	guest := s.member("guest@example.com", "en")

	// The list, in the sidebar of those who manage the community, in both languages.
	admin.get("/admin").expect(t, http.StatusOK, `href="/admin/spaces"`, "スペース")
	admin.get("/admin/spaces").expect(t, http.StatusOK, "すべてのスペース", "使い方ガイド", "<code>guide</code>", "公開", "Secret lab", "招待する")
	cm.get("/admin/spaces").expect(t, http.StatusOK, "All spaces", "Team room", "Members only", "Invite", "Add moderators", "Only members you invite.")
	member.get("/admin/spaces").expect(t, http.StatusForbidden)
	member.post("/admin/spaces", url.Values{"slug": {"x1"}, "name": {"X"}}).expect(t, http.StatusForbidden)
	member.get("/admin/spaces/secret").expect(t, http.StatusForbidden)
	if strings.Contains(member.get("/").Body, `href="/admin/spaces"`) {
		t.Fatal("a member is offered the spaces admin")
	}

	// Create: errors beside their fields, in the reader's language.
	admin.post("/admin/spaces", url.Values{"slug": {"Bad Slug!"}, "name": {"新スペース"}, "visibility": {"private"}}).
		expect(t, http.StatusUnprocessableEntity, "半角の英小文字・数字・ハイフンで 2〜63 文字", `value="新スペース"`)
	cm.post("/admin/spaces", url.Values{"slug": {"beta"}, "name": {""}}).expect(t, http.StatusUnprocessableEntity, "Enter a name of at most 80 characters.")
	cm.post("/admin/spaces", url.Values{"slug": {"guide"}, "name": {"Again"}}).expect(t, http.StatusUnprocessableEntity, "A space with this address already exists.")
	admin.post("/admin/spaces", url.Values{"slug": {"beta-lab"}, "name": {"ベータ検証室"}, "description": {"先行機能を試す場所"}, "visibility": {"private"}, "categories": {"不具合\n要望, 雑談"}}).
		redirectsTo(t, "/admin/spaces?notice=created")
	admin.get("/admin/spaces?notice=created").expect(t, http.StatusOK, "スペースを作成しました。", "ベータ検証室", "<code>beta-lab</code>", "非公開")
	guest.get("/s/beta-lab").expect(t, http.StatusNotFound)
	admin.get("/s/beta-lab").expect(t, http.StatusOK, "不具合", "要望", "雑談")

	// Invite into the private space by email and by handle, as member or moderator.
	admin.get("/admin/spaces/beta-lab").expect(t, http.StatusOK, "メンバーを招待", "@ハンドルまたはメールアドレス", "モデレーター")
	admin.post("/admin/spaces/beta-lab/members", url.Values{"member": {"nobody@example.com"}, "role": {"member"}}).
		expect(t, http.StatusUnprocessableEntity, "そのハンドルまたはメールアドレスのメンバーはいません。")
	cm.post("/admin/spaces/beta-lab/members", url.Values{"member": {"@nobody"}, "role": {"member"}}).
		expect(t, http.StatusUnprocessableEntity, "There is no member with that handle or email address.")
	cm.post("/admin/spaces/beta-lab/members", url.Values{"member": {"guest@example.com"}, "role": {"owner"}}).
		expect(t, http.StatusUnprocessableEntity, "Choose member or moderator.")
	admin.post("/admin/spaces/beta-lab/members", url.Values{"member": {"GUEST@example.com"}, "role": {"member"}}).
		redirectsTo(t, "/admin/spaces/beta-lab?added="+url.QueryEscape("Test guest@example.com"))
	admin.get("/admin/spaces/beta-lab?added="+url.QueryEscape("Test guest@example.com")).expect(t, http.StatusOK, "Test guest@example.com さんをスペースに追加しました。")
	guest.get("/s/beta-lab").expect(t, http.StatusOK, "ベータ検証室")
	pr, err := s.com.Profile(context.Background(), s.memberID("member@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	cm.post("/admin/spaces/beta-lab/members", url.Values{"member": {"@" + pr.Handle}, "role": {"moderator"}}).
		redirectsTo(t, "/admin/spaces/beta-lab?added="+url.QueryEscape("Test member@example.com"))
	member.get("/s/beta-lab").expect(t, http.StatusOK, "ベータ検証室")
	sp, err := s.com.Space(context.Background(), accounts.Principal{MemberID: s.memberID("member@example.com"), Role: accounts.RoleMember}, "beta-lab")
	if err != nil || sp.Role != "moderator" {
		t.Fatalf("member's role in the space: %q, %v", sp.Role, err)
	}
	cm.get("/admin/spaces/guide").expect(t, http.StatusOK, "Add a moderator or member", "Everyone who can see this space may join it.")
	admin.get("/admin/spaces/nope").expect(t, http.StatusNotFound)
}
