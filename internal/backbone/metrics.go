package backbone

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	relayed   prometheus.Counter
	appended  prometheus.Counter
	consumed  *prometheus.CounterVec
	failures  *prometheus.CounterVec
	lagMillis *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kizuna_outbox_relayed_events_total", Help: "Events moved from the outbox to the stream."}),
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kizuna_stream_appended_events_total", Help: "Events appended to the stream directly (ingest)."}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kizuna_consumer_events_total", Help: "Events handled by each consumer."}, []string{"consumer"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kizuna_consumer_failures_total", Help: "Batches a consumer failed and will retry."}, []string{"consumer"}),
		lagMillis: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kizuna_consumer_lag_seconds", Help: "Age of the newest event each consumer handled, at the time it handled it."}, []string{"consumer"}),
	}
	if reg != nil {
		reg.MustRegister(m.relayed, m.appended, m.consumed, m.failures, m.lagMillis)
	}
	return m
}
