package ivr_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/ariconn"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// speed is how much faster than real time the simulated calls run.
const speed = 40

var demoSecret = []byte("demo-pin-secret-not-for-production")

func loadConfig(t testing.TB) *menu.Config {
	t.Helper()
	cfg, err := loadConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// loadConfigFile reads the shipped configuration.
func loadConfigFile() (*menu.Config, error) {
	data, err := os.ReadFile("../configs/helpdesk.yaml")
	if err != nil {
		return nil, err
	}
	return menu.Parse("helpdesk.yaml", data)
}

// rig is one help desk: a simulated Asterisk, the real ari/v5 client over
// a loopback WebSocket, and the controller, on a clock running fast
// (simdesk, the same wiring `ivrctl simulate` uses).
type rig struct {
	t     *testing.T
	cfg   *menu.Config
	clk   *clock.Scaled
	sim   *arisim.Server
	ctrl  *ivr.Controller
	conn  *ariconn.Conn
	store tickets.CallRecorder
	mem   *ivr.MemoryRecorder

	mu     sync.Mutex
	events []ivr.Event
	notify chan struct{}
}

type rigOption func(*simdesk.Options)

func newRig(t *testing.T, at time.Time, opts ...rigOption) *rig {
	t.Helper()
	cfg := loadConfig(t)
	r := &rig{t: t, cfg: cfg, notify: make(chan struct{}, 1)}
	o := simdesk.Options{Config: cfg, PINSecret: demoSecret, Start: at, Speed: speed,
		Operators: &arisim.EndpointBehavior{Mode: arisim.NoAnswer}, Observe: r.observe,
		Registerer: prometheus.NewRegistry(), OnMedia: heard.add}
	for _, opt := range opts {
		opt(&o)
	}
	r.cfg = o.Config
	desk, err := simdesk.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	r.clk, r.sim, r.ctrl, r.conn, r.mem = desk.Clock, desk.Sim, desk.Controller, desk.Conn, desk.Memory
	r.store = o.Store
	if r.store == nil {
		r.store = desk.Memory
	}
	t.Cleanup(func() {
		// Every call must end with its session: no goroutine left behind.
		deadline := time.Now().Add(10 * time.Second)
		for r.ctrl.ActiveCalls() > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := r.ctrl.ActiveCalls(); n > 0 {
			t.Errorf("%d calls still active at the end of the test; status %s; events:\n%s", n, r.conn.Status(), r.allTranscripts())
		}
		// Every prompt was heard: the simulator fails a playback as
		// Asterisk 20 does (a sound it has no file for, several media
		// sent as one string).
		if m := r.sim.MissingMedia(); len(m) > 0 {
			t.Errorf("playbacks failed for lack of a file: %q; events:\n%s", m, r.allTranscripts())
		}
		desk.Close()
	})
	return r
}

func withStore(s tickets.CallRecorder) rigOption {
	return func(o *simdesk.Options) { o.Store = s }
}

func (r *rig) observe(e ivr.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// call places a call to the help desk from a number.
func (r *rig) call(from string, o ...arisim.CallOptions) *arisim.Call {
	r.t.Helper()
	var opts arisim.CallOptions
	if len(o) > 0 {
		opts = o[0]
	}
	c, err := r.sim.PlaceCall(context.Background(), from, "800749049", opts)
	if err != nil {
		r.t.Fatalf("place call: %v", err)
	}
	return c
}

// waitFor waits (in wall time) for an event of a call matching pred.
func (r *rig) waitFor(callID string, what string, pred func(ivr.Event) bool) ivr.Event {
	r.t.Helper()
	deadline := time.After(15 * time.Second)
	seen := 0
	for {
		r.mu.Lock()
		evs := r.events[seen:]
		seen = len(r.events)
		r.mu.Unlock()
		for _, e := range evs {
			if e.CallID == callID && pred(e) {
				return e
			}
		}
		select {
		case <-r.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			r.t.Fatalf("call %s: no %s within 15s; transcript:\n%s", callID, what, r.transcript(callID))
		}
	}
}

func (r *rig) waitKind(callID, kind string) ivr.Event {
	return r.waitFor(callID, kind, func(e ivr.Event) bool { return e.Kind == kind })
}

// waitPrompt waits until a prompt whose names include name starts.
func (r *rig) waitPrompt(callID, name string) ivr.Event {
	return r.waitFor(callID, "prompt "+name, func(e ivr.Event) bool {
		if e.Kind != ivr.EvPrompt {
			return false
		}
		for _, p := range e.Prompt {
			if p == name {
				return true
			}
		}
		return false
	})
}

func (r *rig) outcome(callID string) ivr.Event {
	return r.waitKind(callID, ivr.EvOutcome)
}

func (r *rig) transcript(callID string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		if e.CallID != callID {
			continue
		}
		b.WriteString(e.Time.Format("15:04:05.000 "))
		b.WriteString(e.Kind)
		for _, s := range []string{e.Node, strings.Join(e.Prompt, "+"), e.Keys, e.Reason, e.Result, e.Group, e.Ticket, e.Outcome, e.By} {
			if s != "" {
				b.WriteString(" " + s)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func press(t *testing.T, c *arisim.Call, keys string) {
	t.Helper()
	if err := c.Press(keys); err != nil {
		t.Fatalf("press %q: %v", keys, err)
	}
}

func waitDone(t *testing.T, c *arisim.Call) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(15 * time.Second):
		t.Fatalf("call %s still up", c.ID())
	}
}

// monday10 is a working Monday morning in Rome.
var monday10 = time.Date(2026, 11, 23, 10, 0, 0, 0, mustLoc("Europe/Rome"))

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func (r *rig) allTranscripts() string {
	r.mu.Lock()
	ids := map[string]bool{}
	for _, e := range r.events {
		ids[e.CallID] = true
	}
	r.mu.Unlock()
	var b strings.Builder
	for id := range ids {
		b.WriteString("call " + id + ":\n" + r.transcript(id))
	}
	return b.String()
}

// heard is every sound the simulator played, across the package's tests,
// as "lang/name": TestMain checks that it covers every prompt.
var heard = heardSounds{m: map[string]bool{}}

type heardSounds struct {
	mu sync.Mutex
	m  map[string]bool
}

func (h *heardSounds) add(uri, lang string, found bool) {
	name, ok := strings.CutPrefix(uri, "sound:")
	if !ok || !found {
		return
	}
	h.mu.Lock()
	h.m[lang+"/"+name] = true
	h.mu.Unlock()
}

// unheard lists the prompts of cfg that no test played, in the language
// callers hear (the others are generated for when callers can choose).
func (h *heardSounds) unheard(cfg *menu.Config) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, p := range cfg.PromptTexts() {
		if p.Lang == cfg.IVR.Language && !h.m[p.Lang+"/"+p.Sound] {
			out = append(out, p.Lang+"/"+p.Sound)
		}
	}
	return out
}
