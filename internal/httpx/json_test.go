package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/errs"
)

func TestWriteJSONHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, http.StatusCreated, map[string]string{"name": "キズナ"})
	if rec.Code != 201 || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" ||
		rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d headers %v", rec.Code, rec.Header())
	}
	if got := strings.TrimSpace(rec.Body.String()); got != `{"name":"キズナ"}` {
		t.Fatalf("body = %s", got)
	}
}

func TestWriteErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		err            error
		status         int
		body           string
		header, hvalue string
	}{
		{errs.Invalid("email", "must be an email address"), 400,
			`{"error":{"code":"invalid","message":"must be an email address","field":"email","request_id":"rid"}}`, "", ""},
		{errs.Unauthenticated("sign in first"), 401,
			`{"error":{"code":"unauthenticated","message":"sign in first","request_id":"rid"}}`, "WWW-Authenticate", "Bearer"},
		{errs.Forbidden("admins only"), 403,
			`{"error":{"code":"forbidden","message":"admins only","request_id":"rid"}}`, "", ""},
		{fmt.Errorf("loading member 7: %w", errs.NotFound("member not found")), 404,
			`{"error":{"code":"not_found","message":"member not found","request_id":"rid"}}`, "", ""},
		{errs.Conflict("handle", "handle is taken"), 409,
			`{"error":{"code":"conflict","message":"handle is taken","field":"handle","request_id":"rid"}}`, "", ""},
		{errs.TooMany("slow down"), 429,
			`{"error":{"code":"too_many_requests","message":"slow down","request_id":"rid"}}`, "Retry-After", "60"},
		{&http.MaxBytesError{Limit: 1024}, 413,
			`{"error":{"code":"too_large","message":"request body must be at most 1024 bytes","request_id":"rid"}}`, "", ""},
		{errors.New("pq: password authentication failed for user kizuna"), 500,
			`{"error":{"code":"internal","message":"internal error","request_id":"rid"}}`, "", ""},
		{&errs.Error{Kind: errs.KindInternal, Msg: "secret detail", Err: errors.New("disk full")}, 500,
			`{"error":{"code":"internal","message":"internal error","request_id":"rid"}}`, "", ""},
	} {
		var logs bytes.Buffer
		req := httptest.NewRequest("POST", "/api/v1/members", nil)
		req = req.WithContext(context.WithValue(req.Context(), requestIDKey{}, "rid"))
		rec := httptest.NewRecorder()
		WriteError(rec, req, slog.New(slog.NewTextHandler(&logs, nil)), tc.err)
		if rec.Code != tc.status || strings.TrimSpace(rec.Body.String()) != tc.body {
			t.Errorf("%v: %d %s, want %d %s", tc.err, rec.Code, rec.Body, tc.status, tc.body)
		}
		if tc.header != "" && rec.Header().Get(tc.header) != tc.hvalue {
			t.Errorf("%v: %s = %q, want %q", tc.err, tc.header, rec.Header().Get(tc.header), tc.hvalue)
		}
		if tc.status == 500 && (!strings.Contains(logs.String(), "request_id=rid") || !strings.Contains(logs.String(), tc.err.Error())) {
			t.Errorf("%v: internal error not logged with request id: %s", tc.err, logs.String())
		}
		if tc.status != 500 && logs.Len() != 0 {
			t.Errorf("%v: caller error logged: %s", tc.err, logs.String())
		}
	}

	// A handler's own Retry-After wins.
	rec := httptest.NewRecorder()
	rec.Header().Set("Retry-After", "5")
	WriteError(rec, httptest.NewRequest("GET", "/", nil), nil, errs.TooMany("wait"))
	if rec.Header().Get("Retry-After") != "5" {
		t.Errorf("Retry-After = %q, want 5", rec.Header().Get("Retry-After"))
	}
}

type signup struct {
	Email string `json:"email"`
	Age   int    `json:"age"`
	Opts  struct {
		Newsletter bool `json:"newsletter"`
	} `json:"opts"`
	Tags []string `json:"tags"`
}

func TestDecodeJSONNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body string
		field, msg        string
	}{
		{"unknown field", "application/json", `{"email":"a@example.jp","admin":true}`, "admin", "unknown field"},
		{"string for int", "application/json", `{"age":"twelve"}`, "age", "must be an integer"},
		{"float for int", "application/json", `{"age":1.5}`, "age", "must be an integer"},
		{"number for string", "application/json", `{"email":42}`, "email", "must be a string"},
		{"nested bool", "application/json", `{"opts":{"newsletter":"yes"}}`, "opts.newsletter", "must be a boolean"},
		{"object for array", "application/json", `{"tags":{}}`, "tags", "must be an array"},
		{"array for object", "application/json", `[1]`, "body", "must be an object"},
		{"syntax", "application/json", `{"email" "a"}`, "body", "malformed JSON at byte 10"},
		{"truncated", "application/json", `{"email":`, "body", "malformed JSON: unexpected end of body"},
		{"empty", "application/json", ``, "body", "request body is empty"},
		{"two values", "application/json", `{} {}`, "body", "request body must be a single JSON value"},
		{"trailing junk", "application/json", `{}x`, "body", "request body must be a single JSON value"},
		{"wrong type", "text/plain", `{}`, "body", "Content-Type must be application/json"},
		{"no type", "", `{}`, "body", "Content-Type must be application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			var dst signup
			err := DecodeJSON(httptest.NewRecorder(), req, &dst, 1<<10)
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.KindInvalid || e.Field != tc.field || e.Msg != tc.msg {
				t.Fatalf("err = %v, want invalid %s: %s", err, tc.field, tc.msg)
			}
		})
	}
}

func TestDecodeJSONAcceptsAndLimits(t *testing.T) {
	req := httptest.NewRequest("POST", "/", strings.NewReader(`{"email":"a@example.jp","age":30,"opts":{"newsletter":true}}`+"\n"))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	var dst signup
	if err := DecodeJSON(httptest.NewRecorder(), req, &dst, 1<<10); err != nil {
		t.Fatal(err)
	}
	if dst.Email != "a@example.jp" || dst.Age != 30 || !dst.Opts.Newsletter {
		t.Fatalf("dst = %+v", dst)
	}

	big, _ := json.Marshal(map[string]string{"email": strings.Repeat("x", 2000)})
	req = httptest.NewRequest("POST", "/", bytes.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	err := DecodeJSON(httptest.NewRecorder(), req, &dst, 1<<10)
	var tooLarge *http.MaxBytesError
	if !errors.As(err, &tooLarge) {
		t.Fatalf("err = %v, want *http.MaxBytesError", err)
	}
	rec := httptest.NewRecorder()
	WriteError(rec, req, nil, err)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", rec.Code)
	}
}
