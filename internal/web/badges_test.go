package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
)

func TestBadgesAndExperts(t *testing.T) {
	s := newSite(t)
	s.spaces()
	admin := s.admin("ja")
	helper := s.member("helper@example.com", "en")
	anon := s.browser("en")
	ctx := context.Background()
	guide, err := s.com.Space(ctx, accounts.System(), "guide")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := s.com.Space(ctx, accounts.System(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	// Handles come with a member's profile, made when they first write or are looked at.
	for _, email := range []string{"helper@example.com", "plain@example.com"} {
		if email == "plain@example.com" {
			s.member(email, "ja")
		}
		if _, err := s.com.Profile(ctx, s.memberID(email)); err != nil {
			t.Fatal(err)
		}
	}

	// Only community managers open the badge admin.
	helper.get("/admin/badges").expect(t, http.StatusForbidden)
	anon.get("/admin/badges").redirectsTo(t, "/login?next=%2Fadmin%2Fbadges")
	admin.get("/admin/badges").expect(t, http.StatusOK, "バッジ", "エキスパート", "アーリーアダプター", "頼れる回答者", "ルールで自動授与", `href="/admin/badges"`)

	// Creating badges: errors beside their field, names inert.
	admin.post("/admin/badges", url.Values{"slug": {"bug-hunter"}, "name": {"Bug hunter"}, "kind": {"rule"}, "rule": {"bugs>=3"}}).
		expect(t, http.StatusUnprocessableEntity, "ルールは points&gt;=N")
	admin.post("/admin/badges", url.Values{"slug": {"bug-hunter"}, "name": {xssBody}, "kind": {"manual"}, "description": {"不具合を見つけてくれた人"}}).
		redirectsTo(t, "/admin/badges?notice=created")
	list := admin.get("/admin/badges?notice=created")
	list.expect(t, http.StatusOK, "バッジを作成しました。", "bug-hunter", "不具合を見つけてくれた人")
	inert(t, "the badge list", list.Body)

	// Awarding by handle, in a space or community-wide.
	admin.post("/admin/badges/award", url.Values{"badge": {"expert"}, "handle": {"@nobody"}, "action": {"award"}}).
		expect(t, http.StatusUnprocessableEntity, "そのハンドルのメンバーはいません")
	admin.post("/admin/badges/award", url.Values{"badge": {"bug-hunter"}, "handle": {"helper"}, "action": {"revoke"}}).
		expect(t, http.StatusUnprocessableEntity, "このメンバーはバッジ")
	anon.get("/s/guide").expect(t, http.StatusOK) // cached before the expert exists
	admin.post("/admin/badges/award", url.Values{"badge": {"expert"}, "handle": {"@helper"}, "space": {guide.ID}, "action": {"award"}, "reason": {"CSV の回答"}}).
		redirectsTo(t, "/admin/badges?notice=awarded")
	admin.post("/admin/badges/award", url.Values{"badge": {"expert"}, "handle": {"helper"}, "space": {secret.ID}, "action": {"award"}}).
		redirectsTo(t, "/admin/badges?notice=awarded")
	admin.post("/admin/badges/award", url.Values{"badge": {"bug-hunter"}, "handle": {"helper"}, "action": {"award"}}).
		redirectsTo(t, "/admin/badges?notice=awarded")

	// Profiles show badges in the reader's language; awards in spaces the reader cannot see stay hidden.
	prof := anon.get("/members/helper")
	prof.expect(t, http.StatusOK, "Badges", "Expert", "· 使い方ガイド", "Five or more accepted answers", "不具合を見つけてくれた人")
	inert(t, "the profile", prof.Body)
	if strings.Contains(prof.Body, "Secret lab") {
		t.Fatal("an award in a private space is shown to a stranger")
	}
	admin.get("/members/helper").expect(t, http.StatusOK, "エキスパート", "Secret lab")
	admin.get("/members/plain").expect(t, http.StatusOK, "まだバッジはありません。")

	// The space's experts box, also on the anonymous cached page.
	anon.get("/s/guide").expect(t, http.StatusOK, "Experts in this space", "Test helper@example.com", `href="/members/helper"`)
	admin.get("/s/guide").expect(t, http.StatusOK, "このスペースのエキスパート")
	if strings.Contains(anon.get("/s/team").Body, "Experts in this space") {
		t.Fatal("experts of another space")
	}

	// Revoking takes it away.
	admin.post("/admin/badges/award", url.Values{"badge": {"expert"}, "handle": {"helper"}, "space": {guide.ID}, "action": {"revoke"}}).
		redirectsTo(t, "/admin/badges?notice=revoked")
	if strings.Contains(anon.get("/s/guide").Body, "Experts in this space") {
		t.Fatal("a revoked expert is still shown")
	}
}
