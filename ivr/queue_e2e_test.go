package ivr_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// qrig is a help desk whose routed calls wait in the operator queues, on
// a real PostgreSQL: every operator phone rings out unless a test says
// otherwise, and every operator starts logged out.
type qrig struct {
	*rig
	q *queues.Service
}

// newQueueRig starts a help desk on the database at url ("" for a fresh
// one of the test's own); tune adjusts the configuration first.
func newQueueRig(t *testing.T, url string, tune func(*menu.Config), opts ...rigOption) *qrig {
	t.Helper()
	return newQueueRigAt(t, monday10, url, tune, opts...)
}

// newQueueRigAt is newQueueRig with the clock starting at start.
func newQueueRigAt(t *testing.T, start time.Time, url string, tune func(*menu.Config), opts ...rigOption) *qrig {
	t.Helper()
	if url == "" {
		url = pgtest.DatabaseURL(t)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	cfg := loadConfig(t)
	if tune != nil {
		tune(cfg)
	}
	var clk atomic.Pointer[clock.Scaled]
	now := func() time.Time {
		if c := clk.Load(); c != nil {
			return c.Now()
		}
		return start
	}
	q := queues.New(pool, queues.Options{Now: now, Location: cfg.Location(), PollInterval: 20 * time.Millisecond,
		Channel:    notifyChannel(url), // instances on one database share it
		Registerer: prometheus.NewRegistry(),
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err := ivr.SyncQueues(context.Background(), q, cfg); err != nil {
		t.Fatal(err)
	}
	opts = append([]rigOption{func(o *simdesk.Options) { o.Config = cfg; o.Queues = q }}, opts...)
	r := newRig(t, start, opts...)
	clk.Store(r.clk)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = q.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &qrig{rig: r, q: q}
}

func notifyChannel(url string) string {
	h := fnv.New64a()
	h.Write([]byte(url))
	return fmt.Sprintf("ivrq_%x", h.Sum64())
}

// available logs operators in, in order: the first has been idle longest.
func (r *qrig) available(logins ...string) {
	r.t.Helper()
	for _, l := range logins {
		if err := r.q.SetState(context.Background(), l, queues.Available, ""); err != nil {
			r.t.Fatalf("log %s in: %v", l, err)
		}
		time.Sleep(2 * time.Millisecond) // distinct idle times on the fast clock
	}
}

func (r *qrig) pause(logins ...string) {
	r.t.Helper()
	for _, l := range logins {
		if err := r.q.SetState(context.Background(), l, queues.Paused, queues.ReasonBreak); err != nil {
			r.t.Fatalf("pause %s: %v", l, err)
		}
	}
}

func (r *qrig) operator(login string) queues.Operator {
	r.t.Helper()
	op, err := r.q.Operator(context.Background(), login)
	if err != nil {
		r.t.Fatal(err)
	}
	return op
}

func (r *qrig) waitState(login string, want queues.State) {
	r.t.Helper()
	waitUntil(r.t, login+" "+string(want), func() bool { return r.operator(login).State == want })
}

func answerAfter(d time.Duration) arisim.EndpointBehavior {
	return arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: d}
}

// timeline is a call record's events as "kind operator" lines.
func (r *qrig) timeline(callID string) []string {
	r.t.Helper()
	_, evs, ok := r.mem.Call(callID)
	if !ok {
		r.t.Fatalf("no call record for %s", callID)
	}
	var out []string
	for _, e := range evs {
		out = append(out, strings.TrimSpace(string(e.Kind)+" "+e.Group+" "+e.Operator))
	}
	return out
}

// answeredBy waits for the call's operator.
func (r *qrig) answeredBy(callID string) string {
	r.t.Helper()
	return r.waitKind(callID, ivr.EvAnswered).Operator
}

func (r *qrig) ringing(callID string) []string {
	var ops []string
	for _, e := range r.eventsOf(callID) {
		if e.Kind == ivr.EvRinging {
			ops = append(ops, e.Operator)
		}
	}
	return ops
}

func TestQueueAnswerWrapUpAndRecord(t *testing.T) {
	r := newQueueRig(t, "", nil)
	r.sim.SetEndpoint("PJSIP/op201", answerAfter(3*time.Second))
	r.sim.SetEndpoint("PJSIP/op202", answerAfter(3*time.Second))
	r.available("op201", "op202") // op201 idle longest
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	if op := r.answeredBy(c.ID()); op != "op201" {
		t.Fatalf("answered by %s, want op201 (longest idle)", op)
	}
	if op := r.operator("op201"); op.State != queues.OnCall || op.CallID != c.ID() || op.CallGroup != "lotto2" {
		t.Fatalf("op201 during the call: %+v", op)
	}
	if st := r.operator("op202").State; st != queues.Available {
		t.Fatalf("op202 %s during op201's call", st)
	}
	c.Hangup()
	out := r.outcome(c.ID())
	if out.Outcome != string(tickets.OutcomeAnswered) {
		t.Fatalf("outcome %+v", out)
	}
	// Wrap-up (30 s in the configuration), then available by itself.
	if st := r.operator("op201").State; st != queues.WrapUp {
		t.Fatalf("op201 after the call: %s, want wrap_up", st)
	}
	r.waitState("op201", queues.Available)
	want := []string{"entered", "hours_check", "menu_selection", "menu_selection", "queued lotto2", "offered lotto2 op201",
		"answered lotto2 op201", "hangup"}
	if got := r.timeline(c.ID()); !slices.Equal(got, want) {
		t.Errorf("timeline\n got %v\nwant %v", got, want)
	}
	call, _, _ := r.mem.Call(c.ID())
	if call.Operator != "op201" || call.Group != "lotto2" || call.OperatorAnsweredAt.IsZero() || call.QueuedAt.IsZero() {
		t.Errorf("call record %+v", call)
	}
	tk, _, ok := r.mem.Ticket(call.TicketID)
	if !ok || tk.Assignee != "op201" || tk.Status != tickets.StatusInProgress || tk.Group != "lotto2" {
		t.Errorf("ticket %+v", tk)
	}
}

// An operator free when the caller joins the queue is rung at once: no
// place in the queue (already over), wait or break-out key is announced
// first.
func TestQueueOfferCutsTheAnnouncement(t *testing.T) {
	r := newQueueRig(t, "", nil)
	r.sim.SetEndpoint("PJSIP/op201", answerAfter(3*time.Second))
	r.available("op201")
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	r.waitKind(c.ID(), ivr.EvRinging)
	for _, e := range r.eventsOf(c.ID()) {
		if e.Kind == ivr.EvRinging {
			break
		}
		if e.Kind == ivr.EvPrompt && (slices.Contains(e.Prompt, "system:queue_breakout") || slices.Contains(e.Prompt, "system:queue_position")) {
			t.Fatalf("a queue announcement played before the operator's phone rang:\n%s", r.transcript(c.ID()))
		}
	}
	if op := r.answeredBy(c.ID()); op != "op201" {
		t.Fatalf("answered by %s", op)
	}
	c.Hangup()
	r.outcome(c.ID())
}

// Busy and ringing-out operators are paused ("no_answer") and the next is
// tried; a higher penalty rings only when nobody with a lower one is free.
func TestQueueNoAnswerBusyAndPenalties(t *testing.T) {
	r := newQueueRig(t, "", nil)
	r.sim.SetEndpoint("PJSIP/op301", arisim.EndpointBehavior{Mode: arisim.Busy})
	r.sim.SetEndpoint("PJSIP/op101", answerAfter(2*time.Second)) // lotto3 with penalty 2
	r.available("op101", "op302", "op301")                       // op101 idle longest, but its penalty is higher
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "13")
	if op := r.answeredBy(c.ID()); op != "op101" {
		t.Fatalf("answered by %s", op)
	}
	if got := r.ringing(c.ID()); !slices.Equal(got, []string{"op302", "op301", "op101"}) {
		t.Errorf("rang %v, want op302 (ring out), op301 (busy), then op101 (penalty 2)", got)
	}
	for _, l := range []string{"op301", "op302"} {
		if op := r.operator(l); op.State != queues.Paused || op.Reason != queues.ReasonNoAnswer {
			t.Errorf("%s: %s %q, want paused no_answer", l, op.State, op.Reason)
		}
	}
	c.Hangup()
	r.outcome(c.ID())
	want := []string{"queued lotto3", "offered lotto3 op302", "no_answer lotto3 op302", "offered lotto3 op301",
		"no_answer lotto3 op301", "offered lotto3 op101", "answered lotto3 op101"}
	if got := r.timeline(c.ID()); !isSubsequence(want, got) {
		t.Errorf("timeline %v lacks %v", got, want)
	}
}

func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// ring_all rings every free operator of the lowest penalty; the first to
// answer takes the call and the others' phones stop, without a pause.
func TestQueueRingAll(t *testing.T) {
	r := newQueueRig(t, "", nil)
	r.sim.SetEndpoint("PJSIP/op101", answerAfter(4*time.Second))
	r.available("op100", "op101", "op201") // op201 is in accoglienza with penalty 1
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "0")
	if op := r.answeredBy(c.ID()); op != "op101" {
		t.Fatalf("answered by %s", op)
	}
	got := r.ringing(c.ID())
	slices.Sort(got)
	if !slices.Equal(got, []string{"op100", "op101"}) {
		t.Errorf("rang %v, want op100 and op101 together", got)
	}
	if st := r.operator("op100").State; st != queues.Available {
		t.Errorf("op100 after another answered: %s", st)
	}
	c.Hangup()
	r.outcome(c.ID())
}

// Callers are served by priority, then arrival: a caller of a known
// Administration goes before an unknown caller who came first.
func TestQueuePriority(t *testing.T) {
	r := newQueueRig(t, "", nil)
	r.sim.SetEndpoint("PJSIP/op302", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second, HangupAfter: 10 * time.Second})
	r.pause("op302") // logged in, not free: callers wait
	first := r.call("3331234567")
	r.waitPrompt(first.ID(), "node:root")
	press(t, first, "13")
	r.waitKind(first.ID(), ivr.EvQueued)
	known := r.call("0612345678") // Tribunale di Roma: straight to lotto3 with key 1
	r.waitPrompt(known.ID(), "node:root")
	press(t, known, "1")
	if e := r.waitKind(known.ID(), ivr.EvQueued); e.Position != 1 || e.Group != "lotto3" {
		t.Fatalf("known caller queued %+v, want first in lotto3", e)
	}
	r.available("op302")
	if op := r.answeredBy(known.ID()); op != "op302" {
		t.Fatalf("known caller answered by %s", op)
	}
	for _, e := range r.eventsOf(first.ID()) {
		if e.Kind == ivr.EvAnswered {
			t.Fatalf("the unknown caller was answered first")
		}
	}
	// The operator ends the call; after the wrap-up the other is served.
	r.outcome(known.ID())
	if op := r.answeredBy(first.ID()); op != "op302" {
		t.Fatalf("second caller answered by %s", op)
	}
	first.Hangup()
	r.outcome(first.ID())
}

// Waiting callers hear their place and the break-out key, again at the
// configured interval, and the key takes them to a recorded request
// while the ticket is kept.
func TestQueueAnnouncementsAndBreakOut(t *testing.T) {
	r := newQueueRig(t, "", nil)
	r.pause("op201", "op202")
	c1 := r.call("3331234567")
	r.waitPrompt(c1.ID(), "node:root")
	press(t, c1, "12")
	if e := r.waitKind(c1.ID(), ivr.EvPosition); e.Position != 1 {
		t.Fatalf("first announcement %+v", e)
	}
	c2 := r.call("3337654321", arisim.CallOptions{SpeakOnRecord: 5 * time.Second})
	r.waitPrompt(c2.ID(), "node:root")
	press(t, c2, "12")
	if e := r.waitKind(c2.ID(), ivr.EvPosition); e.Position != 2 {
		t.Fatalf("second caller's announcement %+v", e)
	}
	r.waitPrompt(c2.ID(), "system:queue_breakout")
	// 45 s later (the default interval), the first caller hears it again.
	n := 0
	r.waitFor(c1.ID(), "a second announcement", func(e ivr.Event) bool {
		if e.Kind == ivr.EvPosition {
			n++
		}
		return n == 2
	})
	press(t, c2, "*")
	r.waitPrompt(c2.ID(), "system:record_intro")
	// The message is recorded (out of the holding bridge: Asterisk
	// refuses to record a bridged channel) and attached to the ticket.
	if msg := r.waitKind(c2.ID(), ivr.EvMessage); msg.Seconds < 5 {
		t.Errorf("recorded %v s, the caller spoke 5 s", msg.Seconds)
	}
	out := r.outcome(c2.ID())
	if out.Outcome != string(tickets.OutcomeMessageLeft) {
		t.Errorf("outcome %s\n%s", out.Outcome, r.transcript(c2.ID()))
	}
	if call, _, ok := r.mem.Call(c2.ID()); !ok {
		t.Error("no call record")
	} else if _, att, _ := r.mem.Ticket(call.TicketID); len(att) != 1 || !strings.HasPrefix(att[0].URI, "ari:recording:") {
		t.Errorf("attachments %+v", att)
	}
	if _, err := r.q.Position(context.Background(), c2.ID()); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("the caller who left is still queued: %v", err)
	}
	if !slices.Contains(r.timeline(c2.ID()), "transferred lotto2") {
		t.Errorf("timeline %v: no transfer out of the queue", r.timeline(c2.ID()))
	}
	if out.Ticket == "" {
		t.Error("no ticket")
	}
	// The first caller moved up.
	if p, err := r.q.Position(context.Background(), c1.ID()); err != nil || p.Position != 1 {
		t.Errorf("first caller %+v %v", p, err)
	}
	c1.Hangup()
	if out := r.outcome(c1.ID()); out.Outcome != string(tickets.OutcomeAbandoned) {
		t.Errorf("first caller outcome %s", out.Outcome)
	}
	if !slices.ContainsFunc(r.timeline(c1.ID()), func(s string) bool { return strings.HasPrefix(s, "abandoned lotto2") }) {
		t.Errorf("timeline %v: no abandoned", r.timeline(c1.ID()))
	}
}

// max_wait, max_waiting and nobody logged in each end in their overflow.
func TestQueueOverflows(t *testing.T) {
	t.Run("max wait then message", func(t *testing.T) {
		r := newQueueRig(t, "", func(cfg *menu.Config) { cfg.Group("lotto2").Queue.MaxWait = time.Minute })
		r.pause("op201", "op202")
		c := r.call("3331234567", arisim.CallOptions{SpeakOnRecord: 5 * time.Second})
		r.waitPrompt(c.ID(), "node:root")
		press(t, c, "12")
		ov := r.waitKind(c.ID(), ivr.EvOverflow)
		if ov.Reason != queues.OverflowMaxWait || ov.Result != "message" {
			t.Fatalf("overflow %+v", ov)
		}
		r.waitPrompt(c.ID(), "system:record_intro")
		if msg := r.waitKind(c.ID(), ivr.EvMessage); msg.Seconds < 5 {
			t.Errorf("recorded %v s, the caller spoke 5 s", msg.Seconds)
		}
		if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeMessageLeft) {
			t.Errorf("outcome %s\n%s", out.Outcome, r.transcript(c.ID()))
		}
	})
	t.Run("nobody logged in sends to accoglienza", func(t *testing.T) {
		r := newQueueRig(t, "", nil)
		r.sim.SetEndpoint("PJSIP/op100", answerAfter(time.Second))
		r.available("op100")
		c := r.call("3331234567")
		r.waitPrompt(c.ID(), "node:root")
		press(t, c, "12")
		if ov := r.waitKind(c.ID(), ivr.EvOverflow); ov.Reason != queues.OverflowNoOperators || ov.Group != "accoglienza" {
			t.Fatalf("overflow %+v", ov)
		}
		if op := r.answeredBy(c.ID()); op != "op100" {
			t.Fatalf("answered by %s", op)
		}
		c.Hangup()
		out := r.outcome(c.ID())
		if out.Group != "accoglienza" {
			t.Errorf("outcome group %s", out.Group)
		}
		if !isSubsequence([]string{"transferred lotto2", "queued accoglienza", "answered accoglienza op100"}, r.timeline(c.ID())) {
			t.Errorf("timeline %v", r.timeline(c.ID()))
		}
	})
	t.Run("queue full hangs up", func(t *testing.T) {
		r := newQueueRig(t, "", func(cfg *menu.Config) {
			q := &cfg.Group("accoglienza").Queue
			q.MaxWaiting, q.Overflow = 1, "hangup"
		})
		r.pause("op100")
		c1 := r.call("3331234567")
		r.waitPrompt(c1.ID(), "node:root")
		press(t, c1, "0")
		r.waitKind(c1.ID(), ivr.EvQueued)
		c2 := r.call("3337654321")
		r.waitPrompt(c2.ID(), "node:root")
		press(t, c2, "0")
		r.waitPrompt(c2.ID(), "system:queue_full")
		if out := r.outcome(c2.ID()); out.Outcome != string(tickets.OutcomeOverflowed) {
			t.Errorf("outcome %s", out.Outcome)
		}
		c1.Hangup()
		r.outcome(c1.ID())
	})
}

// A caller who hangs up while an operator's phone rings withdraws the
// offer at once: the phone stops and the operator is free again.
func TestQueueCallerHangsUpWhileRinging(t *testing.T) {
	r := newQueueRig(t, "", nil)
	var opCall atomic.Pointer[arisim.Call]
	r.sim.SetEndpoint("PJSIP/op201", arisim.EndpointBehavior{Mode: arisim.NoAnswer, OnCall: func(c *arisim.Call) { opCall.Store(c) }})
	r.available("op201")
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	r.waitKind(c.ID(), ivr.EvRinging)
	c.Hangup()
	if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeAbandoned) {
		t.Fatalf("outcome %s", out.Outcome)
	}
	waitDone(t, opCall.Load())
	if op := r.operator("op201"); op.State != queues.Available || op.CallID != "" {
		t.Errorf("op201 after the caller left: %+v", op)
	}
	if !isSubsequence([]string{"offered lotto2 op201", "abandoned lotto2"}, r.timeline(c.ID())) {
		t.Errorf("timeline %v", r.timeline(c.ID()))
	}
}

// A controller that takes over from one that stopped finds the waiting
// caller still in the queue, in the same place, and serves them.
func TestQueueRestartKeepsTheCallersPlace(t *testing.T) {
	r := newQueueRig(t, "", nil)
	r.pause("op201", "op202")
	c1 := r.call("3331234567")
	r.waitPrompt(c1.ID(), "node:root")
	press(t, c1, "12")
	r.waitKind(c1.ID(), ivr.EvQueued)
	c2 := r.call("3337654321")
	r.waitPrompt(c2.ID(), "node:root")
	press(t, c2, "12")
	r.waitKind(c2.ID(), ivr.EvQueued)

	second := newController(t, r.rig, func(o *ivr.Options) { o.Queues = r.q })
	for _, c := range []*arisim.Call{c1, c2} {
		if e := second.waitKind(c.ID(), ivr.EvRoute); e.Group != "lotto2" || e.Reason != "resumed in queue" {
			t.Fatalf("resumed %+v", e)
		}
	}
	if p, err := r.q.Position(context.Background(), c2.ID()); err != nil || p.Position != 2 {
		t.Fatalf("second caller after the restart: %+v %v", p, err)
	}
	r.sim.SetEndpoint("PJSIP/op202", answerAfter(time.Second))
	r.available("op202")
	if op := second.waitKind(c1.ID(), ivr.EvAnswered).Operator; op != "op202" {
		t.Fatalf("answered by %s", op)
	}
	for _, c := range []*arisim.Call{c1, c2} {
		c.Hangup()
		second.outcome(c.ID())
	}
	for _, e := range r.eventsOf(c1.ID()) {
		if e.Kind == ivr.EvOutcome {
			t.Errorf("the stopped controller ended the call: %+v", e)
		}
	}
}

// Two controllers (two ivrd, each with its Asterisk) share one database:
// callers arriving at both are served by the same operators, each
// operator has one call at a time, and every caller is answered once.
func TestQueueTwoInstancesShareOperators(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	tune := func(cfg *menu.Config) { cfg.Group("lotto2").Queue.WrapUp = 0 }
	a := newQueueRig(t, url, tune)
	b := newQueueRig(t, url, tune, func(o *simdesk.Options) {
		o.Clock = a.clk       // one time for both records
		o.SystemName = "ast2" // distinct channel ids, as asterisk.conf's systemname gives
	})
	talk := arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second, HangupAfter: 8 * time.Second}
	for _, r := range []*qrig{a, b} {
		r.sim.SetEndpoint("PJSIP/op201", talk)
		r.sim.SetEndpoint("PJSIP/op202", talk)
	}
	a.available("op201", "op202")
	const perInstance = 4
	type placed struct {
		r *qrig
		c *arisim.Call
	}
	var calls []placed
	for i := range perInstance {
		for _, r := range []*qrig{a, b} {
			c := r.call(fmt.Sprintf("33312340%02d", len(calls)))
			calls = append(calls, placed{r, c})
			_ = i
		}
	}
	var wg sync.WaitGroup
	for _, p := range calls {
		wg.Go(func() {
			p.r.waitPrompt(p.c.ID(), "node:root")
			if err := p.c.Press("12"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	type span struct {
		op         string
		start, end time.Time
	}
	var spans []span
	for _, p := range calls {
		out := p.r.outcome(p.c.ID())
		if out.Outcome != string(tickets.OutcomeAnswered) {
			t.Errorf("call %s: %s\n%s", p.c.ID(), out.Outcome, p.r.transcript(p.c.ID()))
			continue
		}
		call, _, _ := p.r.mem.Call(p.c.ID())
		spans = append(spans, span{call.Operator, call.OperatorAnsweredAt, call.EndedAt})
		n := 0
		for _, e := range p.r.eventsOf(p.c.ID()) {
			if e.Kind == ivr.EvAnswered {
				n++
			}
		}
		if n != 1 {
			t.Errorf("call %s answered %d times", p.c.ID(), n)
		}
	}
	for i, x := range spans {
		for _, y := range spans[i+1:] {
			if x.op == y.op && x.start.Before(y.end) && y.start.Before(x.end) {
				t.Errorf("%s had two calls at once: %v–%v and %v–%v", x.op, x.start, x.end, y.start, y.end)
			}
		}
	}
}

// TestQueueServedCallRequests keeps the price of the commonest call in
// ARI requests: keys through the menu, a free operator who answers, the
// operator ending the conversation. Each request costs ivrd and Asterisk
// CPU (the load benchmark on a real Asterisk): a change that adds one to
// every call must say so here.
func TestQueueServedCallRequests(t *testing.T) {
	r := newQueueRig(t, "", nil)
	r.sim.SetEndpoint("PJSIP/op201", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 500 * time.Millisecond, HangupAfter: 3 * time.Second})
	r.available("op201")
	before := r.sim.Stats().Requests
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	if op := r.answeredBy(c.ID()); op != "op201" {
		t.Fatalf("answered by %s", op)
	}
	if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeAnswered) {
		t.Fatalf("outcome %+v", out)
	}
	waitUntil(t, "no channel left", func() bool { return r.sim.Stats().ActiveChannels == 0 })
	after := r.sim.Stats().Requests
	got := map[string]int64{}
	for route, n := range after {
		if d := n - before[route]; d > 0 {
			got[route] = d
		}
	}
	want := map[string]int64{
		"POST /channels/{channelId}/answer":            1,
		"POST /channels/{channelId}/variable":          1, // the checkpoint of the sub-menu (none for the root)
		"POST /channels/{channelId}/play/{playbackId}": 4, // root, sub-menu, transfer, ticket number
		"DELETE /playbacks/{playbackId}":               2, // two prompts cut by keys
		"POST /channels/{channelId}/ring":              1, // ringback while the free operator's phone rings
		"POST /channels":                               1, // the operator's leg
		"POST /bridges/{bridgeId}":                     1, // made when the operator answers
		"POST /bridges/{bridgeId}/addChannel":          2,
		"DELETE /bridges/{bridgeId}":                   1,
		"DELETE /channels/{channelId}":                 1,
	}
	if !maps.Equal(got, want) {
		t.Errorf("requests of a served call:\n got %v\nwant %v", got, want)
	}
}

// An operator rung at once who hangs up as they answer leaves the caller
// in the queue, not lost: the next free operator takes the call.
func TestQueueOperatorGoneAsAnswering(t *testing.T) {
	r := newQueueRig(t, "", nil)
	r.sim.SetEndpoint("PJSIP/op201", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 500 * time.Millisecond, HangupAfter: time.Millisecond})
	r.sim.SetEndpoint("PJSIP/op202", answerAfter(time.Second))
	r.available("op201", "op202") // op201 idle longest: rung first
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	if op := r.answeredBy(c.ID()); op != "op202" {
		t.Fatalf("answered by %s, want op202:\n%s", op, r.transcript(c.ID()))
	}
	c.Hangup()
	if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeAnswered) {
		t.Fatalf("outcome %+v", out)
	}
}
