package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/accounts/social"
	"github.com/kizuna-community/kizuna/internal/accounts/social/socialtest"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
)

// consentLog is a ConsentRecorder keeping what reaches it: it stands in for the consent ledger,
// which is not part of this package.
type consentLog struct {
	mu  sync.Mutex
	got []consentCall
}

type consentCall struct {
	Member   string
	Choices  []accounts.ConsentChoice
	Evidence accounts.ConsentEvidence
}

func (c *consentLog) RecordConsents(_ context.Context, memberID string, choices []accounts.ConsentChoice, ev accounts.ConsentEvidence) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, consentCall{memberID, choices, ev})
	return nil
}

func (c *consentLog) calls() []consentCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]consentCall(nil), c.got...)
}

// socialSite is the web shell with Google and a staff SSO on a real OIDC provider and LINE on a
// LINE Login peer, all on loopback.
type socialSite struct {
	*site
	op       *socialtest.OIDC
	line     *socialtest.LINE
	consents *consentLog
}

func newSocialSite(t *testing.T, e db.Engine, withBackbone bool) *socialSite {
	t.Helper()
	op := socialtest.NewOIDC(t)
	line := socialtest.NewLINE(t, "1660000001", "0123456789abcdef0123456789abcdef")
	cl := &consentLog{}
	s := newSiteOpts(t, siteOptions{engine: e, backbone: withBackbone, consents: cl, providers: []accounts.ProviderConfig{
		{Key: "line", AllowSignUp: true, Config: line.Config()},
		{Key: "google", AllowSignUp: true, Config: op.Config(social.KindGoogle)},
		{Key: "sso", Name: "Kizuna 社員 SSO", Config: op.Config(social.KindOIDC)},
	}})
	return &socialSite{site: s, op: op, line: line, consents: cl}
}

// viaProvider follows the start of a log-in to the provider and back, and returns the callback
// path on the site (tamper may change its query first) and the callback page.
func (b *browser) viaProvider(start string, tamper func(url.Values)) page {
	t := b.s.t
	t.Helper()
	p := b.get(start)
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET %s: %d, want a redirect to the provider:\n%s", start, p.StatusCode, excerpt(p.Body))
	}
	to := p.Header.Get("Location")
	u, _ := url.Parse(to)
	if u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("state") == "" {
		t.Fatalf("authorization URL %s lacks state or PKCE", to)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), b.s.URL+"/auth/") {
		t.Fatalf("provider answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := back.Query()
	if tamper != nil {
		tamper(q)
	}
	return b.get(back.Path + "?" + q.Encode())
}

func TestSocialSignUpThroughThePermissionScreen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		s := newSocialSite(t, e, true)
		b := s.browser("ja")
		login := b.get("/login")
		login.expect(t, http.StatusOK, `data-provider="line"`, "LINEでログイン", `data-provider="google"`, "Google でログイン", "スタッフの方はこちら", "Kizuna 社員 SSO でログイン")
		if strings.Index(login.Body, `data-provider="line"`) > strings.Index(login.Body, `data-provider="google"`) {
			t.Error("LINE is not the first button")
		}
		signup := b.get("/signup")
		signup.expect(t, http.StatusOK, "LINEで登録", "Google で登録")
		if strings.Contains(signup.Body, "社員 SSO") {
			t.Error("the sign-up page offers staff SSO, which creates no accounts")
		}

		s.op.Queue(socialtest.Person{Subject: "g-2001", Name: "山田 花子", Email: "hanako@kizuna-mail.jp", EmailVerified: true, Picture: "https://lh3.example/hanako.png"})
		b.viaProvider("/auth/google?next=%2Fspaces", nil).redirectsTo(t, "/social/permission")
		perm := b.get("/social/permission")
		perm.expect(t, http.StatusOK, "Google で登録", "Google から受け取る情報", "山田 花子", "hanako@kizuna-mail.jp", "確認済み",
			"利用目的", "お知らせの受け取り（任意）", `value="email:marketing"`, `value="email:product_news"`, "同意して登録する", "social-permission/ja/")
		if strings.Contains(perm.Body, `value="line:marketing"`) {
			t.Error("LINE messages offered to a Google sign-up, which has no LINE id to send to")
		}
		if strings.Contains(perm.Body, `name="email"`) {
			t.Error("the address Google verified is asked for again")
		}
		if csp := perm.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https:") {
			t.Errorf("permission screen CSP %q does not let the provider's picture through", csp)
		}
		b.post("/social/permission", url.Values{"display_name": {"はなこ"}, "consent": {"email:marketing"}}).redirectsTo(t, "/spaces")
		if b.cookie("kizuna_session") == "" {
			t.Fatal("no session after the sign-up")
		}
		home := b.get("/")
		home.expect(t, http.StatusOK, "はなこ")

		// What was stored: a verified member with Google linked.
		id := s.memberID("hanako@kizuna-mail.jp")
		m, _ := s.acc.GetMember(context.Background(), id)
		ids, _ := s.acc.SocialIdentities(context.Background(), id)
		if !m.EmailVerified || m.DisplayName != "はなこ" || m.Locale != "ja" || len(ids) != 1 || ids[0].Subject != "g-2001" {
			t.Fatalf("member %+v, identities %+v", m, ids)
		}
		// The choices that reached the consent recorder: every box offered, ticked or not.
		calls := s.consents.calls()
		if len(calls) != 1 {
			t.Fatalf("%d consent calls", len(calls))
		}
		want := []accounts.ConsentChoice{{Channel: "email", Purpose: "marketing", OptedIn: true}, {Channel: "email", Purpose: "product_news", OptedIn: false}}
		if diff := cmp.Diff(want, calls[0].Choices); diff != "" || calls[0].Member != id {
			t.Fatalf("choices (-want +got):\n%s", diff)
		}
		ev := calls[0].Evidence
		if ev.Source != "social_signup" || ev.Provider != "google" || ev.Locale != "ja" || !strings.HasPrefix(ev.TextVersion, "social-permission/ja/") ||
			!strings.Contains(perm.Body, ev.TextVersion) || ev.IP != "127.0.0.1" || ev.UserAgent == "" {
			t.Fatalf("evidence %+v", ev)
		}

		// The Google id reached the member's customer profile through the event flow.
		s.eventually("the Google id on the member's profile", func() (string, bool) {
			p1, err1 := s.idg.Lookup(context.Background(), "social:google", "g-2001")
			p2, err2 := s.idg.Lookup(context.Background(), "user_id", id)
			return p1, err1 == nil && err2 == nil && p1 == p2
		})

		// Logging in again with Google, in a fresh browser, goes straight in.
		again := s.browser("ja")
		s.op.Queue(socialtest.Person{Subject: "g-2001", Name: "山田 花子", Email: "hanako@kizuna-mail.jp", EmailVerified: true})
		again.viaProvider("/auth/google", nil).redirectsTo(t, "/")
		if again.cookie("kizuna_session") == "" {
			t.Fatal("no session after logging in with Google")
		}
	})
}

func TestSocialLinkLINEAndUnlink(t *testing.T) {
	s := newSocialSite(t, db.SQLite, false)
	b := s.member("ren@kizuna-mail.jp", "ja")
	conn := b.get("/settings/connections")
	conn.expect(t, http.StatusOK, "ログインと連携", `href="/auth/line?link=1"`, `href="/auth/google?link=1"`, "メールアドレスとパスワード")

	uid := socialtest.LINEUserID("ren")
	s.line.Queue(socialtest.Person{Subject: uid, Name: "れん", Picture: "https://profile.line-scdn.net/ren"})
	b.viaProvider("/auth/line?link=1", nil).redirectsTo(t, "/social/permission")
	perm := b.get("/social/permission")
	perm.expect(t, http.StatusOK, "LINE アカウントを連携", "れん", "同意して連携する", `value="line:marketing"`, "LINE でお知らせを受け取る")
	b.post("/social/permission", url.Values{"consent": {"line:marketing"}}).redirectsTo(t, "/settings/connections?notice=linked&provider=line")
	b.get("/settings/connections?notice=linked&provider=line").expect(t, http.StatusOK, "LINE アカウントを連携しました。", "れん", "連携中")

	id := s.memberID("ren@kizuna-mail.jp")
	calls := s.consents.calls()
	if len(calls) != 1 || calls[0].Evidence.Source != "social_link" || calls[0].Member != id ||
		!cmp.Equal(calls[0].Choices[0], accounts.ConsentChoice{Channel: "line", Purpose: "marketing", OptedIn: true}) {
		t.Fatalf("consent calls %+v", calls)
	}
	// LINE (an HS256 ID token signed with the channel secret) now logs Ren in.
	other := s.browser("ja")
	s.line.Queue(socialtest.Person{Subject: uid, Name: "れん"})
	other.viaProvider("/auth/line", nil).redirectsTo(t, "/")
	// A token signed with another secret is refused.
	s.line.SignWith("ffffffffffffffffffffffffffffffff")
	third := s.browser("ja")
	s.line.Queue(socialtest.Person{Subject: uid, Name: "れん"})
	third.viaProvider("/auth/line", nil).expect(t, http.StatusUnauthorized, "ログイン先からの応答を確認できませんでした")
	s.line.SignWith("")

	// Linking the same LINE account to someone else is refused.
	mio := s.member("mio@kizuna-mail.jp", "ja")
	s.line.Queue(socialtest.Person{Subject: uid, Name: "れん"})
	mio.viaProvider("/auth/line?link=1", nil).expect(t, http.StatusConflict, "この LINE アカウントは別の Kizuna アカウントに連携されています")

	// Unlinking works while a password remains.
	b.post("/settings/connections/line/unlink", url.Values{}).redirectsTo(t, "/settings/connections?notice=unlinked")
	if ids, _ := s.acc.SocialIdentities(context.Background(), id); len(ids) != 0 {
		t.Fatalf("still linked: %+v", ids)
	}
}

func TestSocialOnlyAccountKeepsItsLastWayIn(t *testing.T) {
	s := newSocialSite(t, db.SQLite, false)
	b := s.browser("en")
	s.line.Queue(socialtest.Person{Subject: socialtest.LINEUserID("sora"), Name: "Sora"}) // LINE vouches for no address
	b.viaProvider("/auth/line", nil).redirectsTo(t, "/social/permission")
	perm := b.get("/social/permission")
	perm.expect(t, http.StatusOK, "Sign up with LINE", `name="email"`, "LINE did not confirm an email address", `value="line:marketing"`)
	// A typed address is unverified: no email opt-ins until it is (the privacy centre offers them).
	if strings.Contains(perm.Body, `value="email:marketing"`) || strings.Contains(perm.Body, `value="email:product_news"`) {
		t.Error("email opt-ins offered for an address the provider did not vouch for")
	}
	// The address is required, and one that has an account is refused with a way to link instead.
	s.member("taken@kizuna-mail.jp", "en")
	b.post("/social/permission", url.Values{"display_name": {"Sora"}}).expect(t, http.StatusUnprocessableEntity, "Sign up with LINE")
	b.post("/social/permission", url.Values{"display_name": {"Sora"}, "email": {"taken@kizuna-mail.jp"}}).
		expect(t, http.StatusUnprocessableEntity, "already exists", "Log in and link instead")
	b.post("/social/permission", url.Values{"display_name": {"Sora"}, "email": {"sora@kizuna-mail.jp"}, "consent": {"email:marketing"}}).redirectsTo(t, "/?notice=welcome")
	id := s.memberID("sora@kizuna-mail.jp")
	if m, _ := s.acc.GetMember(context.Background(), id); m.EmailVerified {
		t.Fatal("an address nobody vouched for counts as verified")
	}
	if s.lastLink("sora@kizuna-mail.jp") == "" {
		t.Fatal("no verification email")
	}
	// Without consent choices ticked, every box offered still reached the recorder as a "no"; a
	// forged email opt-in is not one of them.
	calls := s.consents.calls()
	if len(calls) != 1 || len(calls[0].Choices) != 1 || calls[0].Choices[0].Channel != "line" || calls[0].Choices[0].OptedIn || calls[0].Evidence.Locale != "en" {
		t.Fatalf("consent calls %+v", calls)
	}
	conn := b.get("/settings/connections")
	conn.expect(t, http.StatusOK, "Your only way to log in", "Set a password")
	if strings.Contains(conn.Body, "/settings/connections/line/unlink") {
		t.Error("the only way to log in offers to unlink")
	}
	b.post("/settings/connections/line/unlink", url.Values{}).expect(t, http.StatusConflict, "This is your only way to log in")
}

func TestSocialEmailCollisionAsksToLogInFirst(t *testing.T) {
	s := newSocialSite(t, db.SQLite, false)
	s.member("aoi@kizuna-mail.jp", "ja")
	b := s.browser("ja")
	s.op.Queue(socialtest.Person{Subject: "g-aoi", Name: "Aoi", Email: "aoi@kizuna-mail.jp", EmailVerified: true})
	b.viaProvider("/auth/google", nil).redirectsTo(t, "/social/permission")
	b.get("/social/permission").expect(t, http.StatusOK, "アカウントがすでにあります", "aoi@kizuna-mail.jp", `href="/login?next=%2Fsocial%2Fpermission"`)
	// Posting the screen anyway does not take the account over.
	b.post("/social/permission", url.Values{"email": {"aoi@kizuna-mail.jp"}}).expect(t, http.StatusConflict, "このメールアドレスのアカウントがすでにあります")
	if b.cookie("kizuna_session") != "" {
		t.Fatal("signed in without the account's password")
	}
	// Log in with the password, come back, link.
	b.post("/login", url.Values{"email": {"aoi@kizuna-mail.jp"}, "password": {"correct horse battery"}, "next": {"/social/permission"}}).redirectsTo(t, "/social/permission")
	b.get("/social/permission").expect(t, http.StatusOK, "Google アカウントを連携", "同意して連携する")
	b.post("/social/permission", url.Values{}).redirectsTo(t, "/settings/connections?notice=linked&provider=google")
	if ids, _ := s.acc.SocialIdentities(context.Background(), s.memberID("aoi@kizuna-mail.jp")); len(ids) != 1 {
		t.Fatalf("identities %+v", ids)
	}
}

func TestSocialRefusesTamperedStateNonceAndExpiredTokens(t *testing.T) {
	s := newSocialSite(t, db.SQLite, false)
	for name, run := range map[string]func(b *browser) page{
		"tampered state": func(b *browser) page {
			s.op.Queue(socialtest.Person{Subject: "g-x1", Name: "X"})
			return b.viaProvider("/auth/google", func(q url.Values) { q.Set("state", "forged-"+q.Get("state")) })
		},
		"tampered nonce": func(b *browser) page {
			s.op.Queue(socialtest.Person{Subject: "g-x2", Name: "X"})
			s.op.TamperNextNonce()
			return b.viaProvider("/auth/google", nil)
		},
		"expired ID token": func(b *browser) page {
			s.op.Queue(socialtest.Person{Subject: "g-x3", Name: "X"})
			restore := s.op.IssueExpired()
			defer restore()
			return b.viaProvider("/auth/google", nil)
		},
		"callback in another browser": func(b *browser) page {
			s.op.Queue(socialtest.Person{Subject: "g-x4", Name: "X"})
			p := b.get("/auth/google")
			hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := hc.Get(p.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			back, _ := url.Parse(resp.Header.Get("Location"))
			return s.browser("ja").get(back.RequestURI()) // the victim's browser, which started nothing
		},
	} {
		b := s.browser("ja")
		p := run(b)
		p.expect(t, http.StatusUnauthorized, "ログイン")
		if !strings.Contains(p.Body, "このブラウザで始めたものではない") && !strings.Contains(p.Body, "応答を確認できませんでした") {
			t.Errorf("%s: no explanation:\n%s", name, excerpt(p.Body))
		}
		if b.cookie("kizuna_session") != "" {
			t.Errorf("%s: signed in", name)
		}
	}
	ms, _, _ := s.acc.ListMembers(context.Background(), accounts.System(), "", 10)
	if len(ms) != 0 {
		t.Fatalf("%d accounts after refused log-ins", len(ms))
	}
	// Cancelling at the provider says so.
	b := s.browser("ja")
	s.op.Queue(socialtest.Person{Subject: "g-x5", Name: "X"})
	b.viaProvider("/auth/google", func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") }).
		expect(t, http.StatusUnauthorized, "ログインがキャンセルされました")
	// An unknown or disabled provider is not there.
	b.get("/auth/facebook").expect(t, http.StatusNotFound, "このログイン方法は現在ご利用いただけません")
}

func TestAdminLoginProviders(t *testing.T) {
	s := newSocialSite(t, db.SQLite, false)
	admin := s.admin("ja")
	page := admin.get("/admin/login-providers")
	page.expect(t, http.StatusOK, "ログイン方法", "環境変数で設定", s.URL+"/auth/line/callback", s.URL+"/auth/facebook/callback", "Facebook を設定する", "シングルサインオン（OpenID Connect）を追加")

	// Facebook set up in the admin; the secret never comes back.
	admin.post("/admin/login-providers", url.Values{"key": {"facebook"}, "kind": {"facebook"}, "client_id": {"1234567890"},
		"client_secret": {"fb-secret-value"}, "allow_signup": {"on"}, "enabled": {"on"}}).redirectsTo(t, "/admin/login-providers?saved=facebook")
	page = admin.get("/admin/login-providers?saved=facebook")
	page.expect(t, http.StatusOK, "ログイン方法の設定を保存しました。", "1234567890")
	if strings.Contains(page.Body, "fb-secret-value") {
		t.Fatal("the page shows a client secret")
	}
	s.browser("ja").get("/login").expect(t, http.StatusOK, "Facebook でログイン")

	// A bad issuer is named on the new issuer's form.
	admin.post("/admin/login-providers", url.Values{"new": {"1"}, "kind": {"oidc"}, "key": {"okta"}, "name": {"Okta"},
		"issuer": {"http://kizuna.okta.example"}, "client_id": {"0oa1"}, "client_secret": {"x"}, "enabled": {"on"}}).
		expect(t, http.StatusUnprocessableEntity, "Issuer は https:// で始まる URL にしてください")

	// Google (from configuration) switched off disappears from the log-in page.
	admin.post("/admin/login-providers/google/enabled", url.Values{}).redirectsTo(t, "/admin/login-providers?saved=google")
	if strings.Contains(s.browser("ja").get("/login").Body, "Google でログイン") {
		t.Fatal("a switched-off provider is offered")
	}
	// Members may not see the page.
	s.member("member@kizuna-mail.jp", "ja").get("/admin/login-providers").expect(t, http.StatusForbidden)
}

// A person whose Google address has an account may log in to it with another linked provider
// (LINE here) instead of the password; the Google identity waits meanwhile and is linked after.
func TestSocialCollisionLoggingInWithAnotherProvider(t *testing.T) {
	s := newSocialSite(t, db.SQLite, false)
	owner := s.member("kai@kizuna-mail.jp", "ja")
	uid := socialtest.LINEUserID("kai")
	s.line.Queue(socialtest.Person{Subject: uid, Name: "かい"})
	owner.viaProvider("/auth/line?link=1", nil).redirectsTo(t, "/social/permission")
	owner.post("/social/permission", url.Values{}).redirectsTo(t, "/settings/connections?notice=linked&provider=line")

	b := s.browser("ja")
	s.op.Queue(socialtest.Person{Subject: "g-kai", Name: "Kai", Email: "kai@kizuna-mail.jp", EmailVerified: true})
	b.viaProvider("/auth/google", nil).redirectsTo(t, "/social/permission")
	login := b.get("/login?next=%2Fsocial%2Fpermission")
	login.expect(t, http.StatusOK, `href="/auth/line?next=%2Fsocial%2Fpermission"`)
	s.line.Queue(socialtest.Person{Subject: uid, Name: "かい"})
	b.viaProvider("/auth/line?next=%2Fsocial%2Fpermission", nil).redirectsTo(t, "/social/permission")
	b.get("/social/permission").expect(t, http.StatusOK, "Google アカウントを連携")
	b.post("/social/permission", url.Values{}).redirectsTo(t, "/settings/connections?notice=linked&provider=google")
	if ids, _ := s.acc.SocialIdentities(context.Background(), s.memberID("kai@kizuna-mail.jp")); len(ids) != 2 {
		t.Fatalf("identities %+v", ids)
	}
}

// The admin refuses to move an OIDC provider to another issuer while members have linked it,
// naming the issuer field.
func TestAdminRefusesIssuerChangeWhileLinked(t *testing.T) {
	s := newSocialSite(t, db.SQLite, false)
	admin := s.admin("en")
	cfg := s.op.Config(social.KindOIDC)
	form := url.Values{"new": {"1"}, "kind": {"oidc"}, "key": {"okta"}, "name": {"Okta"}, "issuer": {cfg.Issuer},
		"client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}, "allow_signup": {"on"}, "enabled": {"on"}}
	admin.post("/admin/login-providers", form).redirectsTo(t, "/admin/login-providers?saved=okta")
	b := s.browser("en")
	s.op.Queue(socialtest.Person{Subject: "okta-7", Name: "Yui", Email: "yui@corp.kizuna.dev", EmailVerified: true})
	b.viaProvider("/auth/okta", nil).redirectsTo(t, "/social/permission")
	b.post("/social/permission", url.Values{}).redirectsTo(t, "/?notice=welcome")

	form.Del("new")
	form.Set("issuer", "https://other-tenant.example.com")
	p := admin.post("/admin/login-providers", form)
	p.expect(t, http.StatusUnprocessableEntity, "The issuer cannot change while 1 members have linked accounts")
	if !strings.Contains(p.Body, `<p class="field-error">The issuer cannot change`) {
		t.Error("the error is not on the issuer field")
	}
	ps, _ := s.acc.EnabledLoginProviders(context.Background())
	for _, p := range ps {
		if p.Key == "okta" && p.Issuer != cfg.Issuer {
			t.Fatalf("provider after the refusal %+v", p)
		}
	}
}

// The linked-accounts page applies the same rule: with Google switched off, LINE is the only way
// in and offers no unlink, while the switched-off Google link may go.
func TestConnectionsCountOnlyEnabledProviders(t *testing.T) {
	s := newSocialSite(t, db.SQLite, false)
	b := s.browser("en")
	s.op.Queue(socialtest.Person{Subject: "g-nao", Name: "Nao", Email: "nao@kizuna-mail.jp", EmailVerified: true})
	b.viaProvider("/auth/google", nil).redirectsTo(t, "/social/permission")
	b.post("/social/permission", url.Values{}).redirectsTo(t, "/?notice=welcome")
	s.line.Queue(socialtest.Person{Subject: socialtest.LINEUserID("nao"), Name: "なお"})
	b.viaProvider("/auth/line?link=1", nil).redirectsTo(t, "/social/permission")
	b.post("/social/permission", url.Values{}).redirectsTo(t, "/settings/connections?notice=linked&provider=line")
	if _, err := s.acc.SetLoginProviderEnabled(context.Background(), accounts.System(), "google", false); err != nil {
		t.Fatal(err)
	}
	conn := b.get("/settings/connections")
	conn.expect(t, http.StatusOK, "Your only way to log in", "/settings/connections/google/unlink")
	if strings.Contains(conn.Body, "/settings/connections/line/unlink") {
		t.Error("the only enabled way in offers to unlink")
	}
	b.post("/settings/connections/line/unlink", url.Values{}).expect(t, http.StatusConflict, "This is your only way to log in")
	b.post("/settings/connections/google/unlink", url.Values{}).redirectsTo(t, "/settings/connections?notice=unlinked")
}

// A social log-in left half-way in a browser is not there for the next person: a collision links
// only to the account it named, logging out forgets the flow and its cookie, and so does finishing.
func TestSocialAbandonedFlowsDoNotPassToTheNextPerson(t *testing.T) {
	s := newSocialSite(t, db.SQLite, false)
	s.member("aoi@kizuna-mail.jp", "ja")
	s.member("next@kizuna-mail.jp", "ja")
	b := s.browser("ja")
	s.op.Queue(socialtest.Person{Subject: "g-aoi", Name: "Aoi", Email: "aoi@kizuna-mail.jp", EmailVerified: true})
	b.viaProvider("/auth/google", nil).redirectsTo(t, "/social/permission")
	if b.cookie("kizuna_social") == "" {
		t.Fatal("no social cookie")
	}
	// Aoi walks away; the next person logs in on the same computer.
	b.post("/login", url.Values{"email": {"next@kizuna-mail.jp"}, "password": {"correct horse battery"}}).redirectsTo(t, "/")
	b.get("/social/permission").expect(t, http.StatusOK, "アカウントがすでにあります")
	b.post("/social/permission", url.Values{}).expect(t, http.StatusConflict)
	if ids, _ := s.acc.SocialIdentities(context.Background(), s.memberID("next@kizuna-mail.jp")); len(ids) != 0 {
		t.Fatalf("Aoi's Google account linked to the next person: %+v", ids)
	}
	// Logging out forgets the flow and the cookie.
	browserSecret := b.cookie("kizuna_social")
	b.post("/logout", url.Values{}).redirectsTo(t, "/")
	if b.cookie("kizuna_social") != "" {
		t.Error("the social cookie outlived the logout")
	}
	if _, err := s.acc.PendingSocial(context.Background(), browserSecret); err == nil {
		t.Error("the pending identity outlived the logout")
	}

	// Finishing a link clears the cookie too.
	m := s.member("kai@kizuna-mail.jp", "ja")
	s.line.Queue(socialtest.Person{Subject: socialtest.LINEUserID("kai"), Name: "かい"})
	m.viaProvider("/auth/line?link=1", nil).redirectsTo(t, "/social/permission")
	m.post("/social/permission", url.Values{}).redirectsTo(t, "/settings/connections?notice=linked&provider=line")
	if m.cookie("kizuna_social") != "" {
		t.Error("the social cookie outlived the finished link")
	}
}

// The typed-address takeover through HTTP: an attacker signs up with LINE typing the victim's
// address; the victim, meeting "log in to link" after Google, resets the password — and the
// attacker's LINE no longer opens the victim's account.
func TestSocialTypedAddressTakeoverIsClosed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		s := newSocialSite(t, e, false)
		attacker := s.browser("en")
		uid := socialtest.LINEUserID("attacker")
		s.line.Queue(socialtest.Person{Subject: uid, Name: "Victim"})
		attacker.viaProvider("/auth/line", nil).redirectsTo(t, "/social/permission")
		attacker.post("/social/permission", url.Values{"display_name": {"Victim"}, "email": {"victim@kizuna-mail.jp"}}).redirectsTo(t, "/?notice=welcome")

		victim := s.browser("en")
		s.op.Queue(socialtest.Person{Subject: "g-victim", Name: "Victim", Email: "victim@kizuna-mail.jp", EmailVerified: true})
		victim.viaProvider("/auth/google", nil).redirectsTo(t, "/social/permission")
		victim.get("/social/permission").expect(t, http.StatusOK, "victim@kizuna-mail.jp", `href="/login?next=%2Fsocial%2Fpermission"`)
		victim.post("/forgot-password", url.Values{"email": {"victim@kizuna-mail.jp"}}).expect(t, http.StatusOK)
		link, _ := url.Parse(s.lastLink("victim@kizuna-mail.jp"))
		victim.post("/reset-password", url.Values{"token": {link.Query().Get("token")}, "password": {"the victim's own secret"}}).redirectsTo(t, "/login?reset=1")

		// The attacker's LINE is a stranger now: it leads to a new sign-up, not into the account.
		again := s.browser("en")
		s.line.Queue(socialtest.Person{Subject: uid, Name: "Victim"})
		again.viaProvider("/auth/line", nil).redirectsTo(t, "/social/permission")
		if again.cookie("kizuna_session") != "" {
			t.Fatal("the attacker's LINE logged in to the victim's account")
		}
		// The victim logs in and links Google.
		victim.post("/login", url.Values{"email": {"victim@kizuna-mail.jp"}, "password": {"the victim's own secret"}, "next": {"/social/permission"}}).redirectsTo(t, "/social/permission")
		victim.post("/social/permission", url.Values{}).redirectsTo(t, "/settings/connections?notice=linked&provider=google")
		ids, _ := s.acc.SocialIdentities(context.Background(), s.memberID("victim@kizuna-mail.jp"))
		if len(ids) != 1 || ids[0].Provider != "google" {
			t.Fatalf("the victim's linked accounts %+v", ids)
		}
	})
}
