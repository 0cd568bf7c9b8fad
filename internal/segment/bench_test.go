package segment

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"

	"github.com/kizuna-community/kizuna/internal/db/dbtest"
)

// benchSize reads the data set's size from the environment: KIZUNA_BENCH_PROFILES profiles
// (default 20,000) with ten events each on average.
func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv("KIZUNA_BENCH_PROFILES")); err == nil && n > 0 {
		return n
	}
	return 20_000
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
			if _, err := SeedBench(ctx, d, BenchData{Profiles: n, Events: 10 * n}, now, nil); err != nil {
				b.Fatal(err)
			}
			f := &fixture{d: d, now: now}
			f.s = f.service()
			seg, err := f.s.Create(ctx, accounts.System(), "bench", json.RawMessage(BenchDefinition))
			if err != nil {
				b.Fatal(err)
			}
			def, _ := Parse([]byte(BenchDefinition))
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
					ids = append(ids, BenchProfileID(i*(n/1000)))
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
