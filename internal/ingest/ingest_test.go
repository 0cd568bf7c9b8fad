package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/ingest"
	"github.com/kizuna-community/kizuna/internal/stream"
)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	d     *db.DB
	logDB *db.DB
	in    *ingest.Ingest
	srv   *httptest.Server
	key   string
	src   ingest.Source
	clock *clock
}

// setup runs a real backbone on an embedded stream and serves the tracking API in front of it.
func setup(t testing.TB, e db.Engine) *env {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t, e, backbone.Migrations(), ingest.Migrations())
	logDB := dbtest.Open(t, e, backbone.LogMigrations())
	st, err := stream.Open(ctx, stream.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	bb := backbone.New(backbone.Deps{DB: d, LogDB: logDB, Stream: st})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- bb.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done; st.Close() })

	c := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	in := ingest.New(ingest.Deps{DB: d, Appender: bb, Now: c.Now})
	mux := http.NewServeMux()
	in.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	key, src, err := in.Sources().Create(ctx, accounts.System(), "web site")
	if err != nil {
		t.Fatal(err)
	}
	return &env{d: d, logDB: logDB, in: in, srv: srv, key: key, src: src, clock: c}
}

// post sends body to path with the write key key ("" for none) and returns the status and body.
func (v *env) post(t testing.TB, path, key string, body []byte, gz bool) (int, string) {
	t.Helper()
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
	}
	req, _ := http.NewRequest(http.MethodPost, v.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// events waits until the event log holds an event with message id last, then returns every
// tracking event in log order.
func (v *env) events(t testing.TB, last string) []event.Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows, err := v.logDB.R.Query(`SELECT payload FROM events WHERE source = 'tracking' ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		var out []event.Event
		found := false
		for rows.Next() {
			var payload string
			if err := rows.Scan(&payload); err != nil {
				t.Fatal(err)
			}
			var ev event.Event
			if err := json.Unmarshal([]byte(payload), &ev); err != nil {
				t.Fatal(err)
			}
			found = found || ev.MessageID == last
			out = append(out, ev)
		}
		rows.Close()
		if found {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s never reached the log; have %d events", last, len(out))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sentinel sends one more track call and returns its message id, to wait for everything before it.
func (v *env) sentinel(t testing.TB) string {
	t.Helper()
	mid := fmt.Sprintf("sentinel-%d", time.Now().UnixNano())
	if st, body := v.post(t, "/v1/track", v.key, mustJSON(map[string]any{"messageId": mid, "event": "Sentinel", "anonymousId": "s"}), false); st != 200 {
		t.Fatalf("sentinel: %d %s", st, body)
	}
	return mid
}

type failures struct {
	mu   sync.Mutex
	errs []error
}

func (f *failures) Success(analytics.Message) {}
func (f *failures) Failure(_ analytics.Message, err error) {
	f.mu.Lock()
	f.errs = append(f.errs, err)
	f.mu.Unlock()
}

func TestSegmentGoClient(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := setup(t, e)
		fails := &failures{}
		client, err := analytics.NewWithConfig(v.key, analytics.Config{Endpoint: v.srv.URL, Interval: 50 * time.Millisecond, Callback: fails})
		if err != nil {
			t.Fatal(err)
		}
		msgs := []analytics.Message{
			analytics.Identify{MessageId: "m-identify", UserId: "u-1", Traits: analytics.NewTraits().SetEmail("hanako@example.jp")},
			analytics.Track{MessageId: "m-track", UserId: "u-1", Event: "Order Completed", Properties: analytics.NewProperties().SetRevenue(12.5).Set("sku", "A-1")},
			analytics.Page{MessageId: "m-page", AnonymousId: "anon-1", Name: "Home", Properties: analytics.NewProperties().SetURL("https://example.jp/")},
			analytics.Alias{MessageId: "m-alias", UserId: "u-1", PreviousId: "anon-1"},
		}
		for _, m := range msgs {
			if err := client.Enqueue(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := client.Close(); err != nil {
			t.Fatal(err)
		}
		if len(fails.errs) > 0 {
			t.Fatalf("the client failed: %v", fails.errs)
		}
		evs := v.events(t, "m-alias")
		byID := map[string]event.Event{}
		for _, ev := range evs {
			byID[ev.MessageID] = ev
		}
		id, tr, pg, al := byID["m-identify"], byID["m-track"], byID["m-page"], byID["m-alias"]
		if id.Type != event.Identify || id.UserID != "u-1" || id.Traits["email"] != "hanako@example.jp" {
			t.Errorf("identify: %+v", id)
		}
		if tr.Type != event.Track || tr.Event != "Order Completed" || tr.Properties["revenue"] != 12.5 || tr.Properties["sku"] != "A-1" {
			t.Errorf("track: %+v", tr)
		}
		if pg.Type != event.Page || pg.AnonymousID != "anon-1" || pg.Name != "Home" || pg.Properties["url"] != "https://example.jp/" {
			t.Errorf("page: %+v", pg)
		}
		if al.Type != event.Alias || al.UserID != "u-1" || al.PreviousID != "anon-1" {
			t.Errorf("alias: %+v", al)
		}
		for _, ev := range []event.Event{id, tr, pg, al} {
			lib, _ := ev.Context["library"].(map[string]any)
			if ev.Source != event.SourceTracking || ev.Context[ingest.ContextSourceID] != v.src.ID || lib["name"] != "analytics-go" {
				t.Errorf("%s: source %q, context %v", ev.Type, ev.Source, ev.Context)
			}
			if !ev.ReceivedAt.Equal(v.clock.Now()) || ev.Timestamp.IsZero() || ev.SentAt.IsZero() {
				t.Errorf("%s: times %v %v %v", ev.Type, ev.ReceivedAt, ev.Timestamp, ev.SentAt)
			}
		}
	})
}

func TestBatchAndSingleCalls(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := setup(t, e)
		batch := map[string]any{
			"batch": []any{
				map[string]any{"type": "track", "messageId": "b-1", "userId": 42, "event": "Post Created"},
				map[string]any{"type": "screen", "messageId": "b-2", "anonymousId": "a", "name": "Feed", "context": map[string]any{"library": map[string]any{"name": "mine"}}},
				map[string]any{"type": "group", "anonymousId": "a", "groupId": "g-1", "traits": map[string]any{"plan": "pro"}},
			},
			"context": map[string]any{"library": map[string]any{"name": "analytics-node"}, "locale": "ja-JP"},
		}
		if st, body := v.post(t, "/v1/batch", v.key, mustJSON(batch), true); st != 200 || strings.TrimSpace(body) != `{"success":true}` {
			t.Fatalf("gzip batch: %d %s", st, body)
		}
		// The write key may come in the body, as analytics.js sends it, and /v1/import is /v1/batch.
		imp := map[string]any{"writeKey": v.key, "batch": []any{map[string]any{"type": "identify", "messageId": "i-1", "userId": "u-2"}}}
		if st, body := v.post(t, "/v1/import", "", mustJSON(imp), false); st != 200 {
			t.Fatalf("import with writeKey in the body: %d %s", st, body)
		}
		if st, body := v.post(t, "/v1/group", v.key, mustJSON(map[string]any{"messageId": "g-2", "userId": "u-2", "groupId": "g-1"}), false); st != 200 {
			t.Fatalf("group: %d %s", st, body)
		}
		evs := v.events(t, "g-2")
		if len(evs) != 5 {
			t.Fatalf("%d events: %+v", len(evs), evs)
		}
		if evs[0].UserID != "42" || evs[0].Context["locale"] != "ja-JP" {
			t.Errorf("batch[0]: %+v", evs[0])
		}
		if lib := evs[1].Context["library"].(map[string]any); lib["name"] != "mine" || evs[1].Type != event.Screen {
			t.Errorf("an event's own context must win over the batch's: %+v", evs[1])
		}
		if evs[2].MessageID == "" || evs[2].Type != event.Group || evs[2].Traits["plan"] != "pro" {
			t.Errorf("batch[2] (no messageId): %+v", evs[2])
		}
		if evs[3].Type != event.Identify || evs[4].Type != event.Group {
			t.Errorf("types %s %s", evs[3].Type, evs[4].Type)
		}
	})
}

func TestRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := setup(t, e)
		ctx := context.Background()
		revokedKey, revoked, err := v.in.Sources().Create(ctx, accounts.System(), "old app")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.in.Sources().Authenticate(ctx, revokedKey); err != nil {
			t.Fatal(err)
		}
		if err := v.in.Sources().Revoke(ctx, accounts.System(), revoked.ID); err != nil {
			t.Fatal(err)
		}
		ok := map[string]any{"type": "track", "messageId": "r-ok", "userId": "u", "event": "Fine"}
		big := map[string]any{"type": "track", "messageId": "r-big", "userId": "u", "event": "Big", "properties": map[string]any{"blob": strings.Repeat("x", 33*1024)}}
		cases := []struct {
			name, path, key string
			body            []byte
			status          int
			field, msg      string
		}{
			{"oversized event in a batch", "/v1/batch", v.key, mustJSON(map[string]any{"batch": []any{ok, big}}), 400, "batch[1]", "event 1 is 34 KB; the limit is 32 KB"},
			{"oversized single call", "/v1/track", v.key, mustJSON(big), 400, "body", "the event is 34 KB; the limit is 32 KB"},
			{"oversized batch", "/v1/batch", v.key, mustJSON(map[string]any{"batch": []any{ok}, "pad": strings.Repeat("x", 501*1024)}), 400, "body", "the limit is 500 KB"},
			{"too many events", "/v1/batch", v.key, mustJSON(map[string]any{"batch": make([]any, 2501)}), 400, "batch", "the batch has 2501 events; the limit is 2500"},
			{"malformed JSON", "/v1/batch", v.key, []byte(`{"batch": [`), 400, "body", "not valid JSON"},
			{"malformed single call", "/v1/identify", v.key, []byte(`{"userId": }`), 400, "body", "not valid JSON"},
			{"unknown type in a batch", "/v1/batch", v.key, mustJSON(map[string]any{"batch": []any{ok, map[string]any{"type": "purchase", "userId": "u"}}}), 400, "batch[1].type", "event 1: type must be one of"},
			{"track without event name", "/v1/track", v.key, mustJSON(map[string]any{"userId": "u"}), 400, "event", "the event: event is required"},
			{"no user", "/v1/batch", v.key, mustJSON(map[string]any{"batch": []any{ok, map[string]any{"type": "page"}}}), 400, "batch[1].userId", "event 1: userId or anonymousId is required"},
			{"bad timestamp", "/v1/page", v.key, mustJSON(map[string]any{"userId": "u", "timestamp": "yesterday"}), 400, "body", "not an ISO-8601 time"},
			{"no key", "/v1/batch", "", mustJSON(map[string]any{"batch": []any{ok}}), 401, "", "write key"},
			{"wrong key", "/v1/track", "not-a-key", mustJSON(ok), 401, "", "write key"},
			{"wrong key in the body", "/v1/track", "", mustJSON(map[string]any{"writeKey": "nope", "userId": "u", "event": "x"}), 401, "", "write key"},
			{"revoked key", "/v1/track", revokedKey, mustJSON(ok), 401, "", "write key"},
		}
		for _, c := range cases {
			st, body := v.post(t, c.path, c.key, c.body, false)
			var eb struct {
				Error struct{ Code, Message, Field string }
			}
			json.Unmarshal([]byte(body), &eb)
			if st != c.status || eb.Error.Field != c.field || !strings.Contains(eb.Error.Message, c.msg) {
				t.Errorf("%s: %d %s; want %d field %q message with %q", c.name, st, body, c.status, c.field, c.msg)
			}
		}
		// A small gzip body that inflates past the limit is refused, not read to its end.
		bomb := mustJSON(map[string]any{"batch": []any{ok}, "pad": strings.Repeat(" ", 5<<20)})
		if st, body := v.post(t, "/v1/batch", v.key, bomb, true); st != 400 || !strings.Contains(body, "the limit is 500 KB") {
			t.Errorf("gzip bomb: %d %s", st, body)
		}
		if st, body := v.post(t, "/v1/batch", v.key, []byte("not gzip"), false); st != 400 {
			t.Errorf("plain body: %d %s", st, body)
		}
		// The key in the password (curl -u :KEY) works too.
		req, _ := http.NewRequest(http.MethodPost, v.srv.URL+"/v1/track", bytes.NewReader(mustJSON(map[string]any{"messageId": "pw", "userId": "u", "event": "X"})))
		req.SetBasicAuth("", v.key)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Errorf("key as password: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		// A refused request stores none of its events.
		for _, ev := range v.events(t, v.sentinel(t)) {
			if strings.HasPrefix(ev.MessageID, "r-") {
				t.Errorf("%s was stored from a refused request", ev.MessageID)
			}
		}
	})
}

func TestDuplicatesStoredOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := setup(t, e)
		call := mustJSON(map[string]any{"messageId": "dup-1", "userId": "u", "event": "Clicked"})
		for range 2 {
			if st, body := v.post(t, "/v1/track", v.key, call, false); st != 200 {
				t.Fatalf("%d %s", st, body)
			}
		}
		// Repeated within one batch, and again a day later.
		b := mustJSON(map[string]any{"batch": []any{
			map[string]any{"type": "track", "messageId": "dup-2", "userId": "u", "event": "A"},
			map[string]any{"type": "track", "messageId": "dup-2", "userId": "u", "event": "A"},
			map[string]any{"type": "track", "messageId": "dup-1", "userId": "u", "event": "Clicked"},
		}})
		if st, body := v.post(t, "/v1/batch", v.key, b, false); st != 200 {
			t.Fatalf("%d %s", st, body)
		}
		v.clock.Add(25 * time.Hour)
		if st, body := v.post(t, "/v1/track", v.key, call, false); st != 200 {
			t.Fatalf("%d %s", st, body)
		}
		count := map[string]int{}
		for _, ev := range v.events(t, v.sentinel(t)) {
			count[ev.MessageID]++
		}
		if count["dup-1"] != 1 || count["dup-2"] != 1 {
			t.Fatalf("stored %v", count)
		}
		// Prune forgets ids older than 48 h, not newer ones.
		v.clock.Add(24 * time.Hour)
		if n, err := v.in.Prune(context.Background()); err != nil || n != 2 { // dup-1 and dup-2 go; the later sentinel stays
			t.Fatalf("pruned %d, %v", n, err)
		}
	})
}

func TestClockSkew(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := setup(t, e)
		now := v.clock.Now()
		// The device's clock runs 10 minutes fast: it says the event happened 1 minute before sending.
		call := map[string]any{"messageId": "skew", "userId": "u", "event": "Clicked",
			"timestamp": now.Add(9 * time.Minute).Format(time.RFC3339Nano), "sentAt": now.Add(10 * time.Minute).Format(time.RFC3339Nano)}
		if st, body := v.post(t, "/v1/track", v.key, mustJSON(call), false); st != 200 {
			t.Fatalf("%d %s", st, body)
		}
		// In a batch, the batch's sentAt applies.
		b := map[string]any{"sentAt": now.Add(10 * time.Minute).Format(time.RFC3339Nano), "batch": []any{
			map[string]any{"type": "track", "messageId": "skew-b", "userId": "u", "event": "Clicked", "timestamp": now.Add(8 * time.Minute).Format(time.RFC3339Nano)},
		}}
		if st, body := v.post(t, "/v1/batch", v.key, mustJSON(b), false); st != 200 {
			t.Fatalf("%d %s", st, body)
		}
		evs := v.events(t, "skew-b")
		got := map[string]event.Event{}
		for _, ev := range evs {
			got[ev.MessageID] = ev
		}
		if ev := got["skew"]; !ev.Timestamp.Equal(now.Add(-time.Minute)) || !ev.OriginalTimestamp.Equal(now.Add(9*time.Minute)) || !ev.ReceivedAt.Equal(now) {
			t.Errorf("single: timestamp %v original %v received %v; now %v", ev.Timestamp, ev.OriginalTimestamp, ev.ReceivedAt, now)
		}
		if ev := got["skew-b"]; !ev.Timestamp.Equal(now.Add(-2 * time.Minute)) {
			t.Errorf("batch: timestamp %v; want %v", ev.Timestamp, now.Add(-2*time.Minute))
		}
	})
}

// flaky fails its first Append.
type flaky struct {
	mu    sync.Mutex
	calls int
	got   []event.Event
}

func (f *flaky) Append(_ context.Context, evs ...event.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls == 1 {
		return errors.New("stream unavailable")
	}
	f.got = append(f.got, evs...)
	return nil
}

func TestRetryAfterFailedAppendIsKept(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		d := dbtest.Open(t, e, ingest.Migrations())
		app := &flaky{}
		in := ingest.New(ingest.Deps{DB: d, Appender: app})
		mux := http.NewServeMux()
		in.Routes(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		key, _, err := in.Sources().Create(context.Background(), accounts.System(), "app")
		if err != nil {
			t.Fatal(err)
		}
		v := &env{srv: srv, key: key}
		call := mustJSON(map[string]any{"messageId": "retry-1", "userId": "u", "event": "Clicked"})
		if st, _ := v.post(t, "/v1/track", key, call, false); st != 500 {
			t.Fatalf("a failed append answered %d", st)
		}
		if st, body := v.post(t, "/v1/track", key, call, false); st != 200 {
			t.Fatalf("retry: %d %s", st, body)
		}
		if len(app.got) != 1 || app.got[0].MessageID != "retry-1" {
			t.Fatalf("appended %+v", app.got)
		}
	})
}

func TestSources(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		ctx := context.Background()
		d := dbtest.Open(t, e, ingest.Migrations())
		c := &clock{t: time.Now()}
		s := ingest.NewSources(d, c.Now)
		if _, _, err := s.Create(ctx, accounts.Principal{MemberID: "m", Role: accounts.RoleMarketer}, "x"); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("a marketer created a source: %v", err)
		}
		if _, _, err := s.Create(ctx, accounts.System(), " "); errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("a nameless source: %v", err)
		}
		key, src, err := s.Create(ctx, accounts.System(), "shop")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(key, src.KeyPrefix) || len(key) < 30 {
			t.Fatalf("key %q prefix %q", key, src.KeyPrefix)
		}
		if got, err := s.Authenticate(ctx, key); err != nil || got.ID != src.ID {
			t.Fatalf("authenticate: %+v %v", got, err)
		}
		// Revoked by another process: the cached key works until KeyCacheTTL has passed.
		if _, err := d.W.Exec(`UPDATE sources SET revoked_at = 1 WHERE id = $1`, src.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, key); err != nil {
			t.Fatalf("within the cache time: %v", err)
		}
		c.Add(ingest.KeyCacheTTL)
		if _, err := s.Authenticate(ctx, key); errs.KindOf(err) != errs.KindUnauthenticated {
			t.Fatalf("after the cache time: %v", err)
		}
		list, err := s.List(ctx, accounts.System())
		if err != nil || len(list) != 1 || list[0].RevokedAt == nil || list[0].Name != "shop" {
			t.Fatalf("list: %+v %v", list, err)
		}
		if err := s.Revoke(ctx, accounts.System(), "nope"); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("revoking an unknown source: %v", err)
		}
	})
}

// recorder counts the events appended and fails every second Append, slowly enough that requests
// queue behind it and are committed in groups.
type recorder struct {
	mu    sync.Mutex
	calls int
	got   map[string]int
}

func (r *recorder) Append(_ context.Context, evs ...event.Event) error {
	time.Sleep(2 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls%2 == 0 {
		return errors.New("stream unavailable")
	}
	for _, ev := range evs {
		r.got[ev.MessageID]++
	}
	return nil
}

// Concurrent requests that share message ids, from two sources, retried until accepted: every id
// is appended exactly once, whichever source sent it and whichever group it was committed in.
func TestConcurrentDuplicatesAppendedOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		d := dbtest.Open(t, e, ingest.Migrations())
		app := &recorder{got: map[string]int{}}
		in := ingest.New(ingest.Deps{DB: d, Appender: app})
		mux := http.NewServeMux()
		in.Routes(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		var keys []string
		for _, name := range []string{"a", "b"} {
			key, _, err := in.Sources().Create(context.Background(), accounts.System(), name)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, key)
		}
		v := &env{srv: srv}
		const requests, ids = 24, 40
		var wg sync.WaitGroup
		for n := range requests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var batch []any
				for k := range 10 {
					batch = append(batch, map[string]any{"type": "track", "messageId": fmt.Sprintf("m-%d", (n*7+k)%ids), "userId": "u", "event": "E"})
				}
				body := mustJSON(map[string]any{"batch": batch})
				for try := 0; ; try++ {
					st, resp := v.post(t, "/v1/batch", keys[n%2], body, false)
					if st == 200 {
						return
					}
					if st != 500 || try > 20 {
						t.Errorf("request %d: %d %s", n, st, resp)
						return
					}
				}
			}()
		}
		wg.Wait()
		app.mu.Lock()
		defer app.mu.Unlock()
		t.Logf("%d requests in %d appends", requests, app.calls)
		for k, c := range app.got {
			if c != 1 {
				t.Errorf("%s appended %d times", k, c)
			}
		}
		if len(app.got) != ids {
			t.Errorf("appended %d distinct ids; want %d", len(app.got), ids)
		}
	})
}

// panicky panics in its first Append.
type panicky struct {
	mu    sync.Mutex
	calls int
	got   []event.Event
}

func (p *panicky) Append(_ context.Context, evs ...event.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.calls == 1 {
		panic("appender bug")
	}
	p.got = append(p.got, evs...)
	return nil
}

// A panic while committing a group fails that group's requests and leaves the API working: the
// next request is committed, and the retry of the failed one is accepted.
func TestPanicInAppendDoesNotStallLaterRequests(t *testing.T) {
	d := dbtest.Open(t, db.SQLite, ingest.Migrations())
	app := &panicky{}
	in := ingest.New(ingest.Deps{DB: d, Appender: app})
	mux := http.NewServeMux()
	in.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	key, _, err := in.Sources().Create(context.Background(), accounts.System(), "app")
	if err != nil {
		t.Fatal(err)
	}
	v := &env{srv: srv, key: key}
	call := mustJSON(map[string]any{"messageId": "p-1", "userId": "u", "event": "Clicked"})
	if st, _ := v.post(t, "/v1/track", key, call, false); st != 500 {
		t.Fatalf("a panicking append answered %d", st)
	}
	for _, body := range [][]byte{mustJSON(map[string]any{"messageId": "p-2", "userId": "u", "event": "Clicked"}), call} {
		if st, resp := v.post(t, "/v1/track", key, body, false); st != 200 {
			t.Fatalf("after the panic: %d %s", st, resp)
		}
	}
	if len(app.got) != 2 || app.got[1].MessageID != "p-1" {
		t.Fatalf("appended %+v", app.got)
	}
}

// TestNULIsReplaced sends U+0000, which JSON allows and no database text type takes, in an id, a
// property key, property values nested in a list and the context: each becomes U+FFFD, and the
// event is stored.
func TestNULIsReplaced(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := setup(t, e)
		body := `{"batch":[{"type":"track","messageId":"nul-1","userId":"u\u0000x","event":"Clicked",` +
			`"properties":{"a\u0000b":"c\u0000","list":["\u0000",{"d":"e\u0000"}],"plain":"\\u0000 is six characters here"},` +
			`"context":{"page":{"title":"t\u0000"}}}]}`
		if st, resp := v.post(t, "/v1/batch", v.key, []byte(body), false); st != 200 {
			t.Fatalf("%d %s", st, resp)
		}
		evs := v.events(t, "nul-1")
		if len(evs) != 1 {
			t.Fatalf("%d events", len(evs))
		}
		ev := evs[0]
		raw, _ := json.Marshal(ev)
		p := ev.Properties
		if ev.UserID != "u\uFFFDx" || p["a\uFFFDb"] != "c\uFFFD" || p["list"].([]any)[0] != "\uFFFD" ||
			p["list"].([]any)[1].(map[string]any)["d"] != "e\uFFFD" || p["plain"] != `\u0000 is six characters here` ||
			ev.Context["page"].(map[string]any)["title"] != "t\uFFFD" {
			t.Fatalf("stored %s", raw)
		}
	})
}
