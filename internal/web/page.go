package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
)

// sessionCookie holds the session token of a signed-in browser.
const sessionCookie = "kizuna_session"

// pageHandler serves one page for the visitor described by v.
type pageHandler func(w http.ResponseWriter, r *http.Request, v *view)

// view is everything a template sees: who is visiting, in which language, and the page's data.
type view struct {
	Lang      string
	Title     string           // translated page title
	Member    *accounts.Member // nil when logged out
	CanAdmin  bool             // the member may open the admin
	Next      string           // where the language switcher returns to
	RequestID string
	Nav       []navItem // the admin sidebar, for admin pages
	Section   string    // the admin section shown
	Form      *form
	Notice    string // a translated confirmation shown above the content
	Data      any    // the page's own data
	// The signed-in header: which parts exist and the unread badges.
	HasCommunity bool
	HasNotify    bool
	HasDM        bool
	HasEvents    bool
	HasKB        bool // the help center
	HasMedia     bool // image uploads in the composers
	HasInterests bool // the onboarding survey, whose answers the member changes at /settings/interests
	HasPrivacy   bool // the privacy centre
	NotifUnread  int
	DMUnread     int
	Query        string // the search box's text
	Nav2         string // the community section shown: spaces, ideas, events, search, notifications, messages
	TrackKey     string // the write key the page's tracker sends with; "" loads no tracker

	token  string // the session token, for log-out
	cat    catalog
	loc    *time.Location
	assets map[string]string
}

// navItem is one admin sidebar entry.
type navItem struct {
	Key   string // section name and catalogue suffix
	Label string
	URL   string
}

// T returns the message key in the page's language, formatted with args.
func (v *view) T(key string, args ...any) string { return v.cat.text(key, args...) }

// Date formats t for the reader: Asia/Tokyo for Japanese, UTC for English.
func (v *view) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(v.loc).Format("2006-01-02 15:04 MST")
}

// DatePtr formats an optional time, or returns "" when it is nil.
func (v *view) DatePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return v.Date(*t)
}

// ISO is t as an RFC 3339 instant, for <time datetime>.
func (v *view) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Asset returns the versioned URL of a static file.
func (v *view) Asset(name string) string { return v.assets[name] }

// RoleName is the translated name of a role.
func (v *view) RoleName(r accounts.Role) string { return v.cat.text("role." + string(r)) }

// Roles lists every role, for role pickers.
func (v *view) Roles() []accounts.Role { return accounts.Roles }

// ScopeName is the translated name of an API key scope.
func (v *view) ScopeName(sc accounts.Scope) string { return v.cat.text("scope." + string(sc)) }

// Scopes lists every API key scope for the create form, least powerful first.
func (v *view) Scopes() []accounts.Scope {
	rank := func(sc accounts.Scope) int {
		switch sc {
		case accounts.ScopeRead:
			return 0
		case accounts.ScopeWrite:
			return 1
		case accounts.ScopeAdmin:
			return 2
		}
		return 3
	}
	out := slices.Clone(accounts.Scopes)
	slices.SortStableFunc(out, func(a, b accounts.Scope) int { return rank(a) - rank(b) })
	return out
}

// ActionName is the translated description of an audit action, or the action itself when the
// catalogue does not know it yet.
func (v *view) ActionName(action string) string {
	if s, ok := v.cat["audit.action."+action]; ok {
		return s
	}
	return action
}

// principal is who the visitor acts as.
func (v *view) principal() accounts.Principal {
	if v.Member == nil {
		return accounts.Principal{}
	}
	return v.Member.Principal()
}

// Can reports whether the visitor may do the named permission, asking accounts.Allowed.
func (v *view) Can(perm string) bool {
	p, ok := permissionNames()[perm]
	return ok && accounts.Allowed(v.principal(), p)
}

// permissionNames are the permissions templates may ask about with .Can.
func permissionNames() map[string]accounts.Permission {
	return map[string]accounts.Permission{
		"view_admin":       accounts.PermViewAdmin,
		"view_members":     accounts.PermViewMembers,
		"manage_members":   accounts.PermManageMembers,
		"manage_api_keys":  accounts.PermManageAPIKeys,
		"view_audit":       accounts.PermViewAudit,
		"manage_community": accounts.PermManageCommunity,
	}
}

// form is a submitted form: what was typed, to show it again, and what is wrong with it.
type form struct {
	values url.Values
	errors map[string]string // field → translated message
	alert  string            // a translated message about the whole form
}

func newForm(r *http.Request) *form {
	f := &form{values: url.Values{}, errors: map[string]string{}}
	if r != nil && r.PostForm != nil {
		f.values = r.PostForm
	}
	return f
}

// Value is what was typed into field.
func (f *form) Value(field string) string { return f.values.Get(field) }

// Has reports whether a checkbox or option value was submitted for field.
func (f *form) Has(field, value string) bool {
	for _, x := range f.values[field] {
		if x == value {
			return true
		}
	}
	return false
}

// Nth is the i-th value typed into a repeated field (the options of a poll), or "".
func (f *form) Nth(field string, i int) string {
	if vs := f.values[field]; i < len(vs) {
		return vs[i]
	}
	return ""
}

// Err is the message for field, or "".
func (f *form) Err(field string) string { return f.errors[field] }

// Alert is the message about the whole form, or "".
func (f *form) Alert() string { return f.alert }

// page wraps a pageHandler: security headers, no caching, and the visitor's session and language.
func (s *Web) page(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		setSecurityHeaders(hd)
		// Pages differ per visitor and may show private data or one-time secrets.
		hd.Set("Cache-Control", "no-store")
		hd.Add("Vary", "Cookie, Accept-Language")
		v, err := s.newView(w, r)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		h(w, r, v)
	})
}

// newView reads the visitor's session and picks the language. A dead session cookie is
// cleared; a failing database is an error (the view is still usable for the error page).
func (s *Web) newView(w http.ResponseWriter, r *http.Request) (*view, error) {
	v := &view{RequestID: httpx.RequestIDFrom(r.Context()), assets: s.assets, Form: newForm(nil), Next: "/"}
	var lookupErr error
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		m, err := s.acc.SessionMember(r.Context(), c.Value)
		switch {
		case err == nil:
			v.Member, v.token = &m, c.Value
		case errs.KindOf(err) == errs.KindUnauthenticated:
			s.clearSession(w)
		default:
			lookupErr = fmt.Errorf("reading the session: %w", err)
		}
	}
	s.setLang(v, negotiateLang(r, v.Member))
	v.CanAdmin = accounts.Allowed(v.principal(), accounts.PermViewAdmin)
	v.HasCommunity, v.HasNotify, v.HasDM, v.HasEvents = s.com != nil, s.ntf != nil, s.dms != nil && s.com != nil, s.mtp != nil
	v.HasInterests = s.onb != nil
	v.HasKB, v.HasMedia, v.HasPrivacy = s.kbs != nil, s.med != nil, s.priv != nil
	if v.Member != nil && r.Method == http.MethodGet && !isHTMX(r) && lookupErr == nil {
		s.countUnread(r, v)
	}
	// The switcher returns to this very URL, query included, so a set-up or reset link keeps
	// working after a language change (the token is already in the address bar; Referrer-Policy
	// keeps it on this site).
	if r.Method == http.MethodGet && localPath(r.URL.RequestURI()) {
		v.Next = r.URL.RequestURI()
	}
	return v, lookupErr
}

func (s *Web) setLang(v *view, lang string) {
	v.Lang, v.cat, v.loc = lang, s.catalogs[lang], zoneFor(lang)
}

// localPath reports whether p is safe to redirect to: a path on this site, not "//host" or
// "/\host", which browsers read as another site.
func localPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, `/\`) {
		return false
	}
	if strings.ContainsAny(p, "\r\n\t\\") {
		return false
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// countUnread fills the header's badges. A failure only costs the badge, so it is logged and
// the page goes on.
func (s *Web) countUnread(r *http.Request, v *view) {
	var err error
	if s.ntf != nil {
		if v.NotifUnread, err = s.ntf.UnreadCount(r.Context(), v.Member.ID); err != nil {
			s.log.WarnContext(r.Context(), "counting unread notifications", "err", err, "request_id", v.RequestID)
		}
	}
	if v.HasDM {
		if v.DMUnread, err = s.dms.UnreadTotal(r.Context(), v.principal()); err != nil {
			s.log.WarnContext(r.Context(), "counting unread messages", "err", err, "request_id", v.RequestID)
		}
	}
}

// signedIn guards a member page: logged-out visitors go to the log-in and come back.
func (s *Web) signedIn(h pageHandler) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, v *view) {
		if v.Member == nil {
			next := "/"
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			s.redirect(w, r, loginURL(next))
			return
		}
		h(w, r, v)
	}
}

// staff guards an admin page: logged-out visitors go to the log-in, others need perm.
func (s *Web) staff(perm accounts.Permission, h pageHandler) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, v *view) {
		if v.Member == nil {
			next := "/admin"
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			s.redirect(w, r, loginURL(next))
			return
		}
		if err := accounts.Authorize(v.principal(), perm); err != nil {
			s.fail(w, r, v, err)
			return
		}
		v.Nav = s.nav(v)
		h(w, r, v)
	}
}

// nav lists the admin sections the visitor may use, as accounts.Allowed decides.
func (s *Web) nav(v *view) []navItem {
	all := []struct {
		key  string
		url  string
		perm accounts.Permission
	}{
		{"overview", "/admin", accounts.PermViewAdmin},
		{"members", "/admin/members", accounts.PermViewMembers},
		{"customers", "/admin/customers", accounts.PermViewMembers},
		{"segments", "/admin/segments", accounts.PermViewMembers},
		{"scores", "/admin/scores", accounts.PermViewMembers},
		{"privacy", "/admin/privacy", accounts.PermViewMembers},
		{"api_keys", "/admin/api-keys", accounts.PermManageAPIKeys},
		{"sources", "/admin/sources", accounts.PermManageSettings},
		{"login_providers", "/admin/login-providers", accounts.PermManageSettings},
		{"audit", "/admin/audit", accounts.PermViewAudit},
		{"moderation", "/admin/moderation", accounts.PermModerate},
		{"spaces", "/admin/spaces", accounts.PermManageCommunity},
		{"badges", "/admin/badges", accounts.PermManageCommunity},
		{"surveys", "/admin/surveys", accounts.PermManageCommunity},
		{"onboarding", "/admin/onboarding", accounts.PermManageCommunity},
	}
	var out []navItem
	for _, it := range all {
		switch {
		case (it.key == "moderation" || it.key == "spaces") && s.com == nil, it.key == "badges" && s.bdg == nil, it.key == "surveys" && s.srv == nil, it.key == "onboarding" && s.onb == nil,
			it.key == "sources" && s.sources == nil, it.key == "customers" && s.prf == nil, it.key == "segments" && s.seg == nil, it.key == "scores" && s.scores == nil,
			it.key == "privacy" && s.priv == nil:
			continue
		}
		allowed := accounts.Allowed(v.principal(), it.perm)
		if it.key == "surveys" { // marketers run surveys too
			allowed = allowed || accounts.Allowed(v.principal(), accounts.PermManageMarketing)
		}
		if allowed {
			out = append(out, navItem{Key: it.key, Label: v.T("admin.nav." + it.key), URL: it.url})
		}
	}
	return out
}

// isHTMX reports whether htmx sent the request, so a fragment is the answer.
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// redirect sends the browser to a local URL after a form post (303) or, for htmx, tells htmx
// to navigate.
func (s *Web) redirect(w http.ResponseWriter, r *http.Request, to string) {
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// setSession gives the browser its session cookie.
func (s *Web) setSession(w http.ResponseWriter, sess accounts.Session) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.Token, Path: "/",
		MaxAge: int(accounts.SessionLifetime.Seconds()), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

func (s *Web) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// client describes the browser to accounts, for throttling, the session list and linking the
// browser's tracked history to the member.
func client(r *http.Request) accounts.Client {
	return accounts.Client{IP: httpx.ClientIP(r), UserAgent: r.UserAgent(), AnonymousID: anonymousID(r)}
}

// errorData is what the error page shows.
type errorData struct {
	Status  int
	Heading string
	Message string
	Action  string // a link to offer, e.g. "/login"
	ActionL string
}

// errorPage renders the error page with status.
func (s *Web) errorPage(w http.ResponseWriter, r *http.Request, v *view, status int, heading, message string) {
	v.Title = heading
	d := errorData{Status: status, Heading: heading, Message: message, Action: "/", ActionL: v.T("error.back_home")}
	if status == http.StatusForbidden && v.Member == nil {
		d.Action, d.ActionL = "/login", v.T("nav.login")
	}
	v.Data = d
	if isHTMX(r) {
		// htmx does not swap error responses; app.js shows this text instead.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprint(w, message)
		return
	}
	s.render(w, r, status, "error", v)
}

// fail shows err as a page: the one place where errs kinds become statuses for the web shell.
// Internal errors are logged with the request id and shown only as that id.
func (s *Web) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The visitor went away; there is nobody to answer and nothing wrong.
		s.log.DebugContext(r.Context(), "request abandoned", "path", r.URL.Path, "request_id", v.RequestID)
		return
	}
	e, ok := errs.As(err)
	if !ok || e.Kind == errs.KindInternal {
		s.log.ErrorContext(r.Context(), "web request failed", "err", err, "path", r.URL.Path,
			"request_id", v.RequestID)
		s.errorPage(w, r, v, http.StatusInternalServerError, v.T("error.internal.title"), v.T("error.internal.body", v.RequestID))
		return
	}
	msg := s.message(v, e)
	switch e.Kind {
	case errs.KindUnauthenticated:
		if v.Member == nil {
			s.redirect(w, r, "/login")
			return
		}
		s.errorPage(w, r, v, http.StatusUnauthorized, v.T("error.unauthenticated.title"), msg)
	case errs.KindForbidden:
		s.errorPage(w, r, v, http.StatusForbidden, v.T("error.forbidden.title"), v.T("error.forbidden.body"))
	case errs.KindNotFound:
		s.errorPage(w, r, v, http.StatusNotFound, v.T("error.not_found.title"), msg)
	case errs.KindTooMany:
		s.errorPage(w, r, v, http.StatusTooManyRequests, v.T("error.too_many.title"), msg)
	case errs.KindConflict:
		s.errorPage(w, r, v, http.StatusConflict, v.T("error.conflict.title"), msg)
	default:
		s.errorPage(w, r, v, http.StatusBadRequest, v.T("error.invalid.title"), msg)
	}
}

// formFailed re-renders page with err shown beside its field (or above the form) and reports
// true, or, for an error that is no fault of the form, shows the error page and reports true too.
// It returns false only when err is nil.
func (s *Web) formFailed(w http.ResponseWriter, r *http.Request, v *view, page string, err error) bool {
	if err == nil {
		return false
	}
	e, ok := errs.As(err)
	if !ok || e.Kind == errs.KindInternal || e.Kind == errs.KindNotFound {
		s.fail(w, r, v, err)
		return true
	}
	msg := s.message(v, e)
	status := http.StatusUnprocessableEntity
	switch e.Kind {
	case errs.KindTooMany:
		status = http.StatusTooManyRequests
	case errs.KindForbidden:
		status = http.StatusForbidden
	}
	if e.Field != "" && e.Field != "token" {
		v.Form.errors[e.Field] = msg
	} else {
		v.Form.alert = msg
	}
	s.render(w, r, status, page, v)
	return true
}

// message words a domain error in the reader's language by its reason code; an error without a
// known reason is shown as the domain wrote it.
func (s *Web) message(v *view, e *errs.Error) string {
	if key := "err." + e.Reason; e.Reason != "" {
		if _, ok := v.cat[key]; ok {
			return v.T(key, e.Args...)
		}
	}
	if e.Kind == errs.KindNotFound {
		return v.T("error.not_found.body")
	}
	return e.Msg
}

// errAs returns the categorised domain error in err; internal errors are not categorised.
func errAs(err error) (*errs.Error, bool) {
	e, ok := errs.As(err)
	if !ok || e.Kind == errs.KindInternal {
		return nil, false
	}
	return e, true
}
