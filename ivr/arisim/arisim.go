package arisim

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/clock"
)

// Options configures a Server. The zero value works: an app "ivr", user
// "ivr" password "ivr", Italian channels, the wall clock.
type Options struct {
	// Clock is the time source (default clock.Real()).
	Clock clock.Clock

	// Username and Password are the ARI credentials, accepted as HTTP basic
	// auth or as ?api_key=user:pass (default "ivr" / "ivr").
	Username, Password string

	// AsteriskID is the entity id reported by /asterisk/info and in every
	// event's asterisk_id (default "02:fc:00:00:00:01").
	AsteriskID string

	// SystemName, like asterisk.conf's systemname, prefixes every uniqueid
	// ("<SystemName>-<epoch>.<n>"), so that several Asterisks give
	// distinct channel ids.
	SystemName string

	// App is the Stasis application inbound calls enter (default "ivr").
	App string
	// Routes maps a dialed number (exten) to "app[,arg1,arg2...]", like a
	// dialplan line `exten => N,1,Stasis(app,args)`. Numbers not listed go
	// to App with no arguments.
	Routes map[string]string
	// Context is the dialplan context of inbound calls (default "from-pstn").
	Context string
	// InboundEndpoint names inbound channels: "<InboundEndpoint>-0000000N"
	// (default "SIP/127.0.0.1", as chan_sip names guest calls).
	InboundEndpoint string
	// Language is the default channel language (default "it").
	Language string

	// Sounds is the sound library: sound name (as after "sound:", e.g.
	// "hello-world" or "digits/1") → duration. Nil means DefaultSounds.
	// GET /sounds lists it.
	Sounds map[string]time.Duration
	// StrictSounds makes a sound: URI whose name is not in Sounds a missing
	// file: PlaybackStarted then PlaybackFinished with state "failed", as
	// Asterisk does. When false such sounds play for EstimateDuration.
	StrictSounds bool
	// SoundLanguages are the languages GET /sounds reports for every sound
	// (default "en", "it").
	SoundLanguages []string
	// SoundDuration, when set, decides for every media URI how long it
	// plays and whether it exists (false: missing file → "failed"); it
	// replaces Sounds/StrictSounds for playback. Unsupported schemes never
	// reach it.
	SoundDuration func(mediaURI, lang string) (time.Duration, bool)

	// DTMFDuration is the length of a key press, reported as duration_ms
	// (default 250 ms, what SIP INFO gave in the traces).
	DTMFDuration time.Duration
	// DTMFGap is the time between the starts of two key presses of one
	// Call.Press (default 500 ms).
	DTMFGap time.Duration
	// DialplanDuration is how long a channel stays in the dialplan after
	// /continue to an explicit context, or after being originated into an
	// extension, before the dialplan hangs it up (default 1 s, like the
	// lab's `Playback(vm-goodbye)` then `Hangup()`).
	DialplanDuration time.Duration
	// OriginateTimeout is the default originate ring timeout (default 30 s).
	OriginateTimeout time.Duration
	// AMDContexts are dialplan contexts that run AMD() on a channel
	// originated into them and then
	// Stasis(${IVR_APP},${IVR_ARGS},${AMDSTATUS},${AMDCAUSE}), like the
	// shipped extensions.conf's ivr-callback-amd. The verdict is the
	// dialed endpoint's (EndpointBehavior.AnsweringMachine).
	AMDContexts []string

	// WriteTimeout bounds (in wall time) each write to an event socket; a
	// client that does not read for that long is disconnected, like
	// Asterisk's websocket_write_timeout (default 5 s).
	WriteTimeout time.Duration
	// MaxQueuedEvents bounds the frames waiting for one socket; past it the
	// socket is dropped (default 100000).
	MaxQueuedEvents int
	// FlushWait bounds (in wall time) how long a REST reply waits for the
	// events it caused to be written to the sockets first, so that, as on
	// Asterisk, ChannelStateChange precedes the answer's 204 (default 250 ms).
	FlushWait time.Duration

	// Logger receives the simulator's own log (default: discarded).
	Logger *slog.Logger

	// Recordings is the recording spool (default: one of its own). Servers
	// that share one see each other's recordings, which outlive them.
	Recordings *Recordings
}

// DefaultSounds is the sound library used when Options.Sounds is nil: the
// prompts of the recorded lab with their measured lengths, a beep and
// silences. With StrictSounds false (the default), sounds not listed still
// play, for EstimateDuration.
var DefaultSounds = map[string]time.Duration{
	"hello-world":   646 * time.Millisecond,
	"vm-press":      484 * time.Millisecond,
	"vm-goodbye":    708 * time.Millisecond,
	"demo-congrats": 27 * time.Second,
	"beep":          300 * time.Millisecond,
	"silence/1":     time.Second,
	"silence/2":     2 * time.Second,
	"silence/3":     3 * time.Second,
	"silence/5":     5 * time.Second,
	"silence/10":    10 * time.Second,
}

func (o *Options) setDefaults() {
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Username == "" && o.Password == "" {
		o.Username, o.Password = "ivr", "ivr"
	}
	if o.AsteriskID == "" {
		o.AsteriskID = "02:fc:00:00:00:01"
	}
	if o.App == "" {
		o.App = "ivr"
	}
	if o.Context == "" {
		o.Context = "from-pstn"
	}
	if o.InboundEndpoint == "" {
		o.InboundEndpoint = "SIP/127.0.0.1"
	}
	if o.Language == "" {
		o.Language = "it"
	}
	if o.Sounds == nil {
		o.Sounds = DefaultSounds
	}
	if len(o.SoundLanguages) == 0 {
		o.SoundLanguages = []string{"en", "it"}
	}
	if o.DTMFDuration <= 0 {
		o.DTMFDuration = 250 * time.Millisecond
	}
	if o.DTMFGap <= 0 {
		o.DTMFGap = 500 * time.Millisecond
	}
	if o.DTMFGap < o.DTMFDuration {
		o.DTMFGap = o.DTMFDuration
	}
	if o.DialplanDuration <= 0 {
		o.DialplanDuration = time.Second
	}
	if o.OriginateTimeout <= 0 {
		o.OriginateTimeout = 30 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.MaxQueuedEvents <= 0 {
		o.MaxQueuedEvents = 100000
	}
	if o.FlushWait <= 0 {
		o.FlushWait = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is a simulated Asterisk. It is an http.Handler (serve it under any
// listener) and can listen by itself with Start. All methods are safe for
// concurrent use.
type Server struct {
	opts  Options
	clk   clock.Clock
	log   *slog.Logger
	sched *scheduler
	start time.Time

	mu        sync.Mutex
	channels  map[string]*channel
	bridges   map[string]*bridge
	playbacks map[string][]*playback
	liveRecs  map[string]*liveRec
	stored    *Recordings
	apps      map[string]*app
	endpoints map[string]*endpoint
	globals   map[string]string
	sockets   map[*wsConn]struct{}
	dirty     []*Call
	touched   []*wsConn
	uniq      int64
	nameSeq   uint32
	snoopSeq  uint32 // snoop channels' names (snoop.go)
	refuseWS  bool
	stuck     chan struct{}
	closed    bool
	playing   int      // active playbacks
	missing   []string // media URIs that failed as missing or unsupported

	reqCount      []atomic.Int64
	reqUnmatched  atomic.Int64
	tcpConns      atomic.Int64
	wsAccepted    atomic.Int64
	callsPlaced   atomic.Int64
	callsRejected atomic.Int64
	eventsSent    atomic.Int64
	eventsDropped atomic.Int64

	wsWG    sync.WaitGroup
	httpSrv *http.Server
	ln      net.Listener
	base    string
}

// New returns a Server; call Start to listen, or mount it as an
// http.Handler (it serves paths beginning with /ari).
func New(opts Options) *Server {
	opts.setDefaults()
	s := &Server{
		opts:      opts,
		clk:       opts.Clock,
		log:       opts.Logger,
		channels:  map[string]*channel{},
		bridges:   map[string]*bridge{},
		playbacks: map[string][]*playback{},
		liveRecs:  map[string]*liveRec{},
		stored:    cmp.Or(opts.Recordings, NewRecordings()),
		apps:      map[string]*app{},
		endpoints: map[string]*endpoint{},
		globals:   map[string]string{},
		sockets:   map[*wsConn]struct{}{},
	}
	s.start = s.clk.Now()
	s.sched = newScheduler(s.clk)
	s.reqCount = make([]atomic.Int64, len(routeTable))
	return s
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed || s.ln != nil {
		s.mu.Unlock()
		ln.Close()
		return errors.New("arisim: server closed or already started")
	}
	s.ln = ln
	s.base = "http://" + ln.Addr().String()
	s.httpSrv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.tcpConns.Add(1)
			}
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	srv := s.httpSrv
	s.mu.Unlock()
	go srv.Serve(ln)
	return nil
}

// URL is the ARI base URL for clients, e.g. "http://127.0.0.1:40000/ari".
func (s *Server) URL() string { return s.base + "/ari" }

// EventsURL is the WebSocket URL, e.g. "ws://127.0.0.1:40000/ari/events".
func (s *Server) EventsURL() string {
	return "ws" + strings.TrimPrefix(s.base, "http") + "/ari/events"
}

// Addr is the listening address ("127.0.0.1:40000"), empty before Start.
func (s *Server) Addr() string { return strings.TrimPrefix(s.base, "http://") }

// Close stops the server: it closes the listener, every HTTP and WebSocket
// connection and every timer, and ends every call (Done is closed, the
// last CallerEvent is a hangup by "server"). It does not emit ARI events.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.stuck != nil {
		close(s.stuck)
		s.stuck = nil
	}
	socks := make([]*wsConn, 0, len(s.sockets))
	for c := range s.sockets {
		socks = append(socks, c)
	}
	for _, c := range socks {
		s.detachSocket(c)
	}
	now := s.clk.Now()
	for _, ch := range s.channels {
		s.cancelChannelTimers(ch)
		ch.gone = true
		if ch.call != nil {
			s.endCall(ch.call, CallerEvent{Kind: EventHangup, Time: now, By: ByServer, State: "Normal Clearing"})
		}
	}
	srv := s.httpSrv
	s.unlock()
	for _, c := range socks {
		c.abort()
	}
	var err error
	if srv != nil {
		err = srv.Close()
	}
	s.wsWG.Wait()
	s.sched.stop()
	return err
}

// unlock releases s.mu, then delivers the CallerEvents queued while the
// lock was held (see Call.flush). It returns the
// sockets that received events, with their frame counts, so that a REST
// reply can wait for them to be written first.
func (s *Server) unlock() []flushTarget {
	var targets []flushTarget
	if len(s.touched) > 0 {
		targets = make([]flushTarget, 0, len(s.touched))
		for _, c := range s.touched {
			c.touched = false
			targets = append(targets, flushTarget{c, c.enqueued()})
		}
		s.touched = s.touched[:0]
	}
	dirty := s.dirty
	s.dirty = nil
	s.mu.Unlock()
	for _, c := range dirty {
		c.flush()
	}
	return targets
}

type flushTarget struct {
	c   *wsConn
	seq uint64
}

// after schedules fn (run under s.mu) after d of clock time.
func (s *Server) after(d time.Duration, fn func()) *timerEntry {
	return s.atTime(s.clk.Now().Add(d), fn)
}

func (s *Server) atTime(t time.Time, fn func()) *timerEntry {
	var e *timerEntry
	e = s.sched.at(t, func() {
		s.mu.Lock()
		if e.dead || s.closed {
			s.mu.Unlock()
			return
		}
		e.dead = true
		fn()
		s.unlock()
	})
	return e
}

// cancel stops a timer; must hold s.mu.
func (s *Server) cancel(e *timerEntry) {
	if e == nil || e.dead {
		return
	}
	e.dead = true
	s.sched.remove(e)
}

// ---- control API ----

// EndpointMode is how a simulated endpoint reacts to a call.
type EndpointMode int

const (
	// Answer rings for AnswerAfter, then answers.
	Answer EndpointMode = iota
	// NoAnswer rings until the originate timeout.
	NoAnswer
	// Busy rejects the call at once (Dial BUSY, cause 17).
	Busy
	// Unavailable cannot be reached (Dial CHANUNAVAIL, cause 20).
	Unavailable
)

// EndpointBehavior describes a simulated phone that POST /channels can dial.
type EndpointBehavior struct {
	Mode EndpointMode
	// AnswerAfter is the ring time before answering (Mode Answer).
	AnswerAfter time.Duration
	// HangupAfter, if positive, hangs the answered call up from the phone
	// side after that long (an operator who ends the conversation).
	HangupAfter time.Duration
	// Context is the channel's dialplan context (the peer's context in
	// sip.conf; default "default").
	Context string
	// Language of the channel (default Options.Language).
	Language string
	// AnsweringMachine answers with a voicemail greeting: AMD() hears a
	// greeting longer than amd.conf's 1.5 s and says MACHINE
	// (LONGGREETING) after amdMachineTime. Otherwise a person says a short
	// hello and falls silent: HUMAN after amdHumanTime.
	AnsweringMachine bool
	// OnCall, if set, receives the handle of every call to this endpoint
	// when its channel is created, before any of its CallerEvents, on the
	// call's delivery goroutine (see CallOptions.OnEvent).
	OnCall func(*Call)
	// CallOptions are used for the Call handle of the endpoint's channels
	// (OnEvent, EventBuffer, SpeakOnRecord).
	CallOptions CallOptions
}

type endpoint struct {
	name, tech, resource string
	b                    EndpointBehavior
}

// SetEndpoint declares (or redefines) an endpoint such as "PJSIP/op101" or
// "SIP/op1" that originate may dial. Originating to an endpoint that was
// never declared fails with 500 {"error":"Allocation failed"}, as Asterisk
// does for an unknown peer. "Local/..." endpoints always exist and answer
// at once unless declared.
func (s *Server) SetEndpoint(name string, b EndpointBehavior) {
	tech, res, _ := strings.Cut(name, "/")
	if b.Context == "" {
		b.Context = "default"
	}
	s.mu.Lock()
	s.endpoints[name] = &endpoint{name: name, tech: tech, resource: res, b: b}
	s.mu.Unlock()
}

// RemoveEndpoint forgets an endpoint declared with SetEndpoint.
func (s *Server) RemoveEndpoint(name string) {
	s.mu.Lock()
	delete(s.endpoints, name)
	s.mu.Unlock()
}

// DropWebSockets closes every event WebSocket, with a close frame (status
// 1000) or, if abrupt, by dropping the TCP connection. The apps become
// inactive at once: their events are dropped until a client reconnects.
func (s *Server) DropWebSockets(abrupt bool) {
	s.mu.Lock()
	socks := make([]*wsConn, 0, len(s.sockets))
	for c := range s.sockets {
		socks = append(socks, c)
	}
	for _, c := range socks {
		s.detachSocket(c)
	}
	s.unlock()
	for _, c := range socks {
		if abrupt {
			c.abort()
		} else {
			c.closeGraceful()
		}
	}
}

// RefuseWebSockets makes /ari/events answer 503 instead of upgrading while
// refuse is true (an Asterisk being restarted): clients keep redialing and
// apps stay inactive.
func (s *Server) RefuseWebSockets(refuse bool) {
	s.mu.Lock()
	s.refuseWS = refuse
	s.mu.Unlock()
}

// InjectEvent sends raw (one JSON object, e.g. an event type the client
// does not know) to app's socket as a text frame. It reports whether the
// app had a socket.
func (s *Server) InjectEvent(app string, raw json.RawMessage) bool {
	s.mu.Lock()
	a := s.apps[app]
	ok := a != nil && a.sock != nil
	if ok {
		s.sendTo(a.sock, append([]byte(nil), raw...))
	}
	s.unlock()
	return ok
}

// SetStuck makes every REST request (not the WebSocket) hang while stuck is
// true, until the client gives up or the server is closed; use it to test
// request timeouts. Requests already waiting proceed when unstuck.
func (s *Server) SetStuck(stuck bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stuck && s.stuck == nil && !s.closed {
		s.stuck = make(chan struct{})
	} else if !stuck && s.stuck != nil {
		close(s.stuck)
		s.stuck = nil
	}
}

// Call returns the handle of a simulated channel (an inbound call or a
// call to an endpoint) by channel id, or nil.
func (s *Server) Call(channelID string) *Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channels[channelID]; ch != nil {
		return ch.call
	}
	return nil
}

// ActiveChannels is the number of channels that exist (in Stasis or not).
func (s *Server) ActiveChannels() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.channels)
}

// Stats are counters about the simulator's work, for tests and load tests.
type Stats struct {
	// Requests counts REST requests by route, e.g.
	// "POST /channels/{channelId}/play"; unmatched paths count as "other".
	Requests      map[string]int64
	RequestsTotal int64
	// TCPConnections counts accepted TCP connections (HTTP and WebSocket):
	// with keep-alive it stays far below RequestsTotal.
	TCPConnections     int64
	WebSocketsAccepted int64
	WebSocketsOpen     int
	ActiveApps         int // apps with a socket
	ActiveChannels     int
	ActiveBridges      int
	ActivePlaybacks    int
	ActiveRecordings   int
	CallsPlaced        int64 // inbound calls that entered Stasis
	CallsRejected      int64 // inbound calls refused: app missing or inactive
	EventsSent         int64 // frames queued to sockets
	EventsDropped      int64 // events lost: app without socket, dead socket
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := Stats{Requests: map[string]int64{}}
	for i := range s.reqCount {
		if n := s.reqCount[i].Load(); n > 0 {
			st.Requests[routeTable[i].name] += n
			st.RequestsTotal += n
		}
	}
	if n := s.reqUnmatched.Load(); n > 0 {
		st.Requests["other"] = n
		st.RequestsTotal += n
	}
	st.TCPConnections = s.tcpConns.Load()
	st.WebSocketsAccepted = s.wsAccepted.Load()
	st.CallsPlaced = s.callsPlaced.Load()
	st.CallsRejected = s.callsRejected.Load()
	st.EventsSent = s.eventsSent.Load()
	st.EventsDropped = s.eventsDropped.Load()
	s.mu.Lock()
	st.WebSocketsOpen = len(s.sockets)
	for _, a := range s.apps {
		if a.sock != nil {
			st.ActiveApps++
		}
	}
	st.ActiveChannels = len(s.channels)
	st.ActiveBridges = len(s.bridges)
	st.ActivePlaybacks = s.playing
	st.ActiveRecordings = len(s.liveRecs)
	s.mu.Unlock()
	return st
}

// ---- internal model ----

type party struct{ Name, Number string }

type dialplanLoc struct {
	context, exten   string
	priority         int
	appName, appData string
}

type channel struct {
	// snapshot fields
	id, name, protoID, state string
	caller, connected        party
	accountcode              string
	dp                       dialplanLoc
	created                  time.Time
	lang                     string
	cache                    []byte

	tech, resource string
	inbound        bool
	originated     bool
	// dialplanStasis: originated into an extension whose dialplan ran
	// Stasis() (an AMD context): the app follows the channel only while
	// it is in Stasis, as for an inbound call.
	dialplanStasis bool
	app            string   // Stasis app (or app subscribed to an originated channel)
	args           []string // StasisStart args
	inStasis       bool
	subscribed     bool // the app receives events about the channel
	answered       bool
	vars           map[string]string
	call           *Call
	bridge         *bridge
	pbq            playQueue
	rec            *liveRec
	mohOn          bool
	silence        bool
	ringing        bool
	held           bool
	ep             *endpoint
	dialTimeout    time.Duration
	dialing        bool
	origTarget     dialplanLoc // originate into an extension: where the dialplan runs
	dialTimer      *timerEntry
	timeoutTimer   *timerEntry
	lingerTimer    *timerEntry
	hangupTimer    *timerEntry
	gone           bool
	// snoop: this is a snoop channel (snoop.go); snoops: the snoop
	// channels on this one.
	snoop  *snoopHooks
	snoops []*channel
}

func (ch *channel) touch() { ch.cache = nil }

func (ch *channel) setState(st string) {
	if ch.state != st {
		ch.state = st
		ch.touch()
	}
}

type app struct {
	name  string
	sock  *wsConn
	chans map[string]*channel
	// The event filter (PUT eventFilter): the arrays as given, and the
	// types they name. Kept until the app is destroyed, as Asterisk does.
	allowed, disallowed       json.RawMessage
	allowedSet, disallowedSet map[string]bool
}

type bridge struct {
	id, name, btype string
	tech            string
	created         time.Time
	chans           []*channel
	mohOn           bool
	mohClass        string
	pbq             playQueue
	subs            map[string]int // app → subscription count
	recs            []*liveRec     // its recordings (bridge_recording.go)
}

type interval struct{ from, to time.Time }

type storedRec struct {
	name, format string
	dur          time.Duration
	talk         []interval // offsets from a zero time
}

func (s *Server) maybeDestroyApp(a *app) {
	if a.sock == nil && len(a.chans) == 0 {
		delete(s.apps, a.name)
		s.log.Debug("arisim: destroying Stasis app", "app", a.name)
	}
}

// newChannel allocates a channel with a fresh uniqueid-style id
// ("<epoch>.<n>") unless id is given. Must hold s.mu.
func (s *Server) newChannel(id, endpointName string, now time.Time) *channel {
	n := s.uniq
	s.uniq++
	if id == "" {
		id = fmt.Sprintf("%d.%d", now.Unix(), n)
		if s.opts.SystemName != "" {
			id = s.opts.SystemName + "-" + id
		}
	}
	s.nameSeq++
	tech, res, _ := strings.Cut(endpointName, "/")
	name := fmt.Sprintf("%s-%08x", endpointName, s.nameSeq)
	ch := &channel{
		id:       id,
		name:     name,
		state:    "Down",
		created:  now,
		lang:     s.opts.Language,
		tech:     tech,
		resource: res,
	}
	switch tech {
	case "Local":
		ch.name += ";1"
	case "SIP":
		ch.protoID = fmt.Sprintf("%d-%d@127.0.0.1", s.nameSeq, 13000+n%50000)
	default:
		ch.protoID = fmt.Sprintf("%016x%016x@127.0.0.1:5060", uint64(now.UnixNano())^0x349a10f0712f8c32, uint64(n)*0x9e3779b97f4a7c15)
	}
	return ch
}

// ctxDone is a helper for PlaceCall.
func ctxDone(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	l := make([]string, 0, len(m))
	for k := range m {
		l = append(l, k)
	}
	sort.Strings(l)
	return l
}
