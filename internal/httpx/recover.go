package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recover turns a panic in a handler into a logged error with its stack and, if nothing was
// written yet, a 500 JSON error. http.ErrAbortHandler is re-panicked: it is net/http's way to
// abort a response on purpose.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := capture(w)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic serving request",
					slog.String("request_id", RequestIDFrom(r.Context())),
					slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
				if !rec.written() {
					writeErrorBody(rec, r, http.StatusInternalServerError, "internal", "internal error", "")
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}
