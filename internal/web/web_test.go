package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/web"
)

func TestLanguageNegotiation(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct{ accept, want string }{
		{"ja-JP,ja;q=0.9", "ja"},
		{"en-US,en;q=0.9", "en"},
		{"", "ja"},
		{"fr-FR, en;q=0.5, ja;q=0.4", "en"},
		{"en;q=0.3, ja;q=0.8", "ja"},
		{"de, *;q=0.1", "ja"},
		{"zh-CN", "ja"},
	} {
		p := s.browser(tc.accept).get("/")
		p.expect(t, http.StatusOK)
		if got := htmlLang(p.Body); got != tc.want {
			t.Errorf("Accept-Language %q: lang=%q, want %q", tc.accept, got, tc.want)
		}
	}

	// The switcher's cookie beats the browser's preference and returns to where the visitor was.
	b := s.browser("ja-JP,ja;q=0.9")
	b.post("/lang", url.Values{"lang": {"en"}, "next": {"/signup"}}).redirectsTo(t, "/signup")
	if b.cookie("kizuna_lang") != "en" {
		t.Fatalf("kizuna_lang cookie = %q", b.cookie("kizuna_lang"))
	}
	p := b.get("/signup")
	p.expect(t, http.StatusOK, "Create account")
	if htmlLang(p.Body) != "en" {
		t.Fatalf("after switching: lang=%q", htmlLang(p.Body))
	}
	b.post("/lang", url.Values{"lang": {"xx"}, "next": {"/"}}).expect(t, http.StatusBadRequest)
	b.post("/lang", url.Values{"lang": {"ja"}, "next": {"//evil.example/"}}).redirectsTo(t, "/")

	// A member's saved locale is used when there is no cookie, and the switcher saves it.
	m := s.member("hana@example.com", "en-US")
	if got := htmlLang(m.get("/").Body); got != "en" {
		t.Fatalf("member who signed up in English sees lang=%q", got)
	}
	m.lang = "ja" // the browser now prefers Japanese, but the member chose English
	if got := htmlLang(m.get("/").Body); got != "en" {
		t.Fatalf("member locale should beat Accept-Language, got lang=%q", got)
	}
	m.post("/lang", url.Values{"lang": {"ja"}, "next": {"/"}}).redirectsTo(t, "/")
	got, err := s.acc.GetMember(context.Background(), s.memberID("hana@example.com"))
	if err != nil || got.Locale != "ja" {
		t.Fatalf("locale after switching = %q, %v", got.Locale, err)
	}
}

func TestSignUpAndVerify(t *testing.T) {
	s := newSite(t)
	b := s.member("taro@example.com", "ja-JP,ja;q=0.9")
	if b.cookie("kizuna_session") == "" {
		t.Fatal("sign-up did not log the member in")
	}
	b.get("/?notice=welcome").expect(t, http.StatusOK, `id="verify-banner"`, "メールアドレスを確認してください", "taro@example.com")

	// Resending through htmx swaps in the banner with a confirmation and sends a second email.
	before := len(s.mails.Sent())
	b.htmx("/verify-email/resend", nil).expect(t, http.StatusOK, `id="verify-banner"`, "確認メールを再送しました")
	if len(s.mails.Sent()) != before+1 {
		t.Fatalf("resend sent %d emails", len(s.mails.Sent())-before)
	}
	// Without JavaScript the form posts and comes back to the home page.
	b.post("/verify-email/resend", nil).redirectsTo(t, "/?resent=1")

	// Someone else's link, opened while logged in, verifies that address and says so plainly.
	other := s.member("other@example.com", "en")
	b.get(s.lastLink("other@example.com")).expect(t, http.StatusOK, "メールアドレスの確認が完了しました")
	if m, _ := s.acc.GetMember(context.Background(), s.memberID("taro@example.com")); m.EmailVerified {
		t.Fatal("another member's link verified this member")
	}
	other.get("/").expect(t, http.StatusOK, "Verified")

	link := s.lastLink("taro@example.com")
	b.get(link).redirectsTo(t, "/?notice=verified")
	p := b.get("/?notice=verified")
	p.expect(t, http.StatusOK, "メールアドレスの確認が完了しました", "確認済み")
	if strings.Contains(p.Body, `id="verify-banner"`) {
		t.Fatal("banner still shown after verifying")
	}
	// The link works once; a visitor who is not logged in sees the result page.
	s.browser("en").get(link).expect(t, http.StatusBadRequest, "We could not confirm your address", "invalid or has expired")
}

func TestSignUpErrors(t *testing.T) {
	s := newSite(t)
	b := s.browser("ja")
	p := b.post("/signup", url.Values{"email": {"jiro@example.com"}, "password": {"short"}, "display_name": {"次郎"}})
	p.expect(t, http.StatusUnprocessableEntity, `id="password-error"`, "パスワードは 10 文字以上にしてください", `value="jiro@example.com"`, `value="次郎"`)
	p = b.post("/signup", url.Values{"email": {"not-an-address"}, "password": {"long enough pass"}})
	p.expect(t, http.StatusUnprocessableEntity, `id="email-error"`, "メールアドレスの形式が正しくありません")

	s.member("jiro@example.com", "ja")
	p = s.browser("en").post("/signup", url.Values{"email": {"jiro@example.com"}, "password": {"long enough pass"}})
	p.expect(t, http.StatusUnprocessableEntity, `id="email-error"`, "An account with this email address already exists.")
}

func TestLogin(t *testing.T) {
	s := newSite(t)
	s.member("saki@example.com", "ja").post("/logout", nil).redirectsTo(t, "/")

	b := s.browser("en")
	p := b.post("/login", url.Values{"email": {"saki@example.com"}, "password": {"wrong password"}})
	p.expect(t, http.StatusUnprocessableEntity, "The email address or password is wrong.", `value="saki@example.com"`, `aria-invalid="true"`)
	if b.cookie("kizuna_session") != "" {
		t.Fatal("failed log-in set a session")
	}

	// Open redirects are refused: ?next= must be a local path.
	b.get("/login?next=//evil.example/x").expect(t, http.StatusOK)
	if strings.Contains(b.get("/login?next=//evil.example/x").Body, `name="next" value="//evil`) {
		t.Fatal("log-in form carries a foreign next")
	}
	b.post("/login", url.Values{"email": {"saki@example.com"}, "password": {"correct horse battery"}, "next": {"//evil.example/x"}}).
		redirectsTo(t, "/")
	b.post("/logout", nil).redirectsTo(t, "/")
	b.post("/login", url.Values{"email": {"saki@example.com"}, "password": {"correct horse battery"}, "next": {`/\evil.example`}}).
		redirectsTo(t, "/")
	b.post("/logout", nil).redirectsTo(t, "/")
	b.post("/login", url.Values{"email": {"saki@example.com"}, "password": {"correct horse battery"}, "next": {"https://evil.example/"}}).
		redirectsTo(t, "/")
	b.post("/logout", nil).redirectsTo(t, "/")
	b.post("/login", url.Values{"email": {"saki@example.com"}, "password": {"correct horse battery"}, "next": {"/?from=login"}}).
		redirectsTo(t, "/?from=login")
	// A logged-in visitor on the log-in page goes on to next.
	b.get("/login?next=/admin").redirectsTo(t, "/admin")

	// Throttling: after five failures even the right password is refused for a while.
	c := s.browser("ja")
	for range 5 {
		c.post("/login", url.Values{"email": {"saki@example.com"}, "password": {"nope nope nope"}}).expect(t, http.StatusUnprocessableEntity)
	}
	c.post("/login", url.Values{"email": {"saki@example.com"}, "password": {"correct horse battery"}}).
		expect(t, http.StatusTooManyRequests, "ログインの失敗が続いたため、一時的に制限しています。15 分ほど待つか")
}

func TestLogout(t *testing.T) {
	s := newSite(t)
	b := s.admin("en")
	token := b.cookie("kizuna_session")
	b.get("/admin").expect(t, http.StatusOK)
	p := b.post("/logout", nil)
	p.redirectsTo(t, "/")
	if b.cookie("kizuna_session") != "" {
		t.Fatal("log-out left the cookie")
	}
	if _, err := s.acc.SessionMember(context.Background(), token); err == nil {
		t.Fatal("session still alive after log-out")
	}
	b.get("/admin").redirectsTo(t, "/login?next=%2Fadmin")
	// A stale cookie is treated as logged out, not as an error.
	b.c.Jar.SetCookies(mustURL(s.URL), []*http.Cookie{{Name: "kizuna_session", Value: token, Path: "/"}})
	b.get("/").expect(t, http.StatusOK, "Join for free")
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestPasswordReset(t *testing.T) {
	s := newSite(t)
	m := s.member("ken@example.com", "en")
	b := s.browser("en")

	// The answer is the same whether or not the account exists.
	const sent = "If an account exists for that address, we sent it a link"
	b.post("/forgot-password", url.Values{"email": {"nobody@example.com"}}).expect(t, http.StatusOK, sent)
	mailsBefore := len(s.mails.Sent())
	b.post("/forgot-password", url.Values{"email": {"ken@example.com"}}).expect(t, http.StatusOK, sent)
	if len(s.mails.Sent()) != mailsBefore+1 {
		t.Fatal("no reset email sent")
	}
	b.post("/forgot-password", url.Values{"email": {"bad"}}).expect(t, http.StatusUnprocessableEntity, "That is not a valid email address.")

	link := s.lastLink("ken@example.com")
	if !strings.HasPrefix(link, "/reset-password?token=") {
		t.Fatalf("reset link %q", link)
	}
	token := mustURL(link).Query().Get("token")
	b.get(link).expect(t, http.StatusOK, `name="token" value="`+token+`"`)
	b.post("/reset-password", url.Values{"token": {token}, "password": {"short"}}).
		expect(t, http.StatusUnprocessableEntity, "The password must be at least 10 characters.")
	b.post("/reset-password", url.Values{"token": {token}, "password": {"a brand new secret"}}).redirectsTo(t, "/login?reset=1")
	b.get("/login?reset=1").expect(t, http.StatusOK, "Your password has been changed.")
	b.post("/reset-password", url.Values{"token": {token}, "password": {"another new secret"}}).
		expect(t, http.StatusUnprocessableEntity, "This link is invalid or has expired.")

	// Every session ended; the old password fails and the new one works.
	m.get("/").expect(t, http.StatusOK, "Join for free")
	b.post("/login", url.Values{"email": {"ken@example.com"}, "password": {"correct horse battery"}}).expect(t, http.StatusUnprocessableEntity)
	b.post("/login", url.Values{"email": {"ken@example.com"}, "password": {"a brand new secret"}}).redirectsTo(t, "/")
}

func TestSetup(t *testing.T) {
	s := newSite(t)
	b := s.browser("ja")
	b.get("/setup?token=nonsense").expect(t, http.StatusNotFound, "このセットアップリンクは使えません")
	token, err := s.acc.SetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.get("/setup?token="+token).expect(t, http.StatusOK, "最初の管理者を作成", `name="token" value="`+token+`"`)
	b.post("/setup", url.Values{"token": {token}, "email": {"boss@example.com"}, "password": {"short"}}).
		expect(t, http.StatusUnprocessableEntity, "パスワードは 10 文字以上")
	b.post("/setup", url.Values{"token": {token}, "email": {"boss@example.com"}, "password": {"long enough pass"}, "display_name": {"社長"}}).
		redirectsTo(t, "/admin")
	p := b.get("/admin")
	p.expect(t, http.StatusOK, "ようこそ、社長 さん", "概要", "メンバー", "API キー", "監査ログ", "初期設定を完了")
	if has, _ := s.acc.HasAdmin(context.Background()); !has {
		t.Fatal("no administrator after set-up")
	}
	// The link is spent.
	s.browser("en").get("/setup?token="+token).expect(t, http.StatusNotFound, "This set-up link cannot be used")
	s.browser("en").post("/setup", url.Values{"token": {token}, "email": {"x@example.com"}, "password": {"long enough pass"}}).
		expect(t, http.StatusNotFound, "This set-up link cannot be used")
}

func TestAdminAccess(t *testing.T) {
	s := newSite(t)
	admin := s.admin("en")
	anon := s.browser("en")
	for _, path := range []string{"/admin", "/admin/members", "/admin/api-keys", "/admin/audit"} {
		anon.get(path).redirectsTo(t, "/login?next="+url.QueryEscape(path))
	}
	anon.post("/admin/api-keys", url.Values{"name": {"x"}, "scopes": {"read"}}).redirectsTo(t, "/login?next=%2Fadmin")
	// htmx is told to navigate instead of swapping a log-in page into a table.
	p := anon.htmx("/admin/api-keys/x/revoke", nil)
	if p.StatusCode != http.StatusNoContent || p.Header.Get("HX-Redirect") == "" {
		t.Fatalf("htmx without a session: %d HX-Redirect=%q", p.StatusCode, p.Header.Get("HX-Redirect"))
	}

	member := s.member("plain@example.com", "en")
	for _, path := range []string{"/admin", "/admin/members", "/admin/api-keys", "/admin/audit"} {
		member.get(path).expect(t, http.StatusForbidden, "You do not have access")
	}
	member.post("/admin/api-keys", url.Values{"name": {"x"}, "scopes": {"read"}}).expect(t, http.StatusForbidden)
	if strings.Contains(member.get("/").Body, `href="/admin"`) {
		t.Fatal("a plain member is offered the admin")
	}

	// A moderator sees the admin with only the sections its role allows.
	mod := s.member("mod@example.com", "en")
	admin.htmx("/admin/members/"+s.memberID("mod@example.com")+"/role", url.Values{"role": {"moderator"}}).
		expect(t, http.StatusOK, "Saved")
	p = mod.get("/admin")
	p.expect(t, http.StatusOK, `href="/admin/members"`)
	if strings.Contains(p.Body, `href="/admin/api-keys"`) || strings.Contains(p.Body, `href="/admin/audit"`) {
		t.Fatal("moderator is shown sections it may not use")
	}
	mod.get("/admin/api-keys").expect(t, http.StatusForbidden)
	mp := mod.get("/admin/members")
	mp.expect(t, http.StatusOK, "plain@example.com")
	if strings.Contains(mp.Body, "role-form") {
		t.Fatal("moderator is offered role changes")
	}
	mod.htmx("/admin/members/"+s.memberID("plain@example.com")+"/role", url.Values{"role": {"admin"}}).expect(t, http.StatusForbidden)
	if strings.Contains(mod.get("/").Body, `href="/admin"`) == false {
		t.Fatal("moderator's home lacks the admin link")
	}
}

func TestMembersAndRoles(t *testing.T) {
	s := newSite(t)
	admin := s.admin("en")
	for i := range 3 {
		s.member("m"+string(rune('a'+i))+"@example.com", "ja")
	}
	p := admin.get("/admin/members")
	p.expect(t, http.StatusOK, "ma@example.com", "mc@example.com", "role-form", ">you<")

	id := s.memberID("mb@example.com")
	p = admin.htmx("/admin/members/"+id+"/role", url.Values{"role": {"analyst"}})
	p.expect(t, http.StatusOK, `id="member-`+id+`"`, `<option value="analyst" selected>`, "Saved")
	if strings.Contains(p.Body, "<html") {
		t.Fatal("htmx got a whole page instead of a row")
	}
	m, _ := s.acc.GetMember(context.Background(), id)
	if m.Role != accounts.RoleAnalyst {
		t.Fatalf("role = %s", m.Role)
	}
	// The last administrator cannot demote themselves; the row says why.
	self := s.memberID("admin@example.com")
	admin.htmx("/admin/members/"+self+"/role", url.Values{"role": {"member"}}).
		expect(t, http.StatusUnprocessableEntity, "This is the last administrator.", `<option value="admin" selected>`)
	// Without JavaScript the form posts and returns to the list.
	admin.post("/admin/members/"+id+"/role", url.Values{"role": {"cs"}}).redirectsTo(t, "/admin/members")
	admin.htmx("/admin/members/nope/role", url.Values{"role": {"cs"}}).expect(t, http.StatusNotFound)
}

func TestMemberPagination(t *testing.T) {
	s := newSite(t)
	admin := s.admin("en")
	for i := range 52 {
		if _, err := s.acc.SignUp(context.Background(), accounts.SignUpInput{Email: "p" + itoa(i) + "@example.com", Password: "long enough pass"}); err != nil {
			t.Fatal(err)
		}
	}
	p := admin.get("/admin/members")
	next := regexp.MustCompile(`href="/admin/members\?after=([^"]+)"`).FindStringSubmatch(p.Body)
	if next == nil {
		t.Fatal("no next page link with 53 members")
	}
	p2 := admin.get("/admin/members?after=" + next[1])
	p2.expect(t, http.StatusOK, "p51@example.com", "First page")
	if strings.Contains(p2.Body, ">admin@example.com</td>") {
		t.Fatal("second page repeats the first")
	}
	admin.get("/admin/members?after=!!").expect(t, http.StatusBadRequest)
	admin.get("/admin").expect(t, http.StatusOK, `<span class="stat-value">53</span>`)
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func TestAPIKeys(t *testing.T) {
	s := newSite(t)
	admin := s.admin("en")
	admin.get("/admin/api-keys").expect(t, http.StatusOK, "No API keys yet.", `name="scopes" value="read"`)

	// Validation errors come back as the form with the message, for htmx to swap in.
	p := admin.htmx("/admin/api-keys", url.Values{"name": {"CRM"}})
	p.expect(t, http.StatusUnprocessableEntity, `id="key-form"`, "Choose at least one scope.", `value="CRM"`)

	p = admin.htmx("/admin/api-keys", url.Values{"name": {"CRM sync"}, "scopes": {"read", "write"}})
	p.expect(t, http.StatusOK, "API key “CRM sync” created", `hx-swap-oob="true"`, `data-copy="#new-key-value"`)
	raw := regexp.MustCompile(`<code id="new-key-value" class="secret">(kzn_[A-Za-z0-9_-]+)</code>`).FindStringSubmatch(p.Body)
	if raw == nil {
		t.Fatalf("no raw key in:\n%s", p.Body)
	}
	if _, err := s.acc.AuthenticateAPIKey(context.Background(), raw[1]); err != nil {
		t.Fatalf("the key shown does not work: %v", err)
	}
	// Shown once: the list never contains the key again, only its prefix.
	list := admin.get("/admin/api-keys")
	list.expect(t, http.StatusOK, "CRM sync", raw[1][:10], "Active")
	if strings.Contains(list.Body, raw[1]) {
		t.Fatal("the list shows the whole key")
	}

	keys, _ := s.acc.ListAPIKeys(context.Background(), accounts.System())
	id := keys[0].ID
	p = admin.htmx("/admin/api-keys/"+id+"/revoke", nil)
	p.expect(t, http.StatusOK, `id="key-`+id+`"`, "Revoked", "is-revoked")
	if strings.Contains(p.Body, "/revoke") {
		t.Fatal("a revoked key still offers revoking")
	}
	if _, err := s.acc.AuthenticateAPIKey(context.Background(), raw[1]); err == nil {
		t.Fatal("revoked key still works")
	}
	admin.htmx("/admin/api-keys/nope/revoke", nil).expect(t, http.StatusNotFound, "We could not find that page.")

	// Without JavaScript: a full page with the key, and a redirect after revoking.
	full := admin.post("/admin/api-keys", url.Values{"name": {"Warehouse"}, "scopes": {"admin"}})
	full.expect(t, http.StatusOK, "<html", "API key “Warehouse” created", "kzn_")
	keys, _ = s.acc.ListAPIKeys(context.Background(), accounts.System())
	admin.post("/admin/api-keys/"+keys[0].ID+"/revoke", nil).redirectsTo(t, "/admin/api-keys")
	admin.get("/admin").expect(t, http.StatusOK, `<span class="stat-value">0</span>`)
}

func TestAuditLog(t *testing.T) {
	s := newSite(t)
	admin := s.admin("ja")
	for i := range 55 {
		admin.htmx("/admin/api-keys", url.Values{"name": {"key " + itoa(i)}, "scopes": {"read"}}).expect(t, http.StatusOK)
	}
	p := admin.get("/admin/audit")
	p.expect(t, http.StatusOK, "API キーを作成", "Aiko Admin", "key 54")
	if strings.Contains(p.Body, "key 3<") || strings.Contains(p.Body, "初期設定を完了") {
		t.Fatal("first page shows old entries; newest should come first")
	}
	older := regexp.MustCompile(`href="/admin/audit\?before=([^"]+)"`).FindStringSubmatch(p.Body)
	if older == nil {
		t.Fatal("no link to older entries")
	}
	admin.get("/admin/audit?before="+older[1]).expect(t, http.StatusOK, "初期設定を完了", "最新")
}

func TestCrossOriginPostsRefused(t *testing.T) {
	s := newSite(t)
	s.member("victim@example.com", "en")
	b := s.browser("en")
	form := url.Values{"email": {"victim@example.com"}, "password": {"correct horse battery"}}
	b.do(http.MethodPost, "/login", form, http.Header{"Sec-Fetch-Site": {"cross-site"}}).
		expect(t, http.StatusForbidden, "Request refused")
	b.do(http.MethodPost, "/login", form, http.Header{"Origin": {"https://evil.example"}}).
		expect(t, http.StatusForbidden)
	if b.cookie("kizuna_session") != "" {
		t.Fatal("a cross-origin log-in went through")
	}
	admin := s.admin("en")
	admin.do(http.MethodPost, "/admin/api-keys", url.Values{"name": {"x"}, "scopes": {"admin"}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}).
		expect(t, http.StatusForbidden)
	if keys, _ := s.acc.ListAPIKeys(context.Background(), accounts.System()); len(keys) != 0 {
		t.Fatal("a cross-site post created a key")
	}
	admin.do(http.MethodPost, "/logout", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}}).expect(t, http.StatusForbidden)
	// Same-origin browsers are let through.
	b.do(http.MethodPost, "/login", form, http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {s.URL}}).redirectsTo(t, "/")
}

func TestSecurityHeadersAndCookies(t *testing.T) {
	s := newSite(t)
	b := s.browser("ja")
	check := func(p page) {
		t.Helper()
		for k, v := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"X-Frame-Options":         "DENY",
		} {
			if got := p.Header.Get(k); got != v {
				t.Errorf("%s %s: %s = %q, want %q", p.Request.Method, p.Request.URL.Path, k, got, v)
			}
		}
	}
	check(b.get("/"))
	check(b.get("/login"))
	check(b.get("/no/such/page"))
	check(b.do(http.MethodPost, "/login", url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}}))

	p := b.post("/signup", url.Values{"email": {"c@example.com"}, "password": {"long enough pass"}})
	check(p)
	var sess *http.Cookie
	for _, c := range p.Cookies() {
		if c.Name == "kizuna_session" {
			sess = c
		}
	}
	if sess == nil {
		t.Fatal("no session cookie")
	}
	if !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Secure ||
		sess.MaxAge != int(accounts.SessionLifetime.Seconds()) {
		t.Fatalf("session cookie %+v", sess)
	}
	home := b.get("/")
	check(home)
	if cc := home.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("authenticated page Cache-Control = %q", cc)
	}

	// No inline scripts or styles: the CSP would block them.
	for _, bad := range []string{"<style", " style=", "<script>", " onclick=", "javascript:"} {
		if strings.Contains(home.Body, bad) {
			t.Fatalf("page contains %q", bad)
		}
	}
	css := regexp.MustCompile(`href="(/static/app\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(home.Body)
	if css == nil {
		t.Fatal("no versioned stylesheet link")
	}
	st := b.get(css[1])
	st.expect(t, http.StatusOK, "--c-primary")
	check(st)
	if cc := st.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
		t.Fatalf("static Cache-Control = %q", cc)
	}
	if ct := st.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Fatalf("static Content-Type = %q", ct)
	}
	js := regexp.MustCompile(`src="(/static/vendor/htmx-2\.0\.11\.min\.js\?v=[0-9a-f]+)"`).FindStringSubmatch(home.Body)
	if js == nil {
		t.Fatal("no htmx script")
	}
	b.get(js[1]).expect(t, http.StatusOK, "htmx")
	b.get("/static/").expect(t, http.StatusNotFound)
	b.get("/static/vendor/").expect(t, http.StatusNotFound)
	b.get("/static/missing.js").expect(t, http.StatusNotFound)
	if !strings.Contains(home.Body, `<meta name="htmx-config" content='{"includeIndicatorStyles":false`) {
		t.Fatal("htmx-config meta missing")
	}
}

func TestSecureCookiesOverHTTPS(t *testing.T) {
	// Cookies get Secure when the public base URL is HTTPS, as behind a TLS-terminating proxy.
	d := dbtest.Open(t, db.SQLite, backbone.Migrations(), accounts.Migrations())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	acc := accounts.New(accounts.Deps{DB: d, Outbox: backbone.NewOutbox(d), Log: log, HashParams: accounts.TestHashParams()})
	w, err := web.New(web.Deps{Accounts: acc, Log: log, BaseURL: "https://community.example.jp"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.Routes(mux)
	token, err := acc.SetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"token": {token}, "email": {"a@example.com"}, "password": {"long enough pass"}}
	req := httptest.NewRequest(http.MethodPost, "https://community.example.jp/setup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// A browser behind the proxy: the Host the app sees differs, the public origin is trusted.
	req.Host = "10.0.0.5:8080"
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", "https://community.example.jp")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("set-up over https: %d %s", rec.Code, rec.Body)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatal("no cookie")
	}
	for _, c := range cookies {
		if c.Name == "kizuna_session" && (!c.Secure || !c.HttpOnly) {
			t.Fatalf("session cookie under https: %+v", c)
		}
	}
}

func TestNotFound(t *testing.T) {
	s := newSite(t)
	s.browser("ja").get("/no/such/page").expect(t, http.StatusNotFound, `lang="ja"`, "ページが見つかりません")
	s.browser("en").get("/no/such/page").expect(t, http.StatusNotFound, `lang="en"`, "Page not found")
	s.browser("en").post("/no/such/page", nil).expect(t, http.StatusNotFound)
	s.browser("en").get("/reset-password").expect(t, http.StatusBadRequest)
}

// TestEveryPageRenders renders every page in both languages: no template error, the right
// lang attribute, and no untranslated key left in the text.
func TestEveryPageRenders(t *testing.T) {
	s := newSite(t)
	leftover := regexp.MustCompile(`>[^<]*\b(?:a11y|brand|nav|lang|footer|landing|home|field|signup|login|forgot|reset|verify|setup|admin|members|keys|audit|pager|role|scope|error|err)\.[a-z_]+[^<]*<`)
	admin := s.admin("ja")
	admin.htmx("/admin/api-keys", url.Values{"name": {"BI"}, "scopes": {"read"}}).expect(t, http.StatusOK)
	unverified := s.member("u@example.com", "ja")
	setup, _ := s.acc.SetupToken(context.Background())
	_ = setup // an admin exists, so no token is issued; the invalid-link page is rendered instead
	s.acc.RequestPasswordReset(context.Background(), "u@example.com")
	reset := s.lastLink("u@example.com")

	for _, lang := range []string{"ja", "en"} {
		anon := s.browser(lang)
		admin.lang, unverified.lang = lang, lang
		admin.c.Jar.SetCookies(mustURL(s.URL), []*http.Cookie{{Name: "kizuna_lang", Value: lang, Path: "/"}})
		unverified.c.Jar.SetCookies(mustURL(s.URL), []*http.Cookie{{Name: "kizuna_lang", Value: lang, Path: "/"}})
		for _, tc := range []struct {
			b      *browser
			path   string
			status int
		}{
			{anon, "/", 200}, {anon, "/signup", 200}, {anon, "/login", 200}, {anon, "/login?reset=1", 200},
			{anon, "/forgot-password", 200}, {anon, reset, 200}, {anon, "/setup?token=x", 404},
			{anon, "/verify-email?token=x", 400}, {anon, "/nowhere", 404},
			{unverified, "/", 200}, {unverified, "/?notice=welcome", 200}, {unverified, "/admin", 403},
			{admin, "/", 200}, {admin, "/admin", 200}, {admin, "/admin/members", 200},
			{admin, "/admin/api-keys", 200}, {admin, "/admin/audit", 200},
		} {
			p := tc.b.get(tc.path)
			p.expect(t, tc.status, "</html>")
			if htmlLang(p.Body) != lang {
				t.Errorf("%s %s: lang=%q", lang, tc.path, htmlLang(p.Body))
			}
			// Audit action codes are shown verbatim in <code> beside their translation.
			text := regexp.MustCompile(`<code[^>]*>[^<]*</code>`).ReplaceAllString(p.Body, "")
			if m := leftover.FindString(text); m != "" {
				t.Errorf("%s %s: untranslated key in %q", lang, tc.path, m)
			}
		}
	}
}
