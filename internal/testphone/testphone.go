// Package testphone is the panel's test phone: a browser page that calls
// the help desk through the ARI simulator (ivr/simdesk) as any caller
// number, now or at a chosen date and time, presses keys, plays the
// prompts the caller hears and shows the call's transcript live. The demo
// and an administrator trying a new menu use it; it never touches a real
// Asterisk.
package testphone

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
)

// Options configures a Phone.
type Options struct {
	// Desk takes the calls placed "now".
	Desk *simdesk.Desk
	// NewDesk starts a desk whose clock starts at at (zero: now), for a
	// call at a chosen date and time or under cfg, a draft configuration
	// (nil: the one in force); the phone closes it when the call ends.
	// Nil: only calls "now" under the configuration in force.
	NewDesk func(ctx context.Context, at time.Time, cfg *menu.Config) (*simdesk.Desk, error)
	// Draft returns draft version id's configuration for the request's
	// user, or an error (wrapping ErrDraftForbidden for a user who may
	// not try drafts). Nil: no drafts.
	Draft func(r *http.Request, id int64) (*menu.Config, error)
	// Config is the configuration in force, used to find the sound files
	// of the prompts (nil: transcript only, no audio).
	Config func() *menu.Config
	// Prompts is the directory `ivrctl prompts -out` wrote: files are
	// Prompts/sounds/<lang>/<sound>.wav ("": no audio).
	Prompts  string
	Location *time.Location
	Logger   *slog.Logger
	// Lang is the page's language, "it" or "en" (default: ?lang=, else "it").
	Lang func(*http.Request) string
	// CSRFToken is put in the page for the script to send back on every
	// POST as X-CSRF-Token (nil: empty).
	CSRFToken func(*http.Request) string
	// MaxCalls bounds the test calls in progress (default 20).
	MaxCalls int
	// MaxDuration ends a test call after this long, in wall time (default
	// 15 minutes).
	MaxDuration time.Duration
	// Number is the number dialled (default the help desk's 800749049).
	Number string
}

// Phone serves the test phone.
type Phone struct {
	o      Options
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	calls  map[string]*call
	active int
	closed bool
}

// Errors of the API, each with its HTTP status.
var (
	ErrUnknownCall = errors.New("unknown call")
	ErrTooMany     = errors.New("too many test calls in progress")
	ErrCallOver    = errors.New("the call is over")
	ErrNotRinging  = errors.New("the phone is not ringing")
	ErrNoAt        = errors.New("calls at a chosen date and time are not available here")
	ErrClosed      = errors.New("the test phone is closed")
	// ErrDraftForbidden: the user may not try draft configurations.
	ErrDraftForbidden = errors.New("draft configurations are for administrators")
	ErrNoDrafts       = errors.New("draft configurations are not tried here")
)

// keep is how long a finished call's transcript stays readable.
const keep = 2 * time.Minute

// New returns a Phone; Close it when done.
func New(o Options) *Phone {
	o.Location = cmp.Or(o.Location, time.Local)
	o.Logger = cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	o.MaxCalls = cmp.Or(o.MaxCalls, 20)
	o.MaxDuration = cmp.Or(o.MaxDuration, 15*time.Minute)
	o.Number = cmp.Or(o.Number, "800749049")
	if o.Lang == nil {
		o.Lang = func(r *http.Request) string { return r.URL.Query().Get("lang") }
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Phone{o: o, ctx: ctx, cancel: cancel, calls: map[string]*call{}}
}

// Routes mounts the page, its script, the calls API and the prompt audio.
func (p *Phone) Routes(r chi.Router) {
	r.Get("/testphone", p.page)
	r.Get("/testphone/static/*", p.static)
	r.Post("/testphone/calls", p.create)
	r.Post("/testphone/calls/{id}/keys", p.keys)
	r.Post("/testphone/calls/{id}/hangup", p.hangup)
	r.Post("/testphone/calls/{id}/answer", p.answer)
	r.Get("/testphone/calls/{id}/events", p.events)
	r.Get("/testphone/audio/*", p.audio)
}

// Close hangs up the calls in progress, waits for them to end and stops
// the desks started for them.
func (p *Phone) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
}

// call is one test call and its transcript so far.
type call struct {
	id   string
	desk *simdesk.Desk
	// cfg is the draft the call runs under (nil: the one in force).
	cfg *menu.Config

	mu      sync.Mutex
	sim     *arisim.Call // the phone's leg: the call placed, then the callback
	events  []Event
	over    bool
	changed chan struct{} // closed and replaced at each change
	// ringing is closed when the help desk's callback reaches the phone.
	ringing chan struct{}
}

// leg is the phone's current leg: the call placed or, once the help desk
// calls back, that call.
func (c *call) leg() *arisim.Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sim
}

// rang takes the help desk's call back as the phone's leg.
func (c *call) rang(sc *arisim.Call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sim = sc
	select {
	case <-c.ringing:
	default:
		close(c.ringing)
	}
}

// Event is what the events stream sends: the controller's event, plus
// where to fetch the prompts' audio and the Asterisk built-in media the
// page shows as text.
type Event struct {
	ivr.Event
	// Audio names the prompts' files: GET <base>/testphone/audio/<name>.
	Audio   []string `json:"audio,omitempty"`
	Builtin []string `json:"builtin,omitempty"`
}

func (c *call) add(e Event, over bool) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.over = c.over || over
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

func (c *call) end() {
	c.mu.Lock()
	if !c.over {
		c.over = true
		close(c.changed)
		c.changed = make(chan struct{})
	}
	c.mu.Unlock()
}

// since returns the events from index i, whether the call is over and a
// channel closed at the next change.
func (c *call) since(i int) ([]Event, bool, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events[min(i, len(c.events)):], c.over, c.changed
}

var callerRE = regexp.MustCompile(`^\+?[0-9]{3,20}$`)

// placeRequest is the body of POST /testphone/calls.
type placeRequest struct {
	Caller string `json:"caller"`
	At     string `json:"at"`
	// Draft is a draft version's id: the call runs under it.
	Draft string `json:"draft"`
}

// place starts a call from caller, now (at zero) or at a date and time,
// under draft (nil: the configuration in force).
func (p *Phone) place(ctx context.Context, caller string, at time.Time, draft *menu.Config) (*call, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if p.active >= p.o.MaxCalls {
		p.mu.Unlock()
		return nil, ErrTooMany
	}
	p.active++
	p.wg.Add(1)
	p.mu.Unlock()
	release := func() {
		p.mu.Lock()
		p.active--
		p.mu.Unlock()
		p.wg.Done()
	}
	desk, own := p.o.Desk, false
	if !at.IsZero() || draft != nil {
		d, err := p.o.NewDesk(ctx, at, draft)
		if err != nil {
			release()
			return nil, fmt.Errorf("start a desk at %s: %w", at.Format(time.RFC3339), err)
		}
		desk, own = d, true
	}
	sc, events, err := desk.PlaceAndFollow(ctx, caller, p.o.Number, arisim.CallOptions{EventBuffer: -1, SpeakOnRecord: 10 * time.Second,
		StasisArgs: []string{ivr.TestArg}}) // a test call, as the live view shows it
	if err != nil {
		if own {
			desk.Close()
		}
		release()
		return nil, fmt.Errorf("place call: %w", err)
	}
	c := &call{id: sc.ID(), sim: sc, desk: desk, cfg: draft, changed: make(chan struct{}), ringing: make(chan struct{})}
	p.mu.Lock()
	p.calls[c.id] = c
	p.mu.Unlock()
	p.o.Logger.Info("testphone_call_placed", "call_id", c.id, "at", at, "draft", draft != nil)
	go func() {
		defer release()
		p.run(c, events)
		desk.Unfollow(c.id)
		if own {
			desk.Close()
		}
		time.AfterFunc(keep, func() {
			p.mu.Lock()
			delete(p.calls, c.id)
			p.mu.Unlock()
		})
	}()
	return c, nil
}

// run records a call's events until its outcome, hanging up when the call
// lives too long or the phone closes. A caller who asked to be called
// back stays on the page: the call goes on with the callback's events
// (they carry the call's id), until the attempt ends.
func (p *Phone) run(c *call, events <-chan ivr.Event) {
	life := time.NewTimer(p.o.MaxDuration)
	defer life.Stop()
	stop := p.ctx.Done()
	var gone <-chan time.Time // after the hang-up, how long to wait for the outcome
	var ended <-chan struct{} = c.leg().Done()
	var back *callbackPhone // the caller asked to be called back
	defer func() { back.forget() }()
	// The callback's attempt has started; the call asking for it is over
	// (their events may cross: the hang-up that ends the attempt is the
	// first after both).
	attempt, asked := false, false
	for {
		select {
		case e := <-events:
			ev := p.enrich(e, c.cfg)
			if e.Kind == ivr.EvCallback && (e.Result == "requested" || e.Result == "scheduled") {
				back = p.expectCallback(c, e)
			}
			attempt = attempt || (back != nil && e.Kind == ivr.EvCallback && e.Result == "offered")
			over := e.Kind == ivr.EvOutcome && back == nil || e.Kind == ivr.EvHangup && attempt && asked
			c.add(ev, over)
			if over {
				return
			}
			if e.Kind == ivr.EvOutcome {
				asked, gone = true, nil // the caller hung up to be called back: wait for it
			}
		case <-life.C:
			p.o.Logger.Info("testphone_call_too_long", "call_id", c.id)
			if back != nil {
				_ = c.leg().Hangup()
				c.end()
				return
			}
			_ = c.leg().Hangup()
		case <-stop:
			stop = nil
			_ = c.leg().Hangup()
			if back != nil {
				c.end()
				return
			}
		case <-ended:
			ended = nil
			gone = time.After(10 * time.Second)
		case <-gone:
			p.o.Logger.Warn("testphone_no_outcome", "call_id", c.id)
			c.end()
			return
		}
	}
}

// callbackPhone is the endpoint a callback dials, declared on the call's
// simulated Asterisk for as long as the page waits for it.
type callbackPhone struct {
	sim      *arisim.Server
	endpoint string
}

func (b *callbackPhone) forget() {
	if b != nil {
		b.sim.RemoveEndpoint(b.endpoint)
	}
}

// expectCallback declares the number the caller asked to be called back
// on (e.Caller, through the group's callback endpoint) as a phone that
// rings until the page answers; nil if the group has no callbacks.
func (p *Phone) expectCallback(c *call, e ivr.Event) *callbackPhone {
	cfg := c.cfg
	if cfg == nil && p.o.Config != nil {
		cfg = p.o.Config()
	}
	if cfg == nil {
		return nil
	}
	set := cfg.CallbackOf(e.Group)
	if set == nil || e.Caller == "" {
		return nil
	}
	b := &callbackPhone{sim: c.desk.Sim, endpoint: set.Dial(e.Caller)}
	b.sim.SetEndpoint(b.endpoint, arisim.EndpointBehavior{Mode: arisim.NoAnswer, OnCall: c.rang,
		CallOptions: arisim.CallOptions{SpeakOnRecord: 10 * time.Second}})
	p.o.Logger.Info("testphone_callback_expected", "call_id", c.id, "endpoint", b.endpoint)
	return b
}

// enrich adds the audio and built-in media of a prompt event, found in
// cfg (nil: the configuration in force).
func (p *Phone) enrich(e ivr.Event, cfg *menu.Config) Event {
	e.Time = e.Time.In(p.o.Location)
	ev := Event{Event: e}
	if e.Kind != ivr.EvPrompt {
		return ev
	}
	if cfg == nil && p.o.Config != nil {
		cfg = p.o.Config()
	}
	for _, name := range e.Prompt {
		if strings.HasPrefix(name, "system:") || strings.HasPrefix(name, "node:") {
			if u := p.audioName(cfg, name); u != "" {
				ev.Audio = append(ev.Audio, u)
			}
			continue
		}
		ev.Builtin = append(ev.Builtin, name) // digits:, number:, sound: — Asterisk's own
	}
	return ev
}

func (p *Phone) lookup(id string) (*call, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls[id]
	if c == nil {
		return nil, ErrUnknownCall
	}
	return c, nil
}

// parseAt reads an RFC 3339 time or a local "2006-01-02T15:04".
func (p *Phone) parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", s, p.o.Location)
	if err != nil {
		return time.Time{}, fmt.Errorf("at %q: expected 2006-01-02T15:04 or RFC 3339", s)
	}
	return t, nil
}

func (p *Phone) create(w http.ResponseWriter, r *http.Request) {
	var req placeRequest
	if err := decode(r, &req, "caller", "at", "draft"); err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	req.Caller = strings.ReplaceAll(strings.TrimSpace(req.Caller), " ", "")
	if !callerRE.MatchString(req.Caller) {
		httpError(w, http.StatusBadRequest, fmt.Errorf("caller %q: 3 to 20 digits, optionally after +", req.Caller))
		return
	}
	at, err := p.parseAt(strings.TrimSpace(req.At))
	if err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	if !at.IsZero() && p.o.NewDesk == nil {
		httpError(w, http.StatusBadRequest, ErrNoAt)
		return
	}
	var draft *menu.Config
	if d := strings.TrimSpace(req.Draft); d != "" {
		id, perr := strconv.ParseInt(d, 10, 64)
		switch {
		case p.o.Draft == nil || p.o.NewDesk == nil:
			err = ErrNoDrafts
		case perr != nil || id <= 0:
			err = fmt.Errorf("draft %q: not a version number", d)
		default:
			draft, err = p.o.Draft(r, id)
		}
		if errors.Is(err, ErrDraftForbidden) {
			httpError(w, http.StatusForbidden, err)
			return
		}
		if err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
	}
	c, err := p.place(r.Context(), req.Caller, at, draft)
	switch {
	case errors.Is(err, ErrTooMany):
		httpError(w, http.StatusTooManyRequests, err)
		return
	case errors.Is(err, ErrClosed):
		httpError(w, http.StatusServiceUnavailable, err)
		return
	case err != nil:
		p.o.Logger.Error("testphone_call_failed", "error", err.Error())
		httpError(w, http.StatusBadGateway, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": c.id})
}

// maxKeys bounds the keys of one request.
const maxKeys = 32

func (p *Phone) keys(w http.ResponseWriter, r *http.Request) {
	c, err := p.lookup(chi.URLParam(r, "id"))
	if err != nil {
		httpError(w, http.StatusNotFound, err)
		return
	}
	var req struct {
		Keys string `json:"keys"`
	}
	if err := decode(r, &req, "keys"); err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	if err := validKeys(req.Keys); err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	// Press returns once the simulated phone has sent the last digit.
	if err := c.leg().Press(req.Keys); err != nil {
		if errors.Is(err, arisim.ErrCallEnded) {
			httpError(w, http.StatusConflict, ErrCallOver)
			return
		}
		httpError(w, http.StatusBadGateway, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func validKeys(k string) error {
	switch {
	case k == "":
		return errors.New("no keys: send keys=0-9, * or #")
	case len(k) > maxKeys:
		return fmt.Errorf("at most %d keys at a time", maxKeys)
	case strings.Trim(k, "0123456789*#") != "":
		return fmt.Errorf("keys %q: only 0-9, * and # are keys", k)
	}
	return nil
}

func (p *Phone) hangup(w http.ResponseWriter, r *http.Request) {
	c, err := p.lookup(chi.URLParam(r, "id"))
	if err != nil {
		httpError(w, http.StatusNotFound, err)
		return
	}
	_ = c.leg().Hangup() // hanging up a call already over is fine
	w.WriteHeader(http.StatusNoContent)
}

// answer picks up the help desk's callback ringing on the phone. The page
// shows the ring from the controller's event, which may come a moment
// before the simulated phone's channel: a quick click waits for it.
func (p *Phone) answer(w http.ResponseWriter, r *http.Request) {
	c, err := p.lookup(chi.URLParam(r, "id"))
	if err != nil {
		httpError(w, http.StatusNotFound, err)
		return
	}
	wait := time.NewTimer(10 * time.Second)
	defer wait.Stop()
	select {
	case <-c.ringing:
	case <-wait.C:
		httpError(w, http.StatusConflict, ErrNotRinging)
		return
	case <-r.Context().Done():
		return
	}
	if err := c.leg().Answer(); err != nil {
		httpError(w, http.StatusConflict, fmt.Errorf("%w: %v", ErrNotRinging, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// events streams a call's events as Server-Sent Events, from the first
// (a page that reconnects sees them again), and ends after the outcome.
func (p *Phone) events(w http.ResponseWriter, r *http.Request) {
	c, err := p.lookup(chi.URLParam(r, "id"))
	if err != nil {
		httpError(w, http.StatusNotFound, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	sent := 0
	// A reconnecting EventSource says what it saw last.
	if n, err := strconv.Atoi(r.Header.Get("Last-Event-ID")); err == nil && n >= 0 {
		sent = n + 1
	}
	for {
		evs, over, changed := c.since(sent)
		for _, e := range evs {
			b, err := json.Marshal(e)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "id: %d\ndata: %s\n\n", sent, b); err != nil {
				return
			}
			sent++
		}
		if over {
			fmt.Fprint(w, "event: end\ndata: {}\n\n")
			_ = rc.Flush()
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-changed:
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// decode reads a JSON body or a form into v (only string fields named).
func decode(r *http.Request, v any, fields ...string) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		r.Body = http.MaxBytesReader(nil, r.Body, 4096)
		if err := json.NewDecoder(r.Body).Decode(v); err != nil {
			return fmt.Errorf("read JSON body: %w", err)
		}
		return nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("read form: %w", err)
	}
	m := map[string]string{}
	for _, f := range fields {
		m[f] = r.Form.Get(f)
	}
	b, _ := json.Marshal(m)
	return json.Unmarshal(b, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
