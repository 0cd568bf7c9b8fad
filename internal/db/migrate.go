package db

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are one part's schema changes: files named NNNN_what.sql under sqlite/ and postgres/
// in FS. They are forward-only; a file once released is never edited.
type Migrations struct {
	Part string // owner, e.g. "accounts"; recorded with each applied version
	FS   fs.FS
}

type migration struct {
	version int
	name    string
	sql     string
}

func (m Migrations) load(e Engine) ([]migration, error) {
	dir := string(e)
	entries, err := fs.ReadDir(m.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s migrations of %s: %w", dir, m.Part, err)
	}
	var out []migration
	for _, ent := range entries {
		if ent.IsDir() || !strings.HasSuffix(ent.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(ent.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s of %s: name must start with a positive number and _", dir, ent.Name(), m.Part)
		}
		b, err := fs.ReadFile(m.FS, path.Join(dir, ent.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: ent.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations of %s: two files with version %d", m.Part, out[i].version)
		}
	}
	return out, nil
}

// Migrate applies every migration not yet applied, part by part in the order given, each file in its
// own transaction. Several processes may call it at once: on PostgreSQL an advisory lock serialises
// them; on SQLite the single write lock does.
func (d *DB) Migrate(ctx context.Context, sets ...Migrations) (applied int, err error) {
	conn, err := d.W.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if d.Engine == Postgres {
		h := fnv.New64a()
		h.Write([]byte("kizuna migrations"))
		key := int64(h.Sum64() >> 1)
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
			return 0, fmt.Errorf("locking for migrations: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS kizuna_migrations (
		part TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL,
		PRIMARY KEY (part, version))`); err != nil {
		return 0, fmt.Errorf("creating migrations table: %w", err)
	}
	for _, set := range sets {
		ms, err := set.load(d.Engine)
		if err != nil {
			return applied, err
		}
		for _, m := range ms {
			n, err := d.applyOne(ctx, conn, set.Part, m)
			if err != nil {
				return applied, err
			}
			applied += n
		}
	}
	return applied, nil
}

func (d *DB) applyOne(ctx context.Context, conn *sql.Conn, part string, m migration) (int, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM kizuna_migrations WHERE part = $1 AND version = $2`, part, m.version).Scan(&one)
	if err == nil {
		return 0, nil
	}
	if err != sql.ErrNoRows {
		return 0, fmt.Errorf("checking migration %s/%s: %w", part, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return 0, fmt.Errorf("applying migration %s/%s/%s: %w", part, d.Engine, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO kizuna_migrations (part, version, name, applied_at) VALUES ($1, $2, $3, $4)`,
		part, m.version, m.name, time.Now().UnixMilli()); err != nil {
		return 0, fmt.Errorf("recording migration %s/%s: %w", part, m.name, err)
	}
	return 1, tx.Commit()
}
