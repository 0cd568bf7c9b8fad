package imports_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/imports"
)

// benchRows is how many rows each benchmark import has: KIZUNA_IMPORT_BENCH_ROWS, default 20,000.
// The target is 1,000,000 rows in under 2 minutes on SQLite, e.g.
//
//	KIZUNA_IMPORT_BENCH_ROWS=200000 go test -run '^$' -bench Import -benchtime 1x ./internal/imports/
func benchRows(b *testing.B) int {
	n, err := strconv.Atoi(os.Getenv("KIZUNA_IMPORT_BENCH_ROWS"))
	if err != nil || n <= 0 {
		return 20_000
	}
	return n
}

// benchFile writes a CSV of n rows made by line to a temporary file.
func benchFile(b *testing.B, header string, n int, line func(w *bufio.Writer, i int)) string {
	b.Helper()
	name := filepath.Join(b.TempDir(), "bench.csv")
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(header + "\n")
	for i := range n {
		line(w, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return name
}

func benchImport(b *testing.B, kind, file string, n int) {
	for _, e := range dbtest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				env := setup(b, e)
				f, err := os.Open(file)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start, cpu0 := time.Now(), cpuTime()
				rep, err := env.im.Run(context.Background(), accounts.System(), imports.Input{Kind: kind, FileName: "bench.csv", Body: f})
				took, cpu := time.Since(start), cpuTime()-cpu0
				f.Close()
				if err != nil || rep.AppliedRows != n {
					b.Fatalf("import: %v (first errors %+v)", err, rep.Errors[:min(3, len(rep.Errors))])
				}
				rate := float64(n) / took.Seconds()
				b.ReportMetric(rate, "rows/s")
				// The machine is shared: the process's CPU time shows what the import costs when the
				// cores are not busy with other work.
				b.Logf("%s %s: %d rows in %s = %.0f rows/s (process CPU %s, load average %s); 1,000,000 rows would take %s", e, kind, n,
					took.Round(time.Millisecond), rate, cpu.Round(time.Millisecond), loadAverage(), (time.Duration(float64(time.Second) * 1e6 / rate)).Round(time.Second))
			}
		})
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the 1-minute load average, where /proc tells it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func BenchmarkImportContacts(b *testing.B) {
	n := benchRows(b)
	file := benchFile(b, "メールアドレス,氏名,電話番号,誕生日,保有ポイント,プラン", n, func(w *bufio.Writer, i int) {
		fmt.Fprintf(w, "user%d@kizunashop.jp,会員 %d,090%08d,令和%d年%d月%d日,\"１２,%03d\",gold\n", i, i, i, 2+i%6, 1+i%12, 1+i%28, i%1000)
	})
	benchImport(b, "contacts", file, n)
}

func BenchmarkImportPurchases(b *testing.B) {
	n := benchRows(b)
	file := benchFile(b, "注文番号,メールアドレス,金額,購入日,商品名", n, func(w *bufio.Writer, i int) {
		fmt.Fprintf(w, "O-%d,user%d@kizunashop.jp,\"¥%d,%03d\",2025/%02d/%02d,商品 %d\n", i, i%(n/3+1), 1+i%50, i%1000, 1+i%12, 1+i%28, i%100)
	})
	benchImport(b, "purchases", file, n)
}
