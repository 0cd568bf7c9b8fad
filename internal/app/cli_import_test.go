package app

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
)

func TestImportCommand(t *testing.T) {
	env := testEnv(t, db.SQLite)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("orders.csv", "注文番号,メールアドレス,金額,購入日\n"+
		"O-1,a@kizunashop.jp,100,2025-01-02\n"+
		"O-2,b@kizunashop.jp,100,令和7年2月30日\n"+
		"O-3,c@kizunashop.jp,abc,2025-01-02\n")
	code, out, errOut := run(t, env, "import", "--kind", "purchases", "--file", bad)
	if code != 1 || !strings.Contains(errOut, bad+":3: purchased_at: 「令和7年2月30日」") || !strings.Contains(errOut, bad+":4: amount: ") ||
		!strings.Contains(errOut, "2 of 3 rows have errors; nothing was imported") {
		t.Fatalf("bad file = %d\n%s\n%s", code, out, errOut)
	}

	// Headers named by a mapping file; a progress bar for a long file (over 1 MiB).
	var b strings.Builder
	b.WriteString("No,Mail,Kingaku,Hi\n")
	for i := 0; b.Len() < 1<<20+1000; i++ {
		fmt.Fprintf(&b, "P-%d,user%d@kizunashop.jp,\"１,%03d円\",令和7年1月2日\n", i, i%500, i%1000)
	}
	rows := strings.Count(b.String(), "\n") - 1
	good := write("long.csv", b.String())
	mapping := write("mapping.json", `{"No":"external_id","Mail":"email","Kingaku":"amount","Hi":"purchased_at"}`)
	code, out, errOut = run(t, env, "import", "--kind", "purchases", "--file", good, "--mapping", mapping)
	want := fmt.Sprintf("imported %d purchases rows from %s (utf-8)", rows, good)
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(errOut, fmt.Sprintf("] 100%% %d/%d rows", rows, rows)) {
		t.Fatalf("long file = %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, env, "import", "--kind", "purchases", "--file", good, "--mapping", mapping, "--dry-run")
	if code != 0 || !strings.Contains(out, "is valid") {
		t.Fatalf("dry run = %d %s", code, out)
	}
	if code, _, errOut := run(t, env, "import", "--file", good); code != 1 || !strings.Contains(errOut, "--kind:") {
		t.Fatalf("no kind = %d %s", code, errOut)
	}
}

func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bar := newProgressBar(&out, func() time.Time { return now })
	bar.update(1000, 0)
	now = now.Add(100 * time.Millisecond)
	bar.update(2000, 0) // too soon: not drawn
	now = now.Add(12 * time.Second)
	bar.update(450000, 1000000)
	bar.update(1000000, 1000000) // the end is always drawn
	bar.finish()
	want := "\rchecking: 1000 rows read  0s   " +
		"\r[#############                 ]  45% 450000/1000000 rows  12s   " +
		"\r[##############################] 100% 1000000/1000000 rows  12s   \n"
	if out.String() != want {
		t.Fatalf("bar =\n%q\nwant\n%q", out.String(), want)
	}
}
