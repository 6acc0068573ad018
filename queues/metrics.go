package queues

import (
	"context"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts what this instance did; the gauges (callers waiting,
// longest wait, operators by state) are read from the database at each
// scrape, so every instance reports the same, whole picture.
type metrics struct {
	offers, noAnswers, answers, abandons, overflows *prometheus.CounterVec
	timeToAnswer                                    *prometheus.HistogramVec
	// callbacks counts callbacks by step (label "event": requested, made,
	// answered, no_answer, failed); callbackDelay is the time from the
	// request to the caller answering the callback.
	callbacks     *prometheus.CounterVec
	callbackDelay *prometheus.HistogramVec
}

func newMetrics(s *Service, reg prometheus.Registerer) *metrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"group"})
	}
	m := &metrics{
		offers:    counter("ivr_queue_offers_total", "Operators rung for a queued call."),
		noAnswers: counter("ivr_queue_no_answers_total", "Offers not answered within the ring timeout."),
		answers:   counter("ivr_queue_answered_total", "Queued calls answered by an operator."),
		abandons:  counter("ivr_queue_abandoned_total", "Callers who hung up while queued."),
		overflows: counter("ivr_queue_overflows_total", "Callers sent elsewhere by a queue limit."),
		timeToAnswer: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ivr_queue_time_to_answer_seconds",
			Help:    "Time from joining the queue to an operator answering.",
			Buckets: TimeToAnswerBuckets(),
		}, []string{"group"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivr_queue_callbacks_total",
			Help: "Callbacks by step: requested, made (an operator took it), answered, no_answer (retried), failed."},
			[]string{"group", "event"}),
		callbackDelay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ivr_queue_callback_delay_seconds",
			Help:    "Time from a callback's request to the caller answering it.",
			Buckets: []float64{30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400},
		}, []string{"group"}),
	}
	if reg != nil {
		reg.MustRegister(m.offers, m.noAnswers, m.answers, m.abandons, m.overflows, m.timeToAnswer,
			m.callbacks, m.callbackDelay, &gauges{s: s})
	}
	return m
}

// TimeToAnswerBuckets are the upper bounds, in seconds, of
// ivr_queue_time_to_answer_seconds. A group's service-level threshold must
// be one of them for the alert rules to measure it (configs/prometheus).
func TimeToAnswerBuckets() []float64 {
	return []float64{5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200}
}

func (m *metrics) offered(group string, n int)  { m.offers.WithLabelValues(group).Add(float64(n)) }
func (m *metrics) noAnswer(group string, n int) { m.noAnswers.WithLabelValues(group).Add(float64(n)) }
func (m *metrics) abandoned(group string)       { m.abandons.WithLabelValues(group).Inc() }
func (m *metrics) overflowed(group string)      { m.overflows.WithLabelValues(group).Inc() }
func (m *metrics) callback(group, kind string) {
	m.callbacks.WithLabelValues(group, strings.TrimPrefix(kind, "callback_")).Inc()
}
func (m *metrics) answered(group string, waited time.Duration) {
	m.answers.WithLabelValues(group).Inc()
	m.timeToAnswer.WithLabelValues(group).Observe(waited.Seconds())
}

var (
	descWaiting = prometheus.NewDesc("ivr_queue_callers_waiting",
		"Callers in the queue (waiting or being offered).", []string{"group"}, nil)
	descLongest = prometheus.NewDesc("ivr_queue_longest_wait_seconds",
		"How long the longest-waiting caller has been queued.", []string{"group"}, nil)
	descCallbacks = prometheus.NewDesc("ivr_queue_callbacks_waiting",
		"Callbacks in the queue (the caller off the line, the place kept).", []string{"group"}, nil)
	descOperators = prometheus.NewDesc("ivr_queue_operators",
		"Operators of the group by state.", []string{"group", "state"}, nil)
)

// gauges reads the queues' state at each scrape.
type gauges struct{ s *Service }

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWaiting
	ch <- descLongest
	ch <- descCallbacks
	ch <- descOperators
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stats, err := g.s.Snapshot(ctx)
	if err != nil {
		g.s.log.Error("queue_metrics_failed", "error", err.Error())
		return
	}
	for _, st := range stats {
		ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, float64(st.Waiting), st.Group)
		ch <- prometheus.MustNewConstMetric(descLongest, prometheus.GaugeValue, st.LongestWait.Seconds(), st.Group)
		ch <- prometheus.MustNewConstMetric(descCallbacks, prometheus.GaugeValue, float64(st.CallbacksWaiting), st.Group)
		for _, state := range States {
			ch <- prometheus.MustNewConstMetric(descOperators, prometheus.GaugeValue, float64(st.Operators[state]), st.Group, string(state))
		}
	}
}

// Snapshot returns every active group's line for a wallboard, by group id.
func (s *Service) Snapshot(ctx context.Context) ([]GroupStats, error) {
	now := s.stampNow()
	// Callers on the line and callbacks apart: a callback waits off the
	// line.
	rows, err := s.pool.Query(ctx, `SELECT g.id, count(e.call_id) FILTER (WHERE e.callback = ''),
			min(e.enqueued_at) FILTER (WHERE e.callback = ''), count(e.call_id) FILTER (WHERE e.callback <> '')
		FROM queue_groups g LEFT JOIN queue_entries e ON e.group_id = g.id
		WHERE g.active GROUP BY g.id ORDER BY g.id`)
	if err != nil {
		return nil, fault.FromDB("queue snapshot", err, "")
	}
	var stats []GroupStats
	index := map[string]int{}
	var oldest *time.Time
	for rows.Next() {
		st := GroupStats{Operators: map[State]int{}}
		if err := rows.Scan(&st.Group, &st.Waiting, &oldest, &st.CallbacksWaiting); err != nil {
			rows.Close()
			return nil, fault.FromDB("queue snapshot", err, "")
		}
		if oldest != nil {
			st.LongestWait = max(now.Sub(*oldest), 0)
		}
		index[st.Group] = len(stats)
		stats = append(stats, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fault.FromDB("queue snapshot", err, "")
	}
	rows, err = s.pool.Query(ctx, `SELECT m.group_id, `+effectiveState("$1")+`, count(*)
		FROM queue_members m JOIN queue_operators o ON o.login = m.login GROUP BY 1, 2`, now)
	if err != nil {
		return nil, fault.FromDB("queue snapshot", err, "")
	}
	var group, state string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&group, &state, &n}, func() error {
		if i, ok := index[group]; ok {
			stats[i].Operators[State(state)] = n
		}
		return nil
	}); err != nil {
		return nil, fault.FromDB("queue snapshot", err, "")
	}
	rows, err = s.pool.Query(ctx, `SELECT group_id, kind, count(*), COALESCE(avg(waited_ms), 0)::bigint FROM queue_log
		WHERE at >= $1 GROUP BY 1, 2`, s.dayStart(now))
	if err != nil {
		return nil, fault.FromDB("queue snapshot", err, "")
	}
	var kind string
	var avgMS int64
	if _, err := pgx.ForEachRow(rows, []any{&group, &kind, &n, &avgMS}, func() error {
		i, ok := index[group]
		if !ok {
			return nil
		}
		switch kind {
		case "offered":
			stats[i].Offered = n
		case "answered":
			stats[i].Answered = n
		case "abandoned":
			stats[i].Abandoned = n
		case "overflow":
			stats[i].Overflowed = n
		case EventCallbackRequested:
			stats[i].CallbacksRequested = n
		case EventCallbackMade:
			stats[i].CallbacksMade = n
		case EventCallbackAnswered:
			stats[i].CallbacksAnswered = n
			stats[i].CallbackDelay = fromMS(avgMS).Round(time.Second)
		case EventCallbackFailed:
			stats[i].CallbacksFailed = n
		}
		return nil
	}); err != nil {
		return nil, fault.FromDB("queue snapshot", err, "")
	}
	return stats, nil
}
