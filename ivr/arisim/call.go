package arisim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the control API.
var (
	// ErrAppNotActive: the call was routed to a Stasis app that exists
	// (it still owns channels) but has no WebSocket.
	ErrAppNotActive = errors.New("arisim: Stasis app not active")
	// ErrAppNotFound: the call was routed to a Stasis app that does not
	// exist (never connected, or destroyed after its last socket closed
	// and its last channel left).
	ErrAppNotFound = errors.New("arisim: Stasis app doesn't exist")
	// ErrCallEnded: the call is over.
	ErrCallEnded = errors.New("arisim: call has ended")
	// ErrClosed: the server was closed.
	ErrClosed = errors.New("arisim: server closed")
)

// RejectedError is returned by PlaceCall when Stasis() fails: the channel
// goes on in the dialplan with STASISSTATUS=FAILED, the dialplan hangs up
// and the caller gets SIP 603 Decline, as in the recorded lab. No ARI event
// is sent. errors.Is(err, ErrAppNotActive) or ErrAppNotFound tells why.
type RejectedError struct {
	App       string
	ChannelID string // the id the channel had
	Reason    string // Asterisk's log line, e.g. "Stasis app 'ivr' not active"
	SIPCode   int    // 603
	cause     error
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("arisim: call rejected with SIP %d: %s (STASISSTATUS=FAILED)", e.SIPCode, e.Reason)
}

func (e *RejectedError) Unwrap() error { return e.cause }

// CallerEventKind names what a simulated party experiences.
type CallerEventKind string

// The kinds of CallerEvent.
const (
	EventIncoming          CallerEventKind = "incoming"        // an endpoint's phone starts ringing (originated calls)
	EventAnswered          CallerEventKind = "answered"        // the channel was answered (by the app, or by the phone)
	EventRinging           CallerEventKind = "ringing"         // the app plays ringback (POST /ring)
	EventRingingStopped    CallerEventKind = "ringing-stopped" // DELETE /ring
	EventPlaybackStarted   CallerEventKind = "playback-started"
	EventPlaybackFinished  CallerEventKind = "playback-finished" // State: done, stopped, failed
	EventMOHStarted        CallerEventKind = "moh-started"
	EventMOHStopped        CallerEventKind = "moh-stopped"
	EventSilenceStarted    CallerEventKind = "silence-started"
	EventSilenceStopped    CallerEventKind = "silence-stopped"
	EventHoldStarted       CallerEventKind = "hold-started"
	EventHoldStopped       CallerEventKind = "hold-stopped"
	EventRecordingStarted  CallerEventKind = "recording-started"
	EventRecordingFinished CallerEventKind = "recording-finished" // State: done, canceled, failed
	EventDTMFSent          CallerEventKind = "dtmf-sent"          // the app sent DTMF to this party
	EventBridged           CallerEventKind = "bridged"            // joined a bridge; Peers are the others in it
	EventBridgePeers       CallerEventKind = "bridge-peers"       // someone joined or left this party's bridge
	EventUnbridged         CallerEventKind = "unbridged"
	EventContinued         CallerEventKind = "continued" // left Stasis for the dialplan (Context/Exten/Priority)
	EventHangup            CallerEventKind = "hangup"    // always the last event; By tells who hung up
)

// Who ended a call (CallerEvent.By of an EventHangup).
const (
	ByCaller   = "caller"   // this party hung up (Call.Hangup or HangupAfter)
	ByApp      = "app"      // DELETE /channels/{id}
	ByDialplan = "dialplan" // the dialplan hung up after the call left Stasis
	ByNetwork  = "network"  // the call failed: busy, no answer, unavailable
	ByServer   = "server"   // the simulator was closed
)

// CallerEvent is one thing a simulated party experienced, in clock time.
type CallerEvent struct {
	Kind CallerEventKind
	Time time.Time

	Media      string // playback: the media URI being played
	Lang       string // playback: its language
	PlaybackID string
	Recording  string        // recording name
	Duration   time.Duration // recording-finished: recorded length
	Beep       bool          // recording-started: a beep was played first
	Bridge     string        // bridge id
	Peers      []string      // bridged/bridge-peers: the other channels' ids
	Class      string        // moh class
	Digits     string        // dtmf-sent
	State      string        // playback/recording end state; hangup cause text
	By         string        // hangup: ByCaller, ByApp...
	Context    string        // continued
	Exten      string        // continued
	Priority   int           // continued
}

// String renders the event as one transcript line.
func (e CallerEvent) String() string {
	var b strings.Builder
	b.WriteString(e.Time.Format("15:04:05.000"))
	b.WriteByte(' ')
	b.WriteString(string(e.Kind))
	add := func(k, v string) {
		if v != "" {
			b.WriteByte(' ')
			if k != "" {
				b.WriteString(k)
				b.WriteByte('=')
			}
			b.WriteString(v)
		}
	}
	add("", e.Media)
	add("lang", e.Lang)
	add("playback", e.PlaybackID)
	add("recording", e.Recording)
	if e.Kind == EventRecordingFinished {
		add("duration", e.Duration.String())
	}
	if e.Beep {
		add("", "beep")
	}
	add("bridge", e.Bridge)
	if len(e.Peers) > 0 {
		add("peers", strings.Join(e.Peers, ","))
	}
	add("class", e.Class)
	add("digits", e.Digits)
	add("state", e.State)
	add("by", e.By)
	if e.Kind == EventContinued {
		add("to", e.Context+","+e.Exten+","+strconv.Itoa(e.Priority))
	}
	return b.String()
}

// CallOptions configures a simulated party.
type CallOptions struct {
	// CallerName is the caller id name (the number is PlaceCall's from).
	CallerName string
	// Language overrides Options.Language for this channel.
	Language string
	// OnEvent, if set, is called for every CallerEvent, in order, on a
	// delivery goroutine of the call (never on the simulator's timer
	// goroutine or a REST handler). It may call the Call's methods,
	// including the blocking Press; the call's later events wait for it.
	OnEvent func(CallerEvent)
	// EventBuffer is the capacity of Events() (default 256). When it is
	// full further events are dropped (counted by Dropped), never blocking
	// the simulator. Negative: no channel at all (load tests).
	EventBuffer int
	// SpeakOnRecord makes the party speak for that long each time a
	// recording of its channel starts, then fall silent (0: silent).
	SpeakOnRecord time.Duration
	// HangupAfter, if positive, hangs up from the party's side that long
	// after the call arrives (inbound) or is answered (endpoint calls).
	HangupAfter time.Duration
	// StasisArgs are added to the arguments of the Stasis application
	// the number is routed to, as a dialplan line of a test line would
	// (Stasis(ivr,test)); inbound calls only.
	StasisArgs []string
}

// Call is the far end of one simulated channel: an inbound caller (from
// PlaceCall) or the phone behind an originated channel (EndpointBehavior).
type Call struct {
	s       *Server
	id      string
	name    string
	opts    CallOptions
	events  chan CallerEvent
	done    chan struct{}
	gone    chan struct{} // closed as soon as the call ends (before delivery)
	dropped atomic.Int64

	// guarded by s.mu
	ch         *channel
	talk       []interval
	ended      bool
	final      CallerEvent
	pressTimer *timerEntry

	pmu        sync.Mutex
	pending    []CallerEvent
	hook       func(*Call) // EndpointBehavior.OnCall, run before the first event
	queued     bool
	delivering bool
}

func (s *Server) newCall(ch *channel, o CallOptions) *Call {
	c := &Call{s: s, id: ch.id, name: ch.name, opts: o, ch: ch, done: make(chan struct{}), gone: make(chan struct{})}
	switch {
	case o.EventBuffer == 0:
		c.events = make(chan CallerEvent, 256)
	case o.EventBuffer > 0:
		c.events = make(chan CallerEvent, o.EventBuffer)
	}
	ch.call = c
	return c
}

// ID is the channel id (an inbound call's is Asterisk-style "<epoch>.<n>").
func (c *Call) ID() string { return c.id }

// Name is the channel name, e.g. "SIP/127.0.0.1-00000001".
func (c *Call) Name() string { return c.name }

// Done is closed when the channel is gone (hung up by either side, or its
// dialplan ended after /continue), after the final EventHangup has been
// delivered.
func (c *Call) Done() <-chan struct{} { return c.done }

// Events delivers what the party experiences, in order; it is closed after
// the final EventHangup. Nil if CallOptions.EventBuffer was negative.
func (c *Call) Events() <-chan CallerEvent { return c.events }

// Dropped counts events not delivered on Events because its buffer was full.
func (c *Call) Dropped() int64 { return c.dropped.Load() }

// Ended returns the final EventHangup once the call is over.
func (c *Call) Ended() (CallerEvent, bool) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.final, c.ended
}

// State is the channel state as ARI reports it ("Ring", "Up", ...), or ""
// once the call is over.
func (c *Call) State() string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.ended || c.ch == nil {
		return ""
	}
	return c.ch.state
}

// Hangup hangs up from this party's side (a SIP BYE): the app sees the
// five ChannelVarset RTPAUDIOQOS* (if answered), ChannelHangupRequest
// without cause, PlaybackFinished "failed" if a playback was running,
// ChannelLeftBridge if bridged, then StasisEnd (and ChannelDestroyed for an
// originated channel). A ringing originated call is declined instead
// (Dial BUSY).
func (c *Call) Hangup() error {
	s := c.s
	s.mu.Lock()
	if c.ended || c.ch == nil || c.ch.gone {
		s.mu.Unlock()
		return ErrCallEnded
	}
	ch := c.ch
	if ch.dialing {
		s.failDial(ch, "BUSY", 17, "User busy")
	} else {
		s.hangup(ch, hangRemote, 16, ByCaller)
	}
	s.unlock()
	return nil
}

// Answer answers a ringing call to an endpoint (useful with Mode NoAnswer
// to decide from the test when the operator picks up).
func (c *Call) Answer() error {
	s := c.s
	s.mu.Lock()
	defer s.unlock()
	if c.ended || c.ch == nil || c.ch.gone {
		return ErrCallEnded
	}
	if !c.ch.dialing {
		return errors.New("arisim: Answer: the channel is not ringing")
	}
	s.dialAnswer(c.ch)
	return nil
}

// Press sends DTMF digits (0-9, A-D, *, #) from this party, one
// ChannelDtmfReceived per digit with duration_ms = Options.DTMFDuration,
// the first after DTMFDuration and the next every DTMFGap, in clock time.
// It returns once the last digit was emitted (or the call ended). A digit
// matching a recording's terminateOn ends the recording after its event.
func (c *Call) Press(digits string) error {
	for i := 0; i < len(digits); i++ {
		if !validDigit(digits[i]) {
			return fmt.Errorf("arisim: invalid DTMF digit %q", digits[i])
		}
	}
	if digits == "" {
		return nil
	}
	s := c.s
	done := make(chan error, 1)
	s.mu.Lock()
	if c.ended || c.ch == nil || c.ch.gone {
		s.mu.Unlock()
		return ErrCallEnded
	}
	start := s.clk.Now()
	dur, gap := s.opts.DTMFDuration, s.opts.DTMFGap
	var step func(i int)
	step = func(i int) {
		if c.ended || c.ch == nil || c.ch.gone {
			done <- ErrCallEnded
			return
		}
		s.dtmfReceived(c.ch, digits[i], int(dur/time.Millisecond))
		if i+1 == len(digits) {
			done <- nil
			return
		}
		c.pressTimer = s.atTime(start.Add(time.Duration(i+1)*gap+dur), func() { step(i + 1) })
	}
	c.pressTimer = s.atTime(start.Add(dur), func() { step(0) })
	s.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-c.gone:
		select {
		case err := <-done:
			return err
		default:
		}
		return ErrCallEnded
	}
}

func validDigit(d byte) bool {
	return d >= '0' && d <= '9' || d >= 'A' && d <= 'D' || d == '*' || d == '#'
}

// Talk makes the party speak, starting now, for d (clock time), then fall
// silent. Recordings measure talking_duration from it, stop on
// maxSilenceSeconds of silence after it, and the recorded WAV carries a
// tone while the party talks.
func (c *Call) Talk(d time.Duration) error {
	s := c.s
	s.mu.Lock()
	defer s.unlock()
	if c.ended || c.ch == nil || c.ch.gone {
		return ErrCallEnded
	}
	now := s.clk.Now()
	c.addTalk(now, now.Add(d))
	if r := c.ch.rec; r != nil {
		s.recScheduleSilence(r, now)
	}
	return nil
}

// addTalk records a speaking interval; must hold s.mu.
func (c *Call) addTalk(from, to time.Time) {
	if !to.After(from) {
		return
	}
	if n := len(c.talk); n > 0 && !from.After(c.talk[n-1].to) {
		if to.After(c.talk[n-1].to) {
			c.talk[n-1].to = to
		}
		return
	}
	c.talk = append(c.talk, interval{from, to})
	if len(c.talk) > 64 {
		c.talk = append(c.talk[:0:0], c.talk[len(c.talk)-32:]...)
	}
}

// ---- delivery of CallerEvents ----

// notify queues ev for the party; delivered after s.mu is released, in
// order. Must hold s.mu.
func (s *Server) notify(c *Call, ev CallerEvent) {
	if c == nil || c.ended {
		return
	}
	s.enqueueEvent(c, ev)
}

func (s *Server) enqueueEvent(c *Call, ev CallerEvent) {
	c.pmu.Lock()
	c.pending = append(c.pending, ev)
	add := !c.queued
	c.queued = true
	c.pmu.Unlock()
	if add {
		s.dirty = append(s.dirty, c)
	}
}

// endCall queues the final event; must hold s.mu.
func (s *Server) endCall(c *Call, ev CallerEvent) {
	if c == nil || c.ended {
		return
	}
	s.cancel(c.pressTimer)
	c.final = ev
	s.enqueueEvent(c, ev)
	c.ended = true
	close(c.gone)
}

// flush delivers the queued events. With an OnEvent callback (or an
// OnCall hook) they are delivered on a goroutine of their own, so that user
// code never runs on the scheduler or inside a REST handler and may block
// (Press). One delivery runs at a time per call, so the order holds.
func (c *Call) flush() {
	c.pmu.Lock()
	if c.delivering || (len(c.pending) == 0 && c.hook == nil) {
		c.pmu.Unlock()
		return
	}
	c.delivering = true
	async := c.opts.OnEvent != nil || c.hook != nil
	c.pmu.Unlock()
	if async {
		go c.deliverLoop()
	} else {
		c.deliverLoop()
	}
}

func (c *Call) deliverLoop() {
	c.pmu.Lock()
	for {
		hook, evs := c.hook, c.pending
		c.hook, c.pending, c.queued = nil, nil, false
		if hook == nil && len(evs) == 0 {
			c.delivering = false
			c.pmu.Unlock()
			return
		}
		c.pmu.Unlock()
		if hook != nil {
			hook(c)
		}
		for _, ev := range evs {
			c.deliver(ev)
		}
		c.pmu.Lock()
	}
}

func (c *Call) deliver(ev CallerEvent) {
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(ev)
	}
	if c.events != nil {
		select {
		case c.events <- ev:
		default:
			c.dropped.Add(1)
		}
	}
	if ev.Kind == EventHangup {
		if c.events != nil {
			close(c.events)
		}
		close(c.done)
	}
}

// ---- inbound calls ----

// PlaceCall simulates a call from number from to the dialed number to. The
// channel enters Stasis at once (StasisStart with args from Options.Routes,
// state "Ring", dialplan context Options.Context) and the returned Call is
// its far end. If the target app has no WebSocket, the call is rejected
// like on Asterisk (no event; the caller gets SIP 603): the error is a
// *RejectedError matching ErrAppNotActive or ErrAppNotFound.
func (s *Server) PlaceCall(ctx context.Context, from, to string, o CallOptions) (*Call, error) {
	if err := ctxDone(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	now := s.clk.Now()
	appName, args := s.route(to)
	args = slices.Concat(args, o.StasisArgs)
	ch := s.newChannel("", s.opts.InboundEndpoint, now)
	ch.inbound = true
	ch.caller = party{o.CallerName, from}
	ch.state = "Ring"
	if o.Language != "" {
		ch.lang = o.Language
	}
	appData := appName
	if len(args) > 0 {
		appData += "," + strings.Join(args, ",")
	}
	ch.dp = dialplanLoc{s.opts.Context, to, 1, "Stasis", appData}
	a := s.apps[appName]
	if a == nil || a.sock == nil {
		s.callsRejected.Add(1)
		rej := &RejectedError{App: appName, ChannelID: ch.id, SIPCode: 603}
		if a == nil {
			rej.Reason, rej.cause = fmt.Sprintf("Stasis app '%s' doesn't exist", appName), ErrAppNotFound
		} else {
			rej.Reason, rej.cause = fmt.Sprintf("Stasis app '%s' not active", appName), ErrAppNotActive
		}
		s.mu.Unlock()
		s.log.Info("arisim: call rejected", "channel", ch.id, "reason", rej.Reason)
		return nil, rej
	}
	c := s.newCall(ch, o)
	ch.app, ch.args = appName, args
	ch.inStasis, ch.subscribed = true, true
	s.channels[ch.id] = ch
	a.chans[ch.id] = ch
	s.emit(appName, s.evStasisStart(ch, appName, now))
	if o.HangupAfter > 0 {
		ch.hangupTimer = s.after(o.HangupAfter, func() { s.hangup(ch, hangRemote, 16, ByCaller) })
	}
	s.callsPlaced.Add(1)
	s.unlock()
	return c, nil
}

// route maps a dialed number to its Stasis app and arguments.
func (s *Server) route(exten string) (string, []string) {
	r, ok := s.opts.Routes[exten]
	if !ok || r == "" {
		return s.opts.App, nil
	}
	parts := strings.Split(r, ",")
	return parts[0], parts[1:]
}
