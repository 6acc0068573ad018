// Package simdesk runs a help desk against the in-process ARI simulator:
// the real controller, over the real ari/v5 client and a loopback
// WebSocket, on a clock that can run faster than real time. `ivrctl
// simulate` plays one scripted call on it, `ivrctl load` thousands, and
// the demo serves its test phone from it.
package simdesk

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/ariconn"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Options configures a Desk.
type Options struct {
	Config *menu.Config
	// ConfigFunc, if set, gives the controller the configuration in force
	// at each call (a server that reloads); Config is then the initial one.
	ConfigFunc func() *menu.Config
	PINSecret  []byte
	// Start is the simulated time at start (default now); Speed how many
	// times faster than real time the clock runs (default 1).
	Start time.Time
	Speed float64
	// Store keeps tickets and call records (default: in memory).
	Store tickets.CallRecorder
	// Operators is how every operator phone behaves (default: answers
	// after 5 s of simulated time).
	Operators *arisim.EndpointBehavior
	// Observe receives every call's events.
	Observe    func(ivr.Event)
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// MaxConns is the ARI client's HTTP connection pool (default 64).
	MaxConns int
	// KeyLatency receives the controller's key-to-prompt latencies.
	KeyLatency func(time.Duration)
	// SystemName prefixes the simulated Asterisk's channel ids (as
	// asterisk.conf's systemname does) and names its node in the call
	// records, for desks sharing one database: a desk's reconciliation
	// then leaves the others' calls and their operators alone.
	SystemName string
	// Clock, if set, is used instead of a new one (Start and Speed are
	// then ignored): desks that share it agree on the time.
	Clock *clock.Scaled
	// Queues, if set, are the operator queues routed calls wait in
	// (default: every phone of the group rings at once).
	Queues ivr.Queues
	// Spool, if set, keeps what calls could not write to Store.
	Spool *ivr.Spool
	// OnMedia, if set, hears of every media item the simulator starts to
	// play and whether it had it (tests prove every prompt is heard).
	OnMedia func(mediaURI, lang string, found bool)
	// Lockouts count wrong PINs across calls (default: in memory).
	Lockouts ivr.Lockouts
	// Recordings is the simulated Asterisk's recording spool (default: its
	// own): desks sharing one serve each other's recordings, which outlive
	// the desk that made them.
	Recordings *arisim.Recordings
	// OnClose, if set, is called by Close once everything has stopped.
	OnClose func()
	// CallClock, if set, gives calls clocks of their own
	// (ivr.Options.CallClock).
	CallClock func(channelID string, args []string) clock.Clock
	// TestCallbacks lets test calls ask for callbacks
	// (ivr.Options.TestCallbacks).
	TestCallbacks bool
}

// Desk is a running simulated help desk.
type Desk struct {
	Sim        *arisim.Server
	Controller *ivr.Controller
	Conn       *ariconn.Conn
	Clock      *clock.Scaled
	Memory     *ivr.MemoryRecorder // nil when Options.Store was given

	cancel  context.CancelFunc
	onClose func()
	mu      sync.Mutex
	subs    map[string]chan ivr.Event
	obs     func(ivr.Event)
	// While a caller is between placing a call and following it, events
	// of calls nobody follows yet are kept (a call's first events can
	// come before PlaceCall returns).
	placing int
	backlog map[string][]ivr.Event
}

// User and Password are the simulated ARI credentials.
const User, Password = "ivr", "simulated"

// Start starts the simulator, connects the controller to it and waits
// until calls can be placed.
func Start(ctx context.Context, o Options) (*Desk, error) {
	if o.Config == nil {
		return nil, fmt.Errorf("simdesk: a configuration is required")
	}
	o.Start = cmp.Or(o.Start, time.Now())
	if o.Speed <= 0 {
		o.Speed = 1
	}
	o.Logger = cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	o.Registerer = cmp.Or[prometheus.Registerer](o.Registerer, prometheus.NewRegistry())
	if o.Clock == nil {
		o.Clock = clock.NewScaled(o.Start, o.Speed)
	}
	d := &Desk{Clock: o.Clock, subs: map[string]chan ivr.Event{}, obs: o.Observe,
		backlog: map[string][]ivr.Event{}, onClose: o.OnClose}
	if o.Store == nil {
		d.Memory = ivr.NewMemoryRecorder(o.Config.Location())
		o.Store = d.Memory
	}
	duration := ivr.PromptDurations(o.Config)
	if o.OnMedia != nil {
		inner := duration
		duration = func(uri, lang string) (time.Duration, bool) {
			d, ok := inner(uri, lang)
			o.OnMedia(uri, lang, ok)
			return d, ok
		}
	}
	// The simulated dialplan has what the shipped extensions.conf has:
	// the AMD context of callbacks, and those the configuration names.
	amd := []string{menu.DefaultCallbackAMDContext}
	for _, g := range o.Config.Groups {
		if g != nil && g.Callback.AMDContext != "" {
			amd = append(amd, g.Callback.AMDContext)
		}
	}
	d.Sim = arisim.New(arisim.Options{Clock: d.Clock, Username: User, Password: Password, SystemName: o.SystemName,
		SoundDuration: duration, Logger: o.Logger, Recordings: o.Recordings, AMDContexts: amd})
	if err := d.Sim.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	ops := arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 5 * time.Second}
	if o.Operators != nil {
		ops = *o.Operators
	}
	for _, op := range o.Config.Operators {
		d.Sim.SetEndpoint(op.Endpoint, ops)
	}
	cfg := o.Config
	current := o.ConfigFunc
	if current == nil {
		current = func() *menu.Config { return cfg }
	}
	var err error
	d.Controller, err = ivr.New(ivr.Options{App: "ivr", Config: current, Node: o.SystemName,
		PINSecret: o.PINSecret, Store: o.Store, Clock: d.Clock, Logger: o.Logger, Registerer: o.Registerer,
		Observe: d.observe, KeyLatency: o.KeyLatency, Queues: o.Queues, Spool: o.Spool, Lockouts: o.Lockouts,
		CallClock: o.CallClock, TestCallbacks: o.TestCallbacks})
	if err != nil {
		d.Sim.Close()
		return nil, err
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	d.Conn, err = ariconn.Start(cctx, ariconn.Options{URL: d.Sim.URL(), Username: User, Password: Password, App: "ivr",
		MinBackoff: 20 * time.Millisecond, MaxBackoff: time.Second, MaxConns: o.MaxConns, Logger: o.Logger, Registerer: o.Registerer,
		OnConnect: func() { d.Controller.Reconcile(cctx) }, OnReplaced: d.Controller.Release, Events: ivr.HandledEvents},
		func(c ari.Client) func(ari.Event) { return d.Controller.Attach(cctx, c) })
	if err != nil {
		cancel()
		d.Sim.Close()
		return nil, err
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := d.Conn.Wait(wctx); err != nil {
		d.Close()
		return nil, err
	}
	for d.Sim.Stats().ActiveApps == 0 { // registered just after the 101
		if wctx.Err() != nil {
			d.Close()
			return nil, fmt.Errorf("simdesk: the application did not register")
		}
		time.Sleep(time.Millisecond)
	}
	return d, nil
}

// Close ends the calls and stops everything.
func (d *Desk) Close() {
	d.cancel()
	d.Conn.Close()
	d.Sim.Close()
	if d.onClose != nil {
		d.onClose()
	}
}

func (d *Desk) observe(e ivr.Event) {
	if d.obs != nil {
		d.obs(e)
	}
	d.mu.Lock()
	ch := d.subs[e.CallID]
	if ch == nil && d.placing > 0 && len(d.backlog[e.CallID]) < 64 {
		d.backlog[e.CallID] = append(d.backlog[e.CallID], e)
	}
	d.mu.Unlock()
	if ch != nil {
		select {
		case ch <- e:
		default: // a follower that does not read loses events, never the call
		}
	}
}

// Follow returns the events of one call as they happen; stop with
// Unfollow.
func (d *Desk) Follow(callID string) <-chan ivr.Event {
	ch := make(chan ivr.Event, 1024)
	d.mu.Lock()
	d.subs[callID] = ch
	for _, e := range d.backlog[callID] {
		ch <- e
	}
	delete(d.backlog, callID)
	d.mu.Unlock()
	return ch
}

// Unfollow stops Follow.
func (d *Desk) Unfollow(callID string) {
	d.mu.Lock()
	delete(d.subs, callID)
	d.mu.Unlock()
}

// Step is one action of a scripted caller.
type Step struct {
	Keys   string        // keys to press when the next prompt starts (or at once after a wait)
	Wait   time.Duration // wait this long (simulated time) without pressing
	Hangup bool
}

// ParseScript reads a caller's script: keys separated by spaces ("1 3",
// "4 5035#"), "wN" to wait N seconds without pressing, "h" to hang up.
// Keys and hang-ups happen when the next prompt starts, as a caller
// answers what they hear, or at once after a wait.
func ParseScript(s string) ([]Step, error) {
	var steps []Step
	for _, tok := range strings.Fields(s) {
		switch {
		case tok == "h":
			steps = append(steps, Step{Hangup: true})
		case strings.HasPrefix(tok, "w"):
			secs, err := strconv.ParseFloat(tok[1:], 64)
			if err != nil || secs < 0 || secs > 3600 {
				return nil, fmt.Errorf("%q: a wait is w followed by seconds, e.g. w2", tok)
			}
			steps = append(steps, Step{Wait: time.Duration(secs * float64(time.Second))})
		default:
			for _, r := range tok {
				if !strings.ContainsRune("0123456789*#", r) {
					return nil, fmt.Errorf("%q: keys are 0-9, * and #", tok)
				}
			}
			steps = append(steps, Step{Keys: tok})
		}
	}
	return steps, nil
}

// Result is how a scripted call ended.
type Result struct {
	CallID  string
	Outcome ivr.Event // the final "outcome" event
	Events  []ivr.Event
}

// CallLimits bound a scripted call in simulated time.
type CallLimits struct {
	// Talk is how long the caller talks once an operator answers
	// (default 1 minute).
	Talk time.Duration
	// Max ends the call by hanging up after this long (default 15 min).
	Max time.Duration
}

// PlaceAndFollow places a call to number and follows its events from the
// first: those the controller emits before PlaceCall returns are kept
// for it (Follow alone would miss them).
func (d *Desk) PlaceAndFollow(ctx context.Context, caller, number string, opts arisim.CallOptions) (*arisim.Call, <-chan ivr.Event, error) {
	d.mu.Lock()
	d.placing++
	d.mu.Unlock()
	call, err := d.Sim.PlaceCall(ctx, caller, number, opts)
	var events <-chan ivr.Event
	if err == nil {
		events = d.Follow(call.ID())
	}
	d.mu.Lock()
	if d.placing--; d.placing == 0 {
		clear(d.backlog)
	}
	d.mu.Unlock()
	return call, events, err
}

// Call places one call from caller and plays the script; it returns when
// the call is over.
func (d *Desk) Call(ctx context.Context, caller string, script []Step, opts arisim.CallOptions, lim CallLimits) (Result, error) {
	maxDuration := cmp.Or(lim.Max, 15*time.Minute)
	talk := cmp.Or(lim.Talk, time.Minute)
	opts.EventBuffer = -1
	call, events, err := d.PlaceAndFollow(ctx, caller, "800749049", opts)
	if err != nil {
		return Result{}, err
	}
	defer d.Unfollow(call.ID())
	res := Result{CallID: call.ID()}
	deadline := d.Clock.NewTimer(maxDuration)
	defer deadline.Stop()
	prompts := 0  // prompts started so far
	pressed := -1 // prompts seen when the last keys were pressed
	afterWait := false
	step := 0
	var wait *clock.Timer
	for {
		// Act when the script allows.
		for step < len(script) && wait == nil {
			st := script[step]
			if st.Wait > 0 {
				wait = d.Clock.NewTimer(st.Wait)
				step++
				break
			}
			if !afterWait && (prompts <= pressed || prompts == 0) {
				break // keys and hang-ups wait for the next prompt
			}
			if st.Hangup {
				_ = call.Hangup()
				pressed, afterWait = prompts, false
				step++
				continue
			}
			if err := call.Press(st.Keys); err != nil {
				break // the call is over
			}
			pressed, afterWait = prompts, false
			step++
		}
		var waitC <-chan time.Time
		if wait != nil {
			waitC = wait.C
		}
		select {
		case e := <-events:
			res.Events = append(res.Events, e)
			switch e.Kind {
			case ivr.EvPrompt:
				prompts++
			case ivr.EvOutcome:
				res.Outcome = e
				return res, nil
			case ivr.EvAnswered:
				if step >= len(script) && wait == nil {
					script = append(script, Step{Wait: talk}, Step{Hangup: true})
				}
			}
		case <-waitC:
			wait, afterWait = nil, true
		case <-deadline.C:
			_ = call.Hangup()
		case <-ctx.Done():
			_ = call.Hangup()
			return res, ctx.Err()
		}
	}
}
