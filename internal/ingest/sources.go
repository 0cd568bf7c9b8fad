package ingest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Source is one sender of tracking calls (a web site, an app, a back end), identified by its
// write key. The key itself is shown once, at creation; only its hash is stored, and KeyPrefix
// lets people tell keys apart.
type Source struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	KeyPrefix string     `json:"key_prefix"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// KeyCacheTTL is how long Authenticate trusts a valid write key without asking the database.
// Revoking a key takes effect at once in the process that revokes it and within KeyCacheTTL in
// every other process.
const KeyCacheTTL = 30 * time.Second

// keyCacheMax bounds the key cache; past it, expired entries are swept on insert.
const keyCacheMax = 10_000

// keyPrefixLen is how much of a write key is stored in the clear to tell keys apart.
const keyPrefixLen = 6

var errBadKey = errs.Unauthenticated("the write key is missing, wrong or revoked")

type cachedKey struct {
	src   Source
	until time.Time
}

// Sources manages the tracking API's sources and authenticates their write keys.
type Sources struct {
	db  *db.DB
	now func() time.Time

	mu    sync.Mutex
	cache map[string]cachedKey // by key hash; valid keys only
}

// NewSources returns the sources stored in d; now is time.Now when nil.
func NewSources(d *db.DB, now func() time.Time) *Sources {
	if now == nil {
		now = time.Now
	}
	return &Sources{db: d, now: now, cache: map[string]cachedKey{}}
}

func hashKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// Create makes a source named name and returns its write key (shown only now) and its record.
// Needs accounts.PermManageSettings.
func (s *Sources) Create(ctx context.Context, p accounts.Principal, name string) (string, Source, error) {
	if err := accounts.Authorize(p, accounts.PermManageSettings); err != nil {
		return "", Source{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return "", Source{}, errs.Invalid("name", "name is required, at most 100 characters")
	}
	now := s.now()
	raw := id.Secret(24)
	src := Source{ID: id.New(now), Name: name, KeyPrefix: raw[:keyPrefixLen], CreatedBy: p.Actor(), CreatedAt: now.UTC().Truncate(time.Millisecond)}
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO sources (id, name, write_key_hash, key_prefix, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		src.ID, src.Name, hashKey(raw), src.KeyPrefix, src.CreatedBy, db.Now(now))
	if err != nil {
		return "", Source{}, err
	}
	return raw, src, nil
}

const sourceCols = `id, name, key_prefix, created_by, created_at, revoked_at`

type scanner interface{ Scan(...any) error }

func scanSource(row scanner) (Source, error) {
	var src Source
	var created int64
	var revoked sql.NullInt64
	if err := row.Scan(&src.ID, &src.Name, &src.KeyPrefix, &src.CreatedBy, &created, &revoked); err != nil {
		return src, err
	}
	src.CreatedAt = db.Time(created)
	if revoked.Valid {
		t := db.Time(revoked.Int64)
		src.RevokedAt = &t
	}
	return src, nil
}

// List returns every source, newest first, revoked ones included. Needs
// accounts.PermManageSettings.
func (s *Sources) List(ctx context.Context, p accounts.Principal) ([]Source, error) {
	if err := accounts.Authorize(p, accounts.PermManageSettings); err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+sourceCols+` FROM sources ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		src, err := scanSource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, src)
	}
	return out, rows.Err()
}

// Revoke stops a source's write key from working: at once in this process, within KeyCacheTTL in
// others. Revoking a revoked source changes nothing. Needs accounts.PermManageSettings.
func (s *Sources) Revoke(ctx context.Context, p accounts.Principal, sourceID string) error {
	if err := accounts.Authorize(p, accounts.PermManageSettings); err != nil {
		return err
	}
	res, err := s.db.W.ExecContext(ctx, `UPDATE sources SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, db.Now(s.now()), sourceID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errs.NotFound("no source with id %s", sourceID)
	}
	s.mu.Lock()
	for h, c := range s.cache {
		if c.src.ID == sourceID {
			delete(s.cache, h)
		}
	}
	s.mu.Unlock()
	return nil
}

// Authenticate returns the live source whose write key is raw, or an unauthenticated error. Valid
// keys are remembered for KeyCacheTTL, so the hot path stays off the database; wrong keys are not
// remembered.
func (s *Sources) Authenticate(ctx context.Context, raw string) (Source, error) {
	if raw == "" || len(raw) > 200 {
		return Source{}, errBadKey
	}
	h := hashKey(raw)
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[h]
	s.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.src, nil
	}
	src, err := scanSource(s.db.R.QueryRowContext(ctx, `SELECT `+sourceCols+` FROM sources WHERE write_key_hash = $1 AND revoked_at IS NULL`, h))
	if errors.Is(err, sql.ErrNoRows) {
		s.mu.Lock()
		delete(s.cache, h)
		s.mu.Unlock()
		return Source{}, errBadKey
	}
	if err != nil {
		return Source{}, err
	}
	s.mu.Lock()
	if len(s.cache) >= keyCacheMax {
		for k, v := range s.cache {
			if !now.Before(v.until) {
				delete(s.cache, k)
			}
		}
	}
	s.cache[h] = cachedKey{src: src, until: now.Add(KeyCacheTTL)}
	s.mu.Unlock()
	return src, nil
}
