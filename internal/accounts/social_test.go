package accounts_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kizuna-community/kizuna/internal/accountmail"
	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/accounts/social"
	"github.com/kizuna-community/kizuna/internal/accounts/social/socialtest"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/mail"
)

// recorder is a ConsentRecorder that keeps what reaches it, standing in for the consent ledger.
type recorder struct {
	mu   sync.Mutex
	got  []recorded
	fail error
}

type recorded struct {
	Member   string
	Choices  []accounts.ConsentChoice
	Evidence accounts.ConsentEvidence
}

func (r *recorder) RecordConsents(_ context.Context, memberID string, choices []accounts.ConsentChoice, ev accounts.ConsentEvidence) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, recorded{memberID, choices, ev})
	return r.fail
}

// socialFixture is accounts with an OIDC provider ("corp", staff SSO without sign-up), Google and
// LINE, all on loopback, on the real clock (ID tokens carry real times).
type socialFixture struct {
	*fixture
	op   *socialtest.OIDC
	line *socialtest.LINE
	rec  *recorder
}

const callback = "http://127.0.0.1:1/auth/callback"

func newSocialFixture(t *testing.T, e db.Engine) *socialFixture {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &socialFixture{fixture: &fixture{db: d, mails: mail.NewLog(log)}, op: socialtest.NewOIDC(t), rec: &recorder{}}
	f.line = socialtest.NewLINE(t, "1660000001", "0123456789abcdef0123456789abcdef")
	google := f.op.Config(social.KindGoogle)
	corp := f.op.Config(social.KindOIDC)
	f.acc = accounts.New(accounts.Deps{
		DB: d, Outbox: backbone.NewOutbox(d), Log: log, HashParams: accounts.TestHashParams(),
		Notifier: &accountmail.Mailer{Sender: f.mails, BaseURL: "https://community.example.jp"},
		Providers: []accounts.ProviderConfig{
			{Key: "google", AllowSignUp: true, Config: google},
			{Key: "line", AllowSignUp: true, Config: f.line.Config()},
			{Key: "corp", Name: "Corp SSO", AllowSignUp: false, Config: corp},
		},
		Consents: f.rec,
	})
	return f
}

// roundTrip starts a log-in with provider, lets the provider answer as a browser would, and hands
// the callback to FinishSocial. tamper may change the callback's query first.
func (f *socialFixture) roundTrip(t *testing.T, provider string, st accounts.SocialStart, signedIn string, tamper func(url.Values)) (accounts.SocialOutcome, string, error) {
	t.Helper()
	st.RedirectURI = callback
	to, browser, err := f.acc.StartSocial(ctx, provider, st)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), callback) {
		t.Fatalf("provider answered %d, %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := back.Query()
	if tamper != nil {
		tamper(q)
	}
	receiver := browser // the browser that started it, unless tamper says another one got the callback
	if b := q.Get("browser"); b != "" {
		receiver = b
	}
	out, err := f.acc.FinishSocial(ctx, provider, accounts.SocialCallback{State: q.Get("state"), Code: q.Get("code"),
		Error: q.Get("error"), Browser: receiver, SignedIn: signedIn}, client)
	return out, browser, err
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Reason != reason {
		t.Fatalf("got error %v, want reason %s", err, reason)
	}
}

var choices = []accounts.ConsentChoice{
	{Channel: accounts.ChannelEmail, Purpose: accounts.PurposeMarketing, OptedIn: true},
	{Channel: accounts.ChannelLINE, Purpose: accounts.PurposeMarketing, OptedIn: false},
}

// outbox returns the events waiting in the outbox.
func (f *socialFixture) outbox(t *testing.T) []event.Event {
	t.Helper()
	rows, err := f.db.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var p string
		var ev event.Event
		rows.Scan(&p)
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func TestSocialSignUpLogInAndLinkASecondProvider(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		f.op.Queue(socialtest.Person{Subject: "g-1001", Name: "山田 花子", Email: "Hanako.Yamada@kizuna-mail.jp", EmailVerified: true, Picture: "https://lh3.example/h.png"})
		out, browser, err := f.roundTrip(t, "google", accounts.SocialStart{Intent: accounts.IntentLogIn, Next: "/spaces"}, "", nil)
		if err != nil || !out.Pending || out.LoggedIn || out.Next != "/spaces" {
			t.Fatalf("new Google identity: %+v, %v", out, err)
		}
		pend, err := f.acc.PendingSocial(ctx, browser)
		if err != nil || pend.Mode != accounts.PendingSignUp || pend.Identity.Name != "山田 花子" || !pend.Identity.EmailVerified || pend.Provider.Key != "google" {
			t.Fatalf("pending: %+v, %v", pend, err)
		}
		sc := accounts.SocialConsents{Choices: choices, TextVersion: "social-permission-v1.ja", Locale: "ja"}
		m, sess, err := f.acc.SignUpSocial(ctx, browser, accounts.SocialSignUp{Email: "ignored@kizuna-mail.jp", Locale: "ja"}, sc, client)
		if err != nil {
			t.Fatal(err)
		}
		// The provider vouched for the address: it is the account's, verified, no email sent.
		if m.Email != "hanako.yamada@kizuna-mail.jp" || !m.EmailVerified || m.DisplayName != "山田 花子" || len(f.mails.Sent()) != 0 {
			t.Fatalf("member %+v, %d mails", m, len(f.mails.Sent()))
		}
		if who, err := f.acc.SessionMember(ctx, sess.Token); err != nil || who.ID != m.ID {
			t.Fatalf("session: %v", err)
		}
		if _, err := f.acc.PendingSocial(ctx, browser); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("the pending identity outlived the sign-up: %v", err)
		}
		if _, _, err := f.acc.SignUpSocial(ctx, browser, accounts.SocialSignUp{}, sc, client); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("signed up twice: %v", err)
		}
		// No password: the password log-in refuses like any wrong password.
		_, _, err = f.acc.LogIn(ctx, m.Email, "", client)
		wantKind(t, err, errs.KindUnauthenticated, "")
		if has, _ := f.acc.HasPassword(ctx, m.ID); has {
			t.Fatal("a social account has a password")
		}

		// The choices reached the recorder with their evidence.
		if len(f.rec.got) != 1 {
			t.Fatalf("recorded %d times", len(f.rec.got))
		}
		r := f.rec.got[0]
		if r.Member != m.ID || !cmp.Equal(r.Choices, choices) || r.Evidence.Source != accounts.ConsentSourceSocialSignUp ||
			r.Evidence.TextVersion != "social-permission-v1.ja" || r.Evidence.IP != client.IP || r.Evidence.UserAgent != client.UserAgent ||
			r.Evidence.Provider != "google" || r.Evidence.Locale != "ja" || r.Evidence.At.IsZero() {
			t.Fatalf("recorded %+v", r)
		}

		// The sign-up's identify puts the Google id on the profile.
		evs := f.outbox(t)
		var names []string
		for _, ev := range evs {
			names = append(names, ev.Type+":"+ev.Event)
		}
		if !slices.Equal(names, []string{"identify:", "track:Member Signed Up", "track:Member Logged In"}) {
			t.Fatalf("events %v", names)
		}
		ext, _ := json.Marshal(evs[0].Context["externalIds"])
		if !strings.Contains(string(ext), `"id":"g-1001"`) || !strings.Contains(string(ext), `"type":"social:google"`) || evs[0].Traits["avatar"] != "https://lh3.example/h.png" {
			t.Fatalf("identify %+v", evs[0])
		}
		if evs[1].Properties["method"] != "google" || evs[2].Properties["method"] != "google" {
			t.Fatalf("methods %v / %v", evs[1].Properties, evs[2].Properties)
		}

		// Logging in again with Google signs the same member in, with no screen in between.
		f.op.Queue(socialtest.Person{Subject: "g-1001", Name: "山田 花子（更新）", Email: "hanako.yamada@kizuna-mail.jp", EmailVerified: true})
		out, _, err = f.roundTrip(t, "google", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil || !out.LoggedIn || out.Member.ID != m.ID || out.Session.Token == "" {
			t.Fatalf("log in again: %+v, %v", out, err)
		}

		// Linking LINE from the account: the permission screen comes first, then the link.
		uid := socialtest.LINEUserID("hanako")
		f.line.Queue(socialtest.Person{Subject: uid, Name: "はなこ", Picture: "https://profile.line-scdn.net/h"})
		out, browser, err = f.roundTrip(t, "line", accounts.SocialStart{Intent: accounts.IntentLink, MemberID: m.ID}, m.ID, nil)
		if err != nil || !out.Pending {
			t.Fatalf("link LINE: %+v, %v", out, err)
		}
		if pend, _ := f.acc.PendingSocial(ctx, browser); pend.Mode != accounts.PendingLink || pend.MemberID != m.ID {
			t.Fatalf("pending link %+v", pend)
		}
		if _, err := f.acc.LinkSocial(ctx, browser, "someone-else", sc, client); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("another member took the link: %v", err)
		}
		if _, err := f.acc.LinkSocial(ctx, browser, m.ID, accounts.SocialConsents{Choices: choices[1:], TextVersion: "social-permission-v1.ja"}, client); err != nil {
			t.Fatal(err)
		}
		ids, err := f.acc.SocialIdentities(ctx, m.ID)
		if err != nil || len(ids) != 2 || ids[0].Provider != "google" || ids[1].Provider != "line" || ids[1].Subject != uid || ids[1].Name != "はなこ" {
			t.Fatalf("identities %+v, %v", ids, err)
		}
		if len(f.rec.got) != 2 || f.rec.got[1].Evidence.Source != accounts.ConsentSourceSocialLink || f.rec.got[1].Evidence.Provider != "line" {
			t.Fatalf("recorded %+v", f.rec.got)
		}
		evs = f.outbox(t)
		link := evs[len(evs)-2:]
		ext, _ = json.Marshal(link[0].Context["externalIds"])
		if link[0].Type != event.Identify || link[0].UserID != m.ID || !strings.Contains(string(ext), `"type":"social:line"`) || link[1].Event != "Social Account Linked" {
			t.Fatalf("link events %+v", link)
		}

		// LINE now logs the member in too; linking it again says so.
		f.line.Queue(socialtest.Person{Subject: uid, Name: "はなこ"})
		if out, _, err := f.roundTrip(t, "line", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil); err != nil || out.Member.ID != m.ID {
			t.Fatalf("LINE log-in: %+v, %v", out, err)
		}
		f.line.Queue(socialtest.Person{Subject: uid, Name: "はなこ"})
		if out, _, err := f.roundTrip(t, "line", accounts.SocialStart{Intent: accounts.IntentLink, MemberID: m.ID}, m.ID, nil); err != nil || !out.AlreadyLinked {
			t.Fatalf("link again: %+v, %v", out, err)
		}

		// Unlinking: Google goes; LINE, now the only way in, stays.
		if err := f.acc.UnlinkSocial(ctx, m.ID, "google"); err != nil {
			t.Fatal(err)
		}
		wantReason(t, f.acc.UnlinkSocial(ctx, m.ID, "line"), "last_login_method")
		if ids, _ := f.acc.SocialIdentities(ctx, m.ID); len(ids) != 1 {
			t.Fatalf("after unlink: %+v", ids)
		}
	})
}

// A verified address that already has an account is never taken over: the person must log in
// to that account first, and only then is the identity linked.
func TestSocialEmailCollisionAsksToLogInAndLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		owner, err := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "ren@kizuna-mail.jp", Password: "ren's password 1", DisplayName: "Ren"})
		if err != nil {
			t.Fatal(err)
		}
		f.op.Queue(socialtest.Person{Subject: "g-ren", Name: "Ren K", Email: "REN@kizuna-mail.jp", EmailVerified: true})
		out, browser, err := f.roundTrip(t, "google", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil || !out.Pending || out.LoggedIn {
			t.Fatalf("collision: %+v, %v", out, err)
		}
		pend, _ := f.acc.PendingSocial(ctx, browser)
		if pend.Mode != accounts.PendingCollision || pend.MemberID != owner.ID {
			t.Fatalf("pending %+v", pend)
		}
		_, _, err = f.acc.SignUpSocial(ctx, browser, accounts.SocialSignUp{}, accounts.SocialConsents{}, client)
		wantReason(t, err, "email_taken_link")
		if ids, _ := f.acc.SocialIdentities(ctx, owner.ID); len(ids) != 0 {
			t.Fatalf("linked without logging in: %+v", ids)
		}
		// The owner logs in with the password, then links.
		if _, _, err := f.acc.LogIn(ctx, "ren@kizuna-mail.jp", "ren's password 1", client); err != nil {
			t.Fatal(err)
		}
		if _, err := f.acc.LinkSocial(ctx, browser, owner.ID, accounts.SocialConsents{}, client); err != nil {
			t.Fatal(err)
		}
		f.op.Queue(socialtest.Person{Subject: "g-ren", Name: "Ren K", Email: "ren@kizuna-mail.jp", EmailVerified: true})
		if out, _, err := f.roundTrip(t, "google", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil); err != nil || out.Member.ID != owner.ID {
			t.Fatalf("after linking: %+v, %v", out, err)
		}
	})
}

// An address the provider does not vouch for links nothing: the person signs up like anyone, and
// that address is refused when an account has it.
func TestSocialUnverifiedEmailNeverLinks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		owner, err := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "mio@kizuna-mail.jp", Password: "mio's password 1"})
		if err != nil {
			t.Fatal(err)
		}
		uid := socialtest.LINEUserID("impostor")
		f.line.Queue(socialtest.Person{Subject: uid, Name: "Mio?", Email: "mio@kizuna-mail.jp"}) // LINE vouches for no address
		out, browser, err := f.roundTrip(t, "line", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil || !out.Pending {
			t.Fatalf("%+v, %v", out, err)
		}
		if pend, _ := f.acc.PendingSocial(ctx, browser); pend.Mode != accounts.PendingSignUp || pend.Identity.EmailVerified {
			t.Fatalf("pending %+v", pend)
		}
		_, _, err = f.acc.SignUpSocial(ctx, browser, accounts.SocialSignUp{Email: "mio@kizuna-mail.jp"}, accounts.SocialConsents{}, client)
		wantKind(t, err, errs.KindConflict, "email")
		if ids, _ := f.acc.SocialIdentities(ctx, owner.ID); len(ids) != 0 {
			t.Fatalf("an unverified address linked: %+v", ids)
		}
		// Another address makes a new, unverified account with a verification email.
		m, _, err := f.acc.SignUpSocial(ctx, browser, accounts.SocialSignUp{Email: "mio.line@kizuna-mail.jp", DisplayName: "みお"}, accounts.SocialConsents{}, client)
		if err != nil || m.EmailVerified || m.ID == owner.ID || m.DisplayName != "みお" {
			t.Fatalf("sign-up: %+v, %v", m, err)
		}
		if sent := f.mails.Sent(); len(sent) != 2 || sent[1].To != "mio.line@kizuna-mail.jp" {
			t.Fatalf("mails %+v", sent)
		}
		// No address at all: one must be given.
		f.line.Queue(socialtest.Person{Subject: socialtest.LINEUserID("no-mail"), Name: "No Mail"})
		_, browser, _ = f.roundTrip(t, "line", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		_, _, err = f.acc.SignUpSocial(ctx, browser, accounts.SocialSignUp{}, accounts.SocialConsents{}, client)
		wantKind(t, err, errs.KindInvalid, "email")
	})
}

func TestSocialRefusesTamperedStateOtherBrowsersAndReplays(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		for name, tamper := range map[string]func(url.Values){
			"tampered state": func(q url.Values) { q.Set("state", q.Get("state")+"x") },
			"no state":       func(q url.Values) { q.Del("state") },
			// The callback of a log-in started in another browser (login CSRF).
			"another browser": func(q url.Values) { q.Set("browser", strings.Repeat("A", 52)) },
		} {
			f.op.Queue(socialtest.Person{Subject: "g-" + name, Name: "X"})
			_, _, err := f.roundTrip(t, "google", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", tamper)
			if e, _ := errs.As(err); e == nil || e.Reason != "social_state" {
				t.Errorf("%s: %v", name, err)
			}
		}
		// A callback is good once.
		f.op.Queue(socialtest.Person{Subject: "g-once", Name: "Once"})
		st := accounts.SocialStart{Intent: accounts.IntentLogIn, RedirectURI: callback}
		to, browser, _ := f.acc.StartSocial(ctx, "google", st)
		hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, _ := hc.Get(to)
		resp.Body.Close()
		back, _ := url.Parse(resp.Header.Get("Location"))
		cb := accounts.SocialCallback{State: back.Query().Get("state"), Code: back.Query().Get("code"), Browser: browser}
		if _, err := f.acc.FinishSocial(ctx, "google", cb, client); err != nil {
			t.Fatal(err)
		}
		_, err := f.acc.FinishSocial(ctx, "google", cb, client)
		wantReason(t, err, "social_state")

		// A nonce from another log-in and an expired ID token fail verification.
		f.op.Queue(socialtest.Person{Subject: "g-nonce", Name: "N"})
		f.op.TamperNextNonce()
		_, _, err = f.roundTrip(t, "google", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		wantReason(t, err, "social_failed")
		f.op.Queue(socialtest.Person{Subject: "g-expired", Name: "E"})
		restore := f.op.IssueExpired()
		_, _, err = f.roundTrip(t, "google", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		restore()
		wantReason(t, err, "social_failed")
		// The person cancelled at the provider.
		f.op.Queue(socialtest.Person{Subject: "g-cancel", Name: "C"})
		_, _, err = f.roundTrip(t, "google", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") })
		wantReason(t, err, "social_denied")
		var n int
		f.db.R.QueryRow(`SELECT count(*) FROM members`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d members after refused log-ins", n)
		}
		// Flows left behind expire and are swept.
		f.acc.StartSocial(ctx, "google", st)
		if err := f.acc.SweepExpired(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// Staff single sign-on creates no accounts: a person without one is told to log in and link,
// and one whose verified address has an account is asked to log in to it.
func TestSocialProviderWithoutSignUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		f.op.Queue(socialtest.Person{Subject: "corp-1", Name: "Stranger", Email: "stranger@corp.kizuna.dev", EmailVerified: true})
		_, _, err := f.roundTrip(t, "corp", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		wantReason(t, err, "social_no_account")

		admin, err := f.acc.CreateMember(ctx, accounts.System(), accounts.SignUpInput{Email: "aiko@corp.kizuna.dev", Password: "admin password 1"}, accounts.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		f.op.Queue(socialtest.Person{Subject: "corp-2", Name: "Aiko", Email: "aiko@corp.kizuna.dev", EmailVerified: true})
		out, browser, err := f.roundTrip(t, "corp", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil || !out.Pending {
			t.Fatalf("%+v, %v", out, err)
		}
		if pend, _ := f.acc.PendingSocial(ctx, browser); pend.Mode != accounts.PendingCollision || pend.MemberID != admin.ID {
			t.Fatalf("pending %+v", pend)
		}
		if _, err := f.acc.LinkSocial(ctx, browser, admin.ID, accounts.SocialConsents{}, client); err != nil {
			t.Fatal(err)
		}
		f.op.Queue(socialtest.Person{Subject: "corp-2", Name: "Aiko", Email: "aiko@corp.kizuna.dev", EmailVerified: true})
		out, _, err = f.roundTrip(t, "corp", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil || out.Member.ID != admin.ID {
			t.Fatalf("SSO log-in: %+v, %v", out, err)
		}
		// A staff member's social log-in, link and unlink are in the audit log.
		entries, _, err := f.acc.ListAudit(ctx, accounts.System(), "", 20)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, en := range entries {
			actions = append(actions, en.Action)
		}
		if !slices.Contains(actions, "member.social_linked") || !slices.Contains(actions, "session.started") {
			t.Fatalf("audit %v", actions)
		}
	})
}

func TestLoginProvidersAdmin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		admin := accounts.System()
		all, err := f.acc.LoginProviders(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, p := range all {
			keys = append(keys, p.Key+"/"+string(p.Kind)+"/"+map[bool]string{true: "on", false: "off"}[p.Usable()])
		}
		if diff := cmp.Diff([]string{"line/line/on", "google/google/on", "facebook/facebook/off", "x/x/off", "corp/oidc/on"}, keys); diff != "" {
			t.Fatalf("providers (-want +got):\n%s", diff)
		}
		if _, err := f.acc.LoginProviders(ctx, accounts.Principal{MemberID: "m", Role: accounts.RoleMember}); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("a member listed providers: %v", err)
		}

		// Configured providers are switched, not edited.
		_, err = f.acc.SaveLoginProvider(ctx, admin, accounts.LoginProviderInput{Key: "line", Kind: social.KindLINE, ClientID: "x", ClientSecret: "y"})
		wantReason(t, err, "provider_from_config")
		if _, err := f.acc.SetLoginProviderEnabled(ctx, admin, "line", false); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.acc.StartSocial(ctx, "line", accounts.SocialStart{Intent: accounts.IntentLogIn, RedirectURI: callback})
		wantReason(t, err, "provider_unavailable")

		// Facebook set up in the admin: incomplete, then complete and on; the secret is kept when
		// left blank.
		_, err = f.acc.SaveLoginProvider(ctx, admin, accounts.LoginProviderInput{Key: "facebook", Kind: social.KindFacebook, ClientID: "app-1", Enabled: true})
		wantReason(t, err, "provider_incomplete")
		fb, err := f.acc.SaveLoginProvider(ctx, admin, accounts.LoginProviderInput{Key: "facebook", Kind: social.KindFacebook, ClientID: "app-1", ClientSecret: "s3cret", AllowSignUp: true, Enabled: true})
		if err != nil || !fb.Usable() || fb.Name != "Facebook" || !fb.HasSecret {
			t.Fatalf("facebook %+v, %v", fb, err)
		}
		fb, err = f.acc.SaveLoginProvider(ctx, admin, accounts.LoginProviderInput{Key: "facebook", Kind: social.KindFacebook, ClientID: "app-2", AllowSignUp: true, Enabled: true})
		if err != nil || !fb.HasSecret || fb.ClientID != "app-2" {
			t.Fatalf("facebook kept its secret: %+v, %v", fb, err)
		}
		// An OIDC issuer for staff: key, label and https issuer are checked.
		for _, in := range []accounts.LoginProviderInput{
			{Key: "Okta!", Kind: social.KindOIDC, Name: "Okta", Issuer: "https://kizuna.okta.com"},
			{Key: "line", Kind: social.KindOIDC, Name: "Okta", Issuer: "https://kizuna.okta.com"},
			{Key: "okta", Kind: social.KindOIDC, Name: "", Issuer: "https://kizuna.okta.com"},
			{Key: "okta", Kind: social.KindOIDC, Name: "Okta", Issuer: "http://kizuna.okta.com"},
		} {
			if _, err := f.acc.SaveLoginProvider(ctx, admin, in); errs.KindOf(err) != errs.KindInvalid {
				t.Errorf("%+v: %v", in, err)
			}
		}
		okta, err := f.acc.SaveLoginProvider(ctx, admin, accounts.LoginProviderInput{Key: "okta", Kind: social.KindOIDC, Name: "社員 SSO", Issuer: "https://kizuna.okta.com/", ClientID: "0oa1", ClientSecret: "x", Enabled: true})
		if err != nil || okta.Issuer != "https://kizuna.okta.com" || okta.AllowSignUp || okta.IdentifierType() != "social:okta" {
			t.Fatalf("okta %+v, %v", okta, err)
		}
		enabled, err := f.acc.EnabledLoginProviders(ctx)
		keys = keys[:0]
		for _, p := range enabled {
			keys = append(keys, p.Key)
		}
		if err != nil || strings.Join(keys, ",") != "google,facebook,corp,okta" {
			t.Fatalf("enabled %v, %v", keys, err)
		}
		entries, _, _ := f.acc.ListAudit(ctx, admin, "", 10)
		for _, en := range entries {
			if strings.Contains(en.Action, "login_provider") {
				if b, _ := json.Marshal(en.Details); strings.Contains(string(b), "s3cret") {
					t.Fatalf("a secret in the audit log: %s", b)
				}
			}
		}
		if len(entries) < 4 {
			t.Fatalf("audit entries %d", len(entries))
		}
	})
}

// An attacker who signs up with LINE and types someone else's address must not keep a way into
// the account once the address's owner proves it with a password reset.
func TestSocialTypedAddressLinkDoesNotPassToTheAddressOwner(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		// The attacker: LINE, which vouches for no address, and the victim's address typed in.
		attacker := socialtest.LINEUserID("attacker")
		f.line.Queue(socialtest.Person{Subject: attacker, Name: "Victim?"})
		_, browser, err := f.roundTrip(t, "line", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		planted, _, err := f.acc.SignUpSocial(ctx, browser, accounts.SocialSignUp{Email: "victim@example.jp"}, accounts.SocialConsents{}, client)
		if err != nil || planted.EmailVerified {
			t.Fatalf("attacker's sign-up: %+v, %v", planted, err)
		}
		// The owner signs in with Google, which verifies the address: log in to link, so the
		// owner asks for a password reset and sets one.
		f.op.Queue(socialtest.Person{Subject: "g-victim", Name: "Victim", Email: "victim@example.jp", EmailVerified: true})
		_, gBrowser, err := f.roundTrip(t, "google", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if pend, _ := f.acc.PendingSocial(ctx, gBrowser); pend.Mode != accounts.PendingCollision || pend.MemberID != planted.ID {
			t.Fatalf("pending %+v", pend)
		}
		if err := f.acc.RequestPasswordReset(ctx, "victim@example.jp"); err != nil {
			t.Fatal(err)
		}
		m, err := f.acc.ResetPassword(ctx, f.lastToken(t, "victim@example.jp"), "the owner's password 1")
		if err != nil || !m.EmailVerified {
			t.Fatalf("reset: %+v, %v", m, err)
		}
		// The attacker's LINE no longer opens the account: it is a stranger again.
		f.line.Queue(socialtest.Person{Subject: attacker, Name: "Victim?"})
		out, _, err := f.roundTrip(t, "line", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil || out.LoggedIn || !out.Pending {
			t.Fatalf("the attacker's LINE after the reset: %+v, %v", out, err)
		}
		if ids, _ := f.acc.SocialIdentities(ctx, m.ID); len(ids) != 0 {
			t.Fatalf("identities left: %+v", ids)
		}
		evs := f.outbox(t)
		if last := evs[len(evs)-1]; last.Event != "Social Account Unlinked" || last.UserID != m.ID || last.Properties["provider"] != "line" {
			t.Fatalf("last event %+v", last)
		}
		entries, _, _ := f.acc.ListAudit(ctx, accounts.System(), "", 20)
		found := false
		for _, en := range entries {
			found = found || (en.Action == "member.social_unlinked" && en.Target == m.ID)
		}
		if !found {
			t.Fatal("no audit entry for the removed link")
		}
		// The owner, logged in with the password, links Google.
		if _, _, err := f.acc.LogIn(ctx, "victim@example.jp", "the owner's password 1", client); err != nil {
			t.Fatal(err)
		}
		if _, err := f.acc.LinkSocial(ctx, gBrowser, m.ID, accounts.SocialConsents{}, client); err != nil {
			t.Fatal(err)
		}
	})
}

// The honest LINE sign-up: the typed address is verified by its mail and LINE stays, through a
// later password reset too.
func TestSocialTypedAddressVerifiedByMailKeepsTheLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		uid := socialtest.LINEUserID("honest")
		f.line.Queue(socialtest.Person{Subject: uid, Name: "Honest"})
		_, browser, err := f.roundTrip(t, "line", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := f.acc.SignUpSocial(ctx, browser, accounts.SocialSignUp{Email: "honest@example.jp"}, accounts.SocialConsents{}, client)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.acc.VerifyEmail(ctx, f.lastToken(t, "honest@example.jp")); err != nil {
			t.Fatal(err)
		}
		if err := f.acc.RequestPasswordReset(ctx, "honest@example.jp"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.acc.ResetPassword(ctx, f.lastToken(t, "honest@example.jp"), "honest password 1"); err != nil {
			t.Fatal(err)
		}
		f.line.Queue(socialtest.Person{Subject: uid, Name: "Honest"})
		if out, _, err := f.roundTrip(t, "line", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil); err != nil || !out.LoggedIn || out.Member.ID != m.ID {
			t.Fatalf("LINE after verification and reset: %+v, %v", out, err)
		}
	})
}

// An OIDC issuer's subjects are only unique per issuer: while members have linked identities
// with a key, its issuer cannot be changed to another (tenant's) one.
func TestLoginProviderIssuerLockedWhileLinked(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		admin := accounts.System()
		cfg := f.op.Config(social.KindOIDC)
		in := accounts.LoginProviderInput{Key: "okta", Kind: social.KindOIDC, Name: "Okta", Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, AllowSignUp: true, Enabled: true}
		if _, err := f.acc.SaveLoginProvider(ctx, admin, in); err != nil {
			t.Fatal(err)
		}
		// No one linked yet: the issuer may still be corrected.
		moved := in
		moved.Issuer = "https://other-tenant.example.com"
		if _, err := f.acc.SaveLoginProvider(ctx, admin, moved); err != nil {
			t.Fatalf("changing an unused issuer: %v", err)
		}
		if _, err := f.acc.SaveLoginProvider(ctx, admin, in); err != nil {
			t.Fatal(err)
		}
		f.op.Queue(socialtest.Person{Subject: "okta-1", Name: "Yui", Email: "yui@corp.kizuna.dev", EmailVerified: true})
		_, browser, err := f.roundTrip(t, "okta", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.acc.SignUpSocial(ctx, browser, accounts.SocialSignUp{}, accounts.SocialConsents{}, client); err != nil {
			t.Fatal(err)
		}
		_, err = f.acc.SaveLoginProvider(ctx, admin, moved)
		wantReason(t, err, "provider_issuer_in_use")
		wantKind(t, err, errs.KindConflict, "issuer")
		if p, _ := f.acc.LoginProviders(ctx, admin); p[len(p)-1].Key != "okta" || p[len(p)-1].Issuer != cfg.Issuer {
			t.Fatalf("providers after the refusal: %+v", p)
		}
		// Everything else about the provider may still change.
		in.Name = "Okta SSO"
		if _, err := f.acc.SaveLoginProvider(ctx, admin, in); err != nil {
			t.Fatal(err)
		}
	})
}

// The same rule for an issuer set by configuration: a changed setting is refused at start while
// members have linked the provider.
func TestConfiguredIssuerLockedWhileLinked(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		if err := f.acc.CheckProviderIssuers(ctx); err != nil {
			t.Fatal(err)
		}
		admin, err := f.acc.CreateMember(ctx, accounts.System(), accounts.SignUpInput{Email: "aiko@corp.kizuna.dev", Password: "admin password 1"}, accounts.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		f.op.Queue(socialtest.Person{Subject: "corp-9", Name: "Aiko", Email: "aiko@corp.kizuna.dev", EmailVerified: true})
		_, browser, err := f.roundTrip(t, "corp", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.acc.LinkSocial(ctx, browser, admin.ID, accounts.SocialConsents{}, client); err != nil {
			t.Fatal(err)
		}
		restart := func(issuer string) error {
			corp := f.op.Config(social.KindOIDC)
			corp.Issuer = issuer
			acc := accounts.New(accounts.Deps{DB: f.db, Outbox: backbone.NewOutbox(f.db), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				HashParams: accounts.TestHashParams(), Providers: []accounts.ProviderConfig{{Key: "corp", Name: "Corp SSO", Config: corp}}})
			return acc.CheckProviderIssuers(ctx)
		}
		if err := restart(f.op.Config(social.KindOIDC).Issuer); err != nil {
			t.Fatalf("same issuer: %v", err)
		}
		err = restart("https://other-tenant.example.com")
		wantReason(t, err, "provider_issuer_in_use")
		wantKind(t, err, errs.KindConflict, "issuer")
	})
}

// A linked account of a switched-off provider is no way in: it does not keep the last enabled one
// from being unlinked, and it may itself always go.
func TestUnlinkCountsOnlyEnabledProviders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		f.op.Queue(socialtest.Person{Subject: "g-nao", Name: "Nao", Email: "nao@kizuna-mail.jp", EmailVerified: true})
		_, browser, err := f.roundTrip(t, "google", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := f.acc.SignUpSocial(ctx, browser, accounts.SocialSignUp{}, accounts.SocialConsents{}, client)
		if err != nil {
			t.Fatal(err)
		}
		f.line.Queue(socialtest.Person{Subject: socialtest.LINEUserID("nao"), Name: "なお"})
		_, browser, err = f.roundTrip(t, "line", accounts.SocialStart{Intent: accounts.IntentLink, MemberID: m.ID}, m.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.acc.LinkSocial(ctx, browser, m.ID, accounts.SocialConsents{}, client); err != nil {
			t.Fatal(err)
		}
		if _, err := f.acc.SetLoginProviderEnabled(ctx, accounts.System(), "google", false); err != nil {
			t.Fatal(err)
		}
		// Google is off: LINE is the only way in.
		wantReason(t, f.acc.UnlinkSocial(ctx, m.ID, "line"), "last_login_method")
		if err := f.acc.UnlinkSocial(ctx, m.ID, "google"); err != nil {
			t.Fatalf("unlinking the switched-off provider: %v", err)
		}
		if ids, _ := f.acc.SocialIdentities(ctx, m.ID); len(ids) != 1 || ids[0].Provider != "line" {
			t.Fatalf("identities %+v", ids)
		}
	})
}

// A collision names the account with the address: it links to that member only, and a browser's
// flows are forgotten on cancel (which the edge also calls on logout).
func TestSocialCollisionLinksOnlyTheNamedMember(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newSocialFixture(t, e)
		owner, err := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "ren@kizuna-mail.jp", Password: "ren's password 1"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "next@kizuna-mail.jp", Password: "next password 1"})
		if err != nil {
			t.Fatal(err)
		}
		f.op.Queue(socialtest.Person{Subject: "g-ren", Name: "Ren", Email: "ren@kizuna-mail.jp", EmailVerified: true})
		_, browser, err := f.roundTrip(t, "google", accounts.SocialStart{Intent: accounts.IntentLogIn}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		// Whoever logs in next in that browser does not get Ren's Google account.
		_, err = f.acc.LinkSocial(ctx, browser, other.ID, accounts.SocialConsents{}, client)
		wantReason(t, err, "social_other_member")
		if ids, _ := f.acc.SocialIdentities(ctx, other.ID); len(ids) != 0 {
			t.Fatalf("linked to the next member: %+v", ids)
		}
		// Logging out (CancelSocial) forgets the pending identity and any round trip in progress.
		if _, _, err := f.acc.StartSocial(ctx, "line", accounts.SocialStart{Intent: accounts.IntentLogIn, RedirectURI: callback, Browser: browser}); err != nil {
			t.Fatal(err)
		}
		if err := f.acc.CancelSocial(ctx, browser); err != nil {
			t.Fatal(err)
		}
		if _, err := f.acc.PendingSocial(ctx, browser); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("pending after cancel: %v", err)
		}
		var n int
		f.db.R.QueryRow(`SELECT count(*) FROM social_flows`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d flows left after cancel", n)
		}
		_, err = f.acc.LinkSocial(ctx, browser, owner.ID, accounts.SocialConsents{}, client)
		wantReason(t, err, "social_pending_gone")
	})
}
