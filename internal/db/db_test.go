package db_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
)

func testMigrations() db.Migrations {
	ddl := "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at BIGINT NOT NULL);"
	return db.Migrations{Part: "test", FS: fstest.MapFS{
		"sqlite/0001_notes.sql":   {Data: []byte(ddl)},
		"postgres/0001_notes.sql": {Data: []byte(ddl)},
		"sqlite/0002_index.sql":   {Data: []byte("CREATE INDEX notes_created ON notes (created_at);")},
		"postgres/0002_index.sql": {Data: []byte("CREATE INDEX notes_created ON notes (created_at);")},
	}}
}

func TestMigrateIsIdempotent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		d := dbtest.Open(t, e, testMigrations())
		n, err := d.Migrate(context.Background(), testMigrations())
		if err != nil || n != 0 {
			t.Fatalf("second migrate applied %d, err %v", n, err)
		}
	})
}

func TestTxCommitsOrRollsBack(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		d := dbtest.Open(t, e, testMigrations())
		boom := errors.New("boom")
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO notes VALUES ($1, $2, $3)`, "a", "日本語", 1); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO notes VALUES ($1, $2, $3)`, "b", "日本語", 2)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var ids []string
		rows, err := d.R.QueryContext(ctx, `SELECT id FROM notes WHERE body = $1 ORDER BY id`, "日本語")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			ids = append(ids, s)
		}
		if len(ids) != 1 || ids[0] != "b" {
			t.Fatalf("rows = %v, want [b]", ids)
		}
	})
}

func TestBadMigrationNamesTheFile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		d := dbtest.Open(t, e)
		bad := db.Migrations{Part: "bad", FS: fstest.MapFS{string(e) + "/0001_broken.sql": {Data: []byte("CREATE TABLEX nope;")}}}
		_, err := d.Migrate(context.Background(), bad)
		if err == nil || !strings.Contains(err.Error(), "0001_broken.sql") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestInList(t *testing.T) {
	in, args := db.InList([]string{"a", "b", "c"}, 3)
	if in != "IN ($3, $4, $5)" || len(args) != 3 || args[0] != "a" || args[2] != "c" {
		t.Fatalf("InList(a b c, 3) = %q %v", in, args)
	}
	// Both engines run it beside arguments numbered before it.
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		d := dbtest.Open(t, e, testMigrations())
		for _, id := range []string{"a", "b", "c", "d"} {
			if _, err := d.W.Exec(`INSERT INTO notes (id, body, created_at) VALUES ($1, 'x', 1)`, id); err != nil {
				t.Fatal(err)
			}
		}
		in, args := db.InList([]string{"b", "d", "z"}, 2)
		var n int
		if err := d.R.QueryRow(`SELECT COUNT(*) FROM notes WHERE created_at = $1 AND id `+in, append([]any{1}, args...)...).Scan(&n); err != nil || n != 2 {
			t.Fatalf("count %d, %v", n, err)
		}
	})
}
