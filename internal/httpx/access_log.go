package httpx

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// AccessLog writes one line per request: at DEBUG for probes, metrics and static assets, at INFO
// otherwise. The query string is left out because tokens travel there.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := capture(w)
			defer func() {
				level := slog.LevelInfo
				if quietPath(r.URL.Path) {
					level = slog.LevelDebug
				}
				log.LogAttrs(r.Context(), level, "http request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("route", r.Pattern),
					slog.Int("status", rec.code()),
					slog.Int64("bytes", rec.bytes),
					slog.Duration("duration", time.Since(start)),
					slog.String("request_id", RequestIDFrom(r.Context())))
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// quietPath reports whether requests for path are routine enough to log at DEBUG.
func quietPath(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics", "/favicon.ico", "/robots.txt":
		return true
	}
	return strings.HasPrefix(path, "/static/") || strings.HasPrefix(path, "/assets/")
}
