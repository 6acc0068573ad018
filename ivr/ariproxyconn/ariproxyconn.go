// Package ariproxyconn connects the call controller to Asterisk over NATS
// through github.com/CyCoreSystems/ari-proxy/v5 v5.3.1: an ari-proxy
// server beside each Asterisk relays its ARI, and several controllers
// share the calls of all the nodes. It offers what ariconn offers
// (Client, Ready/Wait, OnConnect, Status, Close) and works around what
// v5.3.1 gets wrong for that:
//
//   - client.Listen is meant to hand each new call to one member of a
//     queue group, but the NATS bus ignores the queue name (SubscribeEvent
//     subscribes plainly): every controller would get every call. New
//     calls are therefore taken here from a real NATS queue subscription.
//   - events of one call must reach the controller in order, the new
//     call's StasisStart before its keys. Both subscriptions (every event
//     but new calls; new calls, one controller each) deliver into one
//     channel from the NATS reader, so their order is the bus's order.
//   - client.WithNATS leaves the request timeout at zero (every request
//     times out at once); it is set here (requestTimeout).
//   - the library's own NATS connection gives up after 60 reconnections;
//     the one made here never does, and OnConnect runs after each one.
//
// Nodes are known from ari-proxy's announce/ping protocol: the servers
// answer a ping on ari.ping with their entity id on ari.announce, and only
// while their Asterisk is connected.
package ariproxyconn

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/CyCoreSystems/ari-proxy/v5/client"
	"github.com/CyCoreSystems/ari-proxy/v5/messagebus"
	"github.com/CyCoreSystems/ari-proxy/v5/proxy"
	"github.com/CyCoreSystems/ari/v5"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configures the connection. URL and App are required.
type Options struct {
	// URL is the NATS server, e.g. nats://127.0.0.1:4222 (several,
	// comma-separated, for a NATS cluster).
	URL string
	// App is the Stasis application the ari-proxy servers serve.
	App string
	// Prefix is ari-proxy's subject prefix (default "ari.").
	Prefix string
	// Queue is the NATS queue group new calls are shared in (default
	// "ivr.<App>.calls"): one member takes each.
	Queue string

	// NewCall tells a call arriving, given to one controller only, from a
	// channel a controller made (an operator's leg...), whose StasisStart
	// goes to all so that its maker gets it. Default: every StasisStart
	// is a new call.
	NewCall func(*ari.StasisStart) bool
	// Events are the event types the handler uses; others are dropped
	// before decoding (the proxy cannot filter them at Asterisk). Empty:
	// all.
	Events []string

	// RequestTimeout bounds every request over the bus (default 5s).
	RequestTimeout time.Duration
	// PingInterval is how often the nodes are asked to announce
	// themselves (default 5s); a node not heard for NodeTimeout (default
	// three intervals) is down.
	PingInterval, NodeTimeout time.Duration
	// ReconnectWait is the pause between attempts to reach NATS (1s).
	ReconnectWait time.Duration
	// Buffer is how many events may wait for the handler (default 65536);
	// past it NATS drops them and the calls re-check their state.
	Buffer int

	Logger     *slog.Logger
	Registerer prometheus.Registerer

	// OnConnect runs (on its own goroutine) once events flow, after every
	// reconnection to NATS, when a node comes (back), and after events
	// were dropped: events may have been missed, calls re-check.
	OnConnect func()
}

func (o *Options) fill() error {
	if o.URL == "" || o.App == "" {
		return errors.New("ari-proxy: the NATS url and the application are required")
	}
	for u := range strings.SplitSeq(o.URL, ",") {
		if !strings.HasPrefix(strings.TrimSpace(u), "nats://") && !strings.HasPrefix(strings.TrimSpace(u), "tls://") {
			return fmt.Errorf("ari-proxy: nats url %q must look like nats://host:4222", u)
		}
	}
	o.Prefix = cmp.Or(o.Prefix, "ari.")
	o.Queue = cmp.Or(o.Queue, "ivr."+o.App+".calls")
	if o.NewCall == nil {
		o.NewCall = func(*ari.StasisStart) bool { return true }
	}
	o.RequestTimeout = cmp.Or(o.RequestTimeout, 5*time.Second)
	o.PingInterval = cmp.Or(o.PingInterval, 5*time.Second)
	o.NodeTimeout = cmp.Or(o.NodeTimeout, 3*o.PingInterval)
	o.ReconnectWait = cmp.Or(o.ReconnectWait, time.Second)
	o.Buffer = cmp.Or(o.Buffer, 1<<16)
	o.Logger = cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	o.Registerer = cmp.Or[prometheus.Registerer](o.Registerer, prometheus.NewRegistry())
	return nil
}

// Conn is a managed connection to the Asterisk nodes behind ari-proxy.
type Conn struct {
	opts    Options
	log     *slog.Logger
	nc      *nats.Conn
	client  *client.Client
	metrics *metrics
	wanted  map[string]bool // nil: all

	msgs        chan *nats.Msg
	subs        []*nats.Subscription
	cancel      context.CancelFunc
	closeClient context.CancelFunc
	done        chan struct{}

	ready     chan struct{}
	readyOnce sync.Once

	mu        sync.Mutex
	nodes     map[string]time.Time // entity id → last announcement
	up        map[string]bool      // nodes counted up
	onConnect []func()
	natsErr   string
	closed    bool
	connected atomic.Bool
}

// Start connects to NATS (in the background if it is not reachable yet:
// it returns at once) and to the ari-proxy servers. attach is called once,
// before any event can arrive; it returns the handler that receives every
// event, in order (it must not block for long).
func Start(ctx context.Context, opts Options, attach func(ari.Client) func(ari.Event)) (*Conn, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	c := &Conn{opts: opts, log: opts.Logger, metrics: m, msgs: make(chan *nats.Msg, opts.Buffer),
		done: make(chan struct{}), ready: make(chan struct{}), nodes: map[string]time.Time{}, up: map[string]bool{},
		natsErr: "connecting"}
	if opts.OnConnect != nil {
		c.onConnect = append(c.onConnect, opts.OnConnect)
	}
	if len(opts.Events) > 0 {
		c.wanted = map[string]bool{}
		for _, t := range opts.Events {
			c.wanted[t] = true
		}
	}
	c.nc, err = nats.Connect(opts.URL, nats.Name("ivrd "+opts.App), nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1), nats.ReconnectWait(opts.ReconnectWait),
		nats.ConnectHandler(c.natsUp), nats.ReconnectHandler(c.natsUp),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { c.natsDown(err) }),
		nats.ErrorHandler(c.natsError))
	if err != nil {
		return nil, fmt.Errorf("ari-proxy: nats: %w", err)
	}
	//lint:ignore SA1019 ari-proxy v5.3.1 takes nothing else
	ec, err := nats.NewEncodedConn(c.nc, nats.JSON_ENCODER)
	if err != nil {
		c.nc.Close()
		return nil, err
	}
	// The client closes itself (and the NATS connection) a grace period
	// after its context ends; its Close is racy at v5.3.1 (it writes a
	// flag that goroutine reads), so it is never called here.
	var clientCtx context.Context
	clientCtx, c.closeClient = context.WithCancel(context.WithoutCancel(ctx))
	c.client, err = client.New(clientCtx, client.WithNATS(ec), client.WithApplication(opts.App),
		client.WithPrefix(opts.Prefix))
	if err != nil {
		c.closeClient()
		c.nc.Close()
		return nil, fmt.Errorf("ari-proxy: client: %w", err)
	}
	if err := setRequestTimeout(c.client, opts.RequestTimeout); err != nil {
		c.closeClient()
		c.nc.Close()
		return nil, err
	}
	handle := attach(c.client)
	events := opts.Prefix + "event." + opts.App + ".>"
	for _, sub := range []func() (*nats.Subscription, error){
		func() (*nats.Subscription, error) { return c.nc.ChanSubscribe(events, c.msgs) },
		func() (*nats.Subscription, error) { return c.nc.ChanQueueSubscribe(events, opts.Queue, c.msgs) },
		func() (*nats.Subscription, error) {
			return c.nc.Subscribe(proxy.AnnouncementSubject(opts.Prefix), c.announced)
		},
	} {
		s, err := sub()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("ari-proxy: subscribe: %w", err)
		}
		c.subs = append(c.subs, s)
	}
	ctx, c.cancel = context.WithCancel(ctx)
	go c.run(ctx, handle)
	return c, nil
}

// Client is the ari-proxy client: the ari.Client of every node.
func (c *Conn) Client() ari.Client { return c.client }

// OnConnect registers f to run whenever events may have been missed (see
// Options.OnConnect).
func (c *Conn) OnConnect(f func()) {
	c.mu.Lock()
	c.onConnect = append(c.onConnect, f)
	c.mu.Unlock()
}

// Ready reports whether NATS is connected and at least one node announces
// itself.
func (c *Conn) Ready() bool { return c.connected.Load() && len(c.Nodes()) > 0 }

// Wait blocks until Ready or ctx ends.
func (c *Conn) Wait(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ARI over NATS at %s not ready: %s: %w", c.opts.URL, c.Status(), ctx.Err())
	}
}

// Status says in a few words why the connection is not ready, or "up".
func (c *Conn) Status() string {
	if !c.connected.Load() {
		c.mu.Lock()
		defer c.mu.Unlock()
		return "NATS down: " + c.natsErr
	}
	if len(c.Nodes()) == 0 {
		return "NATS connected, but no Asterisk node announces itself through ari-proxy (application " + c.opts.App + ")"
	}
	return "up"
}

// Nodes are the entity ids of the nodes heard within NodeTimeout.
func (c *Conn) Nodes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id, at := range c.nodes {
		if time.Since(at) < c.opts.NodeTimeout {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Drain leaves the queue group of new calls: the other controllers get
// them all from now on, while this one's calls go on (events still flow).
func (c *Conn) Drain() {
	if err := c.subs[1].Unsubscribe(); err != nil && !errors.Is(err, nats.ErrBadSubscription) {
		c.log.Warn("drain_failed", "error", err.Error())
		return
	}
	c.log.Info("ari_new_calls_left", "queue", c.opts.Queue)
}

// Close stops the subscriptions and closes the NATS connection.
func (c *Conn) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	for _, s := range c.subs {
		_ = s.Unsubscribe()
	}
	if c.cancel != nil {
		c.cancel()
		<-c.done
	}
	c.closeClient()
	c.nc.Close()
}

func (c *Conn) run(ctx context.Context, handle func(ari.Event)) {
	defer close(c.done)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.pingNodes(ctx)
	}()
	defer wg.Wait()
	queued := c.subs[1]
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-c.msgs:
			c.deliver(m, m.Sub == queued, handle)
		}
	}
}

// eventHead is what is read of an event before deciding to decode it.
type eventHead struct {
	Type string `json:"type"`
}

// deliver hands one event on: a new call only from the queue (this
// controller was chosen), everything else only from the plain
// subscription.
func (c *Conn) deliver(m *nats.Msg, fromQueue bool, handle func(ari.Event)) {
	var head eventHead
	if err := json.Unmarshal(m.Data, &head); err != nil {
		c.metrics.undecodable.Inc()
		return
	}
	if head.Type != "StasisStart" && (fromQueue || (c.wanted != nil && !c.wanted[head.Type])) {
		return
	}
	e, err := ari.DecodeEvent(m.Data)
	if err != nil || e == nil {
		c.metrics.undecodable.Inc()
		return
	}
	if start, ok := e.(*ari.StasisStart); ok && c.opts.NewCall(start) != fromQueue {
		return
	}
	c.metrics.events.Inc()
	handle(e)
}

func (c *Conn) pingNodes(ctx context.Context) {
	ping := proxy.PingSubject(c.opts.Prefix)
	tick := time.NewTicker(c.opts.PingInterval)
	defer tick.Stop()
	for {
		if c.connected.Load() {
			_ = c.nc.Publish(ping, []byte("{}"))
		}
		c.refreshNodes()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Conn) announced(m *nats.Msg) {
	var a proxy.Announcement
	if err := json.Unmarshal(m.Data, &a); err != nil || a.Node == "" || a.Application != c.opts.App {
		return
	}
	c.mu.Lock()
	c.nodes[a.Node] = time.Now()
	c.mu.Unlock()
	c.refreshNodes()
}

// refreshNodes updates the node gauges and calls OnConnect when a node
// comes (back): its events may have been missed while it was away.
func (c *Conn) refreshNodes() {
	now := time.Now()
	c.mu.Lock()
	var came []string
	n := 0
	for id, at := range c.nodes {
		alive := now.Sub(at) < c.opts.NodeTimeout
		if alive {
			n++
		}
		if alive && !c.up[id] {
			came = append(came, id)
		}
		if alive != c.up[id] {
			c.up[id] = alive
			c.metrics.nodeUp.WithLabelValues(id).Set(b2f(alive))
			if !alive {
				c.log.Warn("ari_node_down", "node", id)
			}
		}
	}
	c.metrics.nodesUp.Set(float64(n))
	c.mu.Unlock()
	for _, id := range came {
		c.log.Info("ari_node_up", "node", id)
	}
	if len(came) > 0 && c.Ready() {
		c.resync()
	}
}

func (c *Conn) natsUp(nc *nats.Conn) {
	c.connected.Store(true)
	c.metrics.connected.Set(1)
	c.log.Info("nats_connected", "url", nc.ConnectedUrlRedacted())
	// Ask the nodes at once rather than at the next tick.
	_ = nc.Publish(proxy.PingSubject(c.opts.Prefix), []byte("{}"))
	if c.Ready() {
		c.resync()
	}
}

func (c *Conn) natsDown(err error) {
	if c.connected.Swap(false) {
		c.metrics.reconnects.Inc()
	}
	c.metrics.connected.Set(0)
	msg := "disconnected"
	if err != nil {
		msg = err.Error()
	}
	c.mu.Lock()
	c.natsErr = msg
	c.mu.Unlock()
	c.log.Warn("nats_disconnected", "error", msg)
}

func (c *Conn) natsError(_ *nats.Conn, _ *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrSlowConsumer) {
		c.metrics.dropped.Inc()
		c.log.Error("ari_events_dropped", "error", err.Error())
		c.resync()
		return
	}
	c.log.Warn("nats_error", "error", err.Error())
}

// resync marks the connection ready and runs the OnConnect functions:
// events flow (again) and some may have been missed.
func (c *Conn) resync() {
	c.readyOnce.Do(func() { close(c.ready) })
	c.mu.Lock()
	fs := append([]func(){}, c.onConnect...)
	c.mu.Unlock()
	for _, f := range fs {
		go f()
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// setRequestTimeout gives the NATS bus that client.WithNATS made the
// request timeout it leaves at zero. The field is found by name and type,
// so a library upgrade that moves it fails at start, not silently.
func setRequestTimeout(cl *client.Client, d time.Duration) error {
	core := reflect.ValueOf(cl).Elem().FieldByName("core")
	if !core.IsValid() || core.Kind() != reflect.Pointer || core.IsNil() {
		return errors.New("ari-proxy: the client has no core; ariproxyconn must be updated for this ari-proxy version")
	}
	f := core.Elem().FieldByName("mbus")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*messagebus.Client)(nil)).Elem() {
		return errors.New("ari-proxy: the client's core has no mbus field; ariproxyconn must be updated for this ari-proxy version")
	}
	bus, ok := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*messagebus.NatsBus)
	if !ok {
		return errors.New("ari-proxy: the client's bus is not NATS")
	}
	bus.Config.RequestTimeout = d
	return nil
}
