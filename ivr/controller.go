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
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/menu"
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
	m, err := newMetrics(opts.Registerer)
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
	return &Controller{opts: opts, log: opts.Logger, clock: opts.Clock, metrics: m, spool: opts.Spool,
		routes: map[string]*session{}, sessions: map[string]*session{}}, nil
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
	if len(start.Args) > 0 && start.Args[0] == "operator" {
		// An operator leg whose call is gone: nobody will talk to it.
		go c.hangupOrphan(start.Channel.ID)
		return
	}
	if c.draining.Load() {
		go c.continueToDialplan(start.Channel.ID)
		return
	}
	c.startSession(ctx, start.Channel, start.GetNode(), false)
}

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

func (c *Controller) startSession(ctx context.Context, ch ari.ChannelData, node string, resumed bool) {
	c.mu.Lock()
	if c.sessions[ch.ID] != nil || c.draining.Load() {
		c.mu.Unlock()
		if c.draining.Load() {
			go c.continueToDialplan(ch.ID)
		}
		return
	}
	s := newSession(c, ch, cmp.Or(c.opts.Node, node))
	c.sessions[ch.ID] = s
	c.routes[ari.ChannelKey+":"+ch.ID] = s
	s.routeKeys = append(s.routeKeys, ari.ChannelKey+":"+ch.ID)
	c.wg.Add(1) // under c.mu: Drain sets draining under it too
	c.mu.Unlock()
	c.metrics.active.Inc()
	go func() {
		defer c.wg.Done()
		defer c.metrics.active.Dec()
		defer c.forget(s)
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
}

func (c *Controller) hangupOrphan(id string) {
	if err := c.client.Channel().Hangup(ari.NewKey(ari.ChannelKey, id), "normal"); err != nil && !isNotFound(err) {
		c.log.Warn("orphan_hangup_failed", "channel_id", id, "error", err.Error())
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
	for _, s := range known {
		s.inbox.push(item{resync: true})
	}
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
	for _, id := range unknown {
		if c.released.Load() {
			return
		}
		c.mu.Lock()
		claimed := c.routes[ari.ChannelKey+":"+id] != nil
		c.mu.Unlock()
		if claimed {
			continue
		}
		ch, err := c.client.Channel().Data(ari.NewKey(ari.ChannelKey, id))
		if err != nil {
			continue // gone meanwhile
		}
		if strings.HasPrefix(ch.ID, "op-") {
			go c.hangupOrphan(id)
			continue
		}
		c.metrics.resumed.Inc()
		c.log.Info("call_resumed", "channel_id", id)
		c.startSession(ctx, *ch, "", true)
	}
}

func (c *Controller) nextID(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, c.clock.Now().UnixMilli(), c.seq.Add(1))
}

func (c *Controller) observe(e Event) {
	if c.opts.Observe != nil {
		c.opts.Observe(e)
	}
}
