package web

import (
	"net/http"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/accounts/social"
)

// loginProvidersData is the admin page of log-in providers.
type loginProvidersData struct {
	Providers []accounts.LoginProvider
	Open      string // the key whose form is open: just saved, or failed
	callback  func(key string) string
}

// Callback is the redirect URI to register at the provider for key.
func (d loginProvidersData) Callback(key string) string { return d.callback(key) }

// IsOIDC reports whether p is an OpenID Connect issuer rather than a preset.
func (d loginProvidersData) IsOIDC(p accounts.LoginProvider) bool { return p.Kind == social.KindOIDC }

func (s *Web) loginProvidersView(r *http.Request, v *view, open string) error {
	ps, err := s.acc.LoginProviders(r.Context(), v.principal())
	if err != nil {
		return err
	}
	v.Title, v.Section = v.T("admin.nav.login_providers"), "login_providers"
	v.Data = loginProvidersData{Providers: ps, Open: open, callback: func(key string) string { return s.callbackURL(r, key) }}
	return nil
}

func (s *Web) adminLoginProviders(w http.ResponseWriter, r *http.Request, v *view) {
	if err := s.loginProvidersView(r, v, ""); err != nil {
		s.fail(w, r, v, err)
		return
	}
	switch r.URL.Query().Get("saved") {
	case "":
	default:
		v.Notice = v.T("login_providers.saved")
	}
	s.render(w, r, 0, "admin-login-providers", v)
}

// saveLoginProvider saves one provider's form; a new OpenID Connect issuer comes through the same
// form with its key.
func (s *Web) saveLoginProvider(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	f := r.PostForm
	in := accounts.LoginProviderInput{Key: f.Get("key"), Kind: social.Kind(f.Get("kind")), Name: f.Get("name"),
		ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret"), Issuer: f.Get("issuer"),
		AllowSignUp: f.Get("allow_signup") == "on", Enabled: f.Get("enabled") == "on"}
	_, err := s.acc.SaveLoginProvider(r.Context(), v.principal(), in)
	if err != nil {
		if _, ok := errAs(err); ok {
			open := in.Key
			if f.Get("new") == "1" {
				open = "new"
			}
			if lerr := s.loginProvidersView(r, v, open); lerr != nil {
				s.fail(w, r, v, lerr)
				return
			}
			v.Form = newForm(r)
			s.formFailed(w, r, v, "admin-login-providers", err)
			return
		}
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/admin/login-providers?saved="+in.Key)
}

// switchLoginProvider turns a provider on or off.
func (s *Web) switchLoginProvider(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	key := r.PathValue("key")
	if _, err := s.acc.SetLoginProviderEnabled(r.Context(), v.principal(), key, r.PostForm.Get("enabled") == "on"); err != nil {
		if _, ok := errAs(err); ok {
			if lerr := s.loginProvidersView(r, v, key); lerr != nil {
				s.fail(w, r, v, lerr)
				return
			}
			s.formFailed(w, r, v, "admin-login-providers", err)
			return
		}
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/admin/login-providers?saved="+key)
}
