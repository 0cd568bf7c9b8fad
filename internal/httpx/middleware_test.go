package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRequestIDKeepsSaneAndReplacesOthers(t *testing.T) {
	var seen string
	h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestIDFrom(r.Context())
	}))
	for _, tc := range []struct {
		in   string
		keep bool
	}{
		{"abc-123_X.y", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"has space", false},
		{"new\nline", false},
		{"ünïcode", false},
		{"a/b", false},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		if tc.in != "" {
			req.Header[HeaderRequestID] = []string{tc.in}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(HeaderRequestID)
		if got != seen {
			t.Fatalf("%q: header %q, context %q", tc.in, got, seen)
		}
		if tc.keep && got != tc.in {
			t.Errorf("%q: replaced by %q", tc.in, got)
		}
		if !tc.keep && (got == tc.in || len(got) != 26) {
			t.Errorf("%q: got %q, want a fresh 26-character id", tc.in, got)
		}
	}
}

// stack is the middleware order the package documents.
func stack(mux http.Handler, log *slog.Logger, m *Metrics) http.Handler {
	return Chain(mux, RequestID, AccessLog(log), m.Middleware, Recover(log))
}

func TestRecoverWritesJSON500WithRequestID(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("kaboom") })
	mux.HandleFunc("GET /late", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		panic("after the header")
	})
	h := stack(mux, log, NewMetrics(nil))

	req := httptest.NewRequest("GET", "/boom", nil)
	req.Header.Set(HeaderRequestID, "req-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d", rec.Code)
	}
	var body ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if body.Error != (ErrorDetail{Code: "internal", Message: "internal error", RequestID: "req-1"}) {
		t.Fatalf("body = %+v", body)
	}
	if l := logs.String(); !strings.Contains(l, `"request_id":"req-1"`) || !strings.Contains(l, "kaboom") ||
		!strings.Contains(l, "goroutine") {
		t.Fatalf("log lacks request id, panic value or stack: %s", l)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/late", nil))
	if rec.Code != http.StatusAccepted || rec.Body.Len() != 0 {
		t.Fatalf("after the header was sent: status %d body %q", rec.Code, rec.Body)
	}
}

func TestRecoverRepanicsErrAbortHandler(t *testing.T) {
	h := Recover(slog.New(slog.DiscardHandler))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestMetricsLabelsByRoutePattern(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /members/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.PathValue("id"))
	})
	mux.HandleFunc("POST /members", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusCreated, map[string]string{"id": "1"})
	})
	h := stack(mux, slog.New(slog.DiscardHandler), m)
	for _, p := range []string{"/members/1", "/members/2", "/members/3?token=x", "/nope/1", "/nope/2"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/members", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/members", nil))

	for _, tc := range []struct {
		method, route, code string
		want                float64
	}{
		{"GET", "GET /members/{id}", "200", 3},
		{"GET", routeUnmatched, "404", 2},
		{"POST", "POST /members", "201", 1},
		{"OTHER", routeUnmatched, "405", 1},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(tc.method, tc.route, tc.code)); got != tc.want {
			t.Errorf("requests{%s,%s,%s} = %v, want %v", tc.method, tc.route, tc.code, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(m.requests); n != 4 {
		t.Errorf("request series = %d, want 4", n)
	}
	if n, err := testutil.GatherAndCount(reg, "kizuna_http_request_duration_seconds"); err != nil || n != 4 {
		t.Errorf("duration series = %d, %v; want 4", n, err)
	}
}

func TestAccessLogLinesAndLevels(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /verify/{token}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	h := stack(mux, log, NewMetrics(nil))

	req := httptest.NewRequest("GET", "/verify/abc?token=secret", nil)
	req.Header.Set(HeaderRequestID, "rid-7")
	h.ServeHTTP(httptest.NewRecorder(), req)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", lines)
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"level": "INFO", "method": "GET", "path": "/verify/abc", "route": "GET /verify/{token}",
		"status": float64(200), "bytes": float64(2), "request_id": "rid-7"}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s = %v, want %v", k, first[k], v)
		}
	}
	if strings.Contains(lines[0], "secret") {
		t.Errorf("query string logged: %s", lines[0])
	}
	if _, ok := first["duration"]; !ok {
		t.Errorf("no duration: %s", lines[0])
	}
	if second["level"] != "DEBUG" || second["path"] != "/healthz" {
		t.Errorf("healthz line = %s", lines[1])
	}
}

func TestRecorderKeepsFlusherAndUnwrap(t *testing.T) {
	inner := httptest.NewRecorder()
	var w http.ResponseWriter = capture(inner)
	if _, ok := w.(http.Flusher); !ok {
		t.Fatal("recorder is not an http.Flusher")
	}
	if err := http.NewResponseController(w).Flush(); err != nil {
		t.Fatal(err)
	}
	if !inner.Flushed {
		t.Fatal("flush did not reach the underlying writer")
	}
	if w.(interface{ Unwrap() http.ResponseWriter }).Unwrap() != inner {
		t.Fatal("Unwrap does not return the underlying writer")
	}
	if capture(w) != w {
		t.Fatal("capture wrapped a recorder twice")
	}
}

func TestChainOrderAndClientIP(t *testing.T) {
	var order []string
	mw := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				next.ServeHTTP(w, r)
			})
		}
	}
	h := Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { order = append(order, "h") }),
		mw("a"), mw("b"))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if strings.Join(order, ",") != "a,b,h" {
		t.Fatalf("order = %v", order)
	}

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	for addr, want := range map[string]string{"192.0.2.1:5555": "192.0.2.1", "[2001:db8::1]:443": "2001:db8::1", "odd": "odd"} {
		req.RemoteAddr = addr
		if got := ClientIP(req); got != want {
			t.Errorf("ClientIP(%q) = %q, want %q", addr, got, want)
		}
	}
}
