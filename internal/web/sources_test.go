package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/ingest"
)

func TestTrackingSources(t *testing.T) {
	for _, tc := range []struct {
		lang, empty, invalid, created, revoked, nav string
	}{
		{"en", "No tracking sources yet.", "Enter a name of at most 100 characters.", "Source “Corporate site” created", "Revoked", "Tracking sources"},
		{"ja", "トラッキングソースはまだありません。", "名前を 100 文字以内で入力してください。", "ソース「Corporate site」を作成しました", "失効済み", "トラッキング"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			s := newSite(t)
			ctx := context.Background()
			admin := s.admin(tc.lang)
			admin.get("/admin").expect(t, http.StatusOK, `href="/admin/sources"`, tc.nav)
			admin.get("/admin/sources").expect(t, http.StatusOK, tc.empty, "curl -u WRITE_KEY:", s.URL+"/v1/batch", s.URL+"/v1")

			p := admin.htmx("/admin/sources", url.Values{"name": {"  "}})
			p.expect(t, http.StatusUnprocessableEntity, `id="source-form"`, tc.invalid)

			p = admin.htmx("/admin/sources", url.Values{"name": {"Corporate site"}})
			p.expect(t, http.StatusOK, tc.created, `hx-swap-oob="true"`, `data-copy="#new-write-key"`, `data-copy="#new-source-snippet"`)
			raw := regexp.MustCompile(`<code id="new-write-key" class="secret">([^<]+)</code>`).FindStringSubmatch(p.Body)
			if raw == nil {
				t.Fatalf("no write key in:\n%s", p.Body)
			}
			if !strings.Contains(p.Body, "curl -u "+raw[1]+":") {
				t.Fatal("the example does not use the new write key")
			}
			src, err := s.src.Authenticate(ctx, raw[1])
			if err != nil || src.Name != "Corporate site" {
				t.Fatalf("the write key shown does not work: %+v %v", src, err)
			}
			// Shown once: the list has only the key's prefix.
			list := admin.get("/admin/sources")
			list.expect(t, http.StatusOK, "Corporate site", src.KeyPrefix+"…", `hx-confirm=`)
			if strings.Contains(list.Body, raw[1]) {
				t.Fatal("the list shows the whole write key")
			}

			p = admin.htmx("/admin/sources/"+src.ID+"/revoke", nil)
			p.expect(t, http.StatusOK, `id="source-`+src.ID+`"`, tc.revoked, "is-revoked")
			if strings.Contains(p.Body, "/revoke") {
				t.Fatal("a revoked source still offers revoking")
			}
			if _, err := s.src.Authenticate(ctx, raw[1]); err == nil {
				t.Fatal("revoked write key still works")
			}
			admin.htmx("/admin/sources/nope/revoke", nil).expect(t, http.StatusNotFound)

			// Without JavaScript: a whole page with the key, and a redirect after revoking.
			admin.post("/admin/sources", url.Values{"name": {"App"}}).expect(t, http.StatusOK, "<html", "new-write-key")
			list2, _ := s.src.List(ctx, accounts.System())
			admin.post("/admin/sources/"+list2[0].ID+"/revoke", nil).redirectsTo(t, "/admin/sources")

			// Members and moderators may not manage sources, and are not offered them.
			member := s.member("plain@example.com", tc.lang)
			member.get("/admin/sources").expect(t, http.StatusForbidden)
			member.post("/admin/sources", url.Values{"name": {"x"}}).expect(t, http.StatusForbidden)
			member.htmx("/admin/sources/"+list2[0].ID+"/revoke", nil).expect(t, http.StatusForbidden)
			mod := s.member("mod@example.com", tc.lang)
			admin.htmx("/admin/members/"+s.memberID("mod@example.com")+"/role", url.Values{"role": {"moderator"}}).expect(t, http.StatusOK)
			if strings.Contains(mod.get("/admin").Body, `href="/admin/sources"`) {
				t.Fatal("moderator is offered the sources")
			}
			mod.get("/admin/sources").expect(t, http.StatusForbidden)
			anon := s.browser(tc.lang)
			anon.get("/admin/sources").redirectsTo(t, "/login?next="+url.QueryEscape("/admin/sources"))
			// The pages shown on the way made the built-in "Community website" source; staff made two.
			all, _ := s.src.List(ctx, accounts.System())
			if n := len(slices.DeleteFunc(all, func(x ingest.Source) bool { return x.CreatedBy == "kizuna:system" })); n != 2 {
				t.Fatalf("sources after the forbidden attempts: %+v", all)
			}
		})
	}
}
