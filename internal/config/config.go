// Package config reads Kizuna's settings from flags and KIZUNA_* environment variables and validates
// them. Flags win over the environment, which wins over the defaults. There are no package globals:
// the composition root passes the Config down.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Roles a node can run. A node with no --role runs all of them.
const (
	RoleWeb    = "web"    // member and staff pages, the admin REST API
	RoleIngest = "ingest" // the Segment-compatible tracking API
	RoleWorker = "worker" // the outbox relay and event consumers
)

// AllRoles lists every role in the order they start.
var AllRoles = []string{RoleWeb, RoleIngest, RoleWorker}

// Config holds every setting. The zero value is not valid; use Register and Parse.
type Config struct {
	DataDir         string        // directory for the SQLite files, the embedded NATS store and uploads
	Addr            string        // HTTP listen address
	BaseURL         string        // public URL of the site, used in links in mail; default http://Addr
	DatabaseURL     string        // postgres://… to use PostgreSQL instead of the embedded SQLite
	NATSURL         string        // nats://… to use an external NATS JetStream instead of the embedded one
	NATSListen      string        // address where the embedded NATS also listens for other nodes; empty: in-process only
	Roles           []string      // which parts this node runs
	LogLevel        string        // debug, info, warn, error
	LogFormat       string        // text or json
	ShutdownTimeout time.Duration // how long shutdown waits for in-flight work
	PprofAddr       string        // loopback host:port serving /debug/pprof for profiling; empty: off
	SMTP            SMTP
	S3              S3
	Login           Login
}

// Login holds the social log-in providers set by configuration. Each is on when its id and secret
// are set; the admin can add others (Settings → Log-in providers) and switch any of them off.
type Login struct {
	LINE     Credentials // a LINE Login channel: its channel ID and secret
	Google   Credentials
	Facebook Credentials // a Facebook app: its app ID and secret
	X        Credentials // an X app's OAuth 2.0 client
	OIDC     OIDC
}

// Credentials are an OAuth client's id and secret.
type Credentials struct {
	ID     string
	Secret string
}

// Set reports whether the credentials are given.
func (c Credentials) Set() bool { return c.ID != "" && c.Secret != "" }

// OIDC is any OpenID Connect issuer, usually the company's staff single sign-on.
type OIDC struct {
	Issuer string
	Name   string // the button's label
	SignUp bool   // people without an account may join through it
	Credentials
}

// S3 is an S3-compatible bucket for uploaded images. With no Bucket, uploads live in DataDir/media.
type S3 struct {
	Endpoint  string // https://s3.ap-northeast-1.amazonaws.com, or a MinIO / R2 / Wasabi address
	Region    string
	Bucket    string
	AccessKey string
	SecretKey string
	PathStyle bool // bucket in the path rather than the host name (MinIO and most self-hosted stores)
}

// SMTP holds the outgoing mail settings. With no Host, mail is written to the log instead.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
	TLS      string // starttls, tls or none
}

// Setting describes one setting: its flag, its environment variable, its default and its help.
type Setting struct {
	Flag    string
	Env     string
	Default string
	Help    string
}

// Settings lists every setting, for flags, for the README table and for the test that keeps them equal.
var Settings = []Setting{
	{"data", "KIZUNA_DATA", "./kizuna-data", "data directory: SQLite files, embedded NATS store, uploads"},
	{"addr", "KIZUNA_ADDR", "127.0.0.1:8080", "HTTP listen address"},
	{"base-url", "KIZUNA_BASE_URL", "", "public URL of the site, used in links in mail (default http://ADDR)"},
	{"database-url", "KIZUNA_DATABASE_URL", "", "postgres://… to use PostgreSQL instead of the embedded SQLite"},
	{"nats-url", "KIZUNA_NATS_URL", "", "nats://… to use an external NATS JetStream instead of the embedded one"},
	{"nats-listen", "KIZUNA_NATS_LISTEN", "", "address where the embedded NATS also listens for other nodes (empty: in-process only)"},
	{"role", "KIZUNA_ROLE", "all", "roles this node runs: all, or a comma list of web, ingest, worker"},
	{"log-level", "KIZUNA_LOG_LEVEL", "info", "log level: debug, info, warn, error"},
	{"log-format", "KIZUNA_LOG_FORMAT", "text", "log format: text or json"},
	{"shutdown-timeout", "KIZUNA_SHUTDOWN_TIMEOUT", "30s", "how long shutdown waits for in-flight work"},
	{"pprof-addr", "KIZUNA_PPROF_ADDR", "", "loopback address serving Go's /debug/pprof profiles, e.g. 127.0.0.1:6060 (empty: off)"},
	{"smtp-host", "KIZUNA_SMTP_HOST", "", "SMTP server for outgoing mail (empty: mail is written to the log)"},
	{"smtp-port", "KIZUNA_SMTP_PORT", "587", "SMTP port"},
	{"smtp-username", "KIZUNA_SMTP_USERNAME", "", "SMTP user name"},
	{"smtp-password", "KIZUNA_SMTP_PASSWORD", "", "SMTP password"},
	{"smtp-from", "KIZUNA_SMTP_FROM", "Kizuna <no-reply@localhost>", "sender address of outgoing mail"},
	{"smtp-tls", "KIZUNA_SMTP_TLS", "starttls", "SMTP transport security: starttls, tls or none"},
	{"s3-bucket", "KIZUNA_S3_BUCKET", "", "S3-compatible bucket for uploaded images (empty: DATA/media)"},
	{"s3-endpoint", "KIZUNA_S3_ENDPOINT", "", "S3 endpoint URL, e.g. https://s3.ap-northeast-1.amazonaws.com or a MinIO address"},
	{"s3-region", "KIZUNA_S3_REGION", "us-east-1", "S3 region"},
	{"s3-access-key", "KIZUNA_S3_ACCESS_KEY", "", "S3 access key id"},
	{"s3-secret-key", "KIZUNA_S3_SECRET_KEY", "", "S3 secret access key"},
	{"s3-path-style", "KIZUNA_S3_PATH_STYLE", "false", "put the bucket in the URL path (true for MinIO and most self-hosted stores)"},
	{"line-channel-id", "KIZUNA_LINE_CHANNEL_ID", "", "LINE Login channel ID; with the secret, members can log in with LINE"},
	{"line-channel-secret", "KIZUNA_LINE_CHANNEL_SECRET", "", "LINE Login channel secret (it also signs LINE's ID tokens)"},
	{"google-client-id", "KIZUNA_GOOGLE_CLIENT_ID", "", "Google OAuth client ID; with the secret, members can log in with Google"},
	{"google-client-secret", "KIZUNA_GOOGLE_CLIENT_SECRET", "", "Google OAuth client secret"},
	{"facebook-app-id", "KIZUNA_FACEBOOK_APP_ID", "", "Facebook app ID; with the secret, members can log in with Facebook"},
	{"facebook-app-secret", "KIZUNA_FACEBOOK_APP_SECRET", "", "Facebook app secret"},
	{"x-client-id", "KIZUNA_X_CLIENT_ID", "", "X OAuth 2.0 client ID; with the secret, members can log in with X"},
	{"x-client-secret", "KIZUNA_X_CLIENT_SECRET", "", "X OAuth 2.0 client secret"},
	{"oidc-issuer", "KIZUNA_OIDC_ISSUER", "", "OpenID Connect issuer URL for single sign-on (Entra ID, Okta, Keycloak …), e.g. https://login.microsoftonline.com/TENANT/v2.0"},
	{"oidc-client-id", "KIZUNA_OIDC_CLIENT_ID", "", "client ID at the OpenID Connect issuer"},
	{"oidc-client-secret", "KIZUNA_OIDC_CLIENT_SECRET", "", "client secret at the OpenID Connect issuer"},
	{"oidc-name", "KIZUNA_OIDC_NAME", "SSO", "label of the single sign-on button"},
	{"oidc-signup", "KIZUNA_OIDC_SIGNUP", "false", "let people without an account join through the OpenID Connect issuer (false: only existing accounts, as staff SSO)"},
}

// Loader binds the settings to a FlagSet. Call Register, then fs.Parse, then Config.
type Loader struct {
	values map[string]*string
}

// Register adds every setting to fs as a string flag whose default comes from env (or the built-in
// default), so that flags win over the environment.
func Register(fs *flag.FlagSet, env func(string) string) *Loader {
	l := &Loader{values: map[string]*string{}}
	for _, s := range Settings {
		def := s.Default
		if v := env(s.Env); v != "" {
			def = v
		}
		l.values[s.Flag] = fs.String(s.Flag, def, fmt.Sprintf("%s (env %s)", s.Help, s.Env))
	}
	return l
}

// Config turns the parsed values into a validated Config.
func (l *Loader) Config() (*Config, error) {
	v := func(name string) string { return strings.TrimSpace(*l.values[name]) }
	c := &Config{
		DataDir:     v("data"),
		Addr:        v("addr"),
		BaseURL:     strings.TrimRight(v("base-url"), "/"),
		DatabaseURL: v("database-url"),
		NATSURL:     v("nats-url"),
		NATSListen:  v("nats-listen"),
		LogLevel:    strings.ToLower(v("log-level")),
		LogFormat:   strings.ToLower(v("log-format")),
		PprofAddr:   v("pprof-addr"),
		SMTP: SMTP{
			Host:     v("smtp-host"),
			Username: v("smtp-username"),
			Password: *l.values["smtp-password"],
			From:     v("smtp-from"),
			TLS:      strings.ToLower(v("smtp-tls")),
		},
		S3: S3{
			Endpoint:  strings.TrimRight(v("s3-endpoint"), "/"),
			Region:    v("s3-region"),
			Bucket:    v("s3-bucket"),
			AccessKey: v("s3-access-key"),
			SecretKey: *l.values["s3-secret-key"],
		},
		Login: Login{
			LINE:     Credentials{ID: v("line-channel-id"), Secret: v("line-channel-secret")},
			Google:   Credentials{ID: v("google-client-id"), Secret: v("google-client-secret")},
			Facebook: Credentials{ID: v("facebook-app-id"), Secret: v("facebook-app-secret")},
			X:        Credentials{ID: v("x-client-id"), Secret: v("x-client-secret")},
			OIDC: OIDC{Issuer: strings.TrimRight(v("oidc-issuer"), "/"), Name: v("oidc-name"),
				Credentials: Credentials{ID: v("oidc-client-id"), Secret: v("oidc-client-secret")}},
		},
	}
	var errList []error
	bad := func(flag, format string, args ...any) {
		errList = append(errList, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	if d, err := time.ParseDuration(v("shutdown-timeout")); err != nil || d <= 0 {
		bad("shutdown-timeout", "%q is not a positive duration such as 30s", v("shutdown-timeout"))
	} else {
		c.ShutdownTimeout = d
	}
	if p, err := strconv.Atoi(v("smtp-port")); err != nil || p < 1 || p > 65535 {
		bad("smtp-port", "%q is not a port number", v("smtp-port"))
	} else {
		c.SMTP.Port = p
	}
	roles, err := parseRoles(v("role"))
	if err != nil {
		bad("role", "%v", err)
	}
	c.Roles = roles
	if c.DataDir == "" {
		bad("data", "must not be empty")
	} else if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr", "%q is not host:port", c.Addr)
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("base-url", "%q is not an http(s) URL", c.BaseURL)
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("database-url", "must be a postgres:// URL")
		}
	}
	if c.NATSURL != "" {
		if u, err := url.Parse(c.NATSURL); err != nil || u.Host == "" {
			bad("nats-url", "%q is not a nats:// URL", c.NATSURL)
		}
		if c.NATSListen != "" {
			bad("nats-listen", "only applies to the embedded NATS; unset it or --nats-url")
		}
	}
	if c.NATSListen != "" {
		if _, _, err := net.SplitHostPort(c.NATSListen); err != nil {
			bad("nats-listen", "%q is not host:port", c.NATSListen)
		}
	}
	if c.PprofAddr != "" {
		// Profiles show the process's memory and work: never beyond this machine.
		if host, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			bad("pprof-addr", "%q is not host:port", c.PprofAddr)
		} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			bad("pprof-addr", "must be a loopback address such as 127.0.0.1:6060")
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("log-level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log-format", "%q is not text or json", c.LogFormat)
	}
	if !slices.Contains([]string{"starttls", "tls", "none"}, c.SMTP.TLS) {
		bad("smtp-tls", "%q is not starttls, tls or none", c.SMTP.TLS)
	}
	if ps, err := strconv.ParseBool(v("s3-path-style")); err != nil {
		bad("s3-path-style", "%q is not true or false", v("s3-path-style"))
	} else {
		c.S3.PathStyle = ps
	}
	if c.S3.Bucket != "" {
		if u, err := url.Parse(c.S3.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("s3-endpoint", "give the bucket's http(s) endpoint")
		}
		if c.S3.AccessKey == "" || c.S3.SecretKey == "" {
			bad("s3-access-key", "a bucket needs an access key and a secret key")
		}
		if c.S3.Region == "" {
			bad("s3-region", "must not be empty")
		}
	}
	for _, p := range []struct {
		id, secret string
		c          Credentials
	}{
		{"line-channel-id", "line-channel-secret", c.Login.LINE},
		{"google-client-id", "google-client-secret", c.Login.Google},
		{"facebook-app-id", "facebook-app-secret", c.Login.Facebook},
		{"x-client-id", "x-client-secret", c.Login.X},
		{"oidc-client-id", "oidc-client-secret", c.Login.OIDC.Credentials},
	} {
		if (p.c.ID == "") != (p.c.Secret == "") {
			bad(p.id, "give both --%s and --%s, or neither", p.id, p.secret)
		}
	}
	if o := c.Login.OIDC; o.Issuer != "" || o.ID != "" {
		if u, err := url.Parse(o.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
			bad("oidc-issuer", "%q is not an https:// issuer URL", o.Issuer)
		}
		if !o.Set() {
			bad("oidc-client-id", "an OpenID Connect issuer needs --oidc-client-id and --oidc-client-secret")
		}
		if o.Name == "" {
			bad("oidc-name", "must not be empty")
		}
	}
	if su, err := strconv.ParseBool(v("oidc-signup")); err != nil {
		bad("oidc-signup", "%q is not true or false", v("oidc-signup"))
	} else {
		c.Login.OIDC.SignUp = su
	}
	if err := errors.Join(errList...); err != nil {
		return nil, err
	}
	return c, nil
}

// loopback reports whether host is this machine (an issuer on loopback may use http).
func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func parseRoles(s string) ([]string, error) {
	if s == "" || s == "all" {
		return slices.Clone(AllRoles), nil
	}
	var roles []string
	for r := range strings.SplitSeq(s, ",") {
		r = strings.TrimSpace(r)
		if !slices.Contains(AllRoles, r) {
			return nil, fmt.Errorf("%q is not a role (web, ingest, worker)", r)
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	return roles, nil
}

// Has reports whether this node runs role.
func (c *Config) Has(role string) bool { return slices.Contains(c.Roles, role) }

// UsesPostgres reports whether the database is PostgreSQL rather than the embedded SQLite.
func (c *Config) UsesPostgres() bool { return c.DatabaseURL != "" }

// Secure reports whether the site is served over HTTPS, so cookies must be Secure.
func (c *Config) Secure() bool { return strings.HasPrefix(c.BaseURL, "https://") }
