package accounts

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
)

// APIKey is a credential for the REST API. The key itself is shown once, at creation; only its
// hash is stored, and Prefix lets people tell keys apart.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []Scope    `json:"scopes"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// apiKeyPrefix starts every key, so secret scanners and people recognise one.
const apiKeyPrefix = "kzn_"

// lastUsedEvery bounds how often using a key writes its last-used time.
const lastUsedEvery = time.Minute

func checkScopes(in []Scope) ([]Scope, error) {
	var out []Scope
	for _, s := range in {
		if !slices.Contains(Scopes, s) {
			return nil, errs.Because(errs.Invalid("scopes", "unknown scope %q; scopes are admin, read, write", s), "scope_unknown")
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errs.Because(errs.Invalid("scopes", "give at least one scope: admin, read or write"), "scopes_required")
	}
	return out, nil
}

func joinScopes(sc []Scope) string {
	s := make([]string, len(sc))
	for i, x := range sc {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}

// CreateAPIKey makes a key named name with scopes and returns the key itself (shown only now)
// and its record. Needs PermManageAPIKeys.
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, name string, scopes []Scope) (string, APIKey, error) {
	if err := Authorize(p, PermManageAPIKeys); err != nil {
		return "", APIKey{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return "", APIKey{}, errs.Because(errs.Invalid("name", "name is required, at most 100 characters"), "key_name")
	}
	scopes, err := checkScopes(scopes)
	if err != nil {
		return "", APIKey{}, err
	}
	now := s.now()
	raw := apiKeyPrefix + id.Secret(32)
	_, creator := p.actor()
	k := APIKey{ID: id.New(now), Name: name, Prefix: raw[:len(apiKeyPrefix)+6], Scopes: scopes, CreatedBy: creator, CreatedAt: now.Truncate(time.Millisecond)}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, name, prefix, key_hash, scopes, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			k.ID, k.Name, k.Prefix, hashToken(raw), joinScopes(k.Scopes), k.CreatedBy, db.Now(now)); err != nil {
			return err
		}
		return s.Audit(ctx, tx, p, "api_key.created", k.ID, map[string]any{"name": k.Name, "scopes": joinScopes(k.Scopes)})
	})
	return raw, k, err
}

var errBadKey = errs.Unauthenticated("the API key is missing, wrong or revoked")

// AuthenticateAPIKey returns the principal of a live key. Keys act with an administrator's role,
// limited by their scopes.
func (s *Service) AuthenticateAPIKey(ctx context.Context, raw string) (Principal, error) {
	if !strings.HasPrefix(raw, apiKeyPrefix) {
		return Principal{}, errBadKey
	}
	var keyID, scopes string
	var lastUsed sql.NullInt64
	err := s.db.R.QueryRowContext(ctx, `SELECT id, scopes, last_used_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
		hashToken(raw)).Scan(&keyID, &scopes, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, errBadKey
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	if !lastUsed.Valid || now.Sub(db.Time(lastUsed.Int64)) >= lastUsedEvery {
		if _, err := s.db.W.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, db.Now(now), keyID); err != nil {
			s.log.Warn("recording API key use", "key", keyID, "err", err)
		}
	}
	p := Principal{APIKeyID: keyID, Role: RoleAdmin}
	for sc := range strings.SplitSeq(scopes, ",") {
		p.Scopes = append(p.Scopes, Scope(sc))
	}
	return p, nil
}

const apiKeyCols = `id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_at`

func scanAPIKey(row scanner) (APIKey, error) {
	var k APIKey
	var scopes string
	var created int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &scopes, &k.CreatedBy, &created, &used, &revoked); err != nil {
		return k, err
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = db.Time(created), optTime(used), optTime(revoked)
	for sc := range strings.SplitSeq(scopes, ",") {
		k.Scopes = append(k.Scopes, Scope(sc))
	}
	return k, nil
}

// GetAPIKey returns the key keyID. A key may read itself; reading others needs PermManageAPIKeys.
func (s *Service) GetAPIKey(ctx context.Context, p Principal, keyID string) (APIKey, error) {
	if p.APIKeyID != keyID {
		if err := Authorize(p, PermManageAPIKeys); err != nil {
			return APIKey{}, err
		}
	}
	k, err := scanAPIKey(s.db.R.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = $1`, keyID))
	if errors.Is(err, sql.ErrNoRows) {
		return k, errs.NotFound("no API key with id %s", keyID)
	}
	return k, err
}

// ListAPIKeys returns every key, newest first, revoked ones included. Needs PermManageAPIKeys.
func (s *Service) ListAPIKeys(ctx context.Context, p Principal) ([]APIKey, error) {
	if err := Authorize(p, PermManageAPIKeys); err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := db.Time(v.Int64)
	return &t
}

// RevokeAPIKey stops a key from working at once. Revoking a revoked key changes nothing.
// Needs PermManageAPIKeys.
func (s *Service) RevokeAPIKey(ctx context.Context, p Principal, keyID string) error {
	if err := Authorize(p, PermManageAPIKeys); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM api_keys WHERE id = $1`, keyID).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("no API key with id %s", keyID)
		}
		if err != nil || revoked.Valid {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2`, db.Now(s.now()), keyID); err != nil {
			return err
		}
		return s.Audit(ctx, tx, p, "api_key.revoked", keyID, nil)
	})
}
