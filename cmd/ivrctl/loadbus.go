package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/busnode"
	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/ariproxyconn"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/leases"
	"github.com/helpdesk-ivr/ivr/leases/leasestest"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// loadRig is what `ivrctl load` places its calls on: one simulated desk
// over direct ARI, or simulated nodes and controllers over NATS.
type loadRig interface {
	// place places call i (on the node its turn gives).
	place(ctx context.Context, i int, caller, number string) (*arisim.Call, error)
	// active counts the calls the (living) controllers drive.
	active() int
	// ariStats sums the simulated Asterisks' counters.
	ariStats() (connections, requests int64)
	close()
}

// directRig is today's desk: one simulator, one controller over ARI.
type directRig struct{ desk *simdesk.Desk }

func (r directRig) place(ctx context.Context, _ int, caller, number string) (*arisim.Call, error) {
	return r.desk.Sim.PlaceCall(ctx, caller, number, arisim.CallOptions{EventBuffer: -1})
}
func (r directRig) active() int { return r.desk.Controller.ActiveCalls() }
func (r directRig) ariStats() (int64, int64) {
	st := r.desk.Sim.Stats()
	return st.TCPConnections, st.RequestsTotal
}
func (r directRig) close() { r.desk.Close() }

// busRig is the clustered desk: an embedded NATS, simulated nodes each
// behind its own ari-proxy server, and controllers that share every
// node's calls through their own ari-proxy clients, by lease when the
// store is PostgreSQL (as ivrd -leases with ari.transport nats).
type busRig struct {
	bus    *busnode.NATS
	nodes  []*busnode.Node
	placed []atomic.Int64 // per node
	insts  []*loadInstance
}

// loadInstance is one controller of a busRig and what it did.
type loadInstance struct {
	name     string
	ctrl     *ivr.Controller
	conn     *ariproxyconn.Conn
	reg      *prometheus.Registry
	cancel   context.CancelFunc
	leases   *leasestest.Killable // nil without leases
	arrived  atomic.Int64         // calls greeted (EvCall)
	finished atomic.Int64         // calls ended (EvOutcome)
	killed   atomic.Bool
}

type busRigOptions struct {
	cfg        *menu.Config
	secret     []byte
	clk        *clock.Scaled
	nodes      int
	instances  int
	systemName string // the nodes' channel id prefix, "<systemName>-<letter>"
	store      tickets.CallRecorder
	queues     ivr.Queues
	db         *loadDB // nil: no leases
	leaseTTL   time.Duration
	keyLatency func(time.Duration)
	operators  arisim.EndpointBehavior
}

func startBusRig(ctx context.Context, o busRigOptions) (_ *busRig, err error) {
	if o.nodes < 1 || o.nodes > 26 || o.instances < 1 || o.instances > 26 {
		return nil, errors.New("-nodes and -instances must be 1 to 26")
	}
	r := &busRig{placed: make([]atomic.Int64, o.nodes)}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	// Each part's goroutines carry its name as a profiler label
	// (inherited by those they start): `go tool pprof -tags` on a
	// -cpuprofile splits the CPU between them.
	part := func(name string, f func()) { pprof.Do(ctx, pprof.Labels("part", name), func(context.Context) { f() }) }
	part("nats-server", func() { r.bus, err = busnode.StartNATS() })
	if err != nil {
		return nil, err
	}
	ids := make([]string, o.nodes)
	for i := range o.nodes {
		ids[i] = fmt.Sprintf("02:fc:00:00:00:%02x", i+1) // each Asterisk its own entity id
		var n *busnode.Node
		part("node", func() {
			n, err = busnode.StartNode(r.bus, arisim.Options{Clock: o.clk, AsteriskID: ids[i],
				SystemName: o.systemName + "-" + string(rune('a'+i)), SoundDuration: ivr.PromptDurations(o.cfg)})
		})
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i+1, err)
		}
		for _, op := range o.cfg.Operators {
			n.Sim.SetEndpoint(op.Endpoint, o.operators)
		}
		r.nodes = append(r.nodes, n)
	}
	for i := range o.instances {
		var in *loadInstance
		part("instance", func() { in, err = r.startInstance(ctx, o, o.systemName+"-"+string(rune('A'+i))) })
		if err != nil {
			return nil, fmt.Errorf("instance %d: %w", i+1, err)
		}
		r.insts = append(r.insts, in)
	}
	// Every controller must hear every node before the first call.
	deadline := time.Now().Add(20 * time.Second)
	for _, in := range r.insts {
		for !in.conn.Ready() || len(in.conn.Nodes()) != o.nodes {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("instance %s: %s, hears %d of %d nodes", in.name, in.conn.Status(), len(in.conn.Nodes()), o.nodes)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return r, nil
}

// startInstance starts one controller as ivrd does with ari.transport
// nats (startBus): Shared, on its own ari-proxy client and NATS
// connection, with its own leases.
func (r *busRig) startInstance(ctx context.Context, o busRigOptions, name string) (*loadInstance, error) {
	in := &loadInstance{name: name, reg: prometheus.NewRegistry()}
	var cl ivr.CallLeases
	if o.db != nil {
		st, err := leases.New(o.db.pool, name, o.leaseTTL)
		if err != nil {
			return nil, err
		}
		in.leases = &leasestest.Killable{Store: st}
		cl = in.leases
	}
	var err error
	in.ctrl, err = ivr.New(ivr.Options{App: "ivr", Config: func() *menu.Config { return o.cfg }, PINSecret: o.secret,
		Store: o.store, Queues: o.queues, Clock: o.clk, Registerer: in.reg, Shared: true, Leases: cl,
		KeyLatency: o.keyLatency, Observe: in.observe})
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	in.cancel = cancel
	in.conn, err = ariproxyconn.Start(cctx, ariproxyconn.Options{URL: r.bus.URL(), App: "ivr", NewCall: ivr.NewCall,
		Events: ivr.HandledEvents, Registerer: in.reg, PingInterval: time.Second,
		OnConnect: func() { in.ctrl.Reconcile(cctx) }},
		func(c ari.Client) func(ari.Event) { return in.ctrl.Attach(cctx, c) })
	if err != nil {
		cancel()
		return nil, err
	}
	return in, nil
}

func (in *loadInstance) observe(e ivr.Event) {
	switch e.Kind {
	case ivr.EvCall:
		in.arrived.Add(1)
	case ivr.EvOutcome:
		in.finished.Add(1)
	}
}

// kill stops the instance as kill -9 would, as far as one process can
// stop part of itself: its leases stop reaching the database (their rows
// stay as they were), its bus link goes, and its calls are let go
// without being touched (each only notes in its record that it was taken
// over: the one write a dead process would not make).
func (in *loadInstance) kill() {
	in.killed.Store(true)
	in.leases.Kill()
	in.conn.Close()
	in.ctrl.Release()
}

func (r *busRig) place(ctx context.Context, i int, caller, number string) (*arisim.Call, error) {
	k := i % len(r.nodes) // round robin
	c, err := r.nodes[k].Sim.PlaceCall(ctx, caller, number, arisim.CallOptions{EventBuffer: -1})
	if err == nil {
		r.placed[k].Add(1)
	}
	return c, err
}

func (r *busRig) active() int {
	n := 0
	for _, in := range r.insts {
		if !in.killed.Load() {
			n += in.ctrl.ActiveCalls()
		}
	}
	return n
}

func (r *busRig) ariStats() (conns, reqs int64) {
	for _, n := range r.nodes {
		st := n.Sim.Stats()
		conns, reqs = conns+st.TCPConnections, reqs+st.RequestsTotal
	}
	return conns, reqs
}

func (r *busRig) close() {
	for _, in := range r.insts {
		in.cancel()
		in.conn.Close()
	}
	for _, n := range r.nodes {
		n.Stop()
	}
	if r.bus != nil {
		r.bus.Stop()
	}
}

// failoverWatch kills an instance under load and times the takeover of
// its calls.
type failoverWatch struct {
	done chan struct{} // closed once every lease of the victim is gone, or ctx ended
	rep  failoverReport
	err  error
}

// killLater kills the first instance after d and watches its leases
// until the others hold them all.
func (r *busRig) killLater(ctx context.Context, db *loadDB, d, ttl time.Duration) *failoverWatch {
	victim := r.insts[0]
	w := &failoverWatch{done: make(chan struct{}), rep: failoverReport{Instance: victim.name, AfterSeconds: d.Seconds(),
		LeaseTTL: ttl.Seconds()}}
	go func() {
		defer close(w.done)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			w.err = ctx.Err()
			return
		}
		// Counted before the kill: its last renewal and takes stand.
		var untilExpiry time.Duration
		if w.rep.LeasesAtKill, untilExpiry, w.err = db.leasesOf(ctx, victim.name); w.err != nil {
			return
		}
		victim.kill()
		killed := time.Now()
		for {
			n, _, err := db.leasesOf(ctx, victim.name)
			if err != nil {
				w.err = err
				return
			}
			if w.rep.LeasesLeft = n; n == 0 {
				w.rep.TakeoverSecs = time.Since(killed).Seconds()
				w.rep.AfterExpirySecs = (time.Since(killed) - untilExpiry).Seconds()
				return
			}
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				w.err = ctx.Err()
				return
			}
		}
	}()
	return w
}

// over: no failover asked, or it is done.
func (w *failoverWatch) over() bool {
	if w == nil {
		return true
	}
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// report adds what each node and instance did, and the failover.
func (r *busRig) report(ctx context.Context, rep *loadReport, db *loadDB, w *failoverWatch) error {
	var records map[string]int
	if db != nil {
		var err error
		if records, err = db.recordsByNode(ctx); err != nil {
			return fmt.Errorf("count the call records by node: %w", err)
		}
	}
	for i, n := range r.nodes {
		nr := nodeReport{ID: n.ID, Placed: r.placed[i].Load(), ChannelsLeft: n.Sim.Stats().ActiveChannels}
		if records != nil {
			c := records[n.ID]
			nr.Records = &c
		}
		rep.Nodes = append(rep.Nodes, nr)
	}
	for _, in := range r.insts {
		rep.Instances = append(rep.Instances, instanceReport{Name: in.name, Arrived: in.arrived.Load(),
			Finished: in.finished.Load(), TakenOver: in.takeovers(), Killed: in.killed.Load(),
			LeasesLost: in.counter("ivr_call_leases_lost_total")})
	}
	if w == nil {
		return nil
	}
	if !w.over() {
		rep.Failures = append(rep.Failures, "the failover was not over at the end of the run")
		return nil
	}
	if w.err != nil {
		return fmt.Errorf("failover: %w", w.err)
	}
	if !r.insts[0].killed.Load() {
		rep.Failures = append(rep.Failures, "the run ended before -kill-instance-after")
	}
	for _, in := range r.insts[1:] {
		w.rep.TakeoversSeen += in.takeovers()
	}
	rep.Failover = &w.rep
	return nil
}

// takeovers is the instance's ivr_call_takeovers_total.
func (in *loadInstance) takeovers() float64 { return in.counter("ivr_call_takeovers_total") }

// counter sums the series of one of the instance's counters.
func (in *loadInstance) counter(name string) float64 {
	mfs, err := in.reg.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}

// cpuSeconds is the process's CPU time so far, user and system.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// boxCPUSeconds is the CPU time the whole machine has spent busy so far
// (every process: PostgreSQL's too), from /proc/stat; 0 where there is
// none.
func boxCPUSeconds() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / 100 // USER_HZ
}
