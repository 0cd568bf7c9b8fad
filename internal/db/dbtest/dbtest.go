// Package dbtest gives tests real databases: a fresh SQLite file always, and a fresh PostgreSQL
// schema when KIZUNA_TEST_DATABASE_URL is set, so one storage suite runs on both engines.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/id"
)

// EnvPostgres names the environment variable holding the test PostgreSQL URL.
const EnvPostgres = "KIZUNA_TEST_DATABASE_URL"

// Engines lists the engines this test run covers: SQLite always, PostgreSQL when configured.
func Engines() []db.Engine {
	if os.Getenv(EnvPostgres) != "" {
		return []db.Engine{db.SQLite, db.Postgres}
	}
	return []db.Engine{db.SQLite}
}

// Each runs fn as a subtest once per engine.
func Each(t *testing.T, fn func(t *testing.T, e db.Engine)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(string(e), func(t *testing.T) { fn(t, e) })
	}
}

// URL returns a database location for engine e that is fresh for this test: a SQLite file path in
// a temporary directory, or a PostgreSQL URL whose search_path is a new schema dropped at cleanup.
func URL(t testing.TB, e db.Engine) string {
	t.Helper()
	if e == db.SQLite {
		return filepath.Join(t.TempDir(), "kizuna.db")
	}
	return PostgresURL(t)
}

// PostgresURL creates a fresh schema in the test PostgreSQL and returns a URL that uses it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(EnvPostgres + " is not set")
	}
	schema := "t_" + strings.ToLower(id.Secret(8))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("creating test schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens a fresh database of engine e, applies sets and closes it at cleanup.
func Open(t testing.TB, e db.Engine, sets ...db.Migrations) *db.DB {
	t.Helper()
	ctx := context.Background()
	var d *db.DB
	var err error
	if e == db.SQLite {
		d, err = db.OpenSQLite(ctx, URL(t, e))
	} else {
		d, err = db.OpenPostgres(ctx, URL(t, e))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, sets...); err != nil {
		t.Fatal(fmt.Errorf("migrating: %w", err))
	}
	return d
}
