package web_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accountmail"
	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/dm"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/ingest"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/mail"
	"github.com/kizuna-community/kizuna/internal/media"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/onboarding"
	"github.com/kizuna-community/kizuna/internal/privacy"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/score"
	"github.com/kizuna-community/kizuna/internal/search"
	"github.com/kizuna-community/kizuna/internal/segment"
	"github.com/kizuna-community/kizuna/internal/stream"
	"github.com/kizuna-community/kizuna/internal/survey"
	"github.com/kizuna-community/kizuna/internal/web"
)

// site is the web shell on a loopback server with the real accounts, notify, search, community,
// dm, meetup, kb, badges, survey, media, identity, crm and profile services on SQLite (media in a
// temporary directory), and the tracking API (/v1/*, /kizuna.js) on the same origin.
type site struct {
	t      testing.TB
	acc    *accounts.Service
	com    *community.Service
	ntf    *notify.Service
	dms    *dm.Service
	mtp    *meetup.Service
	kbs    *kb.Service
	bdg    *badges.Service
	svy    *survey.Service
	med    *media.Service
	src    *ingest.Sources
	idg    *identity.Graph
	crm    *crm.Service
	prf    *profile.Service
	cns    *consent.Ledger
	onb    *onboarding.Service // with siteOptions.onboarding
	seg    *segment.Service
	scores *score.Service
	priv   *privacy.Service
	bb     *backbone.Backbone // the real backbone with siteOptions.backbone, else one without a stream
	logDB  *db.DB
	db     *db.DB
	mails  *mail.Log
	srv    *httptest.Server
	URL    string
}

func newSite(t testing.TB) *site {
	t.Helper()
	return newSiteWith(t, nil)
}

// newSiteWith is newSite whose community sends reading events to events.
func newSiteWith(t testing.TB, events community.Appender) *site {
	t.Helper()
	return newSiteClock(t, events, nil)
}

// newSiteClock is newSiteWith whose community reads the time from now (time.Now when nil).
func newSiteClock(t testing.TB, events community.Appender, now func() time.Time) *site {
	t.Helper()
	return newSiteOpts(t, siteOptions{events: events, now: now})
}

// siteOptions vary the test site.
type siteOptions struct {
	events community.Appender // the community's reading events; none when nil
	now    func() time.Time   // the community's clock; time.Now when nil
	// backbone runs the real event backbone on an embedded stream: the outbox relay, the event
	// log and the profile consumer, so events reach customer profiles as in production. Without
	// it, events sent to the tracking API are kept in memory, and events the services commit stay
	// in the outbox.
	backbone bool
	// engine is the database engine; SQLite when empty.
	engine db.Engine
	// providers are social log-in providers set as if by configuration; consents records the
	// permission screen's choices (none when nil, as in the app until the consent ledger lands).
	providers []accounts.ProviderConfig
	consents  accounts.ConsentRecorder
	// onboarding adds the onboarding survey: new members are sent to it after sign-up.
	onboarding bool
	// unlink is the privacy centre's social unlink hook; nil leaves the buttons out.
	unlink web.UnlinkFunc
	// ledger has the consent ledger record the permission screen's choices, as the app does
	// (consents is then ignored).
	ledger bool
}

// newSiteOpts builds the site as opts say.
func newSiteOpts(t testing.TB, opts siteOptions) *site {
	t.Helper()
	events, now := opts.events, opts.now
	engine := opts.engine
	if engine == "" {
		engine = db.SQLite
	}
	sets := []db.Migrations{backbone.Migrations(), accounts.Migrations(), notify.Migrations(), search.Migrations(),
		community.Migrations(), dm.Migrations(), meetup.Migrations(),
		media.Migrations(), kb.Migrations(), badges.Migrations(), survey.Migrations(), ingest.Migrations(),
		identity.Migrations(), crm.Migrations(), profile.Migrations(), consent.Migrations(), privacy.Migrations(),
		segment.Migrations(), score.Migrations()}
	if opts.onboarding {
		sets = append(sets, onboarding.Migrations())
	}
	d := dbtest.Open(t, engine, sets...)
	log := slog.New(slog.NewTextHandler(testLogOut(), nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	s := &site{t: t, mails: mail.NewLog(log), URL: base, db: d}
	outbox := backbone.NewOutbox(d)
	var bb *backbone.Backbone
	s.logDB = dbtest.Open(t, engine, backbone.LogMigrations())
	if opts.backbone {
		st, err := stream.Open(context.Background(), stream.Options{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		bb = backbone.New(backbone.Deps{DB: d, LogDB: s.logDB, Stream: st, Log: log})
		outbox = bb.Outbox()
		t.Cleanup(st.Close)
	}
	recorder := opts.consents
	ledger := &ledgerRecorder{}
	if opts.ledger {
		recorder = ledger
	}
	s.acc = accounts.New(accounts.Deps{
		DB: d, Outbox: outbox, Log: log, HashParams: accounts.TestHashParams(),
		Notifier:  &accountmail.Mailer{Sender: s.mails, BaseURL: base},
		Providers: opts.providers, Consents: recorder,
	})
	s.ntf = notify.New(notify.Deps{DB: d})
	s.com = community.New(community.Deps{DB: d, Outbox: outbox, Accounts: s.acc, Notify: s.ntf, Search: search.New(d), Events: events, Log: log, Now: now})
	s.dms = dm.New(dm.Deps{DB: d, Outbox: outbox, Accounts: s.acc, Notify: s.ntf})
	s.mtp = meetup.New(meetup.Deps{DB: d, Outbox: outbox, Accounts: s.acc, Community: s.com, Notify: s.ntf, Search: search.New(d), Log: log})
	s.kbs = kb.New(kb.Deps{DB: d, Outbox: outbox, Accounts: s.acc, Community: s.com, Search: search.New(d)})
	s.bdg = badges.New(badges.Deps{DB: d, Outbox: outbox, Accounts: s.acc})
	s.svy = survey.New(survey.Deps{DB: d, Outbox: outbox, Accounts: s.acc, Community: s.com})
	s.med = media.New(media.Deps{DB: d, Outbox: outbox, Store: media.DirStore{Root: t.TempDir()}})
	s.idg = identity.New(identity.Deps{DB: d, Outbox: outbox, Log: log})
	s.crm = crm.New(crm.Deps{DB: d, Outbox: outbox, Identity: s.idg})
	s.prf = profile.New(profile.Deps{DB: d, Outbox: outbox, Identity: s.idg, CRM: s.crm, Log: log})
	s.cns = consent.New(consent.Deps{DB: d, Outbox: outbox, Identity: s.idg, Accounts: s.acc})
	sg := segment.New(segment.Deps{DB: d, Outbox: outbox, Identity: s.idg, Accounts: s.acc, Log: log})
	s.scores = score.New(score.Deps{DB: d, Outbox: outbox, Identity: s.idg, Segments: sg, Log: log})
	s.seg = sg
	if opts.onboarding {
		s.onb = onboarding.New(onboarding.Deps{DB: d, Outbox: outbox, Segments: sg})
	}
	ledger.l = s.cns
	s.bb = bb
	if s.bb == nil {
		s.bb = backbone.New(backbone.Deps{DB: d, LogDB: s.logDB, Log: log})
	}
	// in is made below; the privacy part asks it nothing, the tracking API asks privacy.
	var in *ingest.Ingest
	s.priv = privacy.New(privacy.Deps{DB: d, Backbone: s.bb, Accounts: s.acc, Identity: s.idg, Consent: s.cns, Log: log,
		Parts: []dsr.Part{s.com, s.dms, s.mtp, s.svy, s.bdg, s.med, s.kbs, s.ntf, search.New(d), sourcesPart{&in}, s.crm, s.prf, s.scores, s.cns, s.idg, s.bb, s.acc}})
	var app ingest.Appender = new(eventSink)
	if bb != nil {
		bb.Register(s.prf.Consumer())
		bb.Register(s.priv.Consumer())
		app = bb
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- bb.Run(ctx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("backbone: %v", err)
			}
		})
	}
	in = ingest.New(ingest.Deps{DB: d, Appender: app, Log: log, Forgotten: s.priv})
	s.src = in.Sources()
	w, err := web.New(web.Deps{Accounts: s.acc, Log: log, BaseURL: base, Community: s.com, Notify: s.ntf, DM: s.dms, Meetup: s.mtp,
		KB: s.kbs, Badges: s.bdg, Survey: s.svy, Media: s.med, Sources: s.src, Profiles: s.prf, Identity: s.idg, CRM: s.crm, Consent: s.cns,
		Privacy: s.priv, Unlink: opts.unlink, Onboarding: s.onb, Segments: s.seg, Scores: s.scores})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.Routes(mux)
	in.Routes(mux)
	s.srv = httptest.NewUnstartedServer(httpx.Chain(mux, httpx.RequestID, httpx.Recover(log)))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// ledgerRecorder hands the permission screen's choices to the consent ledger, which is built
// after accounts (as internal/app does).
type ledgerRecorder struct{ l *consent.Ledger }

func (r *ledgerRecorder) RecordConsents(ctx context.Context, memberID string, choices []accounts.ConsentChoice, ev accounts.ConsentEvidence) error {
	return r.l.RecordConsents(ctx, memberID, choices, ev)
}

// sourcesPart is the tracking sources' part of an erasure, made once the tracking API is.
type sourcesPart struct{ in **ingest.Ingest }

func (p sourcesPart) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	return (*p.in).Sources().ExportSubject(ctx, sub)
}

func (p sourcesPart) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	return (*p.in).Sources().EraseSubject(ctx, tx, e)
}

// eventSink keeps the events sent to the tracking API, for sites that do not run the backbone.
// (Handing them to the profile consumer right away is not an option: the tracking API calls
// Append inside its dedupe transaction, and SQLite has one writer.)
type eventSink struct {
	mu  sync.Mutex
	evs []event.Event
}

func (k *eventSink) Append(_ context.Context, evs ...event.Event) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.evs = append(k.evs, evs...)
	return nil
}

// browser is one visitor with a cookie jar. It does not follow redirects, so tests see them.
type browser struct {
	s      *site
	c      *http.Client
	lang   string // Accept-Language
	header http.Header
}

func (s *site) browser(acceptLanguage string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{s: s, lang: acceptLanguage, header: http.Header{}, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is a response with its body read.
type page struct {
	*http.Response
	Body string
}

func (b *browser) do(method, path string, form url.Values, extra http.Header) page {
	b.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.s.URL+path, body)
	if err != nil {
		b.s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.s.t.Fatal(err)
	}
	return page{Response: resp, Body: string(data)}
}

func (b *browser) get(path string) page { return b.do(http.MethodGet, path, nil, nil) }

func (b *browser) post(path string, form url.Values) page {
	return b.do(http.MethodPost, path, form, nil)
}

// htmx posts as htmx does: same origin, with HX-Request.
func (b *browser) htmx(path string, form url.Values) page {
	return b.do(http.MethodPost, path, form, http.Header{"Hx-Request": {"true"}, "Sec-Fetch-Site": {"same-origin"}})
}

// cookie returns the value the jar holds for name, or "".
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.s.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (p page) expect(t testing.TB, status int, contains ...string) {
	t.Helper()
	if p.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", p.Request.Method, p.Request.URL, p.StatusCode, status, excerpt(p.Body))
	}
	for _, c := range contains {
		if !strings.Contains(p.Body, c) {
			t.Fatalf("%s %s: body lacks %q:\n%s", p.Request.Method, p.Request.URL, c, excerpt(p.Body))
		}
	}
}

func (p page) redirectsTo(t testing.TB, want string) {
	t.Helper()
	if p.StatusCode != http.StatusSeeOther && p.StatusCode != http.StatusFound {
		t.Fatalf("%s %s: status %d, want a redirect to %s; body:\n%s", p.Request.Method, p.Request.URL, p.StatusCode, want, excerpt(p.Body))
	}
	if got := p.Header.Get("Location"); got != want {
		t.Fatalf("%s %s: redirects to %q, want %q", p.Request.Method, p.Request.URL, got, want)
	}
}

func excerpt(s string) string {
	if _, body, ok := strings.Cut(s, `<main`); ok {
		s = body
	}
	if len(s) > 3000 {
		s = s[:3000] + "…"
	}
	return s
}

// htmlLang returns the lang attribute of the page's <html>.
func htmlLang(body string) string {
	m := regexp.MustCompile(`<html lang="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// lastLink returns the link with a token in the last email to addr.
func (s *site) lastLink(addr string) string {
	s.t.Helper()
	sent := s.mails.Sent()
	for i := len(sent) - 1; i >= 0; i-- {
		if sent[i].To != addr {
			continue
		}
		for _, line := range strings.Split(sent[i].Text, "\n") {
			if u, err := url.Parse(strings.TrimSpace(line)); err == nil && u.Query().Get("token") != "" {
				return u.RequestURI()
			}
		}
	}
	s.t.Fatalf("no email with a link to %s among %d", addr, len(sent))
	return ""
}

// member signs a member up and returns a browser logged in as them.
func (s *site) member(email, lang string) *browser {
	s.t.Helper()
	b := s.browser(lang)
	b.post("/signup", url.Values{"email": {email}, "password": {"correct horse battery"}, "display_name": {"Test " + email}}).
		redirectsTo(s.t, "/?notice=welcome")
	return b
}

// admin creates the first administrator through the set-up link and returns their browser.
func (s *site) admin(lang string) *browser {
	s.t.Helper()
	token, err := s.acc.SetupToken(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	b := s.browser(lang)
	b.post("/setup", url.Values{"token": {token}, "email": {"admin@example.com"}, "password": {"admin password 1"}, "display_name": {"Aiko Admin"}}).
		redirectsTo(s.t, "/admin")
	return b
}

// memberID returns the id of the member with email.
func (s *site) memberID(email string) string {
	s.t.Helper()
	ms, _, err := s.acc.ListMembers(context.Background(), accounts.System(), "", 1000)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, m := range ms {
		if m.Email == email {
			return m.ID
		}
	}
	s.t.Fatalf("no member %s", email)
	return ""
}

// testLogOut is where the site logs: stderr with KIZUNA_TEST_LOG set, else nowhere.
func testLogOut() io.Writer {
	if os.Getenv("KIZUNA_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

// eventually waits up to 10 s for check to hold, for work the backbone does in the background,
// and returns what check found.
func (s *site) eventually(what string, check func() (string, bool)) string {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, ok := check()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
