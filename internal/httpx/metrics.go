package httpx

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// routeUnmatched labels requests no ServeMux pattern matched, so stray paths add no series.
const routeUnmatched = "unmatched"

// Metrics records request counts and latencies by method and matched route.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "kizuna_http_requests_total",
			Help: "HTTP requests served, by method, matched route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kizuna_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by method and matched route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
}

// Middleware records each request. It reads r.Pattern after serving, which the ServeMux sets on
// the request it was given; so no middleware that replaces the request may sit between this one
// and the mux.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := capture(w)
		defer func() {
			route := r.Pattern
			if route == "" {
				route = routeUnmatched
			}
			method := metricMethod(r.Method)
			m.requests.WithLabelValues(method, route, strconv.Itoa(rec.code())).Inc()
			m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// metricMethod folds unknown methods into one label value: clients choose the method.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}
