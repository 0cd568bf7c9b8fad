// Package httpx holds the HTTP edge helpers shared by internal/api and internal/web: request ids,
// panic recovery, access logs, metrics, JSON in and out, the one mapping from errs kinds to status
// codes, and pagination.
//
// Middleware order matters because Go's ServeMux records the matched pattern on the very
// *http.Request it is handed. Middleware that replaces the request (RequestID adds to the
// context) must therefore sit outside those that read r.Pattern after serving (AccessLog,
// Metrics). The intended stack is
//
//	httpx.Chain(mux, httpx.RequestID, httpx.AccessLog(log), metrics.Middleware, httpx.Recover(log))
package httpx

import (
	"net"
	"net/http"
)

// Chain wraps h in mws so that mws[0] is outermost: a request passes through mws in order.
func Chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// ClientIP returns the host part of r.RemoteAddr. X-Forwarded-For is not trusted: any client
// can set it.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
