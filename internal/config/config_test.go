package config

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func load(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return l.Config()
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(c.DataDir, "/kizuna-data") || c.Addr != "127.0.0.1:8080" || c.BaseURL != "http://127.0.0.1:8080" {
		t.Fatalf("defaults: %+v", c)
	}
	if diff := cmp.Diff(AllRoles, c.Roles); diff != "" {
		t.Fatal(diff)
	}
	if c.ShutdownTimeout != 30*time.Second || c.UsesPostgres() || c.Secure() {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFlagsWinOverEnv(t *testing.T) {
	env := map[string]string{"KIZUNA_ADDR": "127.0.0.1:9000", "KIZUNA_ROLE": "worker", "KIZUNA_DATABASE_URL": "postgres://x@127.0.0.1/test"}
	c, err := load(t, env, "--addr", "127.0.0.1:9001")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9001" || !c.UsesPostgres() || !c.Has(RoleWorker) || c.Has(RoleWeb) {
		t.Fatalf("got %+v", c)
	}
}

func TestValidationNamesEveryBadSetting(t *testing.T) {
	_, err := load(t, map[string]string{"KIZUNA_ROLE": "web,cook", "KIZUNA_LOG_LEVEL": "loud"},
		"--addr", "nope", "--database-url", "mysql://x", "--shutdown-timeout", "-1s")
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"--role", `"cook"`, "--log-level", "--addr", "--database-url", "--shutdown-timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestREADMEDocumentsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		if !strings.Contains(string(b), "`"+s.Env+"`") || !strings.Contains(string(b), "`--"+s.Flag+"`") {
			t.Errorf("README.md does not document --%s / %s", s.Flag, s.Env)
		}
	}
}

func TestS3NeedsEndpointAndKeys(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	l := Register(fs, func(k string) string { return map[string]string{"KIZUNA_S3_BUCKET": "media"}[k] })
	if err := fs.Parse([]string{"--s3-path-style", "maybe"}); err != nil {
		t.Fatal(err)
	}
	_, err := l.Config()
	for _, flag := range []string{"--s3-endpoint", "--s3-access-key", "--s3-path-style"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("error %v does not name %s", err, flag)
		}
	}
}

func TestPprofAddrIsLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{"": true, "127.0.0.1:6060": true, "localhost:6060": true, "[::1]:6060": true, "0.0.0.0:6060": false, "192.0.2.1:6060": false, "6060": false} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		l := Register(fs, func(string) string { return "" })
		if err := fs.Parse([]string{"--pprof-addr", addr}); err != nil {
			t.Fatal(err)
		}
		c, err := l.Config()
		if (err == nil) != ok {
			t.Errorf("--pprof-addr %q: %v", addr, err)
		} else if ok && c.PprofAddr != addr {
			t.Errorf("--pprof-addr %q gave %q", addr, c.PprofAddr)
		}
	}
}

func TestLoginProviders(t *testing.T) {
	c, err := load(t, map[string]string{"KIZUNA_LINE_CHANNEL_ID": "1660000001", "KIZUNA_LINE_CHANNEL_SECRET": "s",
		"KIZUNA_OIDC_ISSUER": "https://login.microsoftonline.com/tenant/v2.0/", "KIZUNA_OIDC_CLIENT_ID": "app", "KIZUNA_OIDC_CLIENT_SECRET": "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := Login{LINE: Credentials{"1660000001", "s"},
		OIDC: OIDC{Issuer: "https://login.microsoftonline.com/tenant/v2.0", Name: "SSO", Credentials: Credentials{"app", "x"}}}
	if diff := cmp.Diff(want, c.Login); diff != "" {
		t.Fatalf("login (-want +got):\n%s", diff)
	}
	_, err = load(t, map[string]string{"KIZUNA_GOOGLE_CLIENT_ID": "g", "KIZUNA_OIDC_ISSUER": "http://sso.example.jp", "KIZUNA_OIDC_SIGNUP": "maybe"})
	for _, flag := range []string{"--google-client-id", "--oidc-issuer", "--oidc-client-id", "--oidc-signup"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("error %v does not name %s", err, flag)
		}
	}
}
