package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
)

// langCookieAge is how long the language switcher's choice is remembered.
const langCookieAge = 365 * 24 * 60 * 60

// homeData is what the signed-in home page shows.
type homeData struct {
	Resent bool // a fresh verification email just went out
	// Feed is the home feed: personalised for a member, the popular posts for a visitor; nil
	// without the community.
	Feed []feedRow
	// HasFeed says the community is there to have a feed; Interests offers to choose interests.
	HasFeed   bool
	Interests bool
}

func (s *Web) home(w http.ResponseWriter, r *http.Request, v *view) {
	var d homeData
	if s.com != nil {
		feed, err := s.feedFor(r, v)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		d.Feed, d.HasFeed, d.Interests = feed, true, s.onb != nil
	}
	if v.Member == nil {
		v.Title, v.Data = v.T("landing.title"), d
		s.render(w, r, 0, "landing", v)
		return
	}
	v.Title = v.T("home.title")
	d.Resent = r.URL.Query().Get("resent") == "1"
	v.Data = d
	switch r.URL.Query().Get("notice") {
	case "verified":
		v.Notice = v.T("verify.done")
	case "welcome":
		v.Notice = v.T("signup.welcome", v.Member.Email)
	case "interests":
		v.Notice = v.T("onboarding.saved")
	}
	s.render(w, r, 0, "home", v)
}

func (s *Web) notFound(w http.ResponseWriter, r *http.Request, v *view) {
	s.errorPage(w, r, v, http.StatusNotFound, v.T("error.not_found.title"), v.T("error.not_found.body"))
}

func (s *Web) crossOriginDenied(w http.ResponseWriter, r *http.Request, v *view) {
	s.log.WarnContext(r.Context(), "cross-origin request refused", "path", r.URL.Path,
		"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "request_id", v.RequestID)
	s.errorPage(w, r, v, http.StatusForbidden, v.T("error.cross_origin.title"), v.T("error.cross_origin.body"))
}

// switchLang remembers the chosen language in a cookie and, for a member, in their account (so
// emails follow), then goes back where the visitor was.
func (s *Web) switchLang(w http.ResponseWriter, r *http.Request, v *view) {
	lang := r.PostFormValue("lang")
	if !accounts.ValidLocale(lang) {
		s.errorPage(w, r, v, http.StatusBadRequest, v.T("error.invalid.title"), v.T("lang.unknown"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: langCookieAge,
		Secure: s.secure, SameSite: http.SameSiteLaxMode})
	if v.Member != nil && v.Member.Locale != lang {
		if err := s.acc.SetLocale(r.Context(), v.Member.ID, lang); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	s.redirect(w, r, safeNext(r.PostFormValue("next"), "/"))
}

// safeNext returns next when it is a local path, else def: never an open redirect.
func safeNext(next, def string) string {
	if localPath(next) {
		return next
	}
	return def
}

func (s *Web) signupForm(w http.ResponseWriter, r *http.Request, v *view) {
	if v.Member != nil {
		s.redirect(w, r, "/")
		return
	}
	v.Title = v.T("signup.title")
	v.Data = signupData{Social: s.socialChoiceFor(r, v, true, "")}
	s.render(w, r, 0, "signup", v)
}

// signupData carries the providers one can sign up with.
type signupData struct {
	Social socialChoice
}

// signup creates the account in the page's language and signs the new member in; the home page
// then asks them to confirm their address.
func (s *Web) signup(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("signup.title")
	r.ParseForm()
	v.Form = newForm(r)
	v.Data = signupData{Social: s.socialChoiceFor(r, v, true, "")}
	in := accounts.SignUpInput{Email: r.PostForm.Get("email"), Password: r.PostForm.Get("password"),
		DisplayName: r.PostForm.Get("display_name"), Locale: v.Lang, AnonymousID: anonymousID(r)}
	m, err := s.acc.SignUp(r.Context(), in)
	if s.formFailed(w, r, v, "signup", err) {
		return
	}
	sess, _, err := s.acc.LogIn(r.Context(), in.Email, in.Password, client(r))
	if err != nil {
		// The account exists; the member can log in by hand.
		s.log.WarnContext(r.Context(), "signing in after sign-up", "member", m.ID, "err", err, "request_id", v.RequestID)
		s.redirect(w, r, "/login")
		return
	}
	s.setSession(w, sess)
	s.redirect(w, r, s.afterSignUp())
}

// loginData carries where to go after logging in, and the providers one can log in with.
type loginData struct {
	Next   string
	Notice string
	Social socialChoice
}

func (s *Web) loginForm(w http.ResponseWriter, r *http.Request, v *view) {
	next := safeNext(r.URL.Query().Get("next"), "")
	if v.Member != nil {
		s.redirect(w, r, safeNext(next, "/"))
		return
	}
	v.Title = v.T("login.title")
	v.Data = loginData{Next: next, Social: s.socialChoiceFor(r, v, false, next)}
	if r.URL.Query().Get("reset") == "1" {
		v.Notice = v.T("reset.done")
	}
	s.render(w, r, 0, "login", v)
}

func (s *Web) login(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("login.title")
	r.ParseForm()
	v.Form = newForm(r)
	next := safeNext(r.PostForm.Get("next"), "")
	v.Data = loginData{Next: next, Social: s.socialChoiceFor(r, v, false, next)}
	sess, m, err := s.acc.LogIn(r.Context(), r.PostForm.Get("email"), r.PostForm.Get("password"), client(r))
	if s.formFailed(w, r, v, "login", err) {
		return
	}
	s.setSession(w, sess)
	if next == "" {
		next = "/"
		if accounts.Allowed(m.Principal(), accounts.PermViewAdmin) {
			next = "/admin"
		}
	}
	s.redirect(w, r, next)
}

func (s *Web) logout(w http.ResponseWriter, r *http.Request, v *view) {
	if v.token != "" {
		if err := s.acc.LogOut(r.Context(), v.token); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	// A social log-in left half-way in this browser must not wait for the next person.
	if err := s.acc.CancelSocial(r.Context(), socialBrowser(r)); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.clearSocialCookie(w)
	s.clearSession(w)
	s.redirect(w, r, "/")
}

// verifyData is the result of following a verification link.
type verifyData struct {
	OK      bool
	Message string
}

func (s *Web) verifyEmail(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("verify.title")
	verified, err := s.acc.VerifyEmail(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		e, ok := errAs(err)
		if !ok {
			s.fail(w, r, v, err)
			return
		}
		v.Data = verifyData{Message: s.message(v, e)}
		s.render(w, r, http.StatusBadRequest, "verify", v)
		return
	}
	if v.Member != nil && v.Member.ID == verified.ID {
		s.redirect(w, r, "/?notice=verified")
		return
	}
	v.Data = verifyData{OK: true, Message: v.T("verify.done")}
	s.render(w, r, 0, "verify", v)
}

func (s *Web) resendVerification(w http.ResponseWriter, r *http.Request, v *view) {
	if v.Member == nil {
		s.redirect(w, r, "/login")
		return
	}
	if err := s.acc.ResendVerification(r.Context(), v.Member.ID); err != nil {
		s.fail(w, r, v, err)
		return
	}
	if isHTMX(r) {
		v.Data = homeData{Resent: true}
		s.fragment(w, r, 0, "home", "verify-banner", v)
		return
	}
	s.redirect(w, r, "/?resent=1")
}

// forgotData says whether the request went through.
type forgotData struct{ Sent bool }

func (s *Web) forgotForm(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("forgot.title")
	v.Data = forgotData{}
	s.render(w, r, 0, "forgot", v)
}

// forgot always answers the same way for a well-formed address, so nobody learns who is a member.
func (s *Web) forgot(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("forgot.title")
	r.ParseForm()
	v.Form = newForm(r)
	v.Data = forgotData{}
	if s.formFailed(w, r, v, "forgot", s.acc.RequestPasswordReset(r.Context(), r.PostForm.Get("email"))) {
		return
	}
	v.Data = forgotData{Sent: true}
	s.render(w, r, 0, "forgot", v)
}

// resetData carries the token of the reset link through the form.
type resetData struct{ Token string }

func (s *Web) resetForm(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("reset.title")
	token := r.URL.Query().Get("token")
	if token == "" {
		s.errorPage(w, r, v, http.StatusBadRequest, v.T("error.invalid.title"), v.T("err.bad_token"))
		return
	}
	v.Data = resetData{Token: token}
	s.render(w, r, 0, "reset", v)
}

// reset sets the new password; accounts ends every session, so the browser's goes too.
func (s *Web) reset(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("reset.title")
	r.ParseForm()
	v.Form = newForm(r)
	v.Data = resetData{Token: r.PostForm.Get("token")}
	_, err := s.acc.ResetPassword(r.Context(), r.PostForm.Get("token"), r.PostForm.Get("password"))
	if s.formFailed(w, r, v, "reset", err) {
		return
	}
	s.clearSession(w)
	s.redirect(w, r, "/login?reset=1")
}

// setupData carries the one-time set-up token through the form.
type setupData struct{ Token string }

func (s *Web) setupForm(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("setup.title")
	token := r.URL.Query().Get("token")
	if err := s.acc.CheckSetupToken(r.Context(), token); err != nil {
		if _, ok := errAs(err); !ok {
			s.fail(w, r, v, err)
			return
		}
		s.errorPage(w, r, v, http.StatusNotFound, v.T("setup.invalid.title"), v.T("setup.invalid.body"))
		return
	}
	v.Data = setupData{Token: token}
	s.render(w, r, 0, "setup", v)
}

// setup creates the first administrator and signs them in to the admin.
func (s *Web) setup(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("setup.title")
	r.ParseForm()
	v.Form = newForm(r)
	token := r.PostForm.Get("token")
	v.Data = setupData{Token: token}
	in := accounts.SignUpInput{Email: r.PostForm.Get("email"), Password: r.PostForm.Get("password"),
		DisplayName: strings.TrimSpace(r.PostForm.Get("display_name")), Locale: v.Lang}
	_, sess, err := s.acc.CompleteSetup(r.Context(), token, in, client(r))
	if e, ok := errAs(err); ok && e.Field == "token" {
		s.errorPage(w, r, v, http.StatusNotFound, v.T("setup.invalid.title"), v.T("setup.invalid.body"))
		return
	}
	if s.formFailed(w, r, v, "setup", err) {
		return
	}
	s.setSession(w, sess)
	s.redirect(w, r, "/admin")
}

// loginURL is the log-in page that returns to next afterwards.
func loginURL(next string) string { return "/login?next=" + url.QueryEscape(next) }
