package backbone

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/stream"
)

// effects is a test part with a domain table and a table of what each test consumer applied.
var effects = db.Migrations{Part: "effects", FS: fstest.MapFS{
	"sqlite/0001_effects.sql":   {Data: []byte(effectsDDL)},
	"postgres/0001_effects.sql": {Data: []byte(effectsDDL)},
}}

const effectsDDL = `
CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE applied (consumer TEXT NOT NULL, message_id TEXT NOT NULL, n INTEGER NOT NULL);`

// world is one process's view of a data directory: databases, stream and backbone.
type world struct {
	main, log *db.DB
	stream    *stream.Stream
	bb        *Backbone
}

// open opens the world in dir. For PostgreSQL, url is the database; for SQLite, dir holds both
// files. withStream false opens only the databases, like the CLI.
func open(t testing.TB, dir, url string, withStream bool) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{}
	var err error
	if url != "" {
		w.main, err = db.OpenPostgres(ctx, url)
		w.log = w.main
	} else {
		w.main, err = db.OpenSQLite(ctx, filepath.Join(dir, "kizuna.db"))
		if err == nil {
			w.log, err = db.OpenSQLite(ctx, filepath.Join(dir, "events.db"))
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.main.Migrate(ctx, Migrations(), effects); err != nil {
		t.Fatal(err)
	}
	if _, err := w.log.Migrate(ctx, LogMigrations()); err != nil {
		t.Fatal(err)
	}
	if withStream {
		w.stream, err = stream.Open(ctx, stream.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A short AckWait: after a crash, the batches the dead process held come back quickly.
	w.bb = New(Deps{DB: w.main, LogDB: w.log, Stream: w.stream, AckWait: 2 * time.Second})
	for _, name := range []string{"alpha", "beta"} {
		w.bb.Register(Consumer{Name: name, Handle: applyOnce(w.main, name)})
	}
	return w
}

func (w *world) close() {
	if w.stream != nil {
		w.stream.Close()
	}
	if w.log != w.main {
		w.log.Close()
	}
	w.main.Close()
}

// applyOnce is a consumer that records each event it applies, with FirstTime in the same tx.
func applyOnce(d *db.DB, name string) func(context.Context, []event.Event) error {
	return func(ctx context.Context, evs []event.Event) error {
		return d.Tx(ctx, func(tx *sql.Tx) error {
			for _, e := range evs {
				first, err := FirstTime(ctx, tx, name, e.MessageID, time.Now())
				if err != nil {
					return err
				}
				if !first {
					continue
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO applied (consumer, message_id, n) VALUES ($1, $2, 1)`, name, e.MessageID); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// writeNotes commits n notes, each with its "Note Created" event, through the outbox.
func writeNotes(t testing.TB, w *world, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	err := w.bb.Outbox().Tx(ctx, func(tx *sql.Tx) error {
		for i := range n {
			noteID := fmt.Sprintf("%s-%d", prefix, i)
			if _, err := tx.ExecContext(ctx, `INSERT INTO notes (id, body) VALUES ($1, $2)`, noteID, "こんにちは"); err != nil {
				return err
			}
			e := event.New(event.Track, "Note Created", event.SourceCommunity, time.Now())
			e.UserID = "member-1"
			e.Properties = map[string]any{"note_id": noteID}
			if err := w.bb.Outbox().Emit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// run runs the backbone until stop is called.
func (w *world) run(t testing.TB) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.bb.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("backbone run: %v", err)
		}
	}
}

func count(t testing.TB, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.R.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls until cond holds or 30s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertExactlyOnce checks that each consumer applied each of the want events exactly once, the
// event log holds each once, and the outbox is empty.
func assertExactlyOnce(t *testing.T, w *world, want int) {
	t.Helper()
	for _, c := range []string{"alpha", "beta"} {
		waitFor(t, c+" to apply every event", func() bool {
			return count(t, w.main, `SELECT COUNT(*) FROM applied WHERE consumer = $1`, c) >= want
		})
	}
	waitFor(t, "the event log", func() bool { return count(t, w.log, `SELECT COUNT(*) FROM events`) >= want })
	waitFor(t, "the outbox to empty", func() bool { return count(t, w.main, `SELECT COUNT(*) FROM outbox`) == 0 })
	// Give redeliveries, if any, a moment to show up before counting exactly.
	time.Sleep(300 * time.Millisecond)
	for _, c := range []string{"alpha", "beta"} {
		if got := count(t, w.main, `SELECT COUNT(*) FROM applied WHERE consumer = $1`, c); got != want {
			t.Errorf("%s applied %d events, want %d", c, got, want)
		}
		if got := count(t, w.main, `SELECT COUNT(DISTINCT message_id) FROM applied WHERE consumer = $1`, c); got != want {
			t.Errorf("%s applied %d distinct events, want %d", c, got, want)
		}
	}
	if got := count(t, w.log, `SELECT COUNT(*) FROM events`); got != want {
		t.Errorf("event log has %d events, want %d", got, want)
	}
}

func worldLocation(t *testing.T, e db.Engine) (dir, url string) {
	dir = t.TempDir()
	if e == db.Postgres {
		url = dbtest.PostgresURL(t)
	}
	return dir, url
}

func TestOutboxEventsReachEveryConsumerAndTheLog(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		dir, url := worldLocation(t, e)
		w := open(t, dir, url, true)
		defer w.close()
		stop := w.run(t)
		writeNotes(t, w, "a", 3)
		writeNotes(t, w, "b", 1200) // more than one insert batch
		assertExactlyOnce(t, w, 1203)
		stop()

		var typ, name, props string
		err := w.log.R.QueryRow(`SELECT type, event, payload FROM events ORDER BY seq LIMIT 1`).Scan(&typ, &name, &props)
		if err != nil || typ != "track" || name != "Note Created" {
			t.Fatalf("first logged event: %s %s %v", typ, name, err)
		}
	})
}

func TestAppendGoesStraightToTheStream(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		dir, url := worldLocation(t, e)
		w := open(t, dir, url, true)
		defer w.close()
		stop := w.run(t)
		defer stop()
		var evs []event.Event
		for range 10 {
			ev := event.New(event.Page, "Home", event.SourceTracking, time.Now())
			ev.AnonymousID = "anon-1"
			evs = append(evs, ev)
		}
		if err := w.bb.Append(context.Background(), evs...); err != nil {
			t.Fatal(err)
		}
		// The same events again, as a client retrying would send them: still once.
		if err := w.bb.Append(context.Background(), evs...); err != nil {
			t.Fatal(err)
		}
		assertExactlyOnce(t, w, 10)

		bad := event.New(event.Track, "", event.SourceTracking, time.Now())
		bad.UserID = "u"
		if err := w.bb.Append(context.Background(), evs[0], bad); err == nil {
			t.Fatal("Append accepted an invalid event")
		}
	})
}

// The crash tests run this test binary again as a child process that commits events and dies
// (SIGKILL, no clean-up) at a chosen point; the parent then starts the backbone on the same data
// and checks that every event reaches every consumer exactly once.
const childEnv = "KIZUNA_BACKBONE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		crashChild(mode)
		return
	}
	os.Exit(m.Run())
}

func crashChild(mode string) {
	t := &childT{}
	dir, url := os.Getenv("KIZUNA_CHILD_DIR"), os.Getenv("KIZUNA_CHILD_URL")
	kill := func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	switch mode {
	case "after-commit":
		// A web node commits a change and dies before any relay runs.
		w := open(t, dir, url, false)
		writeNotes(t, w, "crash", 50)
		kill()
	case "after-publish":
		// The relay publishes to the stream and dies before deleting the outbox rows.
		w := open(t, dir, url, true)
		writeNotes(t, w, "crash", 50)
		w.bb.afterPublish = kill
		w.bb.Run(context.Background())
	}
	os.Exit(3) // not reached unless the mode is unknown
}

type childT struct{ testing.TB }

func (childT) Helper()                   {}
func (childT) Fatal(args ...any)         { fmt.Fprintln(os.Stderr, args...); os.Exit(2) }
func (childT) Fatalf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...); os.Exit(2) }

func runChild(t *testing.T, mode, dir, url string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "KIZUNA_CHILD_DIR="+dir, "KIZUNA_CHILD_URL="+url)
	out, err := cmd.CombinedOutput()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
	}
}

func TestCrashBetweenCommitAndStream(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		dir, url := worldLocation(t, e)
		runChild(t, "after-commit", dir, url)

		w := open(t, dir, url, true)
		if n := count(t, w.main, `SELECT COUNT(*) FROM outbox`); n != 50 {
			t.Fatalf("outbox holds %d events after the crash, want 50", n)
		}
		stop := w.run(t)
		assertExactlyOnce(t, w, 50)
		stop()
		w.close()

		// A second restart delivers nothing again.
		w = open(t, dir, url, true)
		defer w.close()
		stop = w.run(t)
		defer stop()
		writeNotes(t, w, "later", 1)
		assertExactlyOnce(t, w, 51)
	})
}

func TestCrashBetweenStreamAndOutboxDelete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		dir, url := worldLocation(t, e)
		runChild(t, "after-publish", dir, url)

		w := open(t, dir, url, true)
		defer w.close()
		if n := count(t, w.main, `SELECT COUNT(*) FROM outbox`); n != 50 {
			t.Fatalf("outbox holds %d events after the crash, want 50 (published but not deleted)", n)
		}
		// The lease of the dead relay must expire before this process relays; skip the wait.
		if _, err := w.main.W.Exec(`DELETE FROM leases`); err != nil {
			t.Fatal(err)
		}
		stop := w.run(t)
		defer stop()
		assertExactlyOnce(t, w, 50)
	})
}

func TestLeaseHasOneHolder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		dir, url := worldLocation(t, e)
		a := open(t, dir, url, false)
		defer a.close()
		b := open(t, dir+"/b", url, false)
		if url == "" { // SQLite: both must share the one database
			b.close()
			b = &world{main: a.main, log: a.log, bb: New(Deps{DB: a.main})}
		} else {
			defer b.close()
		}
		ctx := context.Background()
		if ok, err := a.bb.acquireLease(ctx, "job", time.Minute); !ok || err != nil {
			t.Fatalf("first acquire: %v %v", ok, err)
		}
		if ok, _ := b.bb.acquireLease(ctx, "job", time.Minute); ok {
			t.Fatal("second node took a held lease")
		}
		if ok, _ := a.bb.acquireLease(ctx, "job", time.Minute); !ok {
			t.Fatal("holder could not renew")
		}
		a.bb.releaseLease(ctx, "job")
		if ok, _ := b.bb.acquireLease(ctx, "job", time.Minute); !ok {
			t.Fatal("lease not free after release")
		}
	})
}
