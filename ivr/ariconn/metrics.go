package ariconn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests   *prometheus.HistogramVec
	mu         sync.RWMutex
	observers  map[methodRoute]prometheus.Observer // requests' children
	errors     *prometheus.CounterVec
	connected  prometheus.Gauge
	reconnects prometheus.Counter
	events     *prometheus.CounterVec
	// eventCounters caches the counters of the known types: a label
	// lookup per event is measurable at hundreds of events a second.
	eventCounters sync.Map // "type/handled" → prometheus.Counter
	eventTypes    atomic.Int64
	undecodable   *prometheus.CounterVec
	replaced      prometheus.Counter
	dropped       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		observers: map[methodRoute]prometheus.Observer{},
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ivr_ari_request_duration_seconds",
			Help:    "Latency of ARI REST requests by method and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_ari_request_errors_total",
			Help: "ARI REST requests that failed, by route and kind (timeout, network, 4xx, 5xx).",
		}, []string{"route", "kind"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ivr_ari_connected",
			Help: "1 while the event WebSocket to Asterisk is connected.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_ari_websocket_reconnects_total",
			Help: "Times the event WebSocket to Asterisk was lost after being up.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_ari_events_total",
			Help: "Events received from Asterisk, by type, and whether the controller handles them (handled=\"false\": dropped undecoded; Asterisk sends them when it cannot filter).",
		}, []string{"type", "handled"}),
		undecodable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_ari_events_undecodable_total",
			Help: "Events the ARI library cannot decode, kept from it so they cannot crash the process.",
		}, []string{"reason"}),
		replaced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_ari_application_replaced_total",
			Help: "Times another connection took over the Stasis application.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_ari_events_dropped_total",
			Help: "Events dropped because the library's socket was away too long.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.errors, m.connected, m.reconnects, m.events, m.undecodable, m.replaced, m.dropped} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// maxEventTypes bounds the type label: ARI 20 has about 50 event types.
const maxEventTypes = 100

// event counts one received event. Types come from Asterisk; one that is
// not an ARI event name (letters only, at most 40), or beyond the first
// maxEventTypes seen, counts as "other": a broken peer cannot grow the
// label set.
func (m *metrics) event(typ string, handled bool) {
	if !plainEventType(typ) {
		typ = "other"
	}
	key := typ + "/" + strconv.FormatBool(handled)
	if c, ok := m.eventCounters.Load(key); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	if m.eventTypes.Add(1) > maxEventTypes && typ != "other" {
		m.event("other", handled)
		return
	}
	c := m.events.WithLabelValues(typ, strconv.FormatBool(handled))
	m.eventCounters.Store(key, c)
	c.Inc()
}

func plainEventType(t string) bool {
	if t == "" || len(t) > 40 {
		return false
	}
	for _, r := range t {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

type methodRoute struct{ method, route string }

// requestsFor is requests.WithLabelValues(method, route), from a cache:
// the label lookup hashes and locks, for every request.
func (m *metrics) requestsFor(method, route string) prometheus.Observer {
	k := methodRoute{method, route}
	m.mu.RLock()
	o, ok := m.observers[k]
	m.mu.RUnlock()
	if ok {
		return o
	}
	o = m.requests.WithLabelValues(method, route)
	m.mu.Lock()
	m.observers[k] = o
	m.mu.Unlock()
	return o
}

// instrumented measures every REST request, and bounds it by timeout
// (unless its context ends sooner) until its body is closed.
type instrumented struct {
	next    http.RoundTripper
	m       *metrics
	timeout time.Duration
}

func (t *instrumented) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	route := Route(r.URL.Path)
	cancel := context.CancelFunc(nil)
	if dl, ok := r.Context().Deadline(); t.timeout > 0 && (!ok || dl.After(start.Add(t.timeout))) {
		var ctx context.Context
		ctx, cancel = context.WithDeadline(r.Context(), start.Add(t.timeout))
		r = r.WithContext(ctx)
	}
	resp, err := t.next.RoundTrip(r)
	if cancel != nil {
		if err != nil {
			cancel()
		} else {
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		}
	}
	t.m.requestsFor(r.Method, route).Observe(time.Since(start).Seconds())
	switch {
	case err != nil:
		kind := "network"
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			kind = "timeout"
		}
		t.m.errors.WithLabelValues(route, kind).Inc()
	case resp.StatusCode >= 400:
		t.m.errors.WithLabelValues(route, strconv.Itoa(resp.StatusCode/100)+"xx").Inc()
		// ari/v5 closes error bodies unread for requests with no result,
		// which throws the connection away; read them (they are small).
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, err
}

// cancelOnClose ends a request's deadline when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

var collections = map[string]bool{
	"channels": true, "bridges": true, "playbacks": true, "live": true, "stored": true,
	"applications": true, "endpoints": true, "sounds": true, "deviceStates": true, "mailboxes": true,
}

// Route turns a request path into a template with bounded cardinality:
// /ari/channels/1795320990.1/play/pb-1 becomes /channels/{id}/play/{id}.
// (One pass and one allocation: it runs for every request.)
func Route(path string) string {
	var b strings.Builder
	b.Grow(len(path) + 8)
	var before, prev string // the two previous segments, as written
	i := 0
	for seg := range strings.SplitSeq(strings.Trim(strings.TrimPrefix(path, "/ari"), "/"), "/") {
		if i > 0 && (collections[prev] && !collections[seg] ||
			prev == "play" || (prev == "{id}" && i >= 2 && before == "endpoints")) {
			seg = "{id}"
		}
		b.WriteByte('/')
		b.WriteString(seg)
		before, prev = prev, seg
		i++
	}
	return b.String()
}
