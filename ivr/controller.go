// Package ivr is the call controller: it answers every call that Asterisk
// hands to the Stasis application, checks the service hours, walks the
// caller through the menu (menu.Navigator), asks for PINs, routes the call
// to an operator group, records after-hours requests, and leaves a call
// record and a ticket for every call, whatever the caller does and
// whenever they hang up.
package ivr

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Options configures a Controller.
type Options struct {
	// App is the Stasis application's name.
	App string
	// Config returns the help desk in force; each call keeps the one it
	// started with, so a reload never changes a call in progress.
	Config func() *menu.Config
	// PINSecret keys the PIN hashes of the configuration.
	PINSecret []byte
	Store     tickets.CallRecorder
	Clock     clock.Clock
	Logger    *slog.Logger
	// Registerer receives the controller's metrics (nil: not exported).
	Registerer prometheus.Registerer
	// Observe, if set, receives every step of every call as it happens
	// (the transcript of `ivrctl simulate`, the panel's live view). It
	// must not block.
	Observe func(Event)
	// Lockouts remembers callers locked out of PIN entry (default: in
	// memory).
	Lockouts Lockouts
	// Queues, if set, holds routed callers in the groups' queues and
	// offers them to operators (package queues); without it a routed call
	// rings every phone of the group at once.
	Queues Queues
	// RingTimeout bounds how long operators' phones ring without Queues
	// (default 30s; the queues have a ring timeout per group).
	RingTimeout time.Duration
	// RingAllLimit bounds how many phones ring at once for one call
	// without Queues, or while the queues' database fails (default 8):
	// a group of hundreds must not get hundreds of calls set up for each
	// caller (under load that storm alone stalled Asterisk). The phones
	// rung are taken in turn across calls.
	RingAllLimit int
	// StoreTimeout bounds each write of the call record (default 5s).
	StoreTimeout time.Duration
	// Node names this Asterisk in call records (default: from events).
	Node string
	// Spool keeps what calls could not write while the store was down
	// and writes it once the store is back (default: in memory, on Store).
	Spool *Spool
	// KeyLatency, if set, receives for every key that leads to a prompt
	// the wall time from the key's event reaching the controller to the
	// request that plays the prompt (load measurements).
	KeyLatency func(time.Duration)
	// CallClock, if set, may give a call a clock of its own from its
	// channel and Stasis arguments (nil: Clock): `ivrctl replay` runs each
	// journaled call at its original instant on one controller.
	CallClock func(channelID string, args []string) clock.Clock
	// Leases, if set, shares the calls of the Asterisk nodes with other
	// instances (lease.go): a call is driven by the instance holding its
	// lease, and those of an instance that stops renewing are taken over.
	Leases CallLeases

	// TestCallbacks lets test calls ask to be called back: the demo's test
	// phone declares the caller's number on its simulated Asterisk and
	// rings in the browser. Elsewhere a test call has no phone to ring.
	TestCallbacks bool
	// Shared says other controllers serve the same application (ARI over
	// ari-proxy: every controller sees every event). A channel this one
	// did not start is then another's, never an orphan: it is neither
	// adopted nor hung up, and the reconciliations that judge calls by
	// their channels alone (records, operators) are left undone, or two
	// controllers would finish one call. Taking over the calls of a
	// controller that died needs ownership in the database.
	Shared bool
}

// Controller runs the calls of one Stasis application.
type Controller struct {
	opts    Options
	client  ari.Client
	log     *slog.Logger
	clock   clock.Clock
	metrics *metrics
	spool   *Spool

	mu       sync.RWMutex
	routes   map[string]*session // "channel:ID", "playback:ID", "liverecording:NAME" → session
	sessions map[string]*session // by caller channel id
	draining atomic.Bool
	released atomic.Bool // another controller owns the application
	wg       sync.WaitGroup
	seq      atomic.Uint64
	ringNext atomic.Uint64 // where the next ring-all starts in a group's list

	epoch atomic.Int64 // Asterisk's startup time at the last connection (Unix ns)
	node  string       // Asterisk's entity id

	// Callbacks running (callback.go), by the queue's call id, under mu;
	// callbackCtx is the life of their runners.
	callbacksOnce sync.Once
	callbackCtx   context.Context
	callbacks     map[string]bool
	// testCallbacks are the callbacks test calls asked for (the demo's
	// test phone), shown as test calls too; in memory only: after a
	// restart they show as callers' callbacks.
	testCallbacks map[string]bool

	supervising *supervising // supervise.go

	leaseMetrics *leaseMetrics // lease.go, with Options.Leases
	leasesOnce   sync.Once
}

// New makes a controller; Run starts it on a connected client.
func New(opts Options) (*Controller, error) {
	if opts.App == "" || opts.Config == nil || opts.Store == nil {
		return nil, fmt.Errorf("ivr: App, Config and Store are required")
	}
	if opts.Config().HasPINs() && len(opts.PINSecret) == 0 {
		return nil, fmt.Errorf("ivr: the configuration has PINs but no PIN secret was given")
	}
	opts.Clock = cmp.Or[clock.Clock](opts.Clock, clock.Real())
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	opts.Registerer = cmp.Or[prometheus.Registerer](opts.Registerer, prometheus.NewRegistry())
	opts.Lockouts = cmp.Or[Lockouts](opts.Lockouts, NewMemoryLockouts())
	opts.RingTimeout = cmp.Or(opts.RingTimeout, 30*time.Second)
	opts.StoreTimeout = cmp.Or(opts.StoreTimeout, 5*time.Second)
	opts.RingAllLimit = cmp.Or(opts.RingAllLimit, 8)
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	sup, err := newSupervising(opts.Registerer)
	if err != nil {
		return nil, err
	}
	if opts.Spool == nil {
		opts.Spool, err = NewSpool(opts.Store, SpoolOptions{StoreTimeout: opts.StoreTimeout,
			Logger: opts.Logger, Registerer: opts.Registerer})
		if err != nil {
			return nil, err
		}
	}
	var lm *leaseMetrics
	if opts.Leases != nil {
		if lm, err = newLeaseMetrics(opts.Registerer, opts.Leases.Owner()); err != nil {
			return nil, err
		}
	}
	return &Controller{opts: opts, log: opts.Logger, clock: opts.Clock, metrics: m, spool: opts.Spool,
		routes: map[string]*session{}, sessions: map[string]*session{}, callbacks: map[string]bool{}, testCallbacks: map[string]bool{},
		supervising: sup, leaseMetrics: lm}, nil
}

// Attach gives the controller the client for its REST requests and
// returns its one event handler, in place before Asterisk can send any
// call (ariconn.Start calls it at that moment). Events are routed by id
// to the call they belong to, so none is lost to a late per-channel
// subscription; the handler never blocks on a call.
func (c *Controller) Attach(ctx context.Context, client ari.Client) func(ari.Event) {
	c.mu.Lock()
	c.client = client
	c.mu.Unlock()
	c.startCallbacks(ctx)
	if c.opts.Leases != nil {
		c.leasesOnce.Do(func() { go c.runLeases(ctx) })
	}
	return func(e ari.Event) {
		if ctx.Err() == nil {
			c.dispatch(ctx, e)
		}
	}
}

// Release gives up every call in progress without touching it: another
// controller has taken over the application and drives them now (it
// resumes each from the main menu and continues its call record).
func (c *Controller) Release() {
	c.released.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sessions {
		s.inbox.push(item{release: true})
	}
}

// Shutdown ends the calls still in progress after a drain: each goes
// back to the dialplan (whose fallback queue serves it) with its record
// finished as transferred. It returns when they are done or ctx ends.
func (c *Controller) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	for _, s := range c.sessions {
		s.inbox.push(item{shutdown: true})
	}
	c.mu.Unlock()
	return c.Wait(ctx)
}

// ActiveCalls is the number of calls in progress.
func (c *Controller) ActiveCalls() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.sessions)
}

// Drain stops taking new calls: they go back to the dialplan, whose
// fallback serves them (configs/asterisk/extensions.conf). Calls in
// progress go on.
func (c *Controller) Drain() {
	c.mu.Lock()
	c.draining.Store(true)
	c.mu.Unlock()
}

// Wait blocks until every call in progress has ended or ctx ends.
func (c *Controller) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// HandledEvents are the ARI event types the controller acts on; give them
// to ariconn.Options.Events so Asterisk sends no others. A real call sends
// three times as many (ChannelVarset, ChannelStateChange, the bridge,
// dialplan, music-on-hold and PlaybackStarted events), and each costs
// Asterisk and ivrd CPU. Whoever makes the controller act on a new type
// adds it here (the simulator's tests run with this filter).
var HandledEvents = []string{
	"StasisStart", "StasisEnd", "ChannelDestroyed", "ChannelHangupRequest",
	"ChannelDtmfReceived", "PlaybackFinished", "RecordingFinished", "RecordingFailed",
	"ChannelLeftBridge",
}

func (c *Controller) dispatch(ctx context.Context, e ari.Event) {
	if c.released.Load() {
		return
	}
	if s := c.owner(e); s != nil {
		s.inbox.push(item{ev: e, at: time.Now()})
		// Let the call run now: the socket reader would otherwise keep the
		// processor through a burst of events while the call that got a
		// key waits its turn (the woken goroutine runs next only when the
		// reader yields).
		runtime.Gosched()
		return
	}
	start, ok := e.(*ari.StasisStart)
	if !ok {
		return // an event for a call already over, or of no interest
	}
	if !NewCall(start) {
		if c.opts.Shared && !c.orphanOfMine(start) {
			return // a leg of another controller's call
		}
		// An operator leg whose call is gone, a callback whose runner is,
		// an outside number called for a transfer that is over, or a
		// supervisor's phone or snoop whose supervision is:
		// nobody will talk to it.
		go c.hangupOrphan(ari.NewKey(ari.ChannelKey, start.Channel.ID, ari.WithNode(start.GetNode()), ari.WithApp(c.opts.App)))
		return
	}
	if c.draining.Load() {
		go c.continueToDialplan(start.Channel.ID)
		return
	}
	if limit := c.opts.Config().IVR.MaxCalls; limit > 0 {
		if n := c.ActiveCalls(); n >= limit {
			c.metrics.shed.Inc()
			c.log.Warn("call_shed", "channel_id", start.Channel.ID, "calls", n, "max_calls", limit)
			go c.continueToDialplan(start.Channel.ID)
			return
		}
	}
	c.startSession(ctx, start.Channel, start.GetNode(), false, start.Args)
}

// NewCall reports whether a StasisStart is a call arriving, as opposed to
// a channel a controller made for a call (an operator's or a supervisor's
// leg, a callback, a transfer): ari-proxy hands a new call to one
// controller, and a made channel's start to all, its maker among them.
func NewCall(start *ari.StasisStart) bool {
	return len(start.Args) == 0 || (start.Args[0] != "operator" && start.Args[0] != "callback" &&
		start.Args[0] != "transfer" && !supervisionArg(start.Args[0]))
}

// orphanOfMine: an operator's leg made for a call this controller drives,
// but not by it: by the call's previous owner, which died while the phone
// rang (the phone answered into Stasis with nobody to bridge it). Legs
// this controller makes are routed to their call before they exist.
func (c *Controller) orphanOfMine(start *ari.StasisStart) bool {
	if len(start.Args) < 2 || start.Args[0] != "operator" {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.sessions[start.Args[1]] != nil
}

// TestArg, as an argument of the Stasis application (Stasis(ivr,test), a
// dialplan line for trying the help desk), marks a call as a test call:
// every event of it says so (Event.Test), and the live view shows it.
const TestArg = "test"

// owner finds the session an event belongs to, by any of its ids.
func (c *Controller) owner(e ari.Event) *session {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, k := range e.Keys() {
		if s := c.routes[k.Kind+":"+k.ID]; s != nil {
			return s
		}
	}
	return nil
}

func (c *Controller) register(s *session, kind, id string) {
	c.mu.Lock()
	c.routes[kind+":"+id] = s
	c.mu.Unlock()
	s.routeKeys = append(s.routeKeys, kind+":"+id)
}

func (c *Controller) startSession(ctx context.Context, ch ari.ChannelData, node string, resumed bool, args []string) {
	c.mu.Lock()
	if c.sessions[ch.ID] != nil || c.draining.Load() {
		c.mu.Unlock()
		if c.draining.Load() {
			go c.continueToDialplan(ch.ID)
		}
		return
	}
	s := newSession(c, ch, cmp.Or(c.opts.Node, node), node)
	s.test, s.args = slices.Contains(args, TestArg), args
	if c.opts.CallClock != nil {
		if clk := c.opts.CallClock(ch.ID, args); clk != nil {
			s.clock = clk
		}
	}
	if !resumed {
		s.arrived = time.Now()
	} else if c.opts.Leases != nil {
		s.leasedAt = time.Now() // taken by the caller (Reconcile, takeOver)
	}
	c.sessions[ch.ID] = s
	c.routes[ari.ChannelKey+":"+ch.ID] = s
	s.routeKeys = append(s.routeKeys, ari.ChannelKey+":"+ch.ID)
	c.wg.Add(1) // under c.mu: Drain sets draining under it too
	c.mu.Unlock()
	c.metrics.active.Inc()
	perNode := c.metrics.activeByNode.WithLabelValues(s.node)
	perNode.Inc()
	go func() {
		defer c.wg.Done()
		defer c.metrics.active.Dec()
		defer perNode.Dec()
		defer c.forget(s)
		if c.opts.Leases != nil {
			if !resumed && !c.acquireNew(s) {
				return
			}
			defer c.releaseLease(s)
		}
		s.run(ctx, resumed)
	}()
}

func (c *Controller) forget(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range s.routeKeys {
		if c.routes[k] == s {
			delete(c.routes, k)
		}
	}
	delete(c.sessions, s.channelID)
	select {
	case <-s.ended:
	default:
		close(s.ended)
	}
}

func (c *Controller) hangupOrphan(key *ari.Key) {
	if err := c.client.Channel().Hangup(key, "normal"); err != nil && !isNotFound(err) {
		c.log.Warn("orphan_hangup_failed", "channel_id", key.ID, "error", err.Error())
	}
}

func (c *Controller) continueToDialplan(id string) {
	if err := c.client.Channel().Continue(ari.NewKey(ari.ChannelKey, id), "", "", 0); err != nil {
		c.log.Warn("continue_failed", "channel_id", id, "error", err.Error())
	}
}

// orphanGrace is how long a channel listed in the application may go
// without its StasisStart before Reconcile adopts it.
const orphanGrace = 2 * time.Second

// Reconcile brings the controller in line with the channels Asterisk
// holds in the application. Asterisk replays nothing after the event
// socket comes back, so calls that started or ended meanwhile, and
// playbacks that finished, are found here: each live call re-checks its
// state, and a channel nobody drives is resumed from the main menu.
func (c *Controller) Reconcile(ctx context.Context) {
	c.mu.Lock()
	attached := c.client != nil
	c.mu.Unlock()
	if !attached {
		return
	}
	if c.opts.Shared {
		// The application's channels are every controller's calls: only
		// this one's re-check their state (events may have been lost).
		c.mu.Lock()
		for _, s := range c.sessions {
			s.inbox.push(item{resync: true})
		}
		c.mu.Unlock()
		return
	}
	data, err := c.client.Application().Data(ari.NewKey(ari.ApplicationKey, c.opts.App))
	if err != nil {
		c.log.Warn("reconcile_failed", "error", err.Error())
		return
	}
	live := map[string]bool{}
	for _, id := range data.ChannelIDs {
		live[id] = true
	}
	c.mu.Lock()
	var known []*session
	for _, s := range c.sessions {
		known = append(known, s)
	}
	var unknown []string
	for id := range live {
		if c.routes[ari.ChannelKey+":"+id] == nil {
			unknown = append(unknown, id)
		}
	}
	c.mu.Unlock()
	restarted := c.asteriskRestarted()
	for _, s := range known {
		s.inbox.push(item{resync: true, restart: restarted})
	}
	defer func() {
		c.ReconcileCalls(ctx)
		c.ReconcileOperators(ctx)
	}()
	if len(unknown) == 0 {
		return
	}
	// A call that has just arrived is listed before its StasisStart is
	// dispatched: give the events a moment, then adopt only channels
	// still without a session.
	grace := c.clock.NewTimer(orphanGrace)
	select {
	case <-grace.C:
	case <-ctx.Done():
		grace.Stop()
		return
	}
	if !c.aloneOnNodes(ctx) {
		// Legs and bridges no session here claims may be another
		// instance's: only its unknown calls are taken (by lease).
		c.resumeUnknown(ctx, unknown)
		return
	}
	// Legs of operators whose controller is gone: one talking with a
	// caller stays (the caller's new session adopts it); one ringing or
	// alone is hung up, or its operator would answer into silence.
	bridged, orphans := c.bridgedChannels()
	orphans = append(orphans, c.orphanSupervisionBridges()...)
	for _, b := range orphans {
		// The caller of this holding bridge is gone: nothing will use it.
		if err := c.client.Bridge().Delete(b); err != nil && !isNotFound(err) {
			c.log.Warn("bridge_delete_failed", "bridge_id", b.ID, "error", err.Error())
		}
	}
	if legs, err := c.client.Channel().List(nil); err == nil {
		for _, k := range legs {
			c.mu.Lock()
			claimed := c.routes[ari.ChannelKey+":"+k.ID] != nil
			c.mu.Unlock()
			if (strings.HasPrefix(k.ID, "op-") || strings.HasPrefix(k.ID, "cb-")) && !claimed && !bridged[k.ID] ||
				strings.HasPrefix(k.ID, supervisionPrefix) && !claimed {
				go c.hangupOrphan(k)
			}
		}
	}
	c.resumeUnknown(ctx, unknown)
}

// resumeUnknown resumes the callers' channels no session drives (and, with
// leases, no other instance alive holds).
func (c *Controller) resumeUnknown(ctx context.Context, unknown []string) {
	for _, id := range unknown {
		if c.released.Load() {
			return
		}
		c.mu.Lock()
		claimed := c.routes[ari.ChannelKey+":"+id] != nil
		c.mu.Unlock()
		if claimed || strings.HasPrefix(id, "op-") || strings.HasPrefix(id, "cb-") || strings.HasPrefix(id, supervisionPrefix) {
			continue
		}
		ch, err := c.client.Channel().Data(ari.NewKey(ari.ChannelKey, id))
		if err != nil {
			continue // gone meanwhile
		}
		if !c.claimForResume(ctx, id, "") {
			continue // another instance drives it
		}
		c.metrics.resumed.Inc()
		c.log.Info("call_resumed", "channel_id", id)
		c.startSession(ctx, *ch, "", true, nil)
	}
}

// bridgedChannels returns the channels that share a bridge with another
// channel (caller and operator talking), and the holding bridges whose
// caller is no longer in them.
func (c *Controller) bridgedChannels() (map[string]bool, []*ari.Key) {
	in := map[string]bool{}
	var orphans []*ari.Key
	bridges, err := c.client.Bridge().List(nil)
	if err != nil {
		c.log.Warn("bridge_list_failed", "error", err.Error())
		return in, nil
	}
	for _, k := range bridges {
		caller, ours := strings.CutPrefix(k.ID, "qb-")
		if !ours {
			continue // not a bridge of ours (holdBridgeID)
		}
		b, err := c.client.Bridge().Data(k)
		if err != nil {
			continue
		}
		if !slices.Contains(b.ChannelIDs, caller) {
			c.mu.RLock()
			live := c.sessions[caller] != nil
			c.mu.RUnlock()
			if !live {
				orphans = append(orphans, k)
			}
			continue
		}
		if len(b.ChannelIDs) < 2 {
			continue
		}
		for _, id := range b.ChannelIDs {
			in[id] = true
		}
	}
	return in, orphans
}

func (c *Controller) nextID(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, c.clock.Now().UnixMilli(), c.seq.Add(1))
}

func (c *Controller) observe(e Event) {
	if c.opts.Observe != nil {
		c.opts.Observe(e)
	}
}

// asteriskRestarted reports whether Asterisk started again since the
// last connection (its calls were cut then, whatever events said).
func (c *Controller) asteriskRestarted() bool {
	info, err := c.client.Asterisk().Info(nil)
	if err != nil {
		c.log.Warn("asterisk_info_failed", "error", err.Error())
		return false
	}
	started := time.Time(info.StatusInfo.StartupTime)
	c.mu.Lock()
	c.node = cmp.Or(c.opts.Node, info.SystemInfo.EntityID)
	c.mu.Unlock()
	prev := c.epoch.Swap(started.UnixNano())
	before := time.Unix(0, prev)
	if prev == 0 || started.Equal(before) {
		return false
	}
	c.log.Warn("asterisk_restarted", "startup_time", started, "previous", before)
	return true
}

// ReconcileOperators frees the operators the queues hold on calls of this
// Asterisk that are over: a crash or a lost hangup event left them
// offered or on call for good, and their groups would get no more calls.
// Calls of other Asterisk nodes (several ivrd on one database) are left to
// their own controllers. ivrd runs it at each connection and every minute.
func (c *Controller) ReconcileOperators(ctx context.Context) {
	q := c.opts.Queues
	c.mu.RLock()
	client, node := c.client, c.node
	c.mu.RUnlock()
	// Shared without leases, a call this instance does not drive may be
	// another's: nothing tells, so nothing is judged.
	if q == nil || client == nil || c.released.Load() || c.opts.Shared && c.opts.Leases == nil {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 2*c.opts.StoreTimeout)
	defer cancel()
	ops, err := q.Operators(sctx, "")
	if err != nil {
		c.log.Warn("reconcile_operators_failed", "error", err.Error())
		return
	}
	for _, op := range ops {
		if op.CallID == "" || (op.State != queues.OnCall && op.State != queues.Offered) {
			continue
		}
		c.mu.RLock()
		// A callback's operator is on the call of a caller long gone: the
		// callback's runner has them.
		owned := c.sessions[op.CallID] != nil || c.callbacks[op.CallID]
		c.mu.RUnlock()
		if owned || c.heldElsewhere(sctx, op.CallID) {
			continue
		}
		call, ferr := c.opts.Store.FindCallByChannel(sctx, op.CallID)
		key := ari.NewKey(ari.ChannelKey, op.CallID)
		if c.opts.Shared && ferr == nil {
			// Every node is reachable: ask the call's own.
			key = ari.NewKey(ari.ChannelKey, op.CallID, ari.WithNode(call.AsteriskNode), ari.WithApp(c.opts.App))
		}
		if _, err := client.Channel().Data(key); !isNotFound(err) {
			continue // still up (being resumed), or Asterisk did not say
		}
		if !c.opts.Shared && ferr == nil && call.EndedAt.IsZero() && node != "" && call.AsteriskNode != "" && call.AsteriskNode != node {
			continue // a call of another node
		}
		if done, err := q.ReleaseCall(sctx, op.Login, op.CallID); err != nil {
			c.log.Warn("reconcile_operators_failed", "operator", op.Login, "error", err.Error())
		} else if done {
			c.metrics.operatorsReleased.Inc()
			c.log.Warn("operator_released", "operator", op.Login, "call_id", op.CallID, "was", string(op.State))
		}
	}
}

// asteriskEpoch is Asterisk's startup time as last seen.
func (c *Controller) asteriskEpoch() time.Time {
	if ns := c.epoch.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// currentEpoch asks the Asterisk of node (a key naming it; ari-proxy
// would ask any) for its startup time, waiting a little while it is
// unreachable (a restart takes seconds); zero if it does not say.
func (c *Controller) currentEpoch(node *ari.Key) time.Time {
	for try := 0; try < 5; try++ {
		if info, err := c.client.Asterisk().Info(node); err == nil {
			return time.Time(info.StatusInfo.StartupTime)
		}
		t := c.clock.NewTimer(time.Second)
		<-t.C
	}
	return time.Time{}
}

// learnEpoch asks the Asterisk of node when it started, if nobody knows
// yet. Shared, each node has its own: it is asked for every call.
func (c *Controller) learnEpoch(node *ari.Key) time.Time {
	if e := c.asteriskEpoch(); !e.IsZero() {
		return e
	}
	info, err := c.client.Asterisk().Info(node)
	if err != nil {
		return time.Time{}
	}
	started := time.Time(info.StatusInfo.StartupTime)
	if c.opts.Shared {
		return started
	}
	c.epoch.CompareAndSwap(0, started.UnixNano())
	return c.asteriskEpoch()
}

// openCalls is what a store answers about unfinished calls.
type openCalls interface {
	OpenCalls(ctx context.Context, node string) ([]tickets.Call, error)
}

// ReconcileCalls finishes the records of this node's calls that ended
// while no controller watched them (ivrd was down, or events were lost):
// a hangup at any moment still leaves a complete call record.
func (c *Controller) ReconcileCalls(ctx context.Context) {
	store, ok := c.opts.Store.(openCalls)
	c.mu.RLock()
	client, node := c.client, c.node
	c.mu.RUnlock()
	if !ok || client == nil || node == "" || c.released.Load() {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 2*c.opts.StoreTimeout)
	defer cancel()
	// A call arriving now has its channel, and one ending now its session:
	// neither is taken for a call nobody watched.
	calls, err := store.OpenCalls(sctx, node)
	if err != nil {
		c.log.Warn("reconcile_calls_failed", "error", err.Error())
		return
	}
	for _, call := range calls {
		c.mu.RLock()
		owned := c.sessions[call.ChannelID] != nil
		c.mu.RUnlock()
		if owned || c.spool.Has(call.ChannelID) {
			continue
		}
		if _, err := client.Channel().Data(ari.NewKey(ari.ChannelKey, call.ChannelID)); !isNotFound(err) {
			continue // still up (a session takes it), or Asterisk did not say
		}
		if !c.claimForResume(sctx, call.ChannelID, node) {
			continue // another instance alive drives it, and closes it
		}
		c.finishUnwatched(sctx, call)
		if c.opts.Leases != nil {
			if err := c.opts.Leases.Release(sctx, call.ChannelID); err != nil {
				c.log.Warn("lease_release_failed", "channel_id", call.ChannelID, "error", err.Error())
			}
		}
	}
}

// finishUnwatched closes the record of a call whose end nobody saw: its
// outcome follows how far it got; who hung up is not known.
func (c *Controller) finishUnwatched(ctx context.Context, call tickets.Call) {
	now := c.clock.Now()
	outcome := tickets.OutcomeHungUpInMenu
	var evs []tickets.CallEvent
	switch {
	case !call.OperatorAnsweredAt.IsZero():
		outcome = tickets.OutcomeAnswered
	case !call.QueuedAt.IsZero():
		outcome = tickets.OutcomeAbandoned
		evs = append(evs, tickets.CallEvent{At: now, Kind: tickets.EventAbandoned, Group: call.Group})
		if q := c.opts.Queues; q != nil {
			if _, err := q.Leave(ctx, call.ChannelID, queues.LeaveAbandoned); err != nil && !errors.Is(err, fault.ErrNotFound) {
				c.log.Warn("reconcile_calls_failed", "channel_id", call.ChannelID, "error", err.Error())
			}
		}
	}
	evs = append(evs, tickets.CallEvent{At: now, Kind: tickets.EventHangup,
		Detail: "by system: ended while no controller watched it (ivrd down or events lost); who hung up is unknown"})
	if err := c.opts.Store.AppendCallEvents(ctx, call.ID, evs...); err != nil {
		c.log.Warn("reconcile_calls_failed", "channel_id", call.ChannelID, "error", err.Error())
		return
	}
	if err := c.opts.Store.FinishCall(ctx, call.ID, tickets.CallEnd{EndedAt: now, Outcome: outcome, HangupBy: tickets.HangupSystem}); err != nil {
		c.log.Warn("reconcile_calls_failed", "channel_id", call.ChannelID, "error", err.Error())
		return
	}
	c.metrics.callsClosed.Inc()
	c.log.Warn("call_closed_unwatched", "channel_id", call.ChannelID, "outcome", string(outcome))
}
