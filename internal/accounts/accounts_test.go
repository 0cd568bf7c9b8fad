package accounts_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accountmail"
	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/mail"
)

type fixture struct {
	acc   *accounts.Service
	db    *db.DB
	mails *mail.Log
	now   time.Time
}

func newFixture(t *testing.T, e db.Engine) *fixture {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &fixture{db: d, mails: mail.NewLog(log), now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	f.acc = accounts.New(accounts.Deps{
		DB: d, Outbox: backbone.NewOutbox(d), Log: log, HashParams: accounts.TestHashParams(),
		Notifier: &accountmail.Mailer{Sender: f.mails, BaseURL: "https://community.example.jp"},
		Now:      func() time.Time { return f.now },
	})
	return f
}

// lastToken returns the token in the link of the last email to addr.
func (f *fixture) lastToken(t *testing.T, addr string) string {
	t.Helper()
	sent := f.mails.Sent()
	for i := len(sent) - 1; i >= 0; i-- {
		if sent[i].To != addr {
			continue
		}
		for _, line := range strings.Split(sent[i].Text, "\n") {
			if u, err := url.Parse(strings.TrimSpace(line)); err == nil && u.Query().Get("token") != "" {
				return u.Query().Get("token")
			}
		}
	}
	t.Fatalf("no email with a link to %s among %d", addr, len(sent))
	return ""
}

// outboxEvents returns the names of the events waiting in the outbox, in order.
func (f *fixture) outboxEvents(t *testing.T) []string {
	t.Helper()
	rows, err := f.db.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		rows.Scan(&p)
		switch {
		case strings.Contains(p, `"type":"identify"`):
			out = append(out, "identify")
		default:
			_, rest, _ := strings.Cut(p, `"event":"`)
			name, _, _ := strings.Cut(rest, `"`)
			out = append(out, name)
		}
	}
	return out
}

func wantKind(t *testing.T, err error, kind errs.Kind, field string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Field != field {
		t.Fatalf("got error %v, want kind %v on field %q", err, kind, field)
	}
}

var ctx = context.Background()

var client = accounts.Client{IP: "192.0.2.10", UserAgent: "test"}

func TestSignUpVerifyAndLogIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		m, err := f.acc.SignUp(ctx, accounts.SignUpInput{Email: " Yui.Nakamura@Example.JP ", Password: "correct horse battery", DisplayName: "中村 結衣", Locale: "ja"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Email != "yui.nakamura@example.jp" || m.Role != accounts.RoleMember || m.EmailVerified {
			t.Fatalf("member = %+v", m)
		}
		if got := f.outboxEvents(t); strings.Join(got, ",") != "identify,Member Signed Up" {
			t.Fatalf("events = %v", got)
		}
		sent := f.mails.Sent()
		if len(sent) != 1 || !strings.Contains(sent[0].Subject, "メールアドレスの確認") || !strings.Contains(sent[0].Text, "中村 結衣 さん") {
			t.Fatalf("verification email = %+v", sent)
		}
		token := f.lastToken(t, m.Email)
		v, err := f.acc.VerifyEmail(ctx, token)
		if err != nil || !v.EmailVerified {
			t.Fatalf("verify: %+v, %v", v, err)
		}
		_, err = f.acc.VerifyEmail(ctx, token)
		wantKind(t, err, errs.KindInvalid, "token")

		_, err = f.acc.SignUp(ctx, accounts.SignUpInput{Email: "YUI.NAKAMURA@example.jp", Password: "another password"})
		wantKind(t, err, errs.KindConflict, "email")

		sess, who, err := f.acc.LogIn(ctx, "yui.nakamura@example.jp", "correct horse battery", client)
		if err != nil || who.ID != m.ID {
			t.Fatalf("log in: %v", err)
		}
		got, err := f.acc.SessionMember(ctx, sess.Token)
		if err != nil || got.ID != m.ID || got.DisplayName != "中村 結衣" {
			t.Fatalf("session member %+v, %v", got, err)
		}
		if err := f.acc.LogOut(ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
		_, err = f.acc.SessionMember(ctx, sess.Token)
		wantKind(t, err, errs.KindUnauthenticated, "")
	})
}

func TestSignUpRejectsBadInput(t *testing.T) {
	f := newFixture(t, db.SQLite)
	for _, tc := range []struct {
		in    accounts.SignUpInput
		field string
	}{
		{accounts.SignUpInput{Email: "", Password: "long enough pw"}, "email"},
		{accounts.SignUpInput{Email: "not-an-address", Password: "long enough pw"}, "email"},
		{accounts.SignUpInput{Email: "Name <a@example.com>", Password: "long enough pw"}, "email"},
		{accounts.SignUpInput{Email: "a@example.com", Password: "short"}, "password"},
		{accounts.SignUpInput{Email: "a@example.com", Password: "long enough pw", Locale: "fr"}, "locale"},
		{accounts.SignUpInput{Email: "a@example.com", Password: "long enough pw", DisplayName: strings.Repeat("名", 51)}, "display_name"},
	} {
		_, err := f.acc.SignUp(ctx, tc.in)
		wantKind(t, err, errs.KindInvalid, tc.field)
	}
	var n int
	f.db.R.QueryRow(`SELECT count(*) FROM members`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d members written by rejected sign-ups", n)
	}
}

func TestLogInThrottling(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		if _, err := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "riku@example.jp", Password: "the right password"}); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			_, _, err := f.acc.LogIn(ctx, "riku@example.jp", "a wrong password", client)
			wantKind(t, err, errs.KindUnauthenticated, "")
		}
		_, _, err := f.acc.LogIn(ctx, "riku@example.jp", "the right password", client)
		wantKind(t, err, errs.KindTooMany, "")
		// Unknown addresses fail the same way and count the same.
		_, _, err = f.acc.LogIn(ctx, "nobody@example.jp", "whatever it is", client)
		wantKind(t, err, errs.KindUnauthenticated, "")

		f.now = f.now.Add(16 * time.Minute)
		if _, _, err := f.acc.LogIn(ctx, "riku@example.jp", "the right password", client); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		if err := f.acc.SweepExpired(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPasswordReset(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		m, err := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "olivia@example.com", Password: "old password 1", Locale: "en"})
		if err != nil {
			t.Fatal(err)
		}
		old, _, err := f.acc.LogIn(ctx, m.Email, "old password 1", client)
		if err != nil {
			t.Fatal(err)
		}
		before := len(f.mails.Sent())
		if err := f.acc.RequestPasswordReset(ctx, "stranger@example.com"); err != nil || len(f.mails.Sent()) != before {
			t.Fatalf("reset for an unknown address: %v, mails %d → %d", err, before, len(f.mails.Sent()))
		}
		if err := f.acc.RequestPasswordReset(ctx, "Olivia@Example.com"); err != nil {
			t.Fatal(err)
		}
		if err := f.acc.RequestPasswordReset(ctx, "olivia@example.com"); err != nil || len(f.mails.Sent()) != before+1 {
			t.Fatalf("second request within a minute mailed again: %v", err)
		}
		sent := f.mails.Sent()
		if !strings.Contains(sent[len(sent)-1].Subject, "Reset your password") {
			t.Fatalf("subject %q", sent[len(sent)-1].Subject)
		}
		token := f.lastToken(t, m.Email)
		_, err = f.acc.ResetPassword(ctx, token, "short")
		wantKind(t, err, errs.KindInvalid, "password")
		got, err := f.acc.ResetPassword(ctx, token, "new password 2")
		if err != nil || !got.EmailVerified {
			t.Fatalf("reset: %+v %v", got, err)
		}
		_, err = f.acc.SessionMember(ctx, old.Token)
		wantKind(t, err, errs.KindUnauthenticated, "")
		_, _, err = f.acc.LogIn(ctx, m.Email, "old password 1", client)
		wantKind(t, err, errs.KindUnauthenticated, "")
		if _, _, err := f.acc.LogIn(ctx, m.Email, "new password 2", client); err != nil {
			t.Fatal(err)
		}
		_, err = f.acc.ResetPassword(ctx, token, "new password 3")
		wantKind(t, err, errs.KindInvalid, "token")

		f.now = f.now.Add(2 * time.Minute)
		f.acc.RequestPasswordReset(ctx, m.Email)
		expired := f.lastToken(t, m.Email)
		f.now = f.now.Add(2 * time.Hour)
		_, err = f.acc.ResetPassword(ctx, expired, "new password 4")
		wantKind(t, err, errs.KindInvalid, "token")
	})
}

func TestSetupCreatesFirstAdminOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		if has, _ := f.acc.HasAdmin(ctx); has {
			t.Fatal("admin before setup")
		}
		first, _ := f.acc.SetupToken(ctx)
		token, err := f.acc.SetupToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantKind(t, f.acc.CheckSetupToken(ctx, first), errs.KindInvalid, "token")
		if err := f.acc.CheckSetupToken(ctx, token); err != nil {
			t.Fatal(err)
		}
		in := accounts.SignUpInput{Email: "admin@example.jp", Password: "admin password", DisplayName: "佐藤 美咲", Locale: "ja"}
		_, _, err = f.acc.CompleteSetup(ctx, "wrong", in, client)
		wantKind(t, err, errs.KindInvalid, "token")
		m, sess, err := f.acc.CompleteSetup(ctx, token, in, client)
		if err != nil || m.Role != accounts.RoleAdmin || !m.EmailVerified || sess.Token == "" {
			t.Fatalf("setup: %+v %v", m, err)
		}
		in.Email = "second@example.jp"
		_, _, err = f.acc.CompleteSetup(ctx, token, in, client)
		wantKind(t, err, errs.KindInvalid, "token")
		_, err = f.acc.SetupToken(ctx)
		wantKind(t, err, errs.KindConflict, "")

		entries, _, err := f.acc.ListAudit(ctx, m.Principal(), "", 10)
		if err != nil || len(entries) != 2 || entries[0].Action != "session.started" || entries[1].Action != "setup.completed" {
			t.Fatalf("audit: %+v %v", entries, err)
		}
	})
}

func TestRolesAndLastAdmin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		admin, err := f.acc.CreateAdmin(ctx, "admin@example.jp", "admin password", "Admin")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "sota@example.jp", Password: "member password"})
		err = f.acc.SetRole(ctx, m.Principal(), m.ID, accounts.RoleAdmin)
		wantKind(t, err, errs.KindForbidden, "")
		_, err = f.acc.CreateMember(ctx, m.Principal(), accounts.SignUpInput{Email: "x@example.jp", Password: "member password"}, accounts.RoleAdmin)
		wantKind(t, err, errs.KindForbidden, "")
		staff, err := f.acc.CreateMember(ctx, admin.Principal(), accounts.SignUpInput{Email: "cs@example.jp", Password: "member password"}, accounts.RoleCS)
		if err != nil || staff.Role != accounts.RoleCS || !staff.EmailVerified {
			t.Fatalf("create member: %+v %v", staff, err)
		}
		if n, err := f.acc.CountMembers(ctx, staff.Principal()); n != 3 || err != nil {
			t.Fatalf("count = %d, %v", n, err)
		}
		_, err = f.acc.CountMembers(ctx, m.Principal())
		wantKind(t, err, errs.KindForbidden, "")
		wantKind(t, f.acc.SetRole(ctx, admin.Principal(), m.ID, "owner"), errs.KindInvalid, "role")
		wantKind(t, f.acc.SetRole(ctx, admin.Principal(), admin.ID, accounts.RoleMember), errs.KindConflict, "role")
		if err := f.acc.SetRole(ctx, admin.Principal(), m.ID, accounts.RoleModerator); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.acc.GetMember(ctx, m.ID); got.Role != accounts.RoleModerator {
			t.Fatalf("role = %s", got.Role)
		}
		// Promoting an existing account through the CLI also resets its password.
		again, err := f.acc.CreateAdmin(ctx, "SOTA@example.jp", "recovered password", "")
		if err != nil || again.ID != m.ID || again.Role != accounts.RoleAdmin {
			t.Fatalf("promote: %+v %v", again, err)
		}
		if _, _, err := f.acc.LogIn(ctx, m.Email, "recovered password", client); err != nil {
			t.Fatal(err)
		}
		if err := f.acc.SetRole(ctx, admin.Principal(), admin.ID, accounts.RoleAnalyst); err != nil {
			t.Fatalf("demoting one of two admins: %v", err)
		}

		list, next, err := f.acc.ListMembers(ctx, again.Principal(), "", 1)
		if err != nil || len(list) != 1 || next == "" {
			t.Fatalf("page 1: %v %q %v", list, next, err)
		}
		list2, next2, err := f.acc.ListMembers(ctx, again.Principal(), next, 2)
		if err != nil || len(list2) != 2 || next2 != "" || list2[0].ID == list[0].ID {
			t.Fatalf("page 2: %v %q %v", list2, next2, err)
		}
		all, _, _ := f.acc.ListAudit(ctx, accounts.System(), "", 100)
		page, cursor, _ := f.acc.ListAudit(ctx, accounts.System(), "", 2)
		rest, end, _ := f.acc.ListAudit(ctx, accounts.System(), cursor, 100)
		if len(page)+len(rest) != len(all) || end != "" || rest[0].ID != all[2].ID {
			t.Fatalf("audit pages %d+%d of %d", len(page), len(rest), len(all))
		}
	})
}

func TestAPIKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		m, _ := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "mei@example.jp", Password: "member password"})
		_, _, err := f.acc.CreateAPIKey(ctx, m.Principal(), "crm", []accounts.Scope{accounts.ScopeRead})
		wantKind(t, err, errs.KindForbidden, "")
		_, _, err = f.acc.CreateAPIKey(ctx, accounts.System(), "crm", []accounts.Scope{"superuser"})
		wantKind(t, err, errs.KindInvalid, "scopes")
		_, _, err = f.acc.CreateAPIKey(ctx, accounts.System(), " ", []accounts.Scope{accounts.ScopeRead})
		wantKind(t, err, errs.KindInvalid, "name")

		raw, key, err := f.acc.CreateAPIKey(ctx, accounts.System(), "Salesforce 連携", []accounts.Scope{accounts.ScopeRead, accounts.ScopeRead})
		if err != nil || !strings.HasPrefix(raw, "kzn_") || !strings.HasPrefix(raw, key.Prefix) || len(key.Scopes) != 1 {
			t.Fatalf("create: %q %+v %v", raw, key, err)
		}
		p, err := f.acc.AuthenticateAPIKey(ctx, raw)
		if err != nil || p.APIKeyID != key.ID {
			t.Fatalf("authenticate: %+v %v", p, err)
		}
		if !accounts.Allowed(p, accounts.PermViewMembers) || accounts.Allowed(p, accounts.PermManageAPIKeys) {
			t.Fatal("a read key's permissions are wrong")
		}
		_, _, err = f.acc.CreateAPIKey(ctx, p, "escalate", []accounts.Scope{accounts.ScopeAdmin})
		wantKind(t, err, errs.KindForbidden, "")
		_, err = f.acc.AuthenticateAPIKey(ctx, raw+"x")
		wantKind(t, err, errs.KindUnauthenticated, "")

		keys, err := f.acc.ListAPIKeys(ctx, accounts.System())
		if err != nil || len(keys) != 1 || keys[0].LastUsedAt == nil || keys[0].RevokedAt != nil {
			t.Fatalf("list: %+v %v", keys, err)
		}
		if err := f.acc.RevokeAPIKey(ctx, accounts.System(), key.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.acc.RevokeAPIKey(ctx, accounts.System(), key.ID); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		wantKind(t, f.acc.RevokeAPIKey(ctx, accounts.System(), "nope"), errs.KindNotFound, "")
		_, err = f.acc.AuthenticateAPIKey(ctx, raw)
		wantKind(t, err, errs.KindUnauthenticated, "")
		keys, _ = f.acc.ListAPIKeys(ctx, accounts.System())
		if keys[0].RevokedAt == nil {
			t.Fatal("revoked key not marked")
		}
		entries, _, _ := f.acc.ListAudit(ctx, accounts.System(), "", 10)
		if len(entries) != 2 || entries[0].Action != "api_key.revoked" || entries[1].Details["name"] != "Salesforce 連携" {
			t.Fatalf("audit: %+v", entries)
		}
	})
}

func TestPermissionTable(t *testing.T) {
	role := func(r accounts.Role) accounts.Principal { return accounts.Principal{MemberID: "m", Role: r} }
	key := func(s ...accounts.Scope) accounts.Principal {
		return accounts.Principal{APIKeyID: "k", Role: accounts.RoleAdmin, Scopes: s}
	}
	for _, tc := range []struct {
		p    accounts.Principal
		perm accounts.Permission
		want bool
	}{
		{accounts.Principal{}, accounts.PermViewAdmin, false},
		{role(accounts.RoleMember), accounts.PermViewAdmin, false},
		{role(accounts.RoleModerator), accounts.PermModerate, true},
		{role(accounts.RoleModerator), accounts.PermManageMarketing, false},
		{role(accounts.RoleMarketer), accounts.PermManageMarketing, true},
		{role(accounts.RoleMarketer), accounts.PermManageAPIKeys, false},
		{role(accounts.RoleAnalyst), accounts.PermViewAnalytics, true},
		{role(accounts.RoleAnalyst), accounts.PermViewAudit, false},
		{role(accounts.RoleCommunityManager), accounts.PermManageCommunity, true},
		{role(accounts.RoleAdmin), accounts.PermViewAudit, true},
		{accounts.System(), accounts.PermManageSettings, true},
		{key(accounts.ScopeRead), accounts.PermViewMembers, true},
		{key(accounts.ScopeRead), accounts.PermModerate, false},
		{key(accounts.ScopeWrite), accounts.PermModerate, true},
		{key(accounts.ScopeWrite), accounts.PermViewAudit, false},
		{key(accounts.ScopeAdmin), accounts.PermViewAudit, true},
		{key(), accounts.PermViewAdmin, false},
	} {
		if got := accounts.Allowed(tc.p, tc.perm); got != tc.want {
			t.Errorf("Allowed(%+v, %q) = %v, want %v", tc.p, tc.perm, got, tc.want)
		}
	}
}

func TestSuspend(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		admin, _ := f.acc.CreateAdmin(ctx, "admin@example.jp", "admin password", "Admin")
		mod, _ := f.acc.CreateMember(ctx, admin.Principal(), accounts.SignUpInput{Email: "mod@example.jp", Password: "member password"}, accounts.RoleModerator)
		cs, _ := f.acc.CreateMember(ctx, admin.Principal(), accounts.SignUpInput{Email: "cs@example.jp", Password: "member password"}, accounts.RoleCS)
		m, _ := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "troll@example.jp", Password: "member password"})
		sess, _, err := f.acc.LogIn(ctx, m.Email, "member password", client)
		if err != nil {
			t.Fatal(err)
		}
		wantKind(t, f.acc.Suspend(ctx, m.Principal(), mod.ID, "x"), errs.KindForbidden, "")
		wantKind(t, f.acc.Suspend(ctx, mod.Principal(), m.ID, ""), errs.KindInvalid, "reason")
		wantKind(t, f.acc.Suspend(ctx, mod.Principal(), cs.ID, "x"), errs.KindForbidden, "")
		if err := f.acc.Suspend(ctx, mod.Principal(), m.ID, "spam"); err != nil {
			t.Fatal(err)
		}
		_, err = f.acc.SessionMember(ctx, sess.Token)
		wantKind(t, err, errs.KindUnauthenticated, "")
		_, _, err = f.acc.LogIn(ctx, m.Email, "member password", client)
		wantKind(t, err, errs.KindForbidden, "")
		if err := f.acc.Reinstate(ctx, mod.Principal(), m.ID, "appeal accepted"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.acc.LogIn(ctx, m.Email, "member password", client); err != nil {
			t.Fatal(err)
		}
		wantKind(t, f.acc.Suspend(ctx, mod.Principal(), admin.ID, "x"), errs.KindForbidden, "")
		entries, _, _ := f.acc.ListAudit(ctx, accounts.System(), "", 2)
		if entries[0].Action != "member.reinstated" || entries[1].Action != "member.suspended" || entries[1].Details["reason"] != "spam" {
			t.Fatalf("audit %+v", entries)
		}
	})
}

// outboxPayloads returns the JSON of the events waiting in the outbox, in order.
func (f *fixture) outboxPayloads(t *testing.T) []string {
	t.Helper()
	rows, err := f.db.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestSignUpAndLogInCarryTheBrowsersAnonymousID(t *testing.T) {
	f := newFixture(t, db.SQLite)
	const aid = "0b6f3c1e-5d2a-4c8e-9f0a-1b2c3d4e5f60"
	m, err := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "ren@example.jp", Password: "correct horse battery", AnonymousID: aid})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.acc.LogIn(ctx, "ren@example.jp", "correct horse battery", accounts.Client{IP: "192.0.2.11", AnonymousID: aid}); err != nil {
		t.Fatal(err)
	}
	ps := f.outboxPayloads(t)
	if len(ps) != 3 {
		t.Fatalf("events = %v", ps)
	}
	var identify, loggedIn struct {
		Type, Event, UserID, AnonymousID string
	}
	for i, v := range map[int]any{0: &identify, 2: &loggedIn} {
		if err := json.Unmarshal([]byte(ps[i]), v); err != nil {
			t.Fatal(err)
		}
	}
	if identify.Type != "identify" || identify.UserID != m.ID || identify.AnonymousID != aid {
		t.Fatalf("identify = %+v", identify)
	}
	if loggedIn.Event != "Member Logged In" || loggedIn.UserID != m.ID || loggedIn.AnonymousID != aid {
		t.Fatalf("log-in event = %+v", loggedIn)
	}

	// Without a tracking cookie the events carry no anonymous id.
	if _, err := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "mio@example.jp", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	if p := f.outboxPayloads(t)[3]; strings.Contains(p, "anonymousId") {
		t.Fatalf("identify without a cookie = %s", p)
	}

	for _, bad := range []string{strings.Repeat("a", 101), "has space", "タブ", "ctl\x01"} {
		_, err := f.acc.SignUp(ctx, accounts.SignUpInput{Email: "bad@example.jp", Password: "correct horse battery", AnonymousID: bad})
		wantKind(t, err, errs.KindInvalid, "anonymous_id")
		_, _, err = f.acc.LogIn(ctx, "ren@example.jp", "correct horse battery", accounts.Client{AnonymousID: bad})
		wantKind(t, err, errs.KindInvalid, "anonymous_id")
	}
	if !accounts.ValidAnonymousID(strings.Repeat("a", 100)) || accounts.ValidAnonymousID("") {
		t.Fatal("ValidAnonymousID bounds")
	}
}
