// Package web is the server-rendered web shell: the public pages (landing, sign-up, log-in,
// social log-in with its permission screen, password reset, first-administrator set-up), the
// member's linked accounts, and the staff admin, in Japanese and English,
// rendered with html/template and enhanced with small htmx islands. Every page works without
// JavaScript. It calls internal/accounts for every decision and holds no state of its own.
//
// Wiring: build it with New once, call Routes on the app's mux (it claims "/" as a 404 page and
// "/static/", and leaves /api/, /healthz, /readyz and /metrics alone), and wrap the whole mux as
// httpx documents: httpx.Chain(mux, httpx.RequestID, httpx.AccessLog(log), metrics.Middleware,
// httpx.Recover(log)). Cross-origin protection, security headers and no-store caching are applied
// per route inside Routes, so they need nothing from the composition root.
//
// With Deps.Profiles, Deps.Identity and Deps.CRM it serves the staff's customer 360 (and with
// Deps.Consent its consents and records of third-party provision, with Deps.Segments the
// segments the customer is in); with Deps.Segments, the segment list, builder and pages; with Deps.Sources, the
// tracking sources admin and the community's own page tracking; with Deps.Privacy, the member's
// privacy centre and the staff's data-subject requests.
//
// With Deps.Community and Deps.Notify it also serves the community (spaces, posts, Q&A, the idea
// board, profiles, search) and the notification inbox; with Deps.DM, direct messages; with
// Deps.Meetup, community events; with Deps.KB, the help center; with Deps.Badges, badges and
// experts; with Deps.Survey, polls and surveys; with Deps.Media, image uploads. A nil service
// leaves its pages out.
//
// Dates are shown in Asia/Tokyo to Japanese readers and in UTC to English ones.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/dm"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/ingest"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/media"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/onboarding"
	"github.com/kizuna-community/kizuna/internal/privacy"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/score"
	"github.com/kizuna-community/kizuna/internal/segment"
	"github.com/kizuna-community/kizuna/internal/survey"
)

//go:embed templates i18n static
var files embed.FS

// Deps are what the web shell needs.
type Deps struct {
	Accounts *accounts.Service
	Log      *slog.Logger
	BaseURL  string // e.g. http://127.0.0.1:8080; cookies get Secure when it starts with https://
	// Community serves spaces, posts, ideas, profiles and search; nil leaves those pages out.
	Community *community.Service
	// Notify serves the inbox and its preferences; nil leaves them out.
	Notify *notify.Service
	// DM serves direct messages; nil leaves them out.
	DM *dm.Service
	// Meetup serves community events (with Community); nil leaves them out.
	Meetup *meetup.Service
	// KB serves the help center (with Community); nil leaves it out.
	KB *kb.Service
	// Badges shows badges on profiles, the experts of a space and the badge admin (with
	// Community); nil leaves them out.
	Badges *badges.Service
	// Survey serves polls on posts and standalone surveys (with Community); nil leaves them out.
	Survey *survey.Service
	// Onboarding serves the onboarding survey new members are sent to, their interests in their
	// settings and its staff page (with Community, which ranks the home feed by those interests);
	// nil leaves them out.
	Onboarding *onboarding.Service
	// Media serves uploaded images and the composer's image upload; nil leaves them out.
	Media *media.Service
	// Sources are the tracking API's sources, managed at /admin/sources; nil leaves that page out.
	// With Sources every page also loads the tracker, /kizuna.js, with the write key of the
	// built-in "Community website" source: the tracking API (Ingest.Routes) must answer on the
	// same origin.
	Sources *ingest.Sources
	// Profiles, Identity and CRM serve the customer 360 at /admin/customers; all three or the
	// page is left out.
	Profiles *profile.Service
	Identity *identity.Graph
	CRM      *crm.Service
	// Consent adds the consents and the records of third-party provision to the customer 360;
	// nil leaves those sections out.
	Consent *consent.Ledger
	// Scores serves the score models' staff pages (/admin/scores) and adds scores to the customer
	// 360; nil leaves them out.
	Scores *score.Service
	// Privacy serves the member's privacy centre (/settings/privacy: consents, linked
	// identities, data download, account deletion) and the staff's data-subject requests
	// (/admin/privacy, and export and erasure on the customer 360); nil leaves them out.
	Privacy *privacy.Service
	// Segments serves the segment list, builder and pages at /admin/segments and the segments
	// on the customer 360; nil leaves them out.
	Segments *segment.Service
	// Unlink, with Privacy, adds an unlink button to the social accounts the privacy centre
	// lists; nil lists them without one.
	Unlink UnlinkFunc
}

// Web renders the pages. Build it with New and register it with Routes.
type Web struct {
	acc          *accounts.Service
	com          *community.Service  // nil: no community pages
	ntf          *notify.Service     // nil: no inbox
	dms          *dm.Service         // nil: no direct messages
	mtp          *meetup.Service     // nil: no events
	kbs          *kb.Service         // nil: no help center
	bdg          *badges.Service     // nil: no badges
	srv          *survey.Service     // nil: no polls or surveys
	onb          *onboarding.Service // nil: no onboarding survey
	med          *media.Service      // nil: no image uploads
	sources      *ingest.Sources     // nil: no tracking sources page and no tracker
	prf          *profile.Service    // nil: no customer 360
	idg          *identity.Graph
	crm          *crm.Service
	cns          *consent.Ledger  // nil: no consent sections on the 360
	priv         *privacy.Service // nil: no privacy centre, no data-subject requests
	scores       *score.Service   // nil: no score pages
	unlink       UnlinkFunc       // nil: no unlink buttons
	seg          *segment.Service // nil: no segment pages
	baseURL      string           // the public origin, without a trailing slash; "" when not configured
	log          *slog.Logger
	secure       bool                          // cookies only over HTTPS
	pages        map[string]*template.Template // page name → layout, partials and that page
	sizes        map[string]*atomic.Int64      // page name → size of its last whole-page rendering, to size the next buffer
	catalogs     map[string]catalog            // language → messages
	assets       map[string]string             // static file name → URL with a content version
	static       fs.FS
	cop          *http.CrossOriginProtection
	permVersions map[string]string      // language → version id of the social permission screen's wording
	anon         *pageCache[[]byte]     // pages as visitors who are not logged in see them
	replies      *pageCache[replyParts] // per thread version and language: the replies as everyone sees them
}

// contentSecurityPolicy allows only our own files: no inline script or style anywhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// setSecurityHeaders adds the headers every response of the web shell carries.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

// New parses the embedded templates and catalogues once.
func New(d Deps) (*Web, error) {
	if d.Accounts == nil {
		return nil, fmt.Errorf("web: the accounts service is required")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	s := &Web{acc: d.Accounts, com: d.Community, ntf: d.Notify, dms: d.DM, log: d.Log, secure: strings.HasPrefix(d.BaseURL, "https://")}
	if d.Community != nil { // events live in spaces
		s.mtp, s.kbs, s.bdg, s.srv, s.onb = d.Meetup, d.KB, d.Badges, d.Survey, d.Onboarding
	}
	s.med = d.Media
	s.priv, s.unlink, s.seg, s.scores = d.Privacy, d.Unlink, d.Segments, d.Scores
	s.sources, s.baseURL = d.Sources, trimBase(d.BaseURL)
	if d.Profiles != nil && d.Identity != nil && d.CRM != nil {
		s.prf, s.idg, s.crm, s.cns = d.Profiles, d.Identity, d.CRM, d.Consent
	}
	var err error
	if s.catalogs, err = loadCatalogs(files); err != nil {
		return nil, err
	}
	s.permVersions = permissionVersions(s.catalogs)
	if s.static, err = fs.Sub(files, "static"); err != nil {
		return nil, err
	}
	if s.assets, err = versionAssets(s.static); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(files); err != nil {
		return nil, err
	}
	s.sizes = make(map[string]*atomic.Int64, len(s.pages))
	for name := range s.pages {
		s.sizes[name] = new(atomic.Int64)
	}
	s.anon = newPageCache[[]byte]()
	s.replies = newPageCache[replyParts]()
	s.cop = http.NewCrossOriginProtection()
	if u, err := url.Parse(d.BaseURL); err == nil && u.Scheme != "" && u.Host != "" {
		// Behind a proxy the Host header may differ from the public origin; trust the public one.
		if err := s.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, fmt.Errorf("web: base URL %q: %w", d.BaseURL, err)
		}
	}
	s.cop.SetDenyHandler(s.page(s.crossOriginDenied))
	return s, nil
}

// parsePages builds one template set per page: the layout and partials plus the page's file,
// so every page can define its own "content".
func parsePages(fsys fs.FS) (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(templateFuncs()).ParseFS(fsys, "templates/layout/*.html")
	if err != nil {
		return nil, fmt.Errorf("parsing the layout: %w", err)
	}
	names, err := fs.Glob(fsys, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*template.Template, len(names))
	for _, n := range names {
		t, err := template.Must(base.Clone()).ParseFS(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", n, err)
		}
		out[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return out, nil
}

// versionAssets maps each static file to a URL that changes with its content, so the files can
// be cached for a year and still never go stale.
func versionAssets(static fs.FS) (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[p] = "/static/" + p + "?v=" + hex.EncodeToString(sum[:5])
		return nil
	})
	return out, err
}

// Routes registers every page on mux. It leaves /api/, /healthz, /readyz and /metrics to others
// and claims "/" for a 404 page in the visitor's language.
func (s *Web) Routes(mux *http.ServeMux) {
	handle := func(pattern string, h pageHandler) {
		mux.Handle(pattern, s.cop.Handler(s.page(h)))
	}
	mux.Handle("GET /static/", http.HandlerFunc(s.serveStatic))

	handle("GET /{$}", s.home)
	handle("POST /lang", s.switchLang)
	handle("GET /signup", s.signupForm)
	handle("POST /signup", s.signup)
	handle("GET /login", s.loginForm)
	handle("POST /login", s.login)
	handle("POST /logout", s.logout)
	handle("GET /verify-email", s.verifyEmail)
	handle("POST /verify-email/resend", s.resendVerification)
	handle("GET /forgot-password", s.forgotForm)
	handle("POST /forgot-password", s.forgot)
	handle("GET /reset-password", s.resetForm)
	handle("POST /reset-password", s.reset)
	handle("GET /setup", s.setupForm)
	handle("POST /setup", s.setup)

	handle("GET /admin", s.staff(accounts.PermViewAdmin, s.adminOverview))
	handle("GET /admin/members", s.staff(accounts.PermViewMembers, s.adminMembers))
	handle("POST /admin/members/{id}/role", s.staff(accounts.PermManageMembers, s.setRole))
	handle("GET /admin/api-keys", s.staff(accounts.PermManageAPIKeys, s.adminAPIKeys))
	handle("POST /admin/api-keys", s.staff(accounts.PermManageAPIKeys, s.createAPIKey))
	handle("POST /admin/api-keys/{id}/revoke", s.staff(accounts.PermManageAPIKeys, s.revokeAPIKey))
	handle("GET /admin/audit", s.staff(accounts.PermViewAudit, s.adminAudit))
	s.socialRoutes(handle)

	if s.com != nil {
		s.communityRoutes(handle)
		s.moderationRoutes(handle)
	}
	if s.mtp != nil {
		s.eventRoutes(handle)
	}
	if s.med != nil {
		s.mediaRoutes(mux, handle)
	}
	if s.sources != nil {
		s.sourceRoutes(handle)
	}
	if s.prf != nil {
		s.customerRoutes(handle)
	}
	if s.seg != nil {
		s.segmentRoutes(handle)
	}
	if s.kbs != nil {
		s.kbRoutes(handle)
	}
	if s.bdg != nil {
		s.badgeRoutes(handle)
	}
	if s.srv != nil {
		s.surveyRoutes(handle)
	}
	if s.onb != nil {
		s.onboardingRoutes(handle)
	}
	if s.scores != nil {
		s.scoreRoutes(handle)
	}
	if s.priv != nil {
		s.privacyRoutes(handle)
		s.adminPrivacyRoutes(handle)
	}
	if s.ntf != nil {
		handle("GET /notifications", s.signedIn(s.notifications))
		handle("POST /notifications/read-all", s.signedIn(s.readAllNotifications))
		handle("POST /notifications/{id}/open", s.signedIn(s.openNotification))
		handle("GET /settings/notifications", s.signedIn(s.notificationSettings))
		handle("POST /settings/notifications", s.signedIn(s.saveNotificationSettings))
	}
	if s.dms != nil && s.com != nil { // threads render Markdown with the community's sanitiser
		handle("GET /messages", s.signedIn(s.conversations))
		handle("GET /messages/{id}", s.signedIn(s.conversation))
		handle("POST /messages/{id}", s.signedIn(s.reply))
		handle("GET /messages/to/{member}", s.signedIn(s.messageTo))
		handle("POST /messages/to/{member}", s.signedIn(s.sendTo))
	}

	handle("/", s.notFound)
}

// serveStatic serves the embedded assets with a year-long cache; URLs carry a content version.
func (s *Web) serveStatic(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	if _, ok := s.assets[name]; !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeFileFS(w, r, s.static, name)
}

// render writes a whole page, or, with status 0, 200. Templates run into a buffer first so that
// a template error becomes a clean 500 rather than half a page.
func (s *Web) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	if v.Nav == nil { // the community's pages are tracked, staff pages are not
		s.trackerKey(r, v)
	}
	s.execute(w, r, status, name, "layout", v)
}

// fragment writes one named template of a page's set with data: the htmx islands.
func (s *Web) fragment(w http.ResponseWriter, r *http.Request, status int, page, name string, data any) {
	s.execute(w, r, status, page, name, data)
}

func (s *Web) execute(w http.ResponseWriter, r *http.Request, status int, page, name string, data any) {
	body, err := s.renderBytes(page, name, data)
	if err != nil {
		s.log.ErrorContext(r.Context(), "rendering a page", "page", page, "template", name, "err", err,
			"request_id", httpx.RequestIDFrom(r.Context()))
		http.Error(w, "internal error; request id "+httpx.RequestIDFrom(r.Context()), http.StatusInternalServerError)
		return
	}
	writeHTML(w, status, body)
}

// renderBytes runs the named template of a page's set with data.
func (s *Web) renderBytes(page, name string, data any) ([]byte, error) {
	t, ok := s.pages[page]
	if !ok {
		return nil, fmt.Errorf("no page %q", page)
	}
	var buf bytes.Buffer
	// A long thread is hundreds of kilobytes: one buffer of about the last page's size saves
	// the copies and garbage of growing one from nothing.
	hint := s.sizes[page]
	if name == "layout" {
		buf.Grow(int(hint.Load()) + 4096)
	}
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, err
	}
	if name == "layout" {
		hint.Store(int64(buf.Len()))
	}
	return buf.Bytes(), nil
}

// writeHTML writes a rendered page with status, or 200 for 0.
func writeHTML(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(body)
}

// listOf is a list with the view, for partials.
type listOf struct {
	V     *view
	Items any
}

// templateFuncs are the few template helpers that need no request; per-request ones are view
// methods.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		// initial is the first character of a name, for avatars; whole runes, so Japanese names work.
		// short abbreviates a long id for a table cell; the whole id goes in a title.
		"short": func(id string) string {
			if len(id) <= 12 {
				return id
			}
			return id[:10] + "…"
		},
		"initial": func(name string) string {
			for _, r := range name {
				return strings.ToUpper(string(r))
			}
			return "?"
		},
		// deref reads an optional time that the template already checked is set.
		"deref": func(t *time.Time) time.Time {
			if t == nil {
				return time.Time{}
			}
			return *t
		},
		// number reads an optional number that the template already checked is set.
		"number": func(f *float64) float64 {
			if f == nil {
				return 0
			}
			return *f
		},
		"seatsLeft": func(capacity, going int) int { return max(capacity-going, 0) },
		"hasPrefix": strings.HasPrefix,
		"inc":       func(n int) int { return n + 1 },
		// kbList pairs a list with the view for a partial that needs both.
		"kbList":  func(v *view, items any) listOf { return listOf{V: v, Items: items} },
		"fieldOf": fieldOf,
		"join": func(sep string, xs []accounts.Scope) string {
			s := make([]string, len(xs))
			for i, x := range xs {
				s[i] = string(x)
			}
			return strings.Join(s, sep)
		},
	}
}
