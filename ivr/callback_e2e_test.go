package ivr_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

var rome = monday10.Location()

// withCallback offers callbacks in lotto2 (as validation fills them in).
func withCallback(tune func(*menu.Callback)) func(*menu.Config) {
	return func(cfg *menu.Config) {
		cb := &cfg.Group("lotto2").Callback
		*cb = menu.Callback{Enabled: true, Key: "2", OtherNumber: true, Endpoint: "PJSIP/{national}@carrier",
			CallerID: "800749049", RingTimeout: 20 * time.Second, Retries: new(2), RetryInterval: 5 * time.Minute,
			ClosingMargin: 15 * time.Minute, Pos: cb.Pos}
		if tune != nil {
			tune(cb)
		}
	}
}

// askCallback routes a call to lotto2 and asks for a callback on the
// caller id once the queue announces the key.
func (r *qrig) askCallback(from string) *arisim.Call {
	r.t.Helper()
	c := r.call(from)
	r.waitPrompt(c.ID(), "node:root")
	press(r.t, c, "12")
	r.waitPrompt(c.ID(), "system:callback_offer")
	press(r.t, c, "2")
	r.waitPrompt(c.ID(), "system:callback_choose")
	press(r.t, c, "1")
	return c
}

// waitPromptN waits for the nth time a prompt started.
func (r *qrig) waitPromptN(callID, name string, n int) ivr.Event {
	r.t.Helper()
	seen := 0
	return r.waitFor(callID, "prompt "+name, func(e ivr.Event) bool {
		if e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, name) {
			seen++
		}
		return seen == n
	})
}

func (r *qrig) callbackResults(callID string) []string {
	var out []string
	for _, e := range r.eventsOf(callID) {
		if e.Kind == ivr.EvCallback {
			out = append(out, strings.TrimSpace(e.Result+" "+e.Operator))
		}
	}
	return out
}

// A caller asks for a callback by key on the caller id and hangs up; the
// place is kept (a caller queued later is behind it); when an operator is
// free the callback is offered first, the operator's phone rings with the
// ticket, then the caller is called through the trunk with the help
// desk's number and bridged with the operator.
func TestCallbackKeepsPlaceAndIsMade(t *testing.T) {
	r := newQueueRig(t, "", withCallback(nil))
	var callee *arisim.Call
	calleeRang := make(chan struct{})
	r.sim.SetEndpoint("PJSIP/3331234567@carrier", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 4 * time.Second,
		OnCall: func(c *arisim.Call) { callee = c; close(calleeRang) }})
	r.sim.SetEndpoint("PJSIP/op201", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 2 * time.Second, HangupAfter: time.Minute})
	r.available("op201", "op202")
	r.pause("op201", "op202")

	a := r.askCallback("3331234567")
	if out := r.outcome(a.ID()); out.Outcome != "callback_requested" {
		t.Fatalf("outcome %+v\n%s", out, r.transcript(a.ID()))
	}
	r.waitPrompt(a.ID(), "system:callback_confirmed")
	waitDone(t, a)
	if got := r.callbackResults(a.ID()); !slices.Equal(got, []string{"requested"}) {
		t.Fatalf("callback steps %v", got)
	}

	b := r.call("3339876543")
	r.waitPrompt(b.ID(), "node:root")
	press(t, b, "12")
	if pos := r.waitKind(b.ID(), ivr.EvQueued).Position; pos != 2 {
		t.Fatalf("the later caller is at %d, want 2 (behind the callback)\n%s", pos, r.transcript(b.ID()))
	}

	r.available("op201")
	if ev := r.waitKind(a.ID(), ivr.EvRinging); ev.Operator != "op201" {
		t.Fatalf("rang %+v", ev)
	}
	<-calleeRang
	if ev := r.answeredBy(a.ID()); ev != "op201" {
		t.Fatalf("callback answered by %s", ev)
	}
	if got := r.callbackResults(a.ID()); !slices.Equal(got, []string{"requested", "offered", "calling op201", "answered op201"}) {
		t.Errorf("callback steps %v", got)
	}
	for _, e := range r.eventsOf(b.ID()) {
		if e.Kind == ivr.EvAnswered || e.Kind == ivr.EvRinging {
			t.Fatalf("the later caller was served before the callback:\n%s", r.transcript(b.ID()))
		}
	}
	if op := r.operator("op201"); op.State != queues.OnCall || op.CallID != a.ID() {
		t.Errorf("op201 during the callback: %+v", op)
	}
	// The reconciliation of operators (every minute in ivrd) leaves the
	// callback's operator alone although the caller's first channel is gone.
	r.ctrl.ReconcileOperators(context.Background())
	if op := r.operator("op201"); op.State != queues.OnCall {
		t.Errorf("op201 released by the reconciliation during the callback: %+v", op)
	}
	// The operator ends the conversation after a minute: the callee's
	// channel goes with it.
	waitDone(t, callee)
	b.Hangup()
	r.outcome(b.ID())
	r.waitState("op201", queues.WrapUp)

	want := []string{"queued lotto2", "callback_requested lotto2", "offered lotto2 op201", "callback_made lotto2 op201",
		"callback_answered lotto2 op201", "answered lotto2 op201"}
	waitUntil(t, "the callback's timeline", func() bool { return isSubsequence(want, r.timeline(a.ID())) })
	call, _, _ := r.mem.Call(a.ID())
	if call.Outcome != "callback_requested" {
		t.Errorf("call record %+v", call)
	}
	tk, _, _ := r.mem.Ticket(call.TicketID)
	if tk.Assignee != "op201" || tk.Status != tickets.StatusInProgress {
		t.Errorf("ticket %+v", tk)
	}
	st, err := r.q.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(st, func(g queues.GroupStats) bool { return g.Group == "lotto2" })
	if g := st[i]; g.CallbacksRequested != 1 || g.CallbacksMade != 1 || g.CallbacksAnswered != 1 || g.CallbacksWaiting != 0 || g.CallbackDelay <= 0 {
		t.Errorf("wallboard %+v", g)
	}
}

// A number keyed in is read back and confirmed; a premium number is
// refused. The callee is busy: the callback is retried at the interval,
// in its place, then fails; the ticket goes back to the group, raised to
// high priority, with the failure in the call's timeline.
func TestCallbackRetriesThenFails(t *testing.T) {
	r := newQueueRig(t, "", withCallback(func(cb *menu.Callback) { cb.Retries = new(1); cb.RetryInterval = 2 * time.Minute }))
	r.sim.SetEndpoint("PJSIP/0612345678@carrier", arisim.EndpointBehavior{Mode: arisim.Busy})
	r.sim.SetEndpoint("PJSIP/op201", answerAfter(2*time.Second))
	r.available("op201")
	r.pause("op201")

	a := r.call("3331234567")
	r.waitPrompt(a.ID(), "node:root")
	press(t, a, "12")
	r.waitPrompt(a.ID(), "system:callback_offer")
	press(t, a, "2")
	r.waitPrompt(a.ID(), "system:callback_choose")
	press(t, a, "2")
	r.waitPrompt(a.ID(), "system:callback_ask_number")
	press(t, a, "899123456#")
	r.waitPrompt(a.ID(), "system:callback_premium")
	r.waitPromptN(a.ID(), "system:callback_ask_number", 2)
	press(t, a, "00442071234567#")
	r.waitPrompt(a.ID(), "system:callback_international")
	r.waitPromptN(a.ID(), "system:callback_ask_number", 3)
	press(t, a, "0612345678#")
	if ev := r.waitPrompt(a.ID(), "system:callback_read_back"); !slices.Contains(ev.Prompt, "digits:0612345678") {
		t.Fatalf("read back %v", ev.Prompt)
	}
	r.waitPrompt(a.ID(), "system:callback_confirm")
	press(t, a, "1")
	if out := r.outcome(a.ID()); out.Outcome != "callback_requested" {
		t.Fatalf("outcome %+v\n%s", out, r.transcript(a.ID()))
	}
	waitDone(t, a)

	r.available("op201")
	failed := r.waitFor(a.ID(), "failed callback", func(e ivr.Event) bool { return e.Kind == ivr.EvCallback && e.Result == "failed" })
	if failed.Reason != "busy" {
		t.Errorf("failed %+v", failed)
	}
	if got := r.callbackResults(a.ID()); !slices.Equal(got, []string{"requested", "offered", "calling op201", "no_answer op201",
		"offered", "calling op201", "failed op201"}) {
		t.Errorf("callback steps %v", got)
	}
	want := []string{"callback_requested lotto2", "callback_made lotto2 op201", "callback_no_answer lotto2 op201",
		"callback_made lotto2 op201", "callback_failed lotto2 op201"}
	waitUntil(t, "the failed callback in the timeline", func() bool { return isSubsequence(want, r.timeline(a.ID())) })
	// The second attempt is offered no sooner than the retry time the
	// first one set (the queue's clock is the desk's).
	_, evs, _ := r.mem.Call(a.ID())
	var retryAt time.Time
	for _, e := range evs {
		if at, ok := strings.CutPrefix(e.Detail, "busy; next attempt at "); ok && e.Kind == "callback_no_answer" {
			tod, err := time.Parse("15:04:05", at)
			if err != nil {
				t.Fatal(err)
			}
			y, m, d := e.At.In(rome).Date()
			retryAt = time.Date(y, m, d, tod.Hour(), tod.Minute(), tod.Second(), 0, rome)
			if retryAt.Sub(e.At) < 2*time.Minute-time.Second {
				t.Errorf("next attempt at %s, %s after the first", at, retryAt.Sub(e.At))
			}
		}
		if e.Kind == tickets.EventOffered && !retryAt.IsZero() {
			if e.At.Before(retryAt) {
				t.Errorf("retried at %s, before the retry time %s", e.At, retryAt)
			}
			break
		}
	}
	if retryAt.IsZero() {
		t.Errorf("no retry in the timeline %+v", evs)
	}
	call, _, _ := r.mem.Call(a.ID())
	if i := slices.IndexFunc(evs, func(e tickets.CallEvent) bool { return e.Kind == "callback_requested" }); i < 0 ||
		!strings.Contains(evs[i].Detail, "+390612345678") {
		t.Errorf("the request does not say the number: %+v", evs)
	}
	waitUntil(t, "the ticket back to the group", func() bool {
		tk, _, _ := r.mem.Ticket(call.TicketID)
		return tk.Priority == tickets.PriorityHigh && tk.Assignee == "" && tk.Group == "lotto2" && tk.Status == tickets.StatusNew
	})
	if _, err := r.q.Position(context.Background(), a.ID()); err == nil {
		t.Error("the failed callback is still queued")
	}
	r.waitState("op201", queues.Available)
}

// A callback asked for ten minutes before closing (on a number keyed in,
// after one that is not a number) is made at the next opening (Tuesday
// 08:00): the caller hears when, and no operator is rung meanwhile
// although one is free.
func TestCallbackNearClosingWaitsForTheOpening(t *testing.T) {
	evening := time.Date(2026, 11, 23, 17, 50, 0, 0, monday10.Location())
	r := newQueueRigAt(t, evening, "", withCallback(nil))
	r.available("op201")
	r.pause("op201")
	a := r.call("3331234567")
	r.waitPrompt(a.ID(), "node:root")
	press(t, a, "12")
	r.waitPrompt(a.ID(), "system:callback_offer")
	press(t, a, "2")
	r.waitPrompt(a.ID(), "system:callback_choose")
	press(t, a, "2")
	r.waitPrompt(a.ID(), "system:callback_ask_number")
	press(t, a, "712345678#")
	r.waitPrompt(a.ID(), "system:callback_invalid")
	r.waitPromptN(a.ID(), "system:callback_ask_number", 2)
	press(t, a, "3331234567#")
	r.waitPrompt(a.ID(), "system:callback_confirm")
	press(t, a, "1")
	ev := r.waitPrompt(a.ID(), "system:callback_scheduled")
	if !slices.Contains(ev.Prompt, "sound:digits/day-2") || !slices.Contains(ev.Prompt, "number:8") {
		t.Errorf("the opening said as %v, want Tuesday at 8", ev.Prompt)
	}
	if out := r.outcome(a.ID()); out.Outcome != "callback_requested" {
		t.Fatalf("outcome %+v", out)
	}
	if got := r.callbackResults(a.ID()); !slices.Equal(got, []string{"scheduled"}) {
		t.Errorf("callback steps %v", got)
	}
	_, evs, _ := r.mem.Call(a.ID())
	if i := slices.IndexFunc(evs, func(e tickets.CallEvent) bool { return e.Kind == "callback_requested" }); i < 0 ||
		!strings.Contains(evs[i].Detail, "not before 2026-11-24 08:00") {
		t.Errorf("timeline %+v", evs)
	}
	r.available("op201")
	// Two simulated minutes: the queue's maintenance runs many times.
	time.Sleep(r.clk.Wall(2 * time.Minute))
	if op := r.operator("op201"); op.State != queues.Available {
		t.Fatalf("op201 %s before the opening", op.State)
	}
	if p, err := r.q.Position(context.Background(), a.ID()); err != nil || p.Position != 1 {
		t.Fatalf("the scheduled callback: %+v, %v", p, err)
	}
}

// The last attempt fails (the caller's line unreachable): on the real
// ticket store the ticket goes back to the group at high priority, with an
// internal note saying why and to whom, and the call's timeline ends with
// the failed callback.
func TestCallbackFailedLeavesATaskOnTheTicket(t *testing.T) {
	ctx := context.Background()
	url := pgtest.DatabaseURL(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := tickets.New(pool, tickets.Options{Location: rome})
	r := newQueueRig(t, url, withCallback(func(cb *menu.Callback) { cb.Retries = new(0) }), withStore(store))
	r.sim.SetEndpoint("PJSIP/3331234567@carrier", arisim.EndpointBehavior{Mode: arisim.Unavailable})
	r.sim.SetEndpoint("PJSIP/op201", answerAfter(2*time.Second))
	r.available("op201")
	r.pause("op201")
	a := r.askCallback("3331234567")
	if out := r.outcome(a.ID()); out.Outcome != "callback_requested" {
		t.Fatalf("outcome %+v", out)
	}
	waitDone(t, a)
	r.available("op201")
	failed := r.waitFor(a.ID(), "failed callback", func(e ivr.Event) bool { return e.Kind == ivr.EvCallback && e.Result == "failed" })
	if !strings.HasPrefix(failed.Reason, "unreachable") {
		t.Errorf("failed %+v", failed)
	}
	call, err := store.FindCallByChannel(ctx, a.ID())
	if err != nil {
		t.Fatal(err)
	}
	system := tickets.Viewer{Kind: tickets.ViewerSystem}
	waitUntil(t, "the note on the ticket", func() bool {
		arts, err := store.Articles(ctx, call.TicketID, system)
		return err == nil && slices.ContainsFunc(arts, func(a tickets.Article) bool {
			return a.Internal && strings.Contains(a.Body, "Richiamata non riuscita al numero +393331234567 dopo 1 tentativi")
		})
	})
	tk, err := store.FindTicketByID(ctx, call.TicketID, system)
	if err != nil || tk.Priority != tickets.PriorityHigh || tk.Group != "lotto2" || tk.Assignee != "" || tk.Status != tickets.StatusNew {
		t.Errorf("ticket %+v, %v", tk, err)
	}
	waitUntil(t, "the failed callback in the timeline", func() bool {
		evs, err := store.CallEvents(ctx, call.ID)
		return err == nil && slices.ContainsFunc(evs, func(e tickets.CallEvent) bool { return e.Kind == "callback_failed" && e.Operator == "op201" })
	})
	r.waitState("op201", queues.Available)
}

// With voicemail detection, the call to the caller goes through AMD() in
// the dialplan first: an answering machine counts as no answer (the
// operator is not put through to a greeting) and the attempt is retried;
// at the retry a person answers and meets the operator.
func TestCallbackVoicemailDetected(t *testing.T) {
	r := newQueueRig(t, "", withCallback(func(cb *menu.Callback) {
		cb.DetectVoicemail, cb.AMDContext = true, menu.DefaultCallbackAMDContext
		cb.Retries, cb.RetryInterval = new(1), 2*time.Minute
	}))
	r.sim.SetEndpoint("PJSIP/3331234567@carrier", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 3 * time.Second,
		AnsweringMachine: true, HangupAfter: time.Minute})
	r.sim.SetEndpoint("PJSIP/op201", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 2 * time.Second, HangupAfter: 5 * time.Minute})
	r.available("op201")
	r.pause("op201")

	a := r.askCallback("3331234567")
	if out := r.outcome(a.ID()); out.Outcome != "callback_requested" {
		t.Fatalf("outcome %+v\n%s", out, r.transcript(a.ID()))
	}
	waitDone(t, a)
	r.available("op201")
	noAnswer := r.waitFor(a.ID(), "the machine's greeting", func(e ivr.Event) bool {
		return e.Kind == ivr.EvCallback && e.Result == "no_answer"
	})
	if !strings.HasPrefix(noAnswer.Reason, "voicemail (MACHINE LONGGREETING") {
		t.Errorf("no answer because %q, want the AMD verdict", noAnswer.Reason)
	}
	// The operator never met the machine.
	for _, e := range r.eventsOf(a.ID()) {
		if e.Kind == ivr.EvAnswered {
			t.Fatalf("the operator was put through to the answering machine: %+v", e)
		}
	}
	// The person is back for the retry.
	r.sim.SetEndpoint("PJSIP/3331234567@carrier", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 3 * time.Second,
		HangupAfter: time.Minute})
	r.waitFor(a.ID(), "the person met the operator", func(e ivr.Event) bool { return e.Kind == ivr.EvAnswered && e.Operator == "op201" })
	if got := r.callbackResults(a.ID()); !slices.Equal(got[:6], []string{"requested", "offered", "calling op201", "no_answer op201",
		"offered", "calling op201"}) || !slices.Contains(got, "answered op201") {
		t.Errorf("callback steps %v", got)
	}
	want := []string{"callback_requested lotto2", "callback_made lotto2 op201", "callback_no_answer lotto2 op201",
		"callback_made lotto2 op201", "callback_answered lotto2 op201", "answered lotto2 op201"}
	waitUntil(t, "the callback in the timeline", func() bool { return isSubsequence(want, r.timeline(a.ID())) })
	_, evs, _ := r.mem.Call(a.ID())
	if i := slices.IndexFunc(evs, func(e tickets.CallEvent) bool { return e.Kind == "callback_no_answer" }); i < 0 ||
		!strings.HasPrefix(evs[i].Detail, "voicemail (MACHINE") {
		t.Errorf("the timeline does not say a voicemail answered: %+v", evs)
	}
}
