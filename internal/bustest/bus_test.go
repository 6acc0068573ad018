package bustest_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/bustest"
	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/ariproxyconn"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/leases"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) { pgtest.Main(m, tickets.Migrate, leases.Migrate, queues.Migrate) }

var secret = []byte("demo-pin-secret-not-for-production")

// loadConfig parses the shipped configuration, with each pair of edits
// (old, new text) made first.
func loadConfig(t *testing.T, edits ...string) *menu.Config {
	t.Helper()
	data, err := os.ReadFile("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(edits); i += 2 {
		if !bytes.Contains(data, []byte(edits[i])) {
			t.Fatalf("configs/helpdesk.yaml has no %q to edit", edits[i])
		}
		data = bytes.Replace(data, []byte(edits[i]), []byte(edits[i+1]), 1)
	}
	cfg, err := menu.Parse("helpdesk.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// monday10 is a working Monday morning in Rome: the desk is open.
func monday10(t *testing.T) time.Time {
	t.Helper()
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(2026, 11, 23, 10, 0, 0, 0, rome)
}

// desk is the help desk of the tests: the nodes, and the controllers
// that share their calls, each through its own ari-proxy client.
type desk struct {
	t     *testing.T
	cfg   *menu.Config
	clk   *clock.Scaled
	bus   *bustest.NATS
	nodes []*bustest.Node
	ctrls []*instance
	pool  *pgxpool.Pool
	store *tickets.Store
	// leases, when set, gives each controller its leases (instance name
	// = controller name).
	leases func(name string) ivr.CallLeases
	// queues, when set, are the operator queues every controller uses.
	queues *queues.Service
}

// instance is one controller and what it saw.
type instance struct {
	name string
	ctrl *ivr.Controller
	conn *ariproxyconn.Conn
	reg  *prometheus.Registry

	mu     sync.Mutex
	events map[string][]ivr.Event // by call id
	notify chan struct{}
}

func (in *instance) observe(e ivr.Event) {
	in.mu.Lock()
	in.events[e.CallID] = append(in.events[e.CallID], e)
	in.mu.Unlock()
	select {
	case in.notify <- struct{}{}:
	default:
	}
}

func (in *instance) saw(callID string, pred func(ivr.Event) bool) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, e := range in.events[callID] {
		if pred(e) {
			return true
		}
	}
	return false
}

func (in *instance) sawCall(callID string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.events[callID]) > 0
}

const (
	idA = "02:fc:00:00:00:0a"
	idB = "02:fc:00:00:00:0b"
)

func newDesk(t *testing.T, nodeIDs []string, controllers int, opts ...func(*desk)) *desk {
	t.Helper()
	cfg := loadConfig(t)
	d := &desk{t: t, cfg: cfg, clk: clock.NewScaled(monday10(t), 4), bus: bustest.StartNATS(t), pool: pgtest.Pool(t)}
	for _, o := range opts {
		o(d)
	}
	d.store = tickets.New(d.pool, tickets.Options{Location: cfg.Location()})
	for i, id := range nodeIDs {
		n := bustest.StartNode(t, d.bus, arisim.Options{Clock: d.clk, AsteriskID: id, SystemName: "ast" + string(rune('a'+i)),
			SoundDuration: ivr.PromptDurations(cfg)})
		for _, op := range cfg.Operators {
			n.Sim.SetEndpoint(op.Endpoint, arisim.EndpointBehavior{Mode: arisim.NoAnswer})
		}
		n.Sim.SetEndpoint("PJSIP/op801", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second})
		d.nodes = append(d.nodes, n)
	}
	for i := range controllers {
		d.ctrls = append(d.ctrls, d.startController(string(rune('A'+i))))
	}
	d.waitReady(nodeIDs...)
	return d
}

func (d *desk) startController(name string) *instance {
	t := d.t
	in := &instance{name: name, reg: prometheus.NewRegistry(), events: map[string][]ivr.Event{}, notify: make(chan struct{}, 1)}
	var err error
	var cl ivr.CallLeases
	if d.leases != nil {
		cl = d.leases(name)
	}
	in.ctrl, err = ivr.New(ivr.Options{App: "ivr", Config: func() *menu.Config { return d.cfg }, PINSecret: secret,
		Store: d.store, Clock: d.clk, Observe: in.observe, Registerer: in.reg, Shared: true, Leases: cl, Queues: queuesOf(d.queues),
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})).With("instance", name)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.conn, err = ariproxyconn.Start(ctx, ariproxyconn.Options{URL: d.bus.URL(), App: "ivr", NewCall: ivr.NewCall,
		Events: ivr.HandledEvents, PingInterval: 100 * time.Millisecond, ReconnectWait: 50 * time.Millisecond,
		Registerer: in.reg, OnConnect: func() { in.ctrl.Reconcile(ctx) }},
		func(c ari.Client) func(ari.Event) { return in.ctrl.Attach(ctx, c) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(15 * time.Second)
		for in.ctrl.ActiveCalls() > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := in.ctrl.ActiveCalls(); n > 0 {
			t.Errorf("controller %s: %d calls still active at the end", in.name, n)
		}
		cancel()
		in.conn.Close()
	})
	return in
}

// waitReady waits until every controller is connected and hears every
// node.
func (d *desk) waitReady(ids ...string) {
	d.t.Helper()
	waitUntil(d.t, "controllers ready with every node", func() bool {
		for _, in := range d.ctrls {
			if !in.conn.Ready() || len(in.conn.Nodes()) != len(ids) {
				return false
			}
		}
		return true
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// owner waits for the controller that greets the call with the main
// menu and returns it.
func (d *desk) owner(callID string) *instance {
	d.t.Helper()
	var got *instance
	waitUntil(d.t, "a controller to greet "+callID, func() bool {
		for _, in := range d.ctrls {
			if in.saw(callID, isRootPrompt) {
				got = in
				return true
			}
		}
		return false
	})
	return got
}

func isRootPrompt(e ivr.Event) bool {
	if e.Kind != ivr.EvPrompt {
		return false
	}
	for _, p := range e.Prompt {
		if p == "node:root" {
			return true
		}
	}
	return false
}

func (d *desk) waitKind(in *instance, callID, kind string) {
	d.t.Helper()
	waitUntil(d.t, kind+" of "+callID, func() bool {
		return in.saw(callID, func(e ivr.Event) bool { return e.Kind == kind })
	})
}

// checkRecord checks that the call has exactly one record, on its node,
// with a ticket.
func (d *desk) checkRecord(callID, node string) {
	d.t.Helper()
	var n int
	var recNode string
	var ticket *int64
	err := d.pool.QueryRow(context.Background(),
		`SELECT count(*) OVER (), asterisk_node, ticket_id FROM calls WHERE channel_id = $1`, callID).Scan(&n, &recNode, &ticket)
	if err != nil {
		d.t.Fatalf("call record of %s: %v", callID, err)
	}
	if n != 1 || recNode != node || ticket == nil {
		d.t.Errorf("call %s: %d records, node %q (want %q), ticket %v", callID, n, recNode, node, ticket)
	}
}

// Two simulated Asterisk nodes behind two real ari-proxy servers, two
// controllers each on its own ari-proxy client, one PostgreSQL: every
// call is served by exactly one controller (one record, one ticket), the
// calls of both nodes spread over both controllers, and an operator's leg
// and bridge are made on the caller's node.
func TestTwoNodesTwoControllers(t *testing.T) {
	d := newDesk(t, []string{idA, idB}, 2)
	ctx := context.Background()
	served := map[string]int{}
	perNode := map[string]int{}
	for i := 0; i < 24 && (len(served) < 2 || len(perNode) < 2 || i < 6); i++ {
		node := d.nodes[i%2]
		c, err := node.Sim.PlaceCall(ctx, "0612345678", "800749049", arisim.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in := d.owner(c.ID())
		served[in.name]++
		perNode[node.ID]++
		if err := c.Hangup(); err != nil {
			t.Fatal(err)
		}
		d.waitKind(in, c.ID(), ivr.EvOutcome)
		for _, other := range d.ctrls {
			if other != in && other.sawCall(c.ID()) {
				t.Errorf("call %s on %s: controllers %s and %s both acted on it", c.ID(), node, in.name, other.name)
			}
		}
		d.checkRecord(c.ID(), node.ID)
	}
	if len(served) != 2 {
		t.Errorf("calls were not spread over the controllers: %v", served)
	}
	t.Logf("calls per controller %v, per node %v", served, perNode)

	// An operator answers a call of each node: the leg rung and the
	// bridge are on the caller's Asterisk, none on the other.
	for i, node := range d.nodes {
		other := d.nodes[1-i]
		c, err := node.Sim.PlaceCall(ctx, "0612345678", "800749049", arisim.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in := d.owner(c.ID())
		if err := c.Press("31"); err != nil {
			t.Fatal(err)
		}
		d.waitKind(in, c.ID(), ivr.EvAnswered)
		if got := metric(t, in.reg, "ivr_active_calls_by_node", "node", node.ID); got != 1 {
			t.Errorf("controller %s: ivr_active_calls_by_node{node=%q} %v during its call, want 1", in.name, node.ID, got)
		}
		if st := node.Sim.Stats(); st.ActiveChannels < 2 || st.ActiveBridges < 1 {
			t.Errorf("caller's %s: %d channels, %d bridges; want the operator's leg and the bridge there", node, st.ActiveChannels, st.ActiveBridges)
		}
		if st := other.Sim.Stats(); st.ActiveChannels != 0 || st.ActiveBridges != 0 {
			t.Errorf("other %s: %d channels, %d bridges made for a call of %s", other, st.ActiveChannels, st.ActiveBridges, node)
		}
		if err := c.Hangup(); err != nil {
			t.Fatal(err)
		}
		d.waitKind(in, c.ID(), ivr.EvOutcome)
		d.checkRecord(c.ID(), node.ID)
		var operator, outcome string
		if err := d.pool.QueryRow(ctx, `SELECT operator, outcome FROM calls WHERE channel_id = $1`, c.ID()).Scan(&operator, &outcome); err != nil {
			t.Fatal(err)
		}
		if operator != "op801" || outcome != string(tickets.OutcomeAnswered) {
			t.Errorf("call %s of %s: operator %q outcome %q", c.ID(), node, operator, outcome)
		}
	}
	for _, in := range d.ctrls {
		if got := metric(t, in.reg, "ivr_ari_nodes_up"); got != 2 {
			t.Errorf("controller %s: ivr_ari_nodes_up %v, want 2", in.name, got)
		}
		for _, n := range d.nodes {
			if got := metric(t, in.reg, "ivr_ari_node_up", "node", n.ID); got != 1 {
				t.Errorf("controller %s: ivr_ari_node_up{node=%q} %v, want 1", in.name, n.ID, got)
			}
		}
	}
}

// metric reads a gauge of reg; labels are name, value pairs.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

// NATS restarted while the desk is idle: the controllers see it go (not
// ready, ivr_ari_connected 0), reconnect when it is back, hear the nodes
// again and take calls again, each call once.
func TestNATSRestart(t *testing.T) {
	d := newDesk(t, []string{idA, idB}, 2)
	ctx := context.Background()
	call := func(node *bustest.Node) {
		t.Helper()
		c, err := node.Sim.PlaceCall(ctx, "0612345678", "800749049", arisim.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in := d.owner(c.ID())
		if err := c.Hangup(); err != nil {
			t.Fatal(err)
		}
		d.waitKind(in, c.ID(), ivr.EvOutcome)
		for _, other := range d.ctrls {
			if other != in && other.sawCall(c.ID()) {
				t.Errorf("call %s: controllers %s and %s both acted on it", c.ID(), in.name, other.name)
			}
		}
		d.checkRecord(c.ID(), node.ID)
	}
	call(d.nodes[0])

	d.bus.Stop()
	waitUntil(t, "the controllers to see NATS go", func() bool {
		for _, in := range d.ctrls {
			if in.conn.Ready() || metric(t, in.reg, "ivr_ari_connected") != 0 {
				return false
			}
		}
		return true
	})
	for _, in := range d.ctrls {
		if st := in.conn.Status(); !strings.HasPrefix(st, "NATS down") {
			t.Errorf("controller %s: status %q while NATS is down", in.name, st)
		}
	}
	d.bus.Start()
	d.waitReady(idA, idB)
	for _, in := range d.ctrls {
		if got := metric(t, in.reg, "ivr_ari_connected"); got != 1 {
			t.Errorf("controller %s: ivr_ari_connected %v after NATS came back", in.name, got)
		}
	}
	for i := range 4 {
		call(d.nodes[i%2])
	}
}

// A node whose ari-proxy stops announcing (its Asterisk or its proxy is
// gone) is counted down: ivr_ari_node_up 0 for it, ivr_ari_nodes_up one
// less, and the status says when no node is left.
func TestNodeGoneCountedDown(t *testing.T) {
	d := newDesk(t, []string{idA, idB}, 1)
	in := d.ctrls[0]
	d.nodes[1].Stop()
	waitUntil(t, "node B counted down", func() bool {
		return metric(t, in.reg, "ivr_ari_nodes_up") == 1 && metric(t, in.reg, "ivr_ari_node_up", "node", idB) == 0
	})
	if got := metric(t, in.reg, "ivr_ari_node_up", "node", idA); got != 1 {
		t.Errorf("ivr_ari_node_up{node=A} %v, want 1", got)
	}
	if !in.conn.Ready() {
		t.Errorf("not ready with node A up: %s", in.conn.Status())
	}
	d.nodes[0].Stop()
	waitUntil(t, "no node left", func() bool { return !in.conn.Ready() })
	if st := in.conn.Status(); !strings.Contains(st, "no Asterisk node") {
		t.Errorf("status %q with no node", st)
	}
}

// A controller that drains leaves the queue of new calls: every call
// placed afterwards, on either node, goes to the other.
func TestDrainedControllerTakesNoNewCalls(t *testing.T) {
	d := newDesk(t, []string{idA, idB}, 2)
	gone, staying := d.ctrls[0], d.ctrls[1]
	gone.conn.Drain()
	gone.ctrl.Drain()
	for i := range 6 {
		node := d.nodes[i%2]
		c, err := node.Sim.PlaceCall(context.Background(), "0612345678", "800749049", arisim.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if in := d.owner(c.ID()); in != staying {
			t.Errorf("call %s taken by the drained controller %s", c.ID(), in.name)
		}
		if err := c.Hangup(); err != nil {
			t.Fatal(err)
		}
		d.waitKind(staying, c.ID(), ivr.EvOutcome)
		if gone.sawCall(c.ID()) {
			t.Errorf("the drained controller acted on call %s", c.ID())
		}
		d.checkRecord(c.ID(), node.ID)
	}
}

// An ari-proxy restarted under a call in the menu (its container
// restarted): the call's keys reach its controller again through the new
// proxy, and new calls on that node are served.
func TestProxyRestartedUnderACall(t *testing.T) {
	d := newDesk(t, []string{idA, idB}, 2)
	ctx := context.Background()
	node := d.nodes[0]
	c, err := node.Sim.PlaceCall(ctx, "0612345678", "800749049", arisim.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := d.owner(c.ID())
	node.RestartProxy(t)
	d.waitReady(idA, idB)
	if err := c.Press("31"); err != nil {
		t.Fatal(err)
	}
	d.waitKind(in, c.ID(), ivr.EvAnswered)
	if err := c.Hangup(); err != nil {
		t.Fatal(err)
	}
	d.waitKind(in, c.ID(), ivr.EvOutcome)
	d.checkRecord(c.ID(), node.ID)
	c2, err := node.Sim.PlaceCall(ctx, "0612345678", "800749049", arisim.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in2 := d.owner(c2.ID())
	if err := c2.Hangup(); err != nil {
		t.Fatal(err)
	}
	d.waitKind(in2, c2.ID(), ivr.EvOutcome)
	d.checkRecord(c2.ID(), node.ID)
}

// queuesOf is nil for no queues (a nil *queues.Service in the interface
// would not be).
func queuesOf(q *queues.Service) ivr.Queues {
	if q == nil {
		return nil
	}
	return q
}
