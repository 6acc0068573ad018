package webhooks

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the deliveries' figures on /metrics: what the delivery page
// shows one by one, counted for alerts (a receiver down for an hour shows
// as retries and a growing backlog).
type metrics struct {
	attempts *prometheus.CounterVec // by result: delivered, retry, failed
	seconds  prometheus.Histogram
	paused   prometheus.Counter
	backlog  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivr_webhook_attempts_total",
			Help: "Webhook delivery attempts, by result: delivered, retry (failed, tried again later), failed (given up)."},
			[]string{"result"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ivr_webhook_attempt_seconds",
			Help: "Duration of webhook delivery attempts, from the request to the answer's status.", Buckets: prometheus.DefBuckets}),
		paused: prometheus.NewCounter(prometheus.CounterOpts{Name: "ivr_webhook_paused_total",
			Help: "Webhook subscriptions paused after failing for a day."}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ivr_webhook_backlog",
			Help: "Webhook deliveries pending (due or waiting for a retry) at the worker's last pass."}),
	}
	for _, r := range []string{"delivered", "retry", "failed"} {
		m.attempts.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.seconds, m.paused, m.backlog)
	}
	return m
}

func (m *metrics) attempt(result string, d time.Duration) {
	m.attempts.WithLabelValues(result).Inc()
	m.seconds.Observe(d.Seconds())
}

// countBacklog sets the backlog gauge from the outbox.
func (s *Service) countBacklog(ctx context.Context) error {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL`).Scan(&n)
	if err == nil {
		s.metrics.backlog.Set(float64(n))
	}
	return err
}
