package ingest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
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

	mu      sync.Mutex
	cache   map[string]cachedKey    // by key hash; valid keys only
	builtin map[string]builtinCache // by built-in source name
}

// NewSources returns the sources stored in d; now is time.Now when nil.
func NewSources(d *db.DB, now func() time.Time) *Sources {
	if now == nil {
		now = time.Now
	}
	return &Sources{db: d, now: now, cache: map[string]cachedKey{}, builtin: map[string]builtinCache{}}
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
	clear(s.builtin) // a revoked built-in source is replaced on its next use
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

// builtinCache remembers a built-in source's key for KeyCacheTTL, so pages that carry it stay off
// the database.
type builtinCache struct {
	key   string
	until time.Time
}

// errBuiltinRace rolls back a built-in source that another process made first.
var errBuiltinRace = errors.New("another process made the built-in source first")

// Builtin returns the write key of the built-in source name, such as the community website's own
// tracker, creating the source on first use. Kizuna puts this key in public pages, so, unlike other
// sources', it is kept readable (in builtin_sources; see its migration). It needs no principal: the
// key is public. A built-in source that staff revoked at /admin/sources is replaced by a new one
// with a new key, within KeyCacheTTL in other processes. Concurrent first calls agree on one
// source.
func (s *Sources) Builtin(ctx context.Context, name string) (string, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.builtin[name]
	s.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.key, nil
	}
	for range 3 {
		key, stale, err := s.readBuiltin(ctx, name)
		if err != nil {
			return "", err
		}
		if key == "" {
			key, err = s.makeBuiltin(ctx, name, stale)
		}
		if errors.Is(err, errBuiltinRace) {
			continue
		}
		if err != nil {
			return "", err
		}
		s.mu.Lock()
		s.builtin[name] = builtinCache{key: key, until: now.Add(KeyCacheTTL)}
		s.mu.Unlock()
		return key, nil
	}
	return "", fmt.Errorf("making built-in source %q: lost the race three times", name)
}

// readBuiltin returns the live key of built-in source name, or "" and the id of its revoked source
// ("" when there is none yet).
func (s *Sources) readBuiltin(ctx context.Context, name string) (key, stale string, err error) {
	var sourceID string
	var revoked sql.NullInt64
	err = s.db.W.QueryRowContext(ctx, `SELECT b.write_key, b.source_id, s.revoked_at FROM builtin_sources b
		JOIN sources s ON s.id = b.source_id WHERE b.name = $1`, name).Scan(&key, &sourceID, &revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", nil
	case err != nil:
		return "", "", fmt.Errorf("reading built-in source %q: %w", name, err)
	case revoked.Valid:
		return "", sourceID, nil
	}
	return key, "", nil
}

// makeBuiltin creates the source of built-in name, replacing the revoked source stale when it is
// not "". It returns errBuiltinRace when another process got there first.
func (s *Sources) makeBuiltin(ctx context.Context, name, stale string) (string, error) {
	now := s.now()
	raw := id.Secret(24)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sources (id, name, write_key_hash, key_prefix, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			id.New(now), name, hashKey(raw), raw[:keyPrefixLen], "kizuna:system", db.Now(now)); err != nil {
			return fmt.Errorf("creating built-in source %q: %w", name, err)
		}
		var srcID string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM sources WHERE write_key_hash = $1`, hashKey(raw)).Scan(&srcID); err != nil {
			return err
		}
		var res sql.Result
		var err error
		if stale == "" {
			res, err = tx.ExecContext(ctx, `INSERT INTO builtin_sources (name, source_id, write_key) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
				name, srcID, raw)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE builtin_sources SET source_id = $1, write_key = $2 WHERE name = $3 AND source_id = $4`,
				srcID, raw, name, stale)
		}
		if err != nil {
			return fmt.Errorf("recording built-in source %q: %w", name, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errBuiltinRace
		}
		return nil
	})
	return raw, err
}
