package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/accounts/social/socialtest"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
)

// server is a kizuna serve running in this process on a free port.
type server struct {
	url    string
	env    map[string]string
	stdout *syncBuffer
	stderr *syncBuffer // the server's log
	stop   func() int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testEnv(t *testing.T, e db.Engine) map[string]string {
	env := map[string]string{"KIZUNA_DATA": t.TempDir(), "KIZUNA_LOG_LEVEL": "warn"}
	if e == db.Postgres {
		env["KIZUNA_DATABASE_URL"] = dbtest.PostgresURL(t)
	}
	return env
}

func cheapHash() *accounts.HashParams { return accounts.TestHashParams() }

// run runs one CLI command in process and returns its exit code and output.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &CLI{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }, HashParams: cheapHash()}
	code := c.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

// created runs a command that creates a key (source create, apikey create …) and returns the
// key: the last line it prints.
func created(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, env, args...)
	if code != 0 {
		t.Fatalf("%s = %d: %s", strings.Join(args, " "), code, errOut)
	}
	out = strings.TrimSpace(out)
	return out[strings.LastIndex(out, "\n")+1:]
}

// call sends body to the running server with key, a source's write key as Basic auth (basic) or
// an API key as a Bearer token, and returns the answer's status and body.
func (s *server) call(t *testing.T, method, path, body, key string, basic bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if basic {
		req.SetBasicAuth(key, "")
	} else {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func startServer(t *testing.T, env map[string]string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{env: env, stdout: &syncBuffer{}}
	ready := make(chan string, 1)
	stderr := &syncBuffer{}
	s.stderr = stderr
	c := &CLI{Stdout: s.stdout, Stderr: stderr, Getenv: func(k string) string { return env[k] },
		HashParams: cheapHash(), Ready: func(addr string) { ready <- addr }}
	done := make(chan int, 1)
	go func() { done <- c.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}) }()
	select {
	case addr := <-ready:
		s.url = "http://" + addr
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d:\n%s", code, stderr.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	var once sync.Once
	code := 0
	s.stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func get(t *testing.T, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestServeOperationsAndAPIKey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		env := testEnv(t, e)
		s := startServer(t, env)

		if !strings.Contains(s.stdout.String(), "Kizuna is running at "+s.url) {
			t.Errorf("banner: %q", s.stdout.String())
		}
		if !strings.Contains(s.stdout.String(), "/setup?token=") {
			t.Errorf("no admin set-up link in %q", s.stdout.String())
		}
		if code, _, body := get(t, s.url+"/healthz"); code != 200 {
			t.Errorf("/healthz = %d %s", code, body)
		}
		if code, _, body := get(t, s.url+"/readyz"); code != 200 || !strings.Contains(body, `"stream":"ok"`) {
			t.Errorf("/readyz = %d %s", code, body)
		}
		if code, _, body := get(t, s.url+"/metrics"); code != 200 || !strings.Contains(body, "kizuna_build_info") || !strings.Contains(body, "kizuna_http_requests_total") {
			t.Errorf("/metrics = %d, kizuna series missing", code)
		}

		// The CLI works while the server runs on the same data.
		code, out, errOut := run(t, env, "apikey", "create", "--name", "x", "--scopes", "admin")
		if code != 0 {
			t.Fatalf("apikey create = %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		key := lines[len(lines)-1]
		if !strings.HasPrefix(key, "kzn_") {
			t.Fatalf("last line %q is not a key", key)
		}
		code, hdr, body := get(t, s.url+"/api/v1/me", "Authorization", "Bearer "+key)
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Fatalf("/api/v1/me = %d %s", code, body)
		}
		var me map[string]any
		if err := json.Unmarshal([]byte(body), &me); err != nil {
			t.Fatalf("/api/v1/me body %q: %v", body, err)
		}
		code, _, body = get(t, s.url+"/api/v1/me", "Authorization", "Bearer kzn_wrong")
		var apiErr struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if code != 401 || json.Unmarshal([]byte(body), &apiErr) != nil || apiErr.Error.Code == "" {
			t.Fatalf("wrong key: %d %s", code, body)
		}

		if code := s.stop(); code != 0 {
			t.Fatalf("serve exited with %d after shutdown", code)
		}
	})
}

func TestHomePageFollowsTheBrowserLanguage(t *testing.T) {
	s := startServer(t, testEnv(t, db.SQLite))
	_, _, ja := get(t, s.url+"/", "Accept-Language", "ja-JP,ja;q=0.9,en;q=0.8")
	_, _, en := get(t, s.url+"/", "Accept-Language", "en-US,en;q=0.9")
	if !strings.Contains(ja, `lang="ja"`) || !strings.Contains(en, `lang="en"`) {
		t.Fatalf("home page languages: ja page has lang=ja %v, en page has lang=en %v",
			strings.Contains(ja, `lang="ja"`), strings.Contains(en, `lang="en"`))
	}
	if ja == en {
		t.Fatal("Japanese and English home pages are the same")
	}
}

func TestEventsFromTheCLIReachTheRunningServersLog(t *testing.T) {
	env := testEnv(t, db.SQLite)
	s := startServer(t, env)
	if code, _, errOut := run(t, env, "admin", "create", "--email", "root@example.com", "--password", "correct horse battery"); code != 0 {
		t.Fatalf("admin create: %s", errOut)
	}
	_ = s
	// The admin's events were committed to the outbox by another process; the server's relay sweeps
	// them up and the event log consumer stores them.
	a, err := Open(context.Background(), mustConfig(t, env), discard(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		a.LogDB.R.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&n)
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("events committed by the CLI never reached the event log")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestBadSettingsAreNamed(t *testing.T) {
	code, _, errOut := run(t, map[string]string{"KIZUNA_ROLE": "chef"}, "migrate", "--addr", "nowhere")
	if code == 0 || !strings.Contains(errOut, "--role") || !strings.Contains(errOut, "--addr") {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, testEnv(t, db.SQLite), "apikey", "create", "--name", "x", "--scopes", "root")
	if code == 0 || !strings.Contains(errOut, "scopes") {
		t.Fatalf("bad scope: code %d, stderr %q", code, errOut)
	}
}

func TestDemoCommand(t *testing.T) {
	env := testEnv(t, db.SQLite)
	code, out, errOut := run(t, env, "demo")
	if code != 0 || !strings.Contains(out, "demo community ready") || !strings.Contains(out, "admin@demo.kizuna.example") {
		t.Fatalf("demo = %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := run(t, env, "demo"); code != 0 || !strings.Contains(out, "0 accounts created") {
		t.Fatalf("second demo = %d %s", code, out)
	}
	if code, out, _ := run(t, env, "version"); code != 0 || !strings.HasPrefix(out, "kizuna ") {
		t.Fatalf("version = %d %q", code, out)
	}
}

func TestTrackingThroughTheRunningServer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		env := testEnv(t, e)
		s := startServer(t, env)
		key := created(t, env, "source", "create", "--name", "website")
		post := func(key, body string) (int, string) { return s.call(t, "POST", "/v1/batch", body, key, true) }
		batch := `{"batch":[{"type":"page","name":"料金","anonymousId":"anon-1","messageId":"m-1"},
			{"type":"track","event":"Signed Up","userId":"u-1","messageId":"m-2","properties":{"plan":"pro"}}]}`
		if code, body := post(key, batch); code != 200 || !strings.Contains(body, "success") {
			t.Fatalf("batch = %d %s", code, body)
		}
		if code, out, errOut := run(t, env, "bench", "ingest", "--url", s.url, "--write-key", key, "--events", "300", "--batch", "50", "--concurrency", "2"); code != 0 || !strings.Contains(out, "accepted 300 events") {
			t.Fatalf("bench ingest = %d\n%s%s", code, out, errOut)
		}
		if code, out, errOut := run(t, env, "bench", "ingest", "--url", s.url, "--write-key", key, "--rate", "1000", "--duration", "1s", "--batch", "50"); code != 0 ||
			!strings.Contains(out, "open loop at 1000 events/s") || !strings.Contains(out, "accepted 1000 events") || !strings.Contains(out, "p99") {
			t.Fatalf("bench ingest --rate = %d\n%s%s", code, out, errOut)
		}
		if code, _, errOut := run(t, env, "bench", "ingest", "--url", "http://192.0.2.1:8080", "--write-key", key); code == 0 || !strings.Contains(errOut, "--url") {
			t.Fatalf("bench ingest against a remote host = %d %s", code, errOut)
		}
		if code, body := post("wrong", batch); code != 401 || !strings.Contains(body, `"error"`) {
			t.Fatalf("wrong key = %d %s", code, body)
		}
		if code, body := post(key, `{"batch":[{"type":"nonsense"}]}`); code != 400 || !strings.Contains(body, "batch[0]") {
			t.Fatalf("bad event = %d %s", code, body)
		}
		a, err := Open(context.Background(), mustConfig(t, env), discard(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		deadline := time.Now().Add(20 * time.Second)
		for {
			var n int
			a.LogDB.R.QueryRow(`SELECT COUNT(*) FROM events WHERE message_id IN ('m-1', 'm-2')`).Scan(&n)
			if n == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of 2 tracked events reached the event log", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The profile consumer puts the tracked user on a profile, found by the REST API.
		apiKey := created(t, env, "apikey", "create", "--name", "crm", "--scopes", "read")
		for {
			code, _, body := get(t, s.url+"/api/v1/profiles/lookup?type=user_id&value=u-1", "Authorization", "Bearer "+apiKey)
			if code == 200 && strings.Contains(body, `"u-1"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no profile for the tracked user: %d %s", code, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// The social log-in settings reach the running server: the log-in page shows the configured
// providers, and a button leads to the issuer with state and PKCE.
func TestSocialLoginSettings(t *testing.T) {
	op := socialtest.NewOIDC(t)
	env := testEnv(t, db.SQLite)
	env["KIZUNA_LINE_CHANNEL_ID"], env["KIZUNA_LINE_CHANNEL_SECRET"] = "1660000001", "0123456789abcdef0123456789abcdef"
	env["KIZUNA_OIDC_ISSUER"], env["KIZUNA_OIDC_CLIENT_ID"], env["KIZUNA_OIDC_CLIENT_SECRET"] = op.Issuer(), op.ClientID, op.ClientSecret
	env["KIZUNA_OIDC_NAME"] = "社員 SSO"
	s := startServer(t, env)
	_, _, login := get(t, s.url+"/login", "Accept-Language", "ja")
	for _, want := range []string{`href="/auth/line"`, "LINEでログイン", `href="/auth/sso"`, "社員 SSO でログイン"} {
		if !strings.Contains(login, want) {
			t.Errorf("log-in page lacks %q", want)
		}
	}
	if strings.Contains(login, `href="/auth/google"`) {
		t.Error("an unconfigured provider is offered")
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(s.url + "/auth/sso")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	to, _ := url.Parse(resp.Header.Get("Location"))
	q := to.Query()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(to.String(), op.AuthorizationEndpoint()) ||
		q.Get("client_id") != op.ClientID || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge_method") != "S256" ||
		!strings.HasSuffix(q.Get("redirect_uri"), "/auth/sso/callback") {
		t.Fatalf("start: %d to %s", resp.StatusCode, to)
	}
}
