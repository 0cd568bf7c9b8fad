package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// Load shape of the crash test: senders post batches of batchEvents events, one person per batch,
// and the server is killed killAfter into the load.
const (
	crashSenders     = 4
	crashBatchEvents = 50
	crashKillAfter   = 1500 * time.Millisecond
	// crashCatchUp bounds the wait for the restarted server to store and resolve every acknowledged
	// event. What the killed server's consumers had in hand comes back only after the stream's
	// AckWait (backbone.DefaultAckWait, 10 s), and the profile consumer then has thousands of events
	// to apply.
	crashCatchUp = 45 * time.Second
)

// TestKillDuringLoadStoresEveryAcknowledgedEventOnce runs the real binary, SIGKILLs it while
// several clients post batches, restarts it on the same data and checks that every batch that got
// a 200 is in the event log exactly once and resolved in the identity graph. Batches in doubt (the
// kill cut their request) may be stored or not, but never twice, even when the client resends them.
func TestKillDuringLoadStoresEveryAcknowledgedEventOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the server binary; skipped in -short mode")
	}
	bin := buildKizuna(t)
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		// Most of the run is the restarted server waiting out the stream's redelivery delay for
		// what the killed one had in hand, so the engines wait side by side.
		t.Parallel()
		env := testEnv(t, e)
		srv := startBinary(t, bin, env)
		key := createSource(t, bin, env)
		l := &load{key: key, client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}
		defer l.client.CloseIdleConnections()

		// Senders post new batches; a resender posts acknowledged ones again, as a client whose
		// acknowledgement got lost would.
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range crashSenders {
			wg.Go(func() {
				for n := 0; ctx.Err() == nil; n++ {
					l.send(srv.url, batchID{w, n}, false)
				}
			})
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				if b, ok := l.pick(true); ok {
					l.send(srv.url, b, true)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
		time.Sleep(crashKillAfter)
		inflight := l.inflight.Load()
		srv.kill(t)
		stop() // batches sent after the kill are refused, and so in doubt too
		wg.Wait()
		acked, doubt := l.counts()
		t.Logf("at the kill: %d requests in flight; %d batches acknowledged, %d in doubt, %d acknowledged resends", inflight, acked, doubt, l.resentOK)
		if acked == 0 {
			t.Fatalf("no batch was acknowledged before the kill; server log:\n%s", srv.stderr.String())
		}

		// The restarted server takes resends of acknowledged batches (dropped as repeats) and of
		// batches in doubt (which may be on the stream already).
		srv = startBinary(t, bin, env)
		for range 5 {
			if b, ok := l.pick(true); ok {
				l.send(srv.url, b, true)
			}
			if b, ok := l.pick(false); ok {
				l.send(srv.url, b, true)
			}
		}
		if acked2, _ := l.counts(); acked2 == acked && doubt > 0 {
			t.Errorf("no resend was acknowledged by the restarted server; log:\n%s", srv.stderr.String())
		}
		want := l.ackedMessageIDs()

		a, err := Open(context.Background(), mustConfig(t, env), discard(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		start := time.Now()
		for i := 0; ; i++ {
			logged, resolved := crashProgress(t, a, want)
			if i%20 == 0 {
				t.Logf("%s: %d logged, %d resolved of %d", time.Since(start).Round(time.Millisecond), logged, resolved, len(want))
			}
			if logged == len(want) && resolved == len(want) {
				break
			}
			if time.Since(start) > crashCatchUp {
				t.Fatalf("after %s, %d of %d acknowledged events are in the event log and %d resolved by the profile consumer; server log:\n%s",
					crashCatchUp, logged, len(want), resolved, srv.stderr.String())
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Logf("the restarted server stored every acknowledged event within %s", time.Since(start).Round(time.Millisecond))
		srv.stop(t)

		// Exactly once: no message id twice, each with what its batch sent.
		ctx2 := context.Background()
		rows, err := a.LogDB.R.QueryContext(ctx2, `SELECT message_id, COUNT(*), MIN(user_id), MAX(user_id) FROM events
			WHERE message_id LIKE 'crash-%' GROUP BY message_id`)
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]bool{}
		for rows.Next() {
			var m, u1, u2 string
			var n int
			if err := rows.Scan(&m, &n, &u1, &u2); err != nil {
				t.Fatal(err)
			}
			stored[m] = true
			if n != 1 {
				t.Errorf("message %s is in the event log %d times", m, n)
			}
			if b, ok := parseMessageID(m); !ok || u1 != b.user() || u2 != u1 {
				t.Errorf("message %s is stored for user %q/%q", m, u1, u2)
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, m := range want {
			if !stored[m] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%d acknowledged events are missing from the event log", missing)
		}
		t.Logf("event log: %d acknowledged events once each, %d more from batches never acknowledged", len(want)-missing, len(stored)-(len(want)-missing))

		// The identity graph: each acknowledged person is one profile holding their user id,
		// device id and email, and no two people share one.
		profiles := map[string]batchID{}
		for _, b := range l.ackedBatches() {
			p := lookup(t, a.Identity, "user_id", b.user())
			if p == "" {
				t.Errorf("user %s has no profile", b.user())
				continue
			}
			if q := lookup(t, a.Identity, "anonymous_id", b.anonymousID()); q != p {
				t.Errorf("device %s is on profile %q, user %s on %q", b.anonymousID(), q, b.user(), p)
			}
			if q := lookup(t, a.Identity, "email", b.email()); q != p {
				t.Errorf("email %s is on profile %q, user %s on %q", b.email(), q, b.user(), p)
			}
			if other, ok := profiles[p]; ok {
				t.Errorf("users %s and %s share profile %s", other.user(), b.user(), p)
			}
			profiles[p] = b
		}
		var userRows, users int
		a.DB.R.QueryRowContext(ctx2, `SELECT COUNT(*) FROM identity_identifiers WHERE type = 'user_id' AND value LIKE 'crash-%'`).Scan(&userRows)
		a.LogDB.R.QueryRowContext(ctx2, `SELECT COUNT(DISTINCT user_id) FROM events WHERE message_id LIKE 'crash-%'`).Scan(&users)
		if userRows != users {
			t.Errorf("%d users in the event log, %d user_id identifiers", users, userRows)
		}
	})
}

// crashProgress counts the messages of want that the event log holds and that the identity
// consumer has applied.
func crashProgress(t *testing.T, a *App, want []string) (logged, resolved int) {
	t.Helper()
	count := func(d *db.DB, q string) int {
		rows, err := d.R.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		have := map[string]bool{}
		for rows.Next() {
			var m string
			if err := rows.Scan(&m); err != nil {
				t.Fatal(err)
			}
			have[m] = true
		}
		n := 0
		for _, m := range want {
			if have[m] {
				n++
			}
		}
		return n
	}
	logged = count(a.LogDB, `SELECT message_id FROM events WHERE message_id LIKE 'crash-%'`)
	resolved = count(a.DB, `SELECT message_id FROM profile_events WHERE message_id LIKE 'crash-%'`)
	return logged, resolved
}

func lookup(t *testing.T, g *identity.Graph, typ, value string) string {
	t.Helper()
	p, err := g.Lookup(context.Background(), typ, value)
	if err != nil {
		t.Logf("lookup %s %s: %v", typ, value, err)
		return ""
	}
	return p
}

// batchID names one batch: sender w's n-th. Its events and person follow from it, so a resend is
// the same request.
type batchID struct{ w, n int }

func (b batchID) user() string        { return fmt.Sprintf("crash-u-%d-%d", b.w, b.n) }
func (b batchID) anonymousID() string { return fmt.Sprintf("crash-a-%d-%d", b.w, b.n) }

// email is not at a documentation domain (example.com …), which the identity graph ignores.
func (b batchID) email() string { return fmt.Sprintf("crash-%d-%d@loadtest.kizuna.dev", b.w, b.n) }

func (b batchID) messageID(k int) string { return fmt.Sprintf("crash-%d-%d-%d", b.w, b.n, k) }

func parseMessageID(m string) (batchID, bool) {
	var b batchID
	var k int
	_, err := fmt.Sscanf(m, "crash-%d-%d-%d", &b.w, &b.n, &k)
	return b, err == nil
}

// body is the batch as JSON: an identify with the person's email, then tracks.
func (b batchID) body() []byte {
	evs := make([]map[string]any, crashBatchEvents)
	for k := range evs {
		ev := map[string]any{"messageId": b.messageID(k), "userId": b.user(), "anonymousId": b.anonymousID()}
		if k == 0 {
			ev["type"], ev["traits"] = "identify", map[string]any{"email": b.email(), "name": "負荷 テスト"}
		} else {
			ev["type"], ev["event"], ev["properties"] = "track", "Load Tested", map[string]any{"k": k}
		}
		evs[k] = ev
	}
	out, _ := json.Marshal(map[string]any{"batch": evs, "context": map[string]any{"library": map[string]any{"name": "crash-test"}}})
	return out
}

// load records which batches were acknowledged and which are in doubt (sent, but no 200 came).
type load struct {
	key      string
	client   *http.Client
	inflight atomic.Int32

	mu       sync.Mutex
	acked    map[batchID]bool // true: acknowledged; false: in doubt
	resentOK int
}

// send posts batch b; resend says it was posted before.
func (l *load) send(url string, b batchID, resend bool) {
	if !resend {
		l.mu.Lock()
		if l.acked == nil {
			l.acked = map[batchID]bool{}
		}
		l.acked[b] = false
		l.mu.Unlock()
	}
	req, _ := http.NewRequest("POST", url+"/v1/batch", bytes.NewReader(b.body()))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(l.key, "")
	l.inflight.Add(1)
	resp, err := l.client.Do(req)
	l.inflight.Add(-1)
	if err != nil {
		return // the kill, or a timeout: in doubt
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[b] = true
	if resend {
		l.resentOK++
	}
}

// pick returns a random acknowledged (or in-doubt) batch.
func (l *load) pick(acked bool) (batchID, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var list []batchID
	for b, ok := range l.acked {
		if ok == acked {
			list = append(list, b)
		}
	}
	if len(list) == 0 {
		return batchID{}, false
	}
	return list[rand.IntN(len(list))], true
}

func (l *load) counts() (acked, doubt int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ok := range l.acked {
		if ok {
			acked++
		} else {
			doubt++
		}
	}
	return acked, doubt
}

func (l *load) ackedBatches() []batchID {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []batchID
	for b, ok := range l.acked {
		if ok {
			out = append(out, b)
		}
	}
	return out
}

func (l *load) ackedMessageIDs() []string {
	var out []string
	for _, b := range l.ackedBatches() {
		for k := range crashBatchEvents {
			out = append(out, b.messageID(k))
		}
	}
	return out
}

// buildKizuna builds cmd/kizuna into a temporary directory and returns the binary.
func buildKizuna(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" {
		t.Fatalf("finding the module root: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "kizuna")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kizuna")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/kizuna: %v\n%s", err, out)
	}
	return bin
}

// binaryEnv is this process's environment without KIZUNA_ settings, plus env.
func binaryEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KIZUNA_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func createSource(t *testing.T, bin string, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "source", "create", "--name", "load")
	cmd.Env = binaryEnv(env)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kizuna source create: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// binary is a kizuna serve running as a child process.
type binary struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	done   chan struct{}
}

// startBinary starts `kizuna serve` on a free loopback port and waits until /readyz answers 200.
func startBinary(t *testing.T, bin string, env map[string]string) *binary {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = binaryEnv(env)
	b := &binary{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = b.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "Kizuna is running at "); ok {
				select {
				case urls <- u:
				default:
				}
			}
		}
		cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() { b.kill(t) })
	select {
	case b.url = <-urls:
	case <-b.done:
		t.Fatalf("kizuna serve exited: %s", b.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("kizuna serve did not start within 30s: %s", b.stderr.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(b.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz is not 200 after 10s (%v); log:\n%s", b.url, err, b.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill SIGKILLs the server and waits for it to be gone.
func (b *binary) kill(t *testing.T) {
	t.Helper()
	b.cmd.Process.Kill()
	<-b.done
}

// stop shuts the server down with SIGTERM, as an operator would, and fails if it does not exit cleanly.
func (b *binary) stop(t *testing.T) {
	t.Helper()
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
		if code := b.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("kizuna serve exited with %d after SIGTERM; log:\n%s", code, b.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Errorf("kizuna serve did not stop within 20s of SIGTERM")
		b.kill(t)
	}
}
