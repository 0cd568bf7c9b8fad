package social_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kizuna-community/kizuna/internal/accounts/social"
	"github.com/kizuna-community/kizuna/internal/accounts/social/socialtest"
)

const redirect = "http://127.0.0.1:1/auth/test/callback"

// authorize follows the provider's authorization endpoint as a browser would and returns the
// callback's query.
func authorize(t *testing.T, c *social.Client, cfg social.Config, r social.Request) url.Values {
	t.Helper()
	to, err := c.AuthCodeURL(context.Background(), cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") != r.State {
		t.Fatalf("authorization URL lacks PKCE S256 or state: %s", to)
	}
	if cfg.Kind.OIDC() && q.Get("nonce") != r.Nonce {
		t.Fatalf("authorization URL lacks the nonce: %s", to)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(back.String(), redirect) {
		t.Fatalf("authorize answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back.Query()
}

func TestOIDCCodeFlowWithPKCEAndNonce(t *testing.T) {
	op := socialtest.NewOIDC(t)
	c := social.New(nil, nil)
	ctx := context.Background()
	for _, kind := range []social.Kind{social.KindOIDC, social.KindGoogle} {
		op.Queue(socialtest.Person{Subject: "okta-00u1", Name: "佐藤 花子", Email: "Hanako@Corp.example.jp", EmailVerified: true, Picture: "https://img.example.jp/h.png"})
		r := social.NewRequest(redirect)
		back := authorize(t, c, op.Config(kind), r)
		if !r.CheckState(back.Get("state")) || r.CheckState("forged") {
			t.Fatal("state check")
		}
		id, err := c.Exchange(ctx, op.Config(kind), r, back.Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		want := social.Identity{Subject: "okta-00u1", Name: "佐藤 花子", Email: "Hanako@Corp.example.jp", EmailVerified: true, Picture: "https://img.example.jp/h.png"}
		if diff := cmp.Diff(want, id); diff != "" {
			t.Fatalf("%s identity (-want +got):\n%s", kind, diff)
		}
	}

	// An unverified address stays unverified; a code is good once.
	op.Queue(socialtest.Person{Subject: "okta-00u2", Name: "Ken", Email: "ken@corp.example.jp"})
	r := social.NewRequest(redirect)
	back := authorize(t, c, op.Config(social.KindOIDC), r)
	id, err := c.Exchange(ctx, op.Config(social.KindOIDC), r, back.Get("code"))
	if err != nil || id.EmailVerified || id.Email != "ken@corp.example.jp" {
		t.Fatalf("unverified: %+v, %v", id, err)
	}
	if _, err := c.Exchange(ctx, op.Config(social.KindOIDC), r, back.Get("code")); err == nil {
		t.Fatal("a code was exchanged twice")
	}
}

func TestOIDCRefusesTamperedNonceExpiredTokenAndWrongVerifier(t *testing.T) {
	op := socialtest.NewOIDC(t)
	c := social.New(nil, nil)
	ctx := context.Background()
	cfg := op.Config(social.KindOIDC)

	op.Queue(socialtest.Person{Subject: "s-nonce", Name: "N"})
	op.TamperNextNonce()
	r := social.NewRequest(redirect)
	back := authorize(t, c, cfg, r)
	if _, err := c.Exchange(ctx, cfg, r, back.Get("code")); err == nil || !strings.Contains(err.Error(), "nonce") {
		t.Fatalf("tampered nonce: %v", err)
	}

	op.Queue(socialtest.Person{Subject: "s-expired", Name: "E"})
	restore := op.IssueExpired()
	r = social.NewRequest(redirect)
	back = authorize(t, c, cfg, r)
	_, err := c.Exchange(ctx, cfg, r, back.Get("code"))
	restore()
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired ID token: %v", err)
	}

	op.Queue(socialtest.Person{Subject: "s-pkce", Name: "P"})
	r = social.NewRequest(redirect)
	back = authorize(t, c, cfg, r)
	r.Verifier = social.NewRequest(redirect).Verifier // not the one whose challenge was sent
	if _, err := c.Exchange(ctx, cfg, r, back.Get("code")); err == nil {
		t.Fatal("a code was exchanged with the wrong PKCE verifier")
	}

	// The wrong client id: the token's audience is not ours.
	op.Queue(socialtest.Person{Subject: "s-aud", Name: "A"})
	r = social.NewRequest(redirect)
	back = authorize(t, c, cfg, r)
	other := cfg
	other.ClientID = "someone-else"
	if _, err := c.Exchange(ctx, other, r, back.Get("code")); err == nil {
		t.Fatal("exchanged with another client id")
	}
}

func TestLINEIDTokenIsVerifiedWithTheChannelSecret(t *testing.T) {
	const channel, secret = "1660000001", "0123456789abcdef0123456789abcdef"
	line := socialtest.NewLINE(t, channel, secret)
	c := social.New(nil, nil)
	ctx := context.Background()
	uid := socialtest.LINEUserID("hanako")

	run := func() (social.Identity, error) {
		line.Queue(socialtest.Person{Subject: uid, Name: "はなこ", Email: "hanako@line.example.jp", Picture: "https://profile.line-scdn.net/0h"})
		r := social.NewRequest(redirect)
		back := authorize(t, c, line.Config(), r)
		return c.Exchange(ctx, line.Config(), r, back.Get("code"))
	}
	id, err := run()
	if err != nil {
		t.Fatal(err)
	}
	// LINE asserts nothing about the address, so it is not taken as verified.
	want := social.Identity{Subject: uid, Name: "はなこ", Email: "hanako@line.example.jp", Picture: "https://profile.line-scdn.net/0h"}
	if diff := cmp.Diff(want, id); diff != "" {
		t.Fatalf("identity (-want +got):\n%s", diff)
	}

	line.SignWith("ffffffffffffffffffffffffffffffff") // another channel's secret
	if _, err := run(); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("signed with the wrong secret: %v", err)
	}
	line.SignWith("")
	line.Lifetime(-time.Minute)
	if _, err := run(); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired LINE token: %v", err)
	}
	line.Lifetime(time.Hour)
}

func TestLINERefusesUnsignedAndAsymmetricTokens(t *testing.T) {
	// A token server that hands back whatever ID token the test gives it.
	var idToken string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "a", "token_type": "Bearer", "expires_in": 3600, "id_token": idToken})
	}))
	defer srv.Close()
	cfg := social.Config{Kind: social.KindLINE, ClientID: "1660000001", ClientSecret: "0123456789abcdef0123456789abcdef", TokenURL: srv.URL}
	r := social.NewRequest(redirect)
	claims := `{"iss":"https://access.line.me","sub":"U0123456789abcdef0123456789abcdef","aud":"1660000001","exp":` +
		jsonNum(time.Now().Add(time.Hour).Unix()) + `,"nonce":"` + r.Nonce + `"}`
	b64 := func(s string) string { return strings.TrimRight(b64url(s), "=") }
	c := social.New(nil, nil)
	for name, tok := range map[string]string{
		"alg none": b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(claims) + ".",
		"RS256":    b64(`{"alg":"RS256","typ":"JWT"}`) + "." + b64(claims) + "." + b64("sig"),
		"empty":    "",
	} {
		idToken = tok
		if _, err := c.Exchange(context.Background(), cfg, r, "code"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Properly signed claims pass, unless one of the checked claims is wrong.
	for name, change := range map[string]func(m map[string]any){
		"good":            func(map[string]any) {},
		"another channel": func(m map[string]any) { m["aud"] = "1660000002" },
		"another issuer":  func(m map[string]any) { m["iss"] = "https://access.line.me.evil.example" },
		"another nonce":   func(m map[string]any) { m["nonce"] = "replayed" },
		"no nonce":        func(m map[string]any) { delete(m, "nonce") },
		"no expiry":       func(m map[string]any) { delete(m, "exp") },
	} {
		var m map[string]any
		json.Unmarshal([]byte(claims), &m)
		change(m)
		idToken, _ = socialtest.SignHS256(cfg.ClientSecret, m)
		_, err := c.Exchange(context.Background(), cfg, r, "code")
		if (err == nil) != (name == "good") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestFacebookAndXReadTheProfileEndpoint runs the OAuth 2.0 presets against loopback peers that
// answer as Facebook's Graph API and X API v2 document.
func TestFacebookAndXReadTheProfileEndpoint(t *testing.T) {
	var gotProof, gotAuth string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("code_verifier") == "" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		gotAuth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"tok-1","token_type":"bearer","expires_in":5183944}`))
	})
	mux.HandleFunc("GET /fb/me", func(w http.ResponseWriter, r *http.Request) {
		gotProof = r.URL.Query().Get("appsecret_proof")
		w.Write([]byte(`{"id":"10220000000000001","name":"Taro Yamada","email":"taro@fb.example.jp","picture":{"data":{"url":"https://scontent.example/p.jpg","is_silhouette":false}}}`))
	})
	mux.HandleFunc("GET /x/me", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"data":{"id":"1500000000000000001","name":"Kizuna Fan","username":"kizunafan","profile_image_url":"https://pbs.twimg.example/p.jpg"}}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := social.New(nil, nil)
	ctx := context.Background()

	fb := social.Config{Kind: social.KindFacebook, ClientID: "app", ClientSecret: "app-secret", TokenURL: srv.URL + "/token", ProfileURL: srv.URL + "/fb/me"}
	id, err := c.Exchange(ctx, fb, social.NewRequest(redirect), "code")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(social.Identity{Subject: "10220000000000001", Name: "Taro Yamada", Email: "taro@fb.example.jp", Picture: "https://scontent.example/p.jpg"}, id); diff != "" {
		t.Fatalf("facebook (-want +got):\n%s", diff)
	}
	if len(gotProof) != 64 {
		t.Fatalf("appsecret_proof %q", gotProof)
	}

	x := social.Config{Kind: social.KindX, ClientID: "x-client", ClientSecret: "x-secret", TokenURL: srv.URL + "/token", ProfileURL: srv.URL + "/x/me"}
	id, err = c.Exchange(ctx, x, social.NewRequest(redirect), "code")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(social.Identity{Subject: "1500000000000000001", Name: "Kizuna Fan", Username: "kizunafan", Picture: "https://pbs.twimg.example/p.jpg"}, id); diff != "" {
		t.Fatalf("x (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(gotAuth, "Basic ") {
		t.Fatalf("X token request authenticated with %q, want HTTP Basic", gotAuth)
	}
}

func TestDeniedAtTheProvider(t *testing.T) {
	if !social.IsDenied(social.Denied("access_denied", "The user has denied")) || social.IsDenied(social.Denied("server_error", "")) {
		t.Fatal("IsDenied")
	}
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func b64url(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
