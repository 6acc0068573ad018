package panel

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// wallRow is a group's line on the wallboard.
type wallRow struct {
	Group, Name                  string
	Waiting                      int
	LongestWait                  time.Duration
	Available, Busy, WrapUp      int // Busy: on a call or being offered one
	Paused, LoggedIn             int
	Offered, Answered, Abandoned int // today
	ServiceLevel                 float64
	HasSL                        bool
	SLSeconds                    int // the group's threshold (config service_level)
	// CSAT is today's share of ratings 4–5 in the post-call survey, over
	// Rated ratings (the reports' figure).
	CSAT  float64
	Rated int
	// Callbacks (the queues'): waiting now, today made (an operator took
	// one), answered, failed, and the mean time from request to answer.
	CallbacksWaiting, CallbacksMade, CallbacksAnswered, CallbacksFailed int
	CallbackDelay                                                       time.Duration
	// Pauses are the reasons of the group's paused operators, with how
	// many are paused for each, by reason.
	Pauses []pauseCount
}

// pauseCount is how many of a group's operators are paused for a reason.
type pauseCount struct {
	Reason string
	N      int
}

// liveState is one reading of everything the live pages show, shared by
// every client: each refresh reads the database once, whatever the number
// of screens, and each distinct view is rendered once (cache).
type liveState struct {
	At        time.Time // the panel's clock
	wall      time.Time // the wall clock, for staleness
	Rows      []wallRow
	Queues    bool // the queues are configured
	Calls     []LiveCall
	Operators map[string]queues.Operator
	Failed    bool // part of the reading failed: figures may be stale

	mu    sync.Mutex
	cache map[string]*rendered
}

type rendered struct {
	once sync.Once
	b    []byte
	err  error
}

// render returns the bytes of key, rendering them once per state.
func (st *liveState) render(key string, fn func() ([]byte, error)) ([]byte, error) {
	st.mu.Lock()
	if st.cache == nil {
		st.cache = map[string]*rendered{}
	}
	e, ok := st.cache[key]
	if !ok {
		e = &rendered{}
		st.cache[key] = e
	}
	st.mu.Unlock()
	e.once.Do(func() { e.b, e.err = fn() })
	return e.b, e.err
}

// hub refreshes the live state on Notify (debounced) and on a timer, and
// wakes the event streams.
type hub struct {
	s        *Server
	every    time.Duration
	debounce time.Duration
	notifyC  chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	mu    sync.Mutex
	subs  map[chan struct{}]struct{}
	state atomic.Pointer[liveState]

	refreshMu sync.Mutex
	reads     atomic.Int64 // readings of the state, for tests
}

func newHub(s *Server, every time.Duration) *hub {
	return &hub{s: s, every: every, debounce: 150 * time.Millisecond,
		notifyC: make(chan struct{}, 1), done: make(chan struct{}), subs: map[chan struct{}]struct{}{}}
}

func (h *hub) notify() {
	select {
	case h.notifyC <- struct{}{}:
	default:
	}
}

func (h *hub) close() { h.stopOnce.Do(func() { close(h.done) }) }

func (h *hub) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *hub) run() {
	ticker := time.NewTicker(h.every)
	defer ticker.Stop()
	var debounce <-chan time.Time
	for {
		select {
		case <-h.done:
			return
		case <-h.notifyC:
			if debounce == nil {
				debounce = time.After(h.debounce)
			}
		case <-debounce:
			debounce = nil
			h.settled()
		case <-ticker.C:
			if h.subscribers() > 0 {
				h.refresh()
			}
		}
	}
}

// settled follows a burst of Notify: the streams get a new reading; with
// no stream open the reading is only dropped, and the next page reads
// afresh. Reading with nobody watching cost the database a report of the
// day's calls every 150 ms while calls came in (found by the load
// benchmark on a real Asterisk: a third of PostgreSQL's CPU per call).
func (h *hub) settled() {
	if h.subscribers() > 0 {
		h.refresh()
		return
	}
	h.refreshMu.Lock()
	h.state.Store(nil)
	h.refreshMu.Unlock()
}

// refresh reads the state and wakes every stream.
func (h *hub) refresh() *liveState { return h.refreshOlder(0) }

// refreshOlder reads the state unless the last reading is younger than
// age (which page loads arriving together then share), and wakes every
// stream.
func (h *hub) refreshOlder(age time.Duration) *liveState {
	h.refreshMu.Lock()
	if st := h.state.Load(); age > 0 && st != nil && time.Since(st.wall) < age {
		h.refreshMu.Unlock()
		return st
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	st := h.s.readState(ctx)
	cancel()
	h.reads.Add(1)
	h.state.Store(st)
	h.refreshMu.Unlock()
	h.mu.Lock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default: // the stream has not caught up yet; it will read the latest state
		}
	}
	h.mu.Unlock()
	return st
}

// current returns a recent state, reading one if the last is too old.
func (h *hub) current() *liveState {
	if st := h.state.Load(); st != nil && time.Since(st.wall) < h.every {
		return st
	}
	return h.refreshOlder(h.every)
}

// readState reads queues, today's figures and the live calls.
func (s *Server) readState(ctx context.Context) *liveState {
	st := &liveState{At: s.now(), wall: time.Now(), Queues: s.opts.Queues != nil}
	index := map[string]int{}
	row := func(g string) *wallRow {
		i, ok := index[g]
		if !ok {
			i = len(st.Rows)
			index[g] = i
			st.Rows = append(st.Rows, wallRow{Group: g, Name: s.groupName(g)})
		}
		return &st.Rows[i]
	}
	cfg := s.config()
	sl := cfg.GroupServiceLevels(s.opts.ServiceLevel)
	for _, g := range cfg.Groups {
		row(g.ID).SLSeconds = int(sl[g.ID] / time.Second)
	}
	failed := func(what string, err error) {
		st.Failed = true
		s.log.Error("panel_live_state", "reading", what, "error", err.Error())
	}
	if q := s.opts.Queues; q != nil {
		snap, err := q.Snapshot(ctx)
		if err != nil {
			failed("queues", err)
		}
		for _, g := range snap {
			r := row(g.Group)
			r.Waiting, r.LongestWait = g.Waiting, g.LongestWait
			r.Available = g.Operators[queues.Available]
			r.Busy = g.Operators[queues.OnCall] + g.Operators[queues.Offered]
			r.WrapUp = g.Operators[queues.WrapUp]
			r.Paused = g.Operators[queues.Paused]
			r.LoggedIn = r.Available + r.Busy + r.WrapUp + r.Paused
			r.CallbacksWaiting, r.CallbacksMade, r.CallbacksAnswered, r.CallbacksFailed = g.CallbacksWaiting, g.CallbacksMade,
				g.CallbacksAnswered, g.CallbacksFailed
			r.CallbackDelay = g.CallbackDelay
		}
		ops, err := q.Operators(ctx, "")
		if err != nil {
			failed("operators", err)
		}
		st.Operators = make(map[string]queues.Operator, len(ops))
		for _, op := range ops {
			st.Operators[op.Login] = op
		}
		countPauses(ops, row)
	}
	// Today's offered, answered, abandoned and service level come from the
	// call records, like the reports: the wallboard and the reports agree.
	y, m, d := st.At.In(s.location()).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, s.location())
	report, err := s.opts.Tickets.Report(ctx, s.reportFilter(day, day.AddDate(0, 0, 1), nil, tickets.BucketDay))
	if err != nil {
		failed("report", err)
	}
	for _, rr := range report {
		r := row(rr.Group)
		r.Offered += rr.Offered
		r.Answered += rr.Answered
		r.Abandoned += rr.Abandoned
		r.SLSeconds = rr.ServiceLevelSeconds
		if r.Offered > 0 {
			r.ServiceLevel, r.HasSL = rr.ServiceLevel, true
		}
	}
	csat, err := s.opts.Tickets.CSAT(ctx, tickets.CSATFilter{From: day, To: day.AddDate(0, 0, 1)})
	if err != nil {
		failed("csat", err)
	}
	for _, c := range csat.ByGroup {
		r := row(c.Group)
		r.CSAT, r.Rated = c.CSAT, c.Rated
	}
	if s.opts.Live != nil {
		st.Calls = slices.Clone(s.opts.Live.Calls())
		slices.SortStableFunc(st.Calls, func(a, b LiveCall) int { return a.Started.Compare(b.Started) })
	}
	return st
}

// countPauses adds each paused operator's reason to the rows of their
// groups.
func countPauses(ops []queues.Operator, row func(string) *wallRow) {
	for _, op := range ops {
		if op.State != queues.Paused {
			continue
		}
		for _, g := range slices.Sorted(maps.Keys(op.Groups)) {
			r := row(g)
			i := slices.IndexFunc(r.Pauses, func(p pauseCount) bool { return p.Reason == op.Reason })
			if i < 0 {
				r.Pauses = append(r.Pauses, pauseCount{Reason: op.Reason})
				i = len(r.Pauses) - 1
			}
			r.Pauses[i].N++
		}
	}
}

// rowsFor returns the wallboard rows a user may see.
func (st *liveState) rowsFor(rq *request) []wallRow {
	if rq.allGroups() {
		return st.Rows
	}
	var out []wallRow
	for _, r := range st.Rows {
		if rq.mayGroup(r.Group) {
			out = append(out, r)
		}
	}
	return out
}

// callsFor returns the live calls a user may see: operators, the calls
// queued for, ringing or talking in their groups.
func (st *liveState) callsFor(rq *request) []LiveCall {
	if rq.allGroups() {
		return st.Calls
	}
	var out []LiveCall
	for _, c := range st.Calls {
		if c.Group != "" && rq.mayGroup(c.Group) {
			out = append(out, c)
		}
	}
	return out
}

// viewKey identifies what a user sees of a shared page: language and
// groups.
func viewKey(page string, rq *request) string {
	if rq.allGroups() {
		return page + "|" + string(rq.lang) + "|*"
	}
	return page + "|" + string(rq.lang) + "|" + strings.Join(rq.groups, ",")
}

// sseEvent is one Server-Sent Event: its name and an HTML fragment.
type sseEvent struct {
	name string
	data []byte
}

// eventSource gives the events of a state for one stream.
type eventSource func(ctx context.Context, st *liveState) ([]sseEvent, error)

// keepAlive and sessionCheck: a comment keeps proxies from closing an idle
// stream; the session is checked again now and then (which also keeps it
// alive while a page is open, up to its lifetime).
var (
	keepAlive    = 25 * time.Second
	sessionCheck = time.Minute
)

// serveEvents streams a page's updates until the client leaves, the
// session ends or the server closes. An event is sent only when its
// fragment changed.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, src eventSource) {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	updates, cancel := s.hub.subscribe()
	defer cancel()

	last := map[string][]byte{}
	var buf bytes.Buffer
	send := func(st *liveState) error {
		evs, err := src(ctx, st)
		if err != nil {
			s.log.Error("panel_event_render", "path", r.URL.Path, "error", err.Error())
			return nil
		}
		buf.Reset()
		for _, ev := range evs {
			if bytes.Equal(last[ev.name], ev.data) {
				continue
			}
			last[ev.name] = ev.data
			writeEvent(&buf, ev)
		}
		if buf.Len() == 0 {
			return nil
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		return rc.Flush()
	}
	if _, err := w.Write([]byte(": stream\n\n")); err != nil || rc.Flush() != nil {
		return
	}
	if st := s.hub.state.Load(); st != nil {
		if send(st) != nil {
			return
		}
		if time.Since(st.wall) >= s.hub.every {
			s.hub.notify()
		}
	} else {
		s.hub.notify()
	}
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	check := time.NewTicker(sessionCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.hub.done:
			return
		case <-updates:
			if st := s.hub.state.Load(); st != nil && send(st) != nil {
				return
			}
		case <-ping.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil || rc.Flush() != nil {
				return
			}
		case <-check.C:
			if _, err := s.sessions.load(ctx, s.cookie(r, sessionCookie)); err != nil {
				_, _ = w.Write([]byte("event: expired\ndata: \n\n"))
				_ = rc.Flush()
				return
			}
		}
	}
}

func writeEvent(buf *bytes.Buffer, ev sseEvent) {
	buf.WriteString("event: ")
	buf.WriteString(ev.name)
	buf.WriteByte('\n')
	for line := range bytes.SplitSeq(ev.data, []byte("\n")) {
		buf.WriteString("data: ")
		buf.Write(bytes.TrimRight(line, "\r"))
		buf.WriteByte('\n')
	}
	buf.WriteByte('\n')
}
