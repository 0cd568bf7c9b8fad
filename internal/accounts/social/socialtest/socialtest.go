// Package socialtest runs identity providers on loopback for tests: a real OpenID Connect
// provider (github.com/oauth2-proxy/mockoidc) whose people carry names, pictures and verified or
// unverified addresses, and a LINE Login peer that speaks LINE's documented authorize and token
// endpoints and signs its ID tokens with HS256 and the channel secret. Only tests import it.
package socialtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/kizuna-community/kizuna/internal/accounts/social"
)

// Person is someone who logs in at a test provider.
type Person struct {
	Subject       string
	Name          string
	Email         string
	EmailVerified bool
	Picture       string
}

// OIDC is a mockoidc server on loopback.
type OIDC struct {
	*mockoidc.MockOIDC
	mu          sync.Mutex
	tamperNonce bool
}

// NewOIDC starts an OpenID Connect provider for the test's lifetime.
func NewOIDC(t testing.TB) *OIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	o := &OIDC{MockOIDC: m}
	// The nonce a relying party sent is replaced before the provider sees it, so the ID token
	// carries another one: what a token replayed from another log-in looks like.
	m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			o.mu.Lock()
			tamper := o.tamperNonce && r.URL.Path == mockoidc.AuthorizationEndpoint
			if tamper {
				o.tamperNonce = false
			}
			o.mu.Unlock()
			if tamper {
				q := r.URL.Query()
				q.Set("nonce", "nonce-of-another-log-in")
				r.URL.RawQuery = q.Encode()
			}
			next.ServeHTTP(w, r)
		})
	})
	ln, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return o
}

// Config is a provider of kind (KindOIDC or KindGoogle) configured for this server.
func (o *OIDC) Config(kind social.Kind) social.Config {
	return social.Config{Kind: kind, ClientID: o.ClientID, ClientSecret: o.ClientSecret, Issuer: o.Issuer()}
}

// Queue makes p the person of the next authorization.
func (o *OIDC) Queue(p Person) { o.QueueUser(&user{p}) }

// TamperNextNonce makes the next ID token carry a nonce other than the one requested.
func (o *OIDC) TamperNextNonce() {
	o.mu.Lock()
	o.tamperNonce = true
	o.mu.Unlock()
}

// IssueExpired makes the tokens issued while it is in effect expired already: the provider's
// clock runs an hour behind until the returned function restores it.
func (o *OIDC) IssueExpired() (restore func()) {
	o.FastForward(-time.Hour)
	return func() { o.FastForward(time.Hour) }
}

// user is a Person as mockoidc hands it out: ID token claims with name, picture and email.
type user struct{ Person }

func (u *user) ID() string { return u.Subject }

func (u *user) claims(scope []string) map[string]any {
	out := map[string]any{}
	for _, s := range scope {
		switch s {
		case "profile":
			out["name"] = u.Name
			if u.Picture != "" {
				out["picture"] = u.Picture
			}
		case "email":
			if u.Email != "" {
				out["email"] = u.Email
				out["email_verified"] = u.EmailVerified
			}
		}
	}
	return out
}

func (u *user) Userinfo(scope []string) ([]byte, error) {
	c := u.claims(scope)
	c["sub"] = u.Subject
	return json.Marshal(c)
}

func (u *user) Claims(scope []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &idClaims{IDTokenClaims: base, extra: u.claims(scope)}, nil
}

// idClaims are mockoidc's registered claims plus the person's.
type idClaims struct {
	*mockoidc.IDTokenClaims
	extra map[string]any
}

func (c *idClaims) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(c.IDTokenClaims)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range c.extra {
		m[k] = v
	}
	return json.Marshal(m)
}

// LINE is a LINE Login peer on loopback: GET /oauth2/v2.1/authorize answers at once for the
// queued person, and POST /oauth2/v2.1/token answers as LINE documents, with an HS256 ID token.
type LINE struct {
	URL       string
	ChannelID string
	Secret    string // the channel secret

	mu     sync.Mutex
	queue  []Person
	codes  map[string]lineCode
	signer string        // the key the next ID tokens are signed with; Secret when ""
	ttl    time.Duration // ID token lifetime
	n      int
}

type lineCode struct {
	p                                 Person
	nonce, challenge, redirect, scope string
}

// LINEUserID returns a LINE-shaped user id ("U" and 32 hex digits) made from seed.
func LINEUserID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return fmt.Sprintf("U%x", sum[:16])
}

// NewLINE starts a LINE Login peer for channel channelID with secret.
func NewLINE(t testing.TB, channelID, secret string) *LINE {
	t.Helper()
	l := &LINE{ChannelID: channelID, Secret: secret, codes: map[string]lineCode{}, ttl: time.Hour}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/v2.1/authorize", l.authorize)
	mux.HandleFunc("POST /oauth2/v2.1/token", l.token)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	l.URL = srv.URL
	return l
}

// Config is the LINE provider pointed at this peer.
func (l *LINE) Config() social.Config {
	return social.Config{Kind: social.KindLINE, ClientID: l.ChannelID, ClientSecret: l.Secret,
		AuthURL: l.URL + "/oauth2/v2.1/authorize", TokenURL: l.URL + "/oauth2/v2.1/token"}
}

// Queue makes p the person of the next authorization.
func (l *LINE) Queue(p Person) {
	l.mu.Lock()
	l.queue = append(l.queue, p)
	l.mu.Unlock()
}

// SignWith makes the peer sign ID tokens with key instead of the channel secret ("" restores it).
func (l *LINE) SignWith(key string) {
	l.mu.Lock()
	l.signer = key
	l.mu.Unlock()
}

// Lifetime sets how long the next ID tokens live; a negative value issues expired ones.
func (l *LINE) Lifetime(d time.Duration) {
	l.mu.Lock()
	l.ttl = d
	l.mu.Unlock()
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (l *LINE) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("response_type") != "code":
		oauthError(w, http.StatusBadRequest, "unsupported_response_type", "response_type must be code")
		return
	case q.Get("client_id") != l.ChannelID:
		oauthError(w, http.StatusBadRequest, "invalid_client", "unknown channel")
		return
	case q.Get("state") == "" || q.Get("redirect_uri") == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "state and redirect_uri are required")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		oauthError(w, http.StatusBadRequest, "invalid_request", "PKCE S256 expected")
		return
	case !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		oauthError(w, http.StatusBadRequest, "invalid_scope", "openid scope expected")
		return
	}
	l.mu.Lock()
	if len(l.queue) == 0 {
		l.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "access_denied", "no person queued")
		return
	}
	p := l.queue[0]
	l.queue = l.queue[1:]
	l.n++
	code := fmt.Sprintf("code-%d", l.n)
	l.codes[code] = lineCode{p: p, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), scope: q.Get("scope")}
	l.mu.Unlock()
	u, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad redirect_uri")
		return
	}
	back := u.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	u.RawQuery = back.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (l *LINE) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	l.mu.Lock()
	c, ok := l.codes[f.Get("code")]
	delete(l.codes, f.Get("code"))
	signer, ttl := l.signer, l.ttl
	l.mu.Unlock()
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case f.Get("grant_type") != "authorization_code":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	case f.Get("client_id") != l.ChannelID || f.Get("client_secret") != l.Secret:
		oauthError(w, http.StatusBadRequest, "invalid_client", "client_id and client_secret go in the form body")
		return
	case !ok || f.Get("redirect_uri") != c.redirect:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown code or redirect_uri mismatch")
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match")
		return
	}
	if signer == "" {
		signer = l.Secret
	}
	now := time.Now()
	claims := map[string]any{"iss": social.LINEIssuer, "sub": c.p.Subject, "aud": l.ChannelID,
		"exp": now.Add(ttl).Unix(), "iat": now.Unix(), "amr": []string{"linesso"}, "name": c.p.Name}
	if c.nonce != "" {
		claims["nonce"] = c.nonce
	}
	if c.p.Picture != "" {
		claims["picture"] = c.p.Picture
	}
	if c.p.Email != "" && strings.Contains(" "+c.scope+" ", " email ") {
		claims["email"] = c.p.Email
	}
	idToken, err := SignHS256(signer, claims)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": "line-access-" + f.Get("code"), "expires_in": 2592000, "id_token": idToken,
		"refresh_token": "line-refresh-" + f.Get("code"), "scope": c.scope, "token_type": "Bearer",
	})
}

// SignHS256 returns claims as a compact JWS signed with HS256 and key.
func SignHS256(key string, claims map[string]any) (string, error) {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(key)}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := s.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

func listen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
