package ingest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/testkit/e2e"
)

func TestTrackerScriptServed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := setup(t, e)
		resp, err := http.Get(v.srv.URL + "/kizuna.js")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /kizuna.js: %d", resp.StatusCode)
		}
		for h, want := range map[string]string{
			"Content-Type":           "text/javascript; charset=utf-8",
			"Cache-Control":          "public, max-age=3600",
			"X-Content-Type-Options": "nosniff",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		for _, want := range []string{`"kizuna.js"`, "/v1/batch", "sendBeacon", "kizuna_aid", `"text/plain"`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("the script lacks %s", want)
			}
		}
		if resp, err := http.Post(v.srv.URL+"/kizuna.js", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /kizuna.js: %v %v", resp.StatusCode, err)
		}
	})
}

// TestTextPlainBatch: kizuna.js sends text/plain (no CORS preflight) with the write key in the body.
func TestTextPlainBatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		v := setup(t, e)
		body := mustJSON(map[string]any{
			"writeKey": v.key,
			"sentAt":   time.Now().UTC().Format(time.RFC3339Nano),
			"batch": []any{
				map[string]any{"type": "page", "messageId": "tp-1", "anonymousId": "a-1", "properties": map[string]any{"path": "/"}},
				map[string]any{"type": "track", "messageId": "tp-2", "anonymousId": "a-1", "event": "Pricing Viewed"},
			},
		})
		req, _ := http.NewRequest(http.MethodPost, v.srv.URL+"/v1/batch", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("Origin", "http://127.0.0.1:1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("text/plain batch: %d %s %v", resp.StatusCode, b, resp.Header)
		}
		evs := v.events(t, "tp-2")
		if len(evs) != 2 || evs[0].Type != event.Page || evs[1].Event != "Pricing Viewed" || evs[1].AnonymousID != "a-1" {
			t.Fatalf("events: %+v", evs)
		}
	})
}

// TestBrowserTracker loads kizuna.js cross-origin in headless Chromium: a page calls page(),
// track(), identify() and track() again; a second page queues calls in the stub before the
// script loads and has its first batch answered 503. Everything must land in the event log with
// one anonymous id, and the user id on every call after identify. KIZUNA_E2E=required makes a
// missing browser or node a failure instead of a skip.
func TestBrowserTracker(t *testing.T) {
	br := e2e.Need(t)
	e := dbtest.Engines()[0]
	v := setup(t, e)

	// The customer's web site, on another origin than the tracking API.
	script := v.srv.URL + "/kizuna.js"
	site := http.NewServeMux()
	site.HandleFunc("GET /one", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Pricing</title>
<script src="%s" data-write-key="%s"></script></head><body>
<script>
kizuna.page();
kizuna.track("Pricing Viewed", {plan: "pro"});
kizuna.identify("u-1", {email: "taro@example.jp"});
kizuna.track("After Identify", {n: 1});
</script></body></html>`, script, v.key)
	})
	site.HandleFunc("GET /two", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Second</title>
<script>
window.kizuna = window.kizuna || [];
kizuna.push(["page", "Second", {section: "docs"}]);
kizuna.push(["track", "Stubbed", {n: 2}]);
</script>
<script async src="%s" data-write-key="%s"></script></head><body></body></html>`, script, v.key)
	})
	site.HandleFunc("GET /three", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Three</title><script src="%s" data-write-key="%s"></script></head><body></body></html>`, script, v.key)
	})
	web := httptest.NewServer(site)
	t.Cleanup(web.Close)
	if strings.TrimPrefix(web.URL, "http://") == strings.TrimPrefix(v.srv.URL, "http://") {
		t.Fatal("the site and the API must be different origins")
	}

	br.Run(t, 90*time.Second, filepath.Join("e2e", "tracker.mjs"), web.URL, v.srv.URL)

	// Wait for the last call, then check everything in the log.
	var evs []event.Event
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs = v.events(t, v.sentinel(t))
		if find(evs, "Leaving") != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var mine []event.Event
	for _, ev := range evs {
		if ev.AnonymousID != "s" { // not the sentinels
			mine = append(mine, ev)
		}
	}
	// After reset: a new anonymous id and no user id; the call answered 400 is not retried.
	want := []string{"page:", "track:Pricing Viewed", "identify:", "track:After Identify", "page:Second", "track:Stubbed", "track:Offline", "track:Leaving"}
	const afterReset = 6
	if len(mine) != len(want) {
		t.Fatalf("%d events from the browser, want %d: %+v", len(mine), len(want), mine)
	}
	anon, anon2 := mine[0].AnonymousID, mine[afterReset].AnonymousID
	if anon == "" || anon2 == "" || anon == anon2 {
		t.Fatalf("anonymous ids %q before reset and %q after", anon, anon2)
	}
	for n, ev := range mine {
		if n == afterReset {
			anon = anon2
		}
		if got := ev.Type + ":" + ev.Event + ev.Name; got != want[n] {
			t.Errorf("event %d is %s, want %s", n, got, want[n])
		}
		if ev.AnonymousID != anon {
			t.Errorf("event %d (%s) has anonymous id %q, want %q", n, want[n], ev.AnonymousID, anon)
		}
		wantUser := ""
		if n >= 2 && n < afterReset {
			wantUser = "u-1"
		}
		if ev.UserID != wantUser {
			t.Errorf("event %d (%s) has user id %q, want %q", n, want[n], ev.UserID, wantUser)
		}
		lib, _ := ev.Context["library"].(map[string]any)
		pg, _ := ev.Context["page"].(map[string]any)
		if lib["name"] != "kizuna.js" || pg["url"] == nil || ev.Context["userAgent"] == nil || ev.Context["locale"] == nil || ev.MessageID == "" {
			t.Errorf("event %d (%s) context: %+v", n, want[n], ev.Context)
		}
		if ev.OriginalTimestamp.IsZero() {
			t.Errorf("event %d (%s) has no timestamp", n, want[n])
		}
	}
	if p := mine[0].Properties; p["path"] != "/one" || p["title"] != "Pricing" || p["url"] != web.URL+"/one" {
		t.Errorf("page properties: %+v", p)
	}
	if mine[1].Properties["plan"] != "pro" || mine[2].Traits["email"] != "taro@example.jp" {
		t.Errorf("track/identify: %+v / %+v", mine[1].Properties, mine[2].Traits)
	}
	if p := mine[4].Properties; p["path"] != "/two" || p["section"] != "docs" || p["title"] != "Second" {
		t.Errorf("stubbed page properties: %+v", p)
	}
}

func find(evs []event.Event, name string) *event.Event {
	for i := range evs {
		if evs[i].Event == name {
			return &evs[i]
		}
	}
	return nil
}
