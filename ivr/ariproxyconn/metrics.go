package ariproxyconn

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	nodesUp     prometheus.Gauge
	nodeUp      *prometheus.GaugeVec
	connected   prometheus.Gauge
	reconnects  prometheus.Counter
	events      prometheus.Counter
	undecodable prometheus.Counter
	dropped     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		nodesUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ivr_ari_nodes_up",
			Help: "Asterisk nodes announcing themselves through ari-proxy (answering its ping with their Asterisk connected).",
		}),
		// One series per Asterisk entity id: as many as nodes.
		nodeUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ivr_ari_node_up",
			Help: "1 while the Asterisk node (entity id) announces itself through ari-proxy, 0 once it stopped.",
		}, []string{"node"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ivr_ari_connected",
			Help: "1 while the connection to NATS (ARI through ari-proxy) is up.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_ari_nats_reconnects_total",
			Help: "Times the connection to NATS was lost after being up.",
		}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_ari_bus_events_total",
			Help: "Events handed to the controller from the bus.",
		}),
		undecodable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_ari_bus_events_undecodable_total",
			Help: "Messages on the event subjects that are not ARI events the library decodes.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_ari_events_dropped_total",
			Help: "Times NATS dropped events because the controller fell behind.",
		}),
	}
	for _, c := range []prometheus.Collector{m.nodesUp, m.nodeUp, m.connected, m.reconnects, m.events, m.undecodable, m.dropped} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
