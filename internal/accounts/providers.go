package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts/social"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// ProviderConfig is a social log-in provider set by configuration (KIZUNA_* settings).
type ProviderConfig struct {
	Key         string // "line", "google", "facebook", "x"; a name such as "okta" for an OIDC issuer
	Name        string // the button's label for an OIDC issuer; presets carry their brand's name
	AllowSignUp bool   // new members may join with it (off for staff single sign-on)
	social.Config
}

// LoginProvider is a way to log in with an outside account, as configured and switched on or off.
type LoginProvider struct {
	Key         string      `json:"key"`
	Kind        social.Kind `json:"kind"`
	Name        string      `json:"name"`
	ClientID    string      `json:"client_id"`
	Issuer      string      `json:"issuer,omitempty"`
	AllowSignUp bool        `json:"allow_signup"`
	Enabled     bool        `json:"enabled"`
	FromConfig  bool        `json:"from_config"` // credentials come from settings; the admin only switches it
	HasSecret   bool        `json:"has_secret"`
	UpdatedAt   time.Time   `json:"updated_at,omitzero"`

	cfg social.Config
}

// Configured reports whether the provider has what a log-in needs.
func (p LoginProvider) Configured() bool {
	return p.ClientID != "" && p.HasSecret && (p.Kind != social.KindOIDC || p.Issuer != "")
}

// Usable reports whether members may log in with the provider now.
func (p LoginProvider) Usable() bool { return p.Enabled && p.Configured() }

// IdentifierType is the identity graph's type for the provider's ids: "social:" and the key,
// because the ids are only unique per provider (per LINE provider, per Facebook app).
func (p LoginProvider) IdentifierType() string { return "social:" + p.Key }

// presetName is the brand name of a preset.
func presetName(k social.Kind) string {
	switch k {
	case social.KindLINE:
		return "LINE"
	case social.KindGoogle:
		return "Google"
	case social.KindFacebook:
		return "Facebook"
	case social.KindX:
		return "X"
	}
	return ""
}

// presets are the kinds with one fixed key each: the key is the kind's name.
var presets = []social.Kind{social.KindLINE, social.KindGoogle, social.KindFacebook, social.KindX}

var providerKey = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}$`)

// ValidProviderKey reports whether k may name an OIDC provider: 2–31 lower-case letters, digits
// and hyphens, starting with a letter, and not a preset's key. The key becomes part of identifier
// types ("social:okta") and URLs (/auth/okta).
func ValidProviderKey(k string) bool {
	return providerKey.MatchString(k) && !slices.Contains(presets, social.Kind(k)) && k != string(social.KindOIDC)
}

// loadProviders merges the configured providers with the admin's rows: presets always, then
// OIDC issuers by key. Configuration wins for credentials; a row decides whether it is on.
func (s *Service) loadProviders(ctx context.Context, q db.Queryer) ([]LoginProvider, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, kind, name, issuer, client_id, client_secret, allow_signup, enabled, updated_at FROM login_providers`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byKey := map[string]LoginProvider{}
	for rows.Next() {
		var p LoginProvider
		var secret string
		var signup, enabled int
		var updated int64
		if err := rows.Scan(&p.Key, &p.Kind, &p.Name, &p.Issuer, &p.ClientID, &secret, &signup, &enabled, &updated); err != nil {
			return nil, err
		}
		p.AllowSignUp, p.Enabled, p.HasSecret, p.UpdatedAt = signup == 1, enabled == 1, secret != "", db.Time(updated)
		p.cfg = social.Config{Kind: p.Kind, ClientID: p.ClientID, ClientSecret: secret, Issuer: p.Issuer}
		byKey[p.Key] = p
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range s.providers {
		p := LoginProvider{Key: c.Key, Kind: c.Kind, Name: c.Name, ClientID: c.ClientID, Issuer: c.Issuer,
			AllowSignUp: c.AllowSignUp, Enabled: true, FromConfig: true, HasSecret: c.ClientSecret != "", cfg: c.Config}
		if row, ok := byKey[c.Key]; ok {
			p.Enabled, p.UpdatedAt = row.Enabled, row.UpdatedAt
		}
		byKey[c.Key] = p
	}
	var out []LoginProvider
	for _, k := range presets {
		p, ok := byKey[string(k)]
		if !ok {
			p = LoginProvider{Key: string(k), Kind: k, AllowSignUp: true}
		}
		p.Name = presetName(k)
		out = append(out, p)
		delete(byKey, string(k))
	}
	var rest []LoginProvider
	for _, p := range byKey {
		if p.Kind == social.KindOIDC {
			rest = append(rest, p)
		}
	}
	slices.SortFunc(rest, func(a, b LoginProvider) int { return strings.Compare(a.Key, b.Key) })
	return append(out, rest...), nil
}

// LoginProviders lists every provider for the admin: the presets (configured or not) and the
// OIDC issuers. Secrets are never returned. Needs PermManageSettings.
func (s *Service) LoginProviders(ctx context.Context, p Principal) ([]LoginProvider, error) {
	if err := Authorize(p, PermManageSettings); err != nil {
		return nil, err
	}
	return s.loadProviders(ctx, s.db.R)
}

// EnabledLoginProviders lists the providers members may use now, for the sign-in and sign-up
// pages.
func (s *Service) EnabledLoginProviders(ctx context.Context) ([]LoginProvider, error) {
	all, err := s.loadProviders(ctx, s.db.R)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, p := range all {
		if p.Usable() {
			out = append(out, p)
		}
	}
	return out, nil
}

var errNoProvider = errs.Because(errs.NotFound("this way of logging in is not available"), "provider_unavailable")

// loginProvider returns the usable provider with key.
func (s *Service) loginProvider(ctx context.Context, key string) (LoginProvider, error) {
	all, err := s.loadProviders(ctx, s.db.R)
	if err != nil {
		return LoginProvider{}, err
	}
	for _, p := range all {
		if p.Key == key && p.Usable() {
			return p, nil
		}
	}
	return LoginProvider{}, errNoProvider
}

// LoginProviderInput is what the admin sets for a provider.
type LoginProviderInput struct {
	Key          string
	Kind         social.Kind
	Name         string // OIDC only: the button's label, e.g. "Okta" or "社員 SSO"
	ClientID     string
	ClientSecret string // empty keeps the stored one
	Issuer       string // OIDC only
	AllowSignUp  bool
	Enabled      bool
}

// SaveLoginProvider creates or changes a provider configured in the admin. A provider set by
// configuration can only be switched on or off (SetLoginProviderEnabled). Needs PermManageSettings.
func (s *Service) SaveLoginProvider(ctx context.Context, p Principal, in LoginProviderInput) (LoginProvider, error) {
	if err := Authorize(p, PermManageSettings); err != nil {
		return LoginProvider{}, err
	}
	in.Key, in.Name = strings.TrimSpace(in.Key), strings.TrimSpace(in.Name)
	in.ClientID, in.ClientSecret, in.Issuer = strings.TrimSpace(in.ClientID), strings.TrimSpace(in.ClientSecret), strings.TrimRight(strings.TrimSpace(in.Issuer), "/")
	switch {
	case slices.Contains(presets, in.Kind):
		if in.Key != string(in.Kind) {
			return LoginProvider{}, errs.Invalid("key", "the %s provider's key is %q", in.Kind, in.Kind)
		}
		in.Name, in.Issuer = presetName(in.Kind), ""
	case in.Kind == social.KindOIDC:
		if !ValidProviderKey(in.Key) {
			return LoginProvider{}, errs.Because(errs.Invalid("key", "a key is 2 to 31 lower-case letters, digits and hyphens, starting with a letter, and not a preset's name"), "provider_key_invalid")
		}
		if in.Name == "" || utf8.RuneCountInString(in.Name) > 40 {
			return LoginProvider{}, errs.Because(errs.Invalid("name", "give the button a label of at most 40 characters"), "provider_name_invalid")
		}
		if err := checkIssuer(in.Issuer); err != nil {
			return LoginProvider{}, err
		}
	default:
		return LoginProvider{}, errs.Invalid("kind", "unknown provider kind %q", in.Kind)
	}
	if len(in.ClientID) > 200 || len(in.ClientSecret) > 500 {
		return LoginProvider{}, errs.Invalid("client_id", "the client id or secret is too long")
	}
	if slices.ContainsFunc(s.providers, func(c ProviderConfig) bool { return c.Key == in.Key }) {
		return LoginProvider{}, errs.Because(errs.Conflict("key", "this provider is set by the server's configuration; only switching it on or off works here"), "provider_from_config")
	}
	now := s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var kind, secret, issuer string
		err := tx.QueryRowContext(ctx, `SELECT kind, client_secret, issuer FROM login_providers WHERE key = $1`, in.Key).Scan(&kind, &secret, &issuer)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case kind != string(in.Kind):
			return errs.Because(errs.Conflict("key", "another kind of provider has this key"), "provider_key_taken")
		case issuer != in.Issuer:
			if err := checkIssuerUnused(ctx, tx, in.Key); err != nil {
				return err
			}
		}
		changed := in.ClientSecret != ""
		if changed {
			secret = in.ClientSecret
		}
		if in.Enabled && (in.ClientID == "" || secret == "") {
			return errs.Because(errs.Invalid("client_id", "give the client id and secret before switching the provider on"), "provider_incomplete")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_providers (key, kind, name, issuer, client_id, client_secret, allow_signup, enabled, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (key) DO UPDATE SET name = excluded.name, issuer = excluded.issuer, client_id = excluded.client_id,
				client_secret = excluded.client_secret, allow_signup = excluded.allow_signup, enabled = excluded.enabled,
				updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			in.Key, in.Kind, in.Name, in.Issuer, in.ClientID, secret, boolInt(in.AllowSignUp), boolInt(in.Enabled), db.Now(now), p.MemberID); err != nil {
			return err
		}
		return s.Audit(ctx, tx, p, "login_provider.saved", in.Key, map[string]any{"kind": in.Kind, "client_id": in.ClientID,
			"issuer": in.Issuer, "allow_signup": in.AllowSignUp, "enabled": in.Enabled, "secret_changed": changed})
	})
	if err != nil {
		return LoginProvider{}, err
	}
	return s.providerByKey(ctx, in.Key)
}

// SetLoginProviderEnabled switches a provider on or off, whether set by configuration or in the
// admin. Members who linked it keep the link but cannot log in with it while it is off. Needs
// PermManageSettings.
func (s *Service) SetLoginProviderEnabled(ctx context.Context, p Principal, key string, enabled bool) (LoginProvider, error) {
	if err := Authorize(p, PermManageSettings); err != nil {
		return LoginProvider{}, err
	}
	cur, err := s.providerByKey(ctx, key)
	if err != nil {
		return LoginProvider{}, err
	}
	if enabled && !cur.Configured() {
		return LoginProvider{}, errs.Because(errs.Invalid("client_id", "give the client id and secret before switching the provider on"), "provider_incomplete")
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := db.Now(s.now())
		// A provider set by configuration gets a row holding only the switch.
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_providers (key, kind, name, allow_signup, enabled, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (key) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			cur.Key, cur.Kind, cur.Name, boolInt(cur.AllowSignUp), boolInt(enabled), now, p.MemberID); err != nil {
			return err
		}
		action := "login_provider.disabled"
		if enabled {
			action = "login_provider.enabled"
		}
		return s.Audit(ctx, tx, p, action, key, nil)
	})
	if err != nil {
		return LoginProvider{}, err
	}
	return s.providerByKey(ctx, key)
}

// CheckProviderIssuers records the issuer of each OpenID Connect provider set by configuration
// and refuses, naming the provider, an issuer that differs from the recorded one while members
// have linked identities with it (see checkIssuerUnused). The composition root calls it at start,
// so a changed setting stops the server instead of re-pointing the links.
func (s *Service) CheckProviderIssuers(ctx context.Context) error {
	for _, c := range s.providers {
		if c.Kind != social.KindOIDC {
			continue
		}
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			var issuer string
			err := tx.QueryRowContext(ctx, `SELECT issuer FROM login_providers WHERE key = $1`, c.Key).Scan(&issuer)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			case issuer == c.Issuer:
				return nil
			case issuer != "":
				if err := checkIssuerUnused(ctx, tx, c.Key); err != nil {
					return fmt.Errorf("login provider %s: issuer was %s, settings say %s: %w", c.Key, issuer, c.Issuer, err)
				}
			}
			// A row for a configured provider otherwise holds only its switch: on unless switched off.
			_, err = tx.ExecContext(ctx, `INSERT INTO login_providers (key, kind, name, issuer, allow_signup, enabled, updated_at, updated_by)
				VALUES ($1, $2, $3, $4, $5, 1, 0, '')
				ON CONFLICT (key) DO UPDATE SET issuer = excluded.issuer`,
				c.Key, c.Kind, c.Name, c.Issuer, boolInt(c.AllowSignUp))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkIssuerUnused refuses to change the issuer of key while members have linked identities
// with it: subjects are only unique per issuer, so another issuer's "sub" could be anyone — the
// links would silently point at people of another tenant.
func checkIssuerUnused(ctx context.Context, q db.Queryer, key string) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM member_identities WHERE provider = $1`, key).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errs.Because(errs.Conflict("issuer", "the issuer cannot change while %d members have linked accounts with this provider; add a provider with a new key instead", n), "provider_issuer_in_use", n)
	}
	return nil
}

// providerByKey returns the provider with key, usable or not.
func (s *Service) providerByKey(ctx context.Context, key string) (LoginProvider, error) {
	all, err := s.loadProviders(ctx, s.db.R)
	if err != nil {
		return LoginProvider{}, err
	}
	for _, p := range all {
		if p.Key == key {
			return p, nil
		}
	}
	return LoginProvider{}, errs.NotFound("no login provider %q", key)
}

// checkIssuer accepts an https issuer URL, or http on a loopback address (a provider on the same
// machine, as in tests).
func checkIssuer(s string) error {
	bad := errs.Because(errs.Invalid("issuer", "the issuer must be an https:// URL such as https://login.microsoftonline.com/TENANT/v2.0"), "issuer_invalid")
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return bad
	}
	if u.Scheme == "https" {
		return nil
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme == "http" && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())) {
		return nil
	}
	return bad
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
