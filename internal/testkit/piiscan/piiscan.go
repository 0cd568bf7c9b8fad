// Package piiscan looks for a person's data in every table of a database, for tests that prove
// an erasure left nothing behind: it lists the tables from the schema (SQLite's sqlite_master,
// PostgreSQL's information_schema), and searches every column that can hold text or bytes for
// each value, ignoring letter case, in its plain form and as JSON writes it with \u escapes.
// Only tests import it.
package piiscan

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/db"
)

// Finding is a value found in a table.
type Finding struct {
	Table  string
	Column string
	Value  string // the value searched for
	Rows   int    // how many rows hold it
	Sample string // the start of one such cell
}

func (f Finding) String() string {
	return fmt.Sprintf("%s.%s holds %q in %d rows, e.g. %q", f.Table, f.Column, f.Value, f.Rows, f.Sample)
}

// Column is one column of a table that can hold text.
type Column struct {
	Table, Name string
	Bytes       bool // a PostgreSQL bytea column, searched byte for byte
}

// Columns lists every column of d that can hold text or bytes: on SQLite every column of every
// table (SQLite stores text in any column whatever its declared type), virtual tables included;
// on PostgreSQL every text, character, JSON, byte array and array column of the schema the
// connection uses.
func Columns(ctx context.Context, d *db.DB) ([]Column, error) {
	var out []Column
	if d.Engine == db.SQLite {
		rows, err := d.R.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
		if err != nil {
			return nil, err
		}
		var tables []string
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return nil, err
			}
			tables = append(tables, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, t := range tables {
			rows, err := d.R.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, t)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var c string
				if err := rows.Scan(&c); err != nil {
					rows.Close()
					return nil, err
				}
				out = append(out, Column{Table: t, Name: c})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	rows, err := d.R.QueryContext(ctx, `SELECT c.table_name, c.column_name, c.data_type = 'bytea' FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
		AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'ARRAY', 'USER-DEFINED')
		ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c Column
		if err := rows.Scan(&c.Table, &c.Name, &c.Bytes); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// forms are the spellings of v to look for: as it is, and as JSON escapes it when it is not
// plain ASCII (some encoders write \u30bf for タ).
func forms(v string) []string {
	out := []string{v}
	ascii := true
	for _, r := range v {
		if r >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii {
		var b strings.Builder
		for _, r := range v {
			if r < utf8.RuneSelf {
				b.WriteRune(r)
				continue
			}
			if r > 0xFFFF {
				r1, r2 := surrogates(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
				continue
			}
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		out = append(out, b.String())
	}
	// JSON escapes < > & as \u003c … by default in Go; an address never has them, a name might.
	if js, err := json.Marshal(v); err == nil {
		if s := strings.Trim(string(js), `"`); s != v && s != out[len(out)-1] {
			out = append(out, s)
		}
	}
	return out
}

func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF
}

// Scan looks for every value in every text column of d and returns where it found them.
// Values shorter than 4 characters are refused (they would match by chance).
func Scan(ctx context.Context, d *db.DB, values ...string) ([]Finding, error) {
	for _, v := range values {
		if utf8.RuneCountInString(v) < 4 {
			return nil, fmt.Errorf("piiscan: %q is too short to look for", v)
		}
	}
	cols, err := Columns(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("listing columns: %w", err)
	}
	var out []Finding
	for _, c := range cols {
		for _, v := range values {
			for _, form := range forms(v) {
				f, err := find(ctx, d, c, form)
				if err != nil {
					return nil, err
				}
				if f.Rows > 0 {
					f.Value = v
					out = append(out, f)
					break
				}
			}
		}
	}
	return out, nil
}

// find counts the rows of c that hold v, in any letter case.
func find(ctx context.Context, d *db.DB, c Column, v string) (Finding, error) {
	f := Finding{Table: c.Table, Column: c.Name}
	var expr string
	switch {
	case d.Engine == db.SQLite:
		expr = fmt.Sprintf(`instr(lower(CAST(%q AS TEXT)), lower($1)) > 0`, c.Name)
	case c.Bytes:
		expr = fmt.Sprintf(`position(convert_to($1, 'UTF8') in %s) > 0`, pgIdent(c.Name))
	default:
		expr = fmt.Sprintf(`strpos(lower(%s::text), lower($1)) > 0`, pgIdent(c.Name))
	}
	table := fmt.Sprintf("%q", c.Table)
	if d.Engine == db.Postgres {
		table = pgIdent(c.Table)
	}
	var sample sql.NullString
	shown := fmt.Sprintf(`substr(CAST(%s AS TEXT), 1, 200)`, colRef(d, c.Name))
	if d.Engine == db.Postgres {
		shown = fmt.Sprintf(`substr(%s::text, 1, 200)`, colRef(d, c.Name))
	}
	err := d.R.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*), max(%s) FROM %s WHERE %s`, shown, table, expr), v).Scan(&f.Rows, &sample)
	if err != nil {
		return f, fmt.Errorf("scanning %s.%s: %w", c.Table, c.Name, err)
	}
	f.Sample = sample.String
	return f, nil
}

func colRef(d *db.DB, name string) string {
	if d.Engine == db.Postgres {
		return pgIdent(name)
	}
	return fmt.Sprintf("%q", name)
}

func pgIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Check fails t when any of values is found in any table of any of dbs (the main database and
// the event log database, say), listing every place.
func Check(t testing.TB, dbs []*db.DB, values ...string) {
	t.Helper()
	var found []string
	for _, d := range dbs {
		fs, err := Scan(context.Background(), d, values...)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			found = append(found, f.String())
		}
	}
	if len(found) > 0 {
		t.Fatalf("personal data left after erasure:\n  %s", strings.Join(found, "\n  "))
	}
}

// Tables lists the tables Columns covers, for a test to assert that the scan saw the tables it
// expects.
func Tables(ctx context.Context, d *db.DB) ([]string, error) {
	cols, err := Columns(ctx, d)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cols {
		if len(out) == 0 || out[len(out)-1] != c.Table {
			out = append(out, c.Table)
		}
	}
	return out, nil
}
