package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/accounts/social"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// socialCookie holds the browser's secret for social log-ins in progress (accounts.StartSocial):
// the provider's callback and the permission screen only work in the browser that started them.
// It must travel on the provider's top-level redirect back, so it is SameSite=Lax, not Strict.
const socialCookie = "kizuna_social"

// permissionPage is the template of the permission screen.
const permissionPage = "social-permission"

// socialRoutes are social log-in, the permission screen, the member's linked accounts and the
// admin of log-in providers.
func (s *Web) socialRoutes(handle func(string, pageHandler)) {
	handle("GET /auth/{provider}", s.socialStart)
	handle("GET /auth/{provider}/callback", s.socialCallback)
	handle("GET /social/permission", s.socialPermission)
	handle("POST /social/permission", s.socialConfirm)
	handle("POST /social/cancel", s.socialCancel)
	handle("GET /settings/connections", s.signedIn(s.connections))
	handle("POST /settings/connections/{provider}/unlink", s.signedIn(s.unlinkSocial))
	handle("GET /admin/login-providers", s.staff(accounts.PermManageSettings, s.adminLoginProviders))
	handle("POST /admin/login-providers", s.staff(accounts.PermManageSettings, s.saveLoginProvider))
	handle("POST /admin/login-providers/{key}/enabled", s.staff(accounts.PermManageSettings, s.switchLoginProvider))
}

// socialChoice is the row of provider buttons on the log-in and sign-up pages.
type socialChoice struct {
	Providers []accounts.LoginProvider // members' providers: LINE, Google, Facebook, X, open issuers
	Staff     []accounts.LoginProvider // single sign-on that creates no accounts, shown apart on the log-in page
	Next      string
	SignUp    bool // the sign-up page: only providers that allow sign-up, worded "sign up with"
}

// StartURL is where a provider's button goes.
func (c socialChoice) StartURL(p accounts.LoginProvider) string {
	u := "/auth/" + url.PathEscape(p.Key)
	if c.Next != "" {
		u += "?next=" + url.QueryEscape(c.Next)
	}
	return u
}

// socialChoiceFor lists the enabled providers for the log-in page (signUp false) or the sign-up
// page. A failure costs only the buttons: it is logged and the password form still works.
func (s *Web) socialChoiceFor(r *http.Request, v *view, signUp bool, next string) socialChoice {
	c := socialChoice{Next: next, SignUp: signUp}
	ps, err := s.acc.EnabledLoginProviders(r.Context())
	if err != nil {
		s.log.WarnContext(r.Context(), "listing log-in providers", "err", err, "request_id", v.RequestID)
		return c
	}
	for _, p := range ps {
		switch {
		case p.AllowSignUp && p.Kind != social.KindOIDC:
			c.Providers = append(c.Providers, p)
		case p.AllowSignUp && signUp:
			c.Providers = append(c.Providers, p)
		case !signUp:
			c.Staff = append(c.Staff, p)
		}
	}
	return c
}

// SocialButton is the label of a provider's button: "LINEでログイン", "Sign up with Google".
func (v *view) SocialButton(p accounts.LoginProvider, signUp bool) string {
	verb := "login"
	if signUp {
		verb = "signup"
	}
	if p.Kind == social.KindOIDC {
		return v.T("social.button."+verb+".oidc", p.Name)
	}
	return v.T("social.button." + verb + "." + string(p.Kind))
}

// setSocialCookie keeps the browser's social secret for an hour: long enough for the provider
// and the permission screen, short enough not to linger.
func (s *Web) setSocialCookie(w http.ResponseWriter, browser string) {
	http.SetCookie(w, &http.Cookie{Name: socialCookie, Value: browser, Path: "/", MaxAge: int(time.Hour.Seconds()),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// clearSocialCookie forgets the browser's social secret: the next log-in starts afresh.
func (s *Web) clearSocialCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: socialCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

func socialBrowser(r *http.Request) string {
	if c, err := r.Cookie(socialCookie); err == nil {
		return c.Value
	}
	return ""
}

// callbackURL is the redirect URI registered at the provider for key.
func (s *Web) callbackURL(r *http.Request, key string) string {
	return s.trackingBase(r) + "/auth/" + url.PathEscape(key) + "/callback"
}

// socialStart sends the browser to the provider. ?link=1 links the provider to the signed-in
// member; otherwise it logs in or signs up. The start is a plain link (GET): a form posting to
// the provider would be stopped by the pages' form-action 'self', and nothing is decided before
// the permission screen, which is a same-origin POST.
func (s *Web) socialStart(w http.ResponseWriter, r *http.Request, v *view) {
	key := r.PathValue("provider")
	st := accounts.SocialStart{Intent: accounts.IntentLogIn, Next: safeNext(r.URL.Query().Get("next"), ""),
		RedirectURI: s.callbackURL(r, key), Browser: socialBrowser(r)}
	if r.URL.Query().Get("link") == "1" {
		if v.Member == nil {
			s.redirect(w, r, loginURL("/settings/connections"))
			return
		}
		st.Intent, st.MemberID = accounts.IntentLink, v.Member.ID
	}
	to, browser, err := s.acc.StartSocial(r.Context(), key, st)
	if err != nil {
		s.socialFailed(w, r, v, err, "")
		return
	}
	s.setSocialCookie(w, browser)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// socialCallback takes the provider's answer: a linked account logs in, anything else goes to
// the permission screen.
func (s *Web) socialCallback(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	cb := accounts.SocialCallback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"),
		ErrorDescription: q.Get("error_description"), Browser: socialBrowser(r)}
	if v.Member != nil {
		cb.SignedIn = v.Member.ID
	}
	out, err := s.acc.FinishSocial(r.Context(), r.PathValue("provider"), cb, client(r))
	if err != nil {
		s.socialFailed(w, r, v, err, "")
		return
	}
	switch {
	case out.LoggedIn:
		s.setSession(w, out.Session)
		next := out.Next
		if next == "" {
			next = "/"
			if accounts.Allowed(out.Member.Principal(), accounts.PermViewAdmin) {
				next = "/admin"
			}
		}
		s.redirect(w, r, next)
	case out.AlreadyLinked:
		s.redirect(w, r, "/settings/connections?notice=already_linked")
	default:
		s.redirect(w, r, "/social/permission")
	}
}

// socialFailed shows why a social log-in did not go through: on the linked-accounts page for a
// member, on the log-in page (returning to next) for everyone else.
func (s *Web) socialFailed(w http.ResponseWriter, r *http.Request, v *view, err error, next string) {
	e, ok := errAs(err)
	if !ok || e.Kind == errs.KindInternal {
		s.fail(w, r, v, err)
		return
	}
	status := http.StatusBadRequest
	switch e.Kind {
	case errs.KindNotFound:
		status = http.StatusNotFound
	case errs.KindForbidden:
		status = http.StatusForbidden
	case errs.KindConflict:
		status = http.StatusConflict
	case errs.KindUnauthenticated:
		status = http.StatusUnauthorized
	}
	v.Form.alert = s.message(v, e)
	if v.Member != nil {
		s.renderConnections(w, r, v, status, "")
		return
	}
	v.Title = v.T("login.title")
	v.Data = loginData{Next: next, Social: s.socialChoiceFor(r, v, false, next)}
	s.render(w, r, status, "login", v)
}

// consentOption is one opt-in box of the permission screen.
type consentOption struct {
	Channel, Purpose string
}

// Value is the box's form value.
func (o consentOption) Value() string { return o.Channel + ":" + o.Purpose }

// consentOptions are the opt-ins offered with a pending identity: LINE messages with LINE (whose
// user id is what LINE messages go to), email news with the consumer providers only when the
// provider vouched for the address — consent to mail a typed, unverified address is worth nothing
// (the member opts in later in the privacy centre). Staff single sign-on offers none.
func consentOptions(pend accounts.PendingSocial) []consentOption {
	if pend.Provider.Kind == social.KindOIDC {
		return nil
	}
	var out []consentOption
	if pend.Provider.Kind == social.KindLINE {
		out = append(out, consentOption{accounts.ChannelLINE, accounts.PurposeMarketing})
	}
	if pend.Identity.EmailVerified {
		out = append(out, consentOption{accounts.ChannelEmail, accounts.PurposeMarketing}, consentOption{accounts.ChannelEmail, accounts.PurposeProductNews})
	}
	return out
}

// permissionVersions gives each language's permission screen a version id that changes whenever
// its wording does: the hash of every "permission." message of the catalogue. The consent
// evidence records it, so the words a member agreed to can always be found again.
func permissionVersions(cats map[string]catalog) map[string]string {
	out := map[string]string{}
	for lang, c := range cats {
		var keys []string
		for k := range c {
			if strings.HasPrefix(k, "permission.") {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		h := sha256.New()
		for _, k := range keys {
			h.Write([]byte(k + "\x00" + c[k] + "\x00"))
		}
		out[lang] = "social-permission/" + lang + "/" + hex.EncodeToString(h.Sum(nil))[:12]
	}
	return out
}

// permissionData is the permission screen.
type permissionData struct {
	Mode        string // accounts.PendingSignUp, PendingLink or PendingCollision, as this visitor sees it
	Provider    accounts.LoginProvider
	Identity    social.Identity
	Options     []consentOption
	TextVersion string
	AskEmail    bool // the provider vouched for no address: the sign-up form asks for one
}

// SubjectShort is the provider's id of the person, shortened for display.
func (d permissionData) SubjectShort() string {
	if len(d.Identity.Subject) <= 14 {
		return d.Identity.Subject
	}
	return d.Identity.Subject[:10] + "…"
}

// cspWithProviderPictures is the pages' policy, letting through the https pictures providers host
// (profile.line-scdn.net, lh3.googleusercontent.com …) on the pages that show them.
var cspWithProviderPictures = strings.Replace(contentSecurityPolicy, "img-src 'self' data:", "img-src 'self' data: https:", 1)

// pendingFor reads the browser's pending identity and decides how this visitor sees it. It
// answers the request itself (and returns false) when there is nothing to show.
func (s *Web) pendingFor(w http.ResponseWriter, r *http.Request, v *view) (accounts.PendingSocial, string, bool) {
	pend, err := s.acc.PendingSocial(r.Context(), socialBrowser(r))
	if err != nil {
		s.socialFailed(w, r, v, err, "")
		return pend, "", false
	}
	mode := pend.Mode
	switch {
	case pend.Mode == accounts.PendingCollision && (v.Member == nil || v.Member.ID != pend.MemberID):
		// Only the account with the address may link it; anyone else is asked to log in to it.
	case v.Member != nil:
		mode = accounts.PendingLink // whoever is signed in now links it (accounts checks who may)
	case pend.Mode == accounts.PendingLink:
		s.redirect(w, r, loginURL("/social/permission"))
		return pend, "", false
	}
	return pend, mode, true
}

// offered are the opt-ins the permission screen offers in mode. Linking offers only the
// provider's own channel (LINE messages): the member has answered about email already, and an
// unticked box there would undo an earlier opt-in; they change it in the privacy centre.
func offered(pend accounts.PendingSocial, mode string) []consentOption {
	opts := consentOptions(pend)
	if mode == accounts.PendingLink {
		opts = slices.DeleteFunc(opts, func(o consentOption) bool { return o.Channel == accounts.ChannelEmail })
	}
	return opts
}

func (s *Web) permissionView(v *view, pend accounts.PendingSocial, mode string) {
	d := permissionData{Mode: mode, Provider: pend.Provider, Identity: pend.Identity, Options: offered(pend, mode),
		TextVersion: s.permVersions[v.Lang], AskEmail: !pend.Identity.EmailVerified}
	switch mode {
	case accounts.PendingSignUp:
		v.Title = v.T("permission.title.signup", pend.Provider.Name)
	case accounts.PendingLink:
		v.Title = v.T("permission.title.link", pend.Provider.Name)
	default:
		v.Title = v.T("permission.collision.title")
	}
	v.Data = d
}

// socialPermission is the permission screen: what Kizuna reads from the provider and why, the
// opt-ins, and the sign-up or link button. A verified address that already has an account is
// answered with "log in to link" instead.
func (s *Web) socialPermission(w http.ResponseWriter, r *http.Request, v *view) {
	pend, mode, ok := s.pendingFor(w, r, v)
	if !ok {
		return
	}
	s.permissionView(v, pend, mode)
	v.Form.values.Set("display_name", pend.Identity.Name)
	v.Form.values.Set("email", pend.Identity.Email)
	w.Header().Set("Content-Security-Policy", cspWithProviderPictures)
	s.render(w, r, 0, permissionPage, v)
}

// socialConfirm carries out the member's decision on the permission screen and hands every
// offered opt-in, ticked or not, to accounts with the wording's version.
func (s *Web) socialConfirm(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	pend, mode, ok := s.pendingFor(w, r, v)
	if !ok {
		return
	}
	v.Form = newForm(r)
	sc := accounts.SocialConsents{TextVersion: s.permVersions[v.Lang], Locale: v.Lang}
	for _, o := range offered(pend, mode) {
		sc.Choices = append(sc.Choices, accounts.ConsentChoice{Channel: o.Channel, Purpose: o.Purpose, OptedIn: v.Form.Has("consent", o.Value())})
	}
	browser := socialBrowser(r)
	if mode == accounts.PendingLink {
		if _, err := s.acc.LinkSocial(r.Context(), browser, v.Member.ID, sc, client(r)); err != nil {
			s.socialFailed(w, r, v, err, "")
			return
		}
		s.clearSocialCookie(w)
		s.redirect(w, r, "/settings/connections?notice=linked&provider="+url.QueryEscape(pend.Provider.Key))
		return
	}
	in := accounts.SocialSignUp{DisplayName: r.PostForm.Get("display_name"), Email: r.PostForm.Get("email"), Locale: v.Lang}
	_, sess, err := s.acc.SignUpSocial(r.Context(), browser, in, sc, client(r))
	if err != nil {
		if pend.Mode == accounts.PendingCollision {
			// Log in to the account with the address, then come back here to link.
			s.socialFailed(w, r, v, err, "/social/permission")
			return
		}
		if e, ok := errAs(err); ok && (e.Field == "email" || e.Field == "display_name") {
			s.permissionView(v, pend, mode)
			w.Header().Set("Content-Security-Policy", cspWithProviderPictures)
			s.formFailed(w, r, v, permissionPage, err)
			return
		}
		s.socialFailed(w, r, v, err, "")
		return
	}
	s.setSession(w, sess)
	s.clearSocialCookie(w)
	next := pend.Next
	if next == "" {
		next = s.afterSignUp()
	}
	s.redirect(w, r, next)
}

// socialCancel forgets the pending identity.
func (s *Web) socialCancel(w http.ResponseWriter, r *http.Request, v *view) {
	if err := s.acc.CancelSocial(r.Context(), socialBrowser(r)); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.clearSocialCookie(w)
	if v.Member != nil {
		s.redirect(w, r, "/settings/connections")
		return
	}
	s.redirect(w, r, "/login")
}

// connectionRow is one provider on the linked-accounts page.
type connectionRow struct {
	Provider accounts.LoginProvider
	Linked   *accounts.SocialIdentity
	// Unlinkable: the link may go — it is not the last way to log in. A link of a switched-off
	// provider logs nobody in, so removing it never is.
	Unlinkable bool
}

// connectionsData is the linked-accounts page.
type connectionsData struct {
	Rows        []connectionRow
	HasPassword bool
	Methods     int    // ways to log in: the password and linked accounts of enabled providers
	Notice      string // a translated confirmation, shown in the panel
}

// CanUnlink reports whether the member has more than one way to log in, so a link of an enabled
// provider may go (accounts.UnlinkSocial applies the same rule).
func (d connectionsData) CanUnlink() bool { return d.Methods > 1 }

func (s *Web) connections(w http.ResponseWriter, r *http.Request, v *view) {
	notice := ""
	switch r.URL.Query().Get("notice") {
	case "linked":
		notice = "linked"
	case "unlinked":
		notice = "unlinked"
	case "already_linked":
		notice = "already_linked"
	}
	s.renderConnections(w, r, v, 0, notice)
}

// renderConnections renders the linked-accounts page: every enabled provider, and any linked one
// that has since been switched off (it can still be unlinked).
func (s *Web) renderConnections(w http.ResponseWriter, r *http.Request, v *view, status int, notice string) {
	ctx := r.Context()
	linked, err := s.acc.SocialIdentities(ctx, v.Member.ID)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	enabled, err := s.acc.EnabledLoginProviders(ctx)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	hasPw, err := s.acc.HasPassword(ctx, v.Member.ID)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := connectionsData{HasPassword: hasPw}
	if hasPw {
		d.Methods++
	}
	byKey := map[string]*accounts.SocialIdentity{}
	for i := range linked {
		byKey[linked[i].Provider] = &linked[i]
	}
	for _, p := range enabled {
		if byKey[p.Key] != nil {
			d.Methods++
		}
	}
	for _, p := range enabled {
		// Staff single sign-on is offered to staff; a member sees it only once linked.
		if p.Kind == social.KindOIDC && !p.AllowSignUp && !v.Member.Role.Staff() && byKey[p.Key] == nil {
			continue
		}
		d.Rows = append(d.Rows, connectionRow{Provider: p, Linked: byKey[p.Key], Unlinkable: d.CanUnlink()})
		delete(byKey, p.Key)
	}
	for _, li := range linked {
		if _, off := byKey[li.Provider]; off {
			d.Rows = append(d.Rows, connectionRow{Provider: accounts.LoginProvider{Key: li.Provider, Name: li.Provider, Kind: social.KindOIDC}, Linked: byKey[li.Provider], Unlinkable: true})
		}
	}
	switch notice {
	case "linked":
		name := r.URL.Query().Get("provider")
		for _, row := range d.Rows {
			if row.Provider.Key == name {
				name = row.Provider.Name
			}
		}
		d.Notice = v.T("connections.linked", name)
	case "unlinked":
		d.Notice = v.T("connections.unlinked")
	case "already_linked":
		d.Notice = v.T("connections.already_linked")
	}
	v.Title, v.Data = v.T("connections.title"), d
	w.Header().Set("Content-Security-Policy", cspWithProviderPictures)
	s.render(w, r, status, "settings-connections", v)
}

func (s *Web) unlinkSocial(w http.ResponseWriter, r *http.Request, v *view) {
	if err := s.acc.UnlinkSocial(r.Context(), v.Member.ID, r.PathValue("provider")); err != nil {
		s.socialFailed(w, r, v, err, "")
		return
	}
	s.redirect(w, r, "/settings/connections?notice=unlinked")
}
