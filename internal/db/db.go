// Package db opens Kizuna's databases (the embedded SQLite or PostgreSQL), applies each part's
// embedded migrations and runs transactions. Queries are written once with $1-style placeholders,
// which both engines accept; times are stored as BIGINT Unix milliseconds on both.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Engine names a database engine.
type Engine string

// The two engines. Every part passes the same storage tests on both.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// DB is one database with separate handles for writing and reading. On SQLite the writer is a
// single connection (SQLite allows one writer at a time; queuing in Go beats spinning on
// SQLITE_BUSY) and readers are a pool of read-only connections. On PostgreSQL both are one pool.
type DB struct {
	Engine Engine
	W      *sql.DB // for writes and transactions
	R      *sql.DB // for reads that need not see the caller's own uncommitted writes
	path   string
	stmts  sync.Map // query → *sql.Stmt prepared on W, see Prepare
}

// OpenSQLite opens (creating if needed) the SQLite file at path in WAL mode. Its writer copies the
// WAL back into the database every 1,000 pages (4 MB): each checkpoint holds the one write lock
// for a few milliseconds only, so writes that wait for it (a tracking call's acknowledgement)
// are not held up for long.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	return openSQLite(ctx, path, 1000)
}

// OpenSQLiteLog opens an append-only log database like OpenSQLite, checkpointing every 20,000
// pages: nothing but the log's own writer waits for its lock, and larger checkpoints cost less
// per row.
func OpenSQLiteLog(ctx context.Context, path string) (*DB, error) {
	return openSQLite(ctx, path, 20_000)
}

func openSQLite(ctx context.Context, path string, checkpointPages int) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	// busy_timeout comes first so that the pragmas after it wait for another process's lock.
	// _txlock=immediate takes the write lock at BEGIN, so a transaction never fails half-way
	// upgrading from a read lock while the CLI and a server write at once.
	base := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)" +
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", checkpointPages)
	w, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening %s for reading: %w", path, err)
	}
	n := max(4, runtime.NumCPU()*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &DB{Engine: SQLite, W: w, R: r, path: path}, nil
}

// OpenPostgres connects to the PostgreSQL database at url.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	// pgx prepares every statement it runs, and after five runs PostgreSQL may switch a prepared
	// statement to a generic plan made without the values, judged on the table as it was then: a
	// table that was small when a part started to fill it gets scanned whole for ever after. Kizuna's
	// statements are cheap to plan, so each run gets a plan for its own values.
	if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	p := stdlib.OpenDB(*cfg)
	p.SetMaxOpenConns(max(8, runtime.NumCPU()*4))
	p.SetMaxIdleConns(max(8, runtime.NumCPU()*4))
	p.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.PingContext(pingCtx); err != nil {
		p.Close()
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	return &DB{Engine: Postgres, W: p, R: p}, nil
}

// Close closes both handles.
func (d *DB) Close() error {
	if d.R != d.W {
		return errors.Join(d.R.Close(), d.W.Close())
	}
	return d.W.Close()
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.R.PingContext(ctx) }

// Tx runs fn in a transaction on the writer, committing if fn returns nil and rolling back
// otherwise (also when fn panics).
func (d *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// Prepare prepares statements on the writer once, for hot paths that run the same long statement
// many times (a full chunk of a multi-row insert), where parsing it would cost more than running
// it. Call it outside any transaction: on SQLite a transaction holds the one writer connection.
func (d *DB) Prepare(ctx context.Context, queries ...string) error {
	for _, q := range queries {
		if _, ok := d.stmts.Load(q); ok {
			continue
		}
		st, err := d.W.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("preparing %.60q: %w", q, err)
		}
		if _, loaded := d.stmts.LoadOrStore(q, st); loaded {
			st.Close()
		}
	}
	return nil
}

// Exec runs q in tx, through its prepared statement when Prepare made one.
func (d *DB) Exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st, ok := d.stmts.Load(q); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt)).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// Query runs q in tx, through its prepared statement when Prepare made one.
func (d *DB) Query(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if st, ok := d.stmts.Load(q); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt)).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

// Now is the time stored in *_at columns: Unix milliseconds.
func Now(t time.Time) int64 { return t.UnixMilli() }

// Time turns a stored *_at value back into a time, or the zero time for 0.
func Time(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Values returns the VALUES list of a multi-row INSERT: rows groups of cols placeholders, numbered
// from 1. SQLite gets plain ? placeholders, because it resolves $N names by a linear search per
// parameter, which makes statements with thousands of parameters quadratic.
func (e Engine) Values(rows, cols int) string {
	var b strings.Builder
	b.Grow(rows * cols * 5)
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			n++
			if e == SQLite {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// In returns the condition "is one of n values" for a column, written to stay fast when
// prepared: on PostgreSQL "= ANY($first)" with the values as one array argument, because the
// generic plan PostgreSQL makes for a prepared list of values may scan instead of looking each up;
// on SQLite "IN (?, …)". InArgs gives the matching arguments.
func (e Engine) In(n, first int) string {
	if e == Postgres {
		return "= ANY($" + strconv.Itoa(first) + ")"
	}
	return "IN " + e.Values(1, n)
}

// InArgs returns the arguments of In for values.
func (e Engine) InArgs(values []string) []any {
	if e == Postgres {
		return []any{values}
	}
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return args
}

// TrimPage cuts a list read with LIMIT limit+1 back to limit and returns the key of its last item,
// to continue after, or "" when there are no more: the one way lists are paged.
func TrimPage[T any](out []T, limit int, key func(T) string) ([]T, string) {
	if len(out) <= limit {
		return out, ""
	}
	return out[:limit], key(out[limit-1])
}

// Queryer is a transaction or a database handle: reads that may run inside a caller's
// transaction or outside one.
type Queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Bool is how a flag is stored on both engines: 1 or 0.
func Bool(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Limit is a page size asked for: def when n is not positive, at most max.
func Limit(n, def, max int) int {
	if n <= 0 {
		return def
	}
	return min(n, max)
}

// Replace rewrites every occurrence of old in column of table to new, inside tx: erasure uses it
// to put a tombstone id in place of an erased person's id inside JSON and text that other
// records keep (an event's properties, an audit entry's details). table and column are names
// from the calling part's code, never from input. It scans the table, so it is for rare
// operations only.
func Replace(ctx context.Context, tx *sql.Tx, table, column, old, new string) error {
	if old == "" || old == new {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+column+` = REPLACE(`+column+`, $1, $2) WHERE `+column+` LIKE $3 ESCAPE '\'`,
		old, new, "%"+likeEscaper.Replace(old)+"%")
	if err != nil {
		return fmt.Errorf("replacing in %s.%s: %w", table, column, err)
	}
	return nil
}

// ReplaceJSON is Replace for a column that PostgreSQL stores as JSONB (SQLite as text): the
// value is rewritten as text and read back as JSON.
func ReplaceJSON(ctx context.Context, tx *sql.Tx, e Engine, table, column, old, new string) error {
	if e != Postgres {
		return Replace(ctx, tx, table, column, old, new)
	}
	if old == "" || old == new {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+column+` = REPLACE(`+column+`::text, $1, $2)::jsonb WHERE `+column+`::text LIKE $3 ESCAPE '\'`,
		old, new, "%"+likeEscaper.Replace(old)+"%")
	if err != nil {
		return fmt.Errorf("replacing in %s.%s: %w", table, column, err)
	}
	return nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// InList returns "IN ($first, …)" over values with its arguments, numbered placeholders that
// both engines accept, so a query can number its own arguments after them. values must not be
// empty.
func InList(values []string, first int) (string, []any) {
	args := make([]any, len(values))
	ph := make([]string, len(values))
	for i, v := range values {
		args[i] = v
		ph[i] = "$" + strconv.Itoa(first+i)
	}
	return "IN (" + strings.Join(ph, ", ") + ")", args
}
