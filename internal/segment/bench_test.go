package segment

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
)

// benchDefinition is a five-condition segment of the kind the issue measures.
const benchDefinition = `{"all":[{"trait":"plan","op":"eq","value":"pro"},
	{"event":"Post Created","where":[{"property":"space","op":"eq","value":"support"}],"count":{"op":"gte","value":2},"within_last":"P30D"},
	{"computed":"last_seen","op":"within_last","value":"P7D"},
	{"not":{"consent":{"channel":"email","purpose":"marketing","status":"opted_out"}}},
	{"open_tickets":{"op":"lt","value":3}}]}`

// benchSize reads the data set's size from the environment: KIZUNA_BENCH_PROFILES profiles
// (default 20,000) with ten events each.
func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv("KIZUNA_BENCH_PROFILES")); err == nil && n > 0 {
		return n
	}
	return 20_000
}

// seedBench writes n profiles (one in twenty merged into another), with traits, ten events
// each, their counters, tickets and consents, straight into the tables.
func seedBench(b *testing.B, d *db.DB, n int, now time.Time) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	type table struct {
		q    string
		cols int
		rows []any
	}
	tables := []*table{
		{q: `INSERT INTO identity_profiles (id, created_at, merged_into) VALUES `, cols: 3},
		{q: `INSERT INTO profile_traits (profile_id, name, value, source, updated_at) VALUES `, cols: 5},
		{q: `INSERT INTO profile_events (message_id, profile_id, type, name, source, at, properties) VALUES `, cols: 7},
		{q: `INSERT INTO profile_counts (profile_id, key, count, first_at, last_at) VALUES `, cols: 5},
		{q: `INSERT INTO crm_tickets (id, external_id, profile_id, subject, status, priority, opened_at, updated_at) VALUES `, cols: 8},
		{q: `INSERT INTO consent_records (id, profile_id, channel, purpose, status, recorded_at, source, recorded_by, created_at) VALUES `, cols: 9},
	}
	flush := func(t *table, all bool) {
		per := 500
		for len(t.rows) >= per*t.cols || (all && len(t.rows) > 0) {
			k := min(len(t.rows)/t.cols, per)
			if err := d.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, t.q+d.Engine.Values(k, t.cols), t.rows[:k*t.cols]...)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			t.rows = t.rows[k*t.cols:]
		}
	}
	plans := []string{`"pro"`, `"free"`, `"enterprise"`}
	for i := range n {
		pid := fmt.Sprintf("p%08d", i)
		var merged any
		if i > 0 && i%20 == 0 {
			merged = fmt.Sprintf("p%08d", i-1)
		}
		tables[0].rows = append(tables[0].rows, pid, 0, merged)
		tables[1].rows = append(tables[1].rows, pid, "plan", plans[r.IntN(3)], "bench", 1)
		first, last := int64(1<<62), int64(0)
		for k := range 10 {
			at := db.Now(now.Add(-time.Duration(r.IntN(60*24)) * time.Hour))
			first, last = min(first, at), max(last, at)
			space := []string{"support", "ideas", "general"}[r.IntN(3)]
			tables[2].rows = append(tables[2].rows, fmt.Sprintf("%s-%d", pid, k), pid, "track", []string{"Post Created", "Page Viewed"}[r.IntN(2)],
				"community", at, `{"space":"`+space+`"}`)
		}
		tables[3].rows = append(tables[3].rows, pid, "source:community", 10, first, last)
		if r.IntN(4) == 0 {
			tables[4].rows = append(tables[4].rows, "t"+pid, "xt"+pid, pid, "help", "open", "normal", 0, 0)
		}
		if r.IntN(3) == 0 {
			tables[5].rows = append(tables[5].rows, "c"+pid, pid, "email", "marketing", []string{"opted_in", "opted_out"}[r.IntN(2)], 1, "bench", "system", 0)
		}
		for _, t := range tables {
			flush(t, false)
		}
	}
	for _, t := range tables {
		flush(t, true)
	}
	if d.Engine == db.Postgres {
		if _, err := d.W.Exec(`ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate times the two evaluators of a five-condition segment over
// KIZUNA_BENCH_PROFILES profiles with ten events each: full is one run of the compiled SQL,
// incremental one Reevaluate of a single profile (its transaction included).
func BenchmarkEvaluate(b *testing.B) {
	for _, e := range dbtest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			ctx := context.Background()
			d := openAll(b, e)
			now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
			n := benchSize()
			seedBench(b, d, n, now)
			f := &fixture{d: d, now: now}
			f.s = f.service()
			seg, err := f.s.Create(ctx, accounts.System(), "bench", json.RawMessage(benchDefinition))
			if err != nil {
				b.Fatal(err)
			}
			def, _ := Parse([]byte(benchDefinition))
			q, err := Compile(e, def, now)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("full", func(b *testing.B) {
				for b.Loop() {
					var got map[string]bool
					if err := d.Tx(ctx, func(tx *sql.Tx) (err error) {
						got, err = Members(ctx, tx, e, q)
						return err
					}); err != nil {
						b.Fatal(err)
					}
					if int64(len(got)) != seg.Count {
						b.Fatalf("%d members, stored %d", len(got), seg.Count)
					}
				}
				b.ReportMetric(float64(n), "profiles")
			})
			b.Run("incremental", func(b *testing.B) {
				ids := []string{}
				for i := range 1000 {
					ids = append(ids, fmt.Sprintf("p%08d", i*(n/1000)))
				}
				i := 0
				for b.Loop() {
					if err := f.s.Reevaluate(ctx, ids[i%len(ids):i%len(ids)+1]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}
