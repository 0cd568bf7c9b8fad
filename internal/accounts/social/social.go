// Package social speaks the log-in protocols of outside identity providers: OpenID Connect
// (authorization code with PKCE S256, state and nonce) for LINE Login, Google and any OIDC issuer
// (Entra ID, Okta, Keycloak), and OAuth 2.0 with a profile endpoint for Facebook and X. It turns
// a provider's answer into a verified Identity and knows nothing of members or sessions:
// internal/accounts decides what an identity may do. It is an HTTP client adapter of the accounts
// part, the one place there that imports net/http.
package social

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Kind is a provider's protocol and preset.
type Kind string

// The kinds. LINE, Google and OIDC speak OpenID Connect; Facebook and X speak OAuth 2.0 and are
// asked for the profile afterwards.
const (
	KindLINE     Kind = "line"
	KindGoogle   Kind = "google"
	KindFacebook Kind = "facebook"
	KindX        Kind = "x"
	KindOIDC     Kind = "oidc"
)

// Kinds lists every kind, in the order sign-in pages show them: LINE first, as most members in
// Japan arrive through it.
var Kinds = []Kind{KindLINE, KindGoogle, KindFacebook, KindX, KindOIDC}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// OIDC reports whether k returns an ID token.
func (k Kind) OIDC() bool { return k == KindLINE || k == KindGoogle || k == KindOIDC }

// The presets' fixed endpoints. Facebook's Graph API version is pinned; Facebook serves calls to a
// retired version with the oldest live one.
const (
	LINEIssuer       = "https://access.line.me"
	lineAuthURL      = "https://access.line.me/oauth2/v2.1/authorize"
	lineTokenURL     = "https://api.line.me/oauth2/v2.1/token"
	GoogleIssuer     = "https://accounts.google.com"
	facebookAuthURL  = "https://www.facebook.com/v23.0/dialog/oauth"
	facebookTokenURL = "https://graph.facebook.com/v23.0/oauth/access_token"
	facebookMeURL    = "https://graph.facebook.com/v23.0/me"
	xAuthURL         = "https://x.com/i/oauth2/authorize"
	xTokenURL        = "https://api.x.com/2/oauth2/token"
	xMeURL           = "https://api.x.com/2/users/me"
)

// Config is one configured provider.
type Config struct {
	Kind         Kind
	ClientID     string // LINE: the channel ID; Facebook: the app ID
	ClientSecret string // LINE: the channel secret, which also signs LINE's web ID tokens
	// Issuer is the OIDC issuer whose discovery document gives the endpoints: required for
	// KindOIDC, Google's by default for KindGoogle. LINE's endpoints are fixed (its discovery
	// advertises only ES256, while web log-in tokens are HS256).
	Issuer string
	// AuthURL, TokenURL and ProfileURL replace a preset's endpoints; empty keeps them. Tests point
	// them at loopback peers.
	AuthURL, TokenURL, ProfileURL string
	// Scopes replace the preset's scopes when set.
	Scopes []string
}

// DefaultScopes are the scopes each kind asks for.
func DefaultScopes(k Kind) []string {
	switch k {
	case KindLINE:
		return []string{"openid", "profile", "email"} // email needs LINE's approval and may be absent
	case KindFacebook:
		return []string{"public_profile", "email"}
	case KindX:
		return []string{"users.read", "tweet.read"} // users.read needs tweet.read; X gives no email here
	}
	return []string{oidc.ScopeOpenID, "profile", "email"}
}

func (c Config) scopes() []string {
	if len(c.Scopes) > 0 {
		return c.Scopes
	}
	return DefaultScopes(c.Kind)
}

// Identity is what a provider vouched for, after every check.
type Identity struct {
	Subject       string `json:"sub"`  // the provider's stable id of the person (per app or channel for LINE and Facebook)
	Name          string `json:"name"` // display name, may be empty
	Username      string `json:"username,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified"` // only when the provider asserts it
	Picture       string `json:"picture,omitempty"`
}

// Request is one authorization round trip: the values sent to the provider and checked on return.
type Request struct {
	State       string
	Nonce       string // OIDC only
	Verifier    string // the PKCE code verifier; the provider gets its S256 challenge
	RedirectURI string
}

// NewRequest returns a Request with fresh random state, nonce and PKCE verifier.
func NewRequest(redirectURI string) Request {
	return Request{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier(), RedirectURI: redirectURI}
}

// CheckState reports whether got is the state sent with r, in constant time.
func (r Request) CheckState(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(r.State)) == 1
}

// Client runs the protocols. It caches OIDC discovery documents (and with them the issuers'
// signing keys) for an hour; it holds no other state.
type Client struct {
	http *http.Client
	now  func() time.Time

	mu    sync.Mutex
	cache map[string]discovered // issuer → provider
}

type discovered struct {
	p  *oidc.Provider
	at time.Time
}

const discoveryTTL = time.Hour

// New returns a Client that calls providers through hc (a client with a 15-second timeout when
// nil) and reads the time from now (time.Now when nil).
func New(hc *http.Client, now func() time.Time) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Client{http: hc, now: now, cache: map[string]discovered{}}
}

// Error is a failed log-in: Denied when the person declined or cancelled at the provider, else a
// failure of the provider or of a check (state, nonce, signature, expiry). Msg is for logs only.
type Error struct {
	Denied bool
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func fail(err error, format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...), Err: err}
}

// Denied returns the error for a callback that carries error=… instead of a code.
func Denied(code, description string) error {
	return &Error{Denied: code == "access_denied" || code == "user_cancelled" || code == "CANCELLED",
		Msg: fmt.Sprintf("provider returned %q: %s", code, description)}
}

// IsDenied reports whether err is a person's refusal at the provider.
func IsDenied(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Denied
}

func (c *Client) ctx(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.http)
	return oidc.ClientContext(ctx, c.http)
}

// provider returns the issuer's discovery, cached.
func (c *Client) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	c.mu.Lock()
	d, ok := c.cache[issuer]
	c.mu.Unlock()
	if ok && c.now().Sub(d.at) < discoveryTTL {
		return d.p, nil
	}
	p, err := oidc.NewProvider(c.ctx(ctx), issuer)
	if err != nil {
		return nil, fail(err, "discovering OIDC issuer %s", issuer)
	}
	c.mu.Lock()
	c.cache[issuer] = discovered{p: p, at: c.now()}
	c.mu.Unlock()
	return p, nil
}

// oauthConfig is the x/oauth2 configuration of cfg.
func (c *Client) oauthConfig(ctx context.Context, cfg Config, redirectURI string) (*oauth2.Config, *oidc.Provider, error) {
	oc := &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: redirectURI, Scopes: cfg.scopes()}
	var p *oidc.Provider
	switch cfg.Kind {
	case KindLINE:
		oc.Endpoint = oauth2.Endpoint{AuthURL: lineAuthURL, TokenURL: lineTokenURL, AuthStyle: oauth2.AuthStyleInParams}
	case KindFacebook:
		oc.Endpoint = oauth2.Endpoint{AuthURL: facebookAuthURL, TokenURL: facebookTokenURL, AuthStyle: oauth2.AuthStyleInParams}
	case KindX:
		// X takes a confidential client's credentials in the Authorization header.
		oc.Endpoint = oauth2.Endpoint{AuthURL: xAuthURL, TokenURL: xTokenURL, AuthStyle: oauth2.AuthStyleInHeader}
	case KindGoogle, KindOIDC:
		issuer := cfg.Issuer
		if issuer == "" && cfg.Kind == KindGoogle {
			issuer = GoogleIssuer
		}
		if issuer == "" {
			return nil, nil, fail(nil, "OIDC provider without an issuer")
		}
		var err error
		if p, err = c.provider(ctx, issuer); err != nil {
			return nil, nil, err
		}
		oc.Endpoint = p.Endpoint()
	default:
		return nil, nil, fail(nil, "unknown provider kind %q", cfg.Kind)
	}
	if cfg.AuthURL != "" {
		oc.Endpoint.AuthURL = cfg.AuthURL
	}
	if cfg.TokenURL != "" {
		oc.Endpoint.TokenURL = cfg.TokenURL
	}
	return oc, p, nil
}

// AuthCodeURL is where to send the person: the provider's authorization endpoint with the
// request's state, nonce (OIDC) and PKCE S256 challenge.
func (c *Client) AuthCodeURL(ctx context.Context, cfg Config, r Request) (string, error) {
	oc, _, err := c.oauthConfig(ctx, cfg, r.RedirectURI)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(r.Verifier)}
	if cfg.Kind.OIDC() {
		opts = append(opts, oidc.Nonce(r.Nonce))
	}
	if cfg.Kind == KindGoogle {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "select_account"))
	}
	return oc.AuthCodeURL(r.State, opts...), nil
}

// Exchange trades the code of a callback for tokens and returns the verified identity. The
// caller has already checked the callback's state against r (CheckState). ID tokens are checked
// for issuer, audience, expiry, signature and r's nonce.
func (c *Client) Exchange(ctx context.Context, cfg Config, r Request, code string) (Identity, error) {
	if code == "" {
		return Identity{}, fail(nil, "callback without a code")
	}
	oc, p, err := c.oauthConfig(ctx, cfg, r.RedirectURI)
	if err != nil {
		return Identity{}, err
	}
	tok, err := oc.Exchange(c.ctx(ctx), code, oauth2.VerifierOption(r.Verifier))
	if err != nil {
		return Identity{}, fail(err, "exchanging the code at %s", oc.Endpoint.TokenURL)
	}
	var id Identity
	switch cfg.Kind {
	case KindLINE:
		id, err = c.verifyLINE(cfg, rawIDToken(tok), r.Nonce)
	case KindGoogle, KindOIDC:
		id, err = c.verifyOIDC(ctx, cfg, p, rawIDToken(tok), r.Nonce)
	case KindFacebook:
		id, err = c.facebookProfile(ctx, cfg, tok)
	case KindX:
		id, err = c.xProfile(ctx, cfg, tok)
	}
	if err != nil {
		return Identity{}, err
	}
	return id.clean()
}

func rawIDToken(tok *oauth2.Token) string {
	s, _ := tok.Extra("id_token").(string)
	return s
}

// verifyOIDC checks an ID token with the issuer's published keys.
func (c *Client) verifyOIDC(ctx context.Context, cfg Config, p *oidc.Provider, raw, nonce string) (Identity, error) {
	if raw == "" {
		return Identity{}, fail(nil, "token response without an id_token")
	}
	v := p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: c.now})
	idt, err := v.Verify(c.ctx(ctx), raw)
	if err != nil {
		return Identity{}, fail(err, "verifying the ID token")
	}
	if idt.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return Identity{}, fail(nil, "ID token nonce does not match the request")
	}
	var cl struct {
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
		Email             string `json:"email"`
		EmailVerified     any    `json:"email_verified"` // a bool, or "true" from some issuers
		Picture           string `json:"picture"`
	}
	if err := idt.Claims(&cl); err != nil {
		return Identity{}, fail(err, "reading the ID token's claims")
	}
	return Identity{Subject: idt.Subject, Name: cl.Name, Username: cl.PreferredUsername, Email: cl.Email,
		EmailVerified: cl.EmailVerified == true || cl.EmailVerified == "true", Picture: cl.Picture}, nil
}

// clean trims the identity and refuses one without a usable subject. Pictures must be https (or
// loopback http, for tests), as pages show them.
func (id Identity) clean() (Identity, error) {
	id.Subject = strings.TrimSpace(id.Subject)
	if id.Subject == "" || len(id.Subject) > 255 {
		return Identity{}, fail(nil, "provider gave no usable subject")
	}
	id.Name = strings.TrimSpace(id.Name)
	id.Email = strings.TrimSpace(id.Email)
	if id.Email == "" {
		id.EmailVerified = false
	}
	if id.Picture != "" && !safeImageURL(id.Picture) {
		id.Picture = ""
	}
	return id, nil
}

func safeImageURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return u.Scheme == "http" && (host == "localhost" || (ip != nil && ip.IsLoopback()))
}
