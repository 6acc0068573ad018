package interop

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/ariconn"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// shipped is configs/helpdesk.yaml, as ivrd reads it.
func shipped(t *testing.T) *menu.Config {
	t.Helper()
	cfg, err := configfile.Load("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// realDesk is the call controller wired as cmd/ivrd wires it (ivr.New,
// ariconn.Start) on a private real Asterisk, with a clock set at the
// scenario's instant. Every event the controller receives passes through
// it first: the playbacks of each channel are kept from Asterisk's own
// PlaybackStarted/Continuing/Finished.
type realDesk struct {
	A     *realasterisk.Asterisk
	Store *ivr.MemoryRecorder
	Ctrl  *ivr.Controller
	log   *syncBuffer

	mu      sync.Mutex
	events  map[string][]ivr.Event // by call (caller channel) id
	media   map[string]*Playbacks  // by channel id
	outcome chan string            // call ids, as each call ends
	bridged chan string            // call ids, as an operator answers each
}

func startReal(t *testing.T, cfg *menu.Config, at time.Time, phones []string) *realDesk {
	t.Helper()
	realasterisk.SkipIfOptedOut(t) // before making the prompts
	a := realasterisk.Start(t, realasterisk.Options{Phones: phones, Sounds: promptSounds(t)})
	d := &realDesk{A: a, Store: ivr.NewMemoryRecorder(cfg.Location()), log: &syncBuffer{},
		events: map[string][]ivr.Event{}, media: map[string]*Playbacks{}, outcome: make(chan string, 16),
		bridged: make(chan string, 16)}
	logger := slog.New(slog.NewTextHandler(d.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctrl, err := ivr.New(ivr.Options{App: a.App, Config: func() *menu.Config { return cfg },
		PINSecret: []byte(configfile.DemoPINSecret), Store: d.Store, Clock: clock.NewScaled(at, 1),
		Logger: logger, Observe: d.observe})
	if err != nil {
		t.Fatal(err)
	}
	d.Ctrl = ctrl
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := ariconn.Start(ctx, ariconn.Options{URL: a.ARIURL(), Username: a.User, Password: a.Password,
		App: a.App, Logger: logger, OnConnect: func() { ctrl.Reconcile(ctx) }, OnReplaced: ctrl.Release,
		// The desk also keeps what Asterisk played (see): PlaybackStarted
		// and PlaybackContinuing, which the controller itself needs not.
		Events: append(slices.Clone(ivr.HandledEvents), "PlaybackStarted", "PlaybackContinuing")},
		func(c ari.Client) func(ari.Event) {
			handle := ctrl.Attach(ctx, c)
			return func(e ari.Event) { d.see(e); handle(e) }
		})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		conn.Close()
		if t.Failed() {
			t.Logf("controller log:\n%s", d.log.String())
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := conn.Wait(wctx); err != nil {
		t.Fatalf("ARI connection: %v", err)
	}
	return d
}

func (d *realDesk) observe(e ivr.Event) {
	d.mu.Lock()
	d.events[e.CallID] = append(d.events[e.CallID], e)
	d.mu.Unlock()
	switch e.Kind {
	case ivr.EvOutcome:
		d.outcome <- e.CallID
	case ivr.EvAnswered:
		d.bridged <- e.CallID
	}
}

// see keeps the playbacks Asterisk reports, by the channel they play on.
func (d *realDesk) see(e ari.Event) {
	var pb ari.PlaybackData
	switch e := e.(type) {
	case *ari.PlaybackStarted:
		pb = e.Playback
	case *ari.PlaybackContinuing:
		pb = e.Playback
	case *ari.PlaybackFinished:
		pb = e.Playback
	default:
		return
	}
	ch, ok := strings.CutPrefix(pb.TargetURI, "channel:")
	if !ok {
		return
	}
	d.mu.Lock()
	p := d.media[ch]
	if p == nil {
		p = &Playbacks{}
		d.media[ch] = p
	}
	d.mu.Unlock()
	switch e.(type) {
	case *ari.PlaybackStarted:
		p.Started(pb.ID, pb.MediaURI)
	case *ari.PlaybackContinuing:
		p.Ended(pb.ID, "done") // the item ended; the next one starts
	case *ari.PlaybackFinished:
		p.Ended(pb.ID, pb.State)
	}
}

// nextCall waits for a call to end and returns it.
func (d *realDesk) nextCall(ctx context.Context, t *testing.T) (Call, []ivr.Event) {
	t.Helper()
	var id string
	select {
	case id = <-d.outcome:
	case <-ctx.Done():
		t.Fatalf("no call ended: %v", ctx.Err())
	}
	d.mu.Lock()
	events := d.events[id]
	var media []Playback
	if p := d.media[id]; p != nil {
		media = p.List()
	}
	d.mu.Unlock()
	c, err := Summarize(events, media)
	if err != nil {
		t.Fatal(err)
	}
	return c, events
}

// asteriskLogProblems returns the lines of Asterisk's messages log that
// say a file to play was missing.
func (d *realDesk) asteriskLogProblems(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(d.A.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "does not exist in any format") {
			bad = append(bad, l)
		}
	}
	return bad
}

// simPress is a key sequence the simulated caller presses as soon as a
// media item starts playing to it (barging in, as the sipp caller does a
// moment later).
type simPress struct {
	on   string // media URI, e.g. "sound:helpdesk/menu-root"
	keys string
}

// runSim places the same call on ivr/simdesk (the code of `ivrctl
// simulate`), at the same instant and with the same store contents
// (seed), and summarizes it the same way. With operators, calls wait in
// the operator queues as ivrd runs them (queues on a PostgreSQL database
// of the test's own, those operators available); without, the simulator
// rings the whole group at once.
func runSim(t *testing.T, cfg *menu.Config, at time.Time, caller string, presses []simPress, speak time.Duration,
	seed func(*testing.T, tickets.CallRecorder), operators ...string) (Call, []ivr.Event) {
	t.Helper()
	c, events, _ := runSimRecorded(t, cfg, at, caller, presses, speak, seed, operators...)
	return c, events
}

// runSimRecorded is runSim that also returns the call as its record and
// ticket in the simulator's store say (FromRecord), to compare with a
// call seen from outside the controller.
func runSimRecorded(t *testing.T, cfg *menu.Config, at time.Time, caller string, presses []simPress, speak time.Duration,
	seed func(*testing.T, tickets.CallRecorder), operators ...string) (Call, []ivr.Event, Call) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store := ivr.NewMemoryRecorder(cfg.Location())
	if seed != nil {
		seed(t, store)
	}
	var (
		mu      sync.Mutex
		channel string
	)
	clk := clock.NewScaled(at, 20)
	var queue ivr.Queues
	if len(operators) > 0 {
		queue = simQueues(ctx, t, cfg, clk, operators)
	}
	desk, err := simdesk.Start(ctx, simdesk.Options{Config: cfg, PINSecret: []byte(configfile.DemoPINSecret),
		Clock: clk, Store: store, Queues: queue,
		Observe: func(e ivr.Event) {
			if e.Kind == ivr.EvCall {
				mu.Lock()
				channel = e.CallID
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer desk.Close()
	var heard Playbacks
	pending := presses
	hungUp := make(chan struct{})
	onEvent := func(e arisim.CallerEvent) {
		switch e.Kind {
		case arisim.EventHangup:
			close(hungUp) // the last event the party gets
		case arisim.EventPlaybackStarted:
			heard.Started(e.PlaybackID, e.Media)
			if len(pending) == 0 || pending[0].on != e.Media {
				return
			}
			keys := pending[0].keys
			pending = pending[1:]
			mu.Lock()
			call := desk.Sim.Call(channel)
			mu.Unlock()
			if call == nil {
				t.Errorf("simulator: no call %q to press %q on", channel, keys)
				return
			}
			if err := call.Press(keys); err != nil {
				t.Errorf("simulator: press %q: %v", keys, err)
			}
		case arisim.EventPlaybackFinished:
			// The simulated party tells a stopped playback apart; ARI
			// (and Asterisk) report it done.
			st := e.State
			if st == "stopped" {
				st = "done"
			}
			heard.Ended(e.PlaybackID, st)
		}
	}
	res, err := desk.Call(ctx, caller, nil, arisim.CallOptions{OnEvent: onEvent, SpeakOnRecord: speak},
		simdesk.CallLimits{Talk: 5 * time.Second, Max: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	select { // the party's last events come after the controller's outcome
	case <-hungUp:
	case <-ctx.Done():
		t.Fatal("simulator: the caller never heard the hangup")
	}
	if len(pending) > 0 {
		t.Errorf("simulator: keys never pressed: %+v", pending)
	}
	c, err := Summarize(res.Events, heard.List())
	if err != nil {
		t.Fatal(err)
	}
	rec, recEvents, ok := store.Call(res.Events[0].CallID)
	if !ok {
		t.Fatalf("simulator: no record of call %s", res.Events[0].CallID)
	}
	var tk tickets.Ticket
	if rec.TicketID != 0 {
		if tk, err = store.FindTicketByID(ctx, rec.TicketID, tickets.Viewer{Kind: tickets.ViewerSystem}); err != nil {
			t.Fatal(err)
		}
	}
	return c, res.Events, FromRecord(rec, recEvents, tk, heard.List())
}

// simQueues are operator queues on a database of the test's own, as ivrd
// runs them, with operators available; they run until ctx ends.
func simQueues(ctx context.Context, t *testing.T, cfg *menu.Config, clk *clock.Scaled, operators []string) ivr.Queues {
	t.Helper()
	pool := pgtest.Pool(t)
	if err := queues.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	q := queues.New(pool, queues.Options{Location: cfg.Location(), Now: clk.Now})
	if err := ivr.SyncQueues(ctx, q, cfg); err != nil {
		t.Fatal(err)
	}
	for _, op := range operators {
		if err := q.SetState(ctx, op, queues.Available, ""); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = q.Run(ctx)
	}()
	t.Cleanup(func() { <-done })
	return q
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bridgeUp waits for an operator to answer a call, then until Asterisk
// itself shows the caller and the operator in one bridge of the
// application.
func (d *realDesk) bridgeUp(ctx context.Context, t *testing.T) {
	t.Helper()
	select {
	case <-d.bridged:
	case <-ctx.Done():
		t.Fatalf("no operator answered: %v", ctx.Err())
	}
	// Asterisk's CLI: "Bridge-ID Name Chans Type Technology Duration".
	two := regexp.MustCompile(`(?m)\s2\s+stasis\s`)
	var out string
	for ctx.Err() == nil {
		var err error
		if out, err = d.A.CLI(ctx, "bridge show all"); err == nil && two.MatchString(out) {
			t.Logf("Asterisk's bridges:\n%s", out)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Errorf("Asterisk shows no bridge of two channels:\n%s", out)
}
