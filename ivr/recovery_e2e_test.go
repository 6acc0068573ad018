package ivr_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// A controller that stops (a crash, a restart) and the one that takes
// over: a conversation goes on with the same operator and ends as any
// answered call; a queued caller keeps their place; callers in the menu
// go on at the node they were at, a PIN branch asking for the PIN again.
func TestTakeoverKeepsEveryCall(t *testing.T) {
	r := newQueueRig(t, "", nil)
	talking, queued, inMenu, opLeg := r.callsInEveryState()
	atPIN := r.call("3334444444")
	r.waitPrompt(atPIN.ID(), "node:root")
	press(t, atPIN, "4")
	r.waitPrompt(atPIN.ID(), "system:pin_ask")

	second := newController(t, r.rig, func(o *ivr.Options) { o.Queues = r.q })

	if e := second.waitKind(talking.ID(), ivr.EvAnswered); e.Operator != "op201" || e.Reason != "resumed talking" {
		t.Fatalf("conversation taken over: %+v", e)
	}
	if e := second.waitKind(queued.ID(), ivr.EvRoute); e.Reason != "resumed in queue" || e.Group != "lotto2" {
		t.Fatalf("queued caller: %+v", e)
	}
	if p, err := r.q.Position(context.Background(), queued.ID()); err != nil || p.Position != 1 {
		t.Fatalf("queued caller's place: %+v %v", p, err)
	}
	p := second.waitPrompt(inMenu.ID(), "system:technical_problem")
	if !slices.Equal(p.Prompt, []string{"system:technical_problem", "node:2"}) {
		t.Fatalf("menu caller resumed with %v", p.Prompt)
	}
	p = second.waitPrompt(atPIN.ID(), "system:technical_problem")
	if !slices.Equal(p.Prompt, []string{"system:technical_problem", "system:pin_ask"}) {
		t.Fatalf("PIN caller resumed with %v", p.Prompt)
	}
	press(t, inMenu, "1")
	if e := second.waitKind(inMenu.ID(), ivr.EvRoute); e.Group != "pct-libero-foro" {
		t.Fatalf("menu caller routed to %+v", e)
	}

	// The conversation went on: the operator's leg is still up until the
	// caller hangs up, then the operator wraps up and takes the next caller.
	leg := opLeg()
	if _, ended := leg.Ended(); ended {
		t.Fatal("the operator's leg was hung up by the takeover")
	}
	if err := talking.Hangup(); err != nil {
		t.Fatal(err)
	}
	out := second.outcome(talking.ID())
	if out.Outcome != string(tickets.OutcomeAnswered) || out.Group != "lotto2" {
		t.Fatalf("conversation outcome %+v\n%s", out, second.transcript(talking.ID()))
	}
	waitDone(t, leg)
	call, _, _ := r.mem.Call(talking.ID())
	if call.HangupBy != tickets.HangupCaller || call.Operator != "op201" || call.EndedAt.IsZero() || call.Outcome != tickets.OutcomeAnswered {
		t.Errorf("conversation's call record %+v", call)
	}
	if st := r.operator("op201").State; st == queues.OnCall {
		t.Errorf("op201 still on call after the conversation")
	}
	if st := r.sim.Stats(); st.ActiveBridges > 1 {
		t.Errorf("%d bridges left (the queued caller's only)", st.ActiveBridges)
	}
	for _, c := range []*arisim.Call{queued, inMenu, atPIN} {
		c.Hangup()
		second.outcome(c.ID())
	}
	for _, c := range []*arisim.Call{talking, queued, inMenu, atPIN} {
		for _, e := range r.eventsOf(c.ID()) {
			if e.Kind == ivr.EvOutcome {
				t.Errorf("the stopped controller ended %s: %+v", c.ID(), e)
			}
		}
	}
}

// A request being recorded when the controller stops is kept: Asterisk
// goes on recording and the new controller attaches it to the ticket.
func TestTakeoverKeepsARecording(t *testing.T) {
	saturday20 := time.Date(2026, 11, 21, 20, 0, 0, 0, mustLoc("Europe/Rome"))
	r := newRig(t, saturday20)
	c := r.call("3331234567", arisim.CallOptions{SpeakOnRecord: 8 * time.Second})
	r.waitPrompt(c.ID(), "system:record_offer")
	press(t, c, "1")
	r.waitKind(c.ID(), ivr.EvRecording)
	second := newController(t, r)
	second.waitFor(c.ID(), "resumed recording", func(e ivr.Event) bool { return e.Kind == ivr.EvResumed && e.Reason == "recording" })
	msg := second.waitKind(c.ID(), ivr.EvMessage)
	if msg.Seconds < 8 {
		t.Errorf("recorded %v s", msg.Seconds)
	}
	if out := second.outcome(c.ID()); out.Outcome != string(tickets.OutcomeAfterHoursMessage) {
		t.Fatalf("outcome %+v\n%s", out, second.transcript(c.ID()))
	}
	call, _, _ := r.mem.Call(c.ID())
	tk, att, _ := r.mem.Ticket(call.TicketID)
	if len(att) != 1 || att[0].Duration < 8*time.Second || tk.Source != tickets.SourceAfterHours {
		t.Errorf("ticket %+v attachments %+v", tk, att)
	}
	for _, e := range r.eventsOf(c.ID()) {
		if e.Kind == ivr.EvMessage || e.Kind == ivr.EvOutcome {
			t.Errorf("the stopped controller kept the message itself: %+v", e)
		}
	}
}

// Operators held by calls that are over (their end missed in a crash) are
// freed; those of live calls, and of calls of another Asterisk node, are
// not.
func TestReconcileOperators(t *testing.T) {
	r := newQueueRig(t, "", nil)
	ctx := context.Background()
	r.sim.SetEndpoint("PJSIP/op202", answerAfter(time.Second))
	r.pause("op201")
	r.available("op202")
	live := r.call("3331111111")
	r.waitPrompt(live.ID(), "node:root")
	press(t, live, "12")
	if op := r.answeredBy(live.ID()); op != "op202" {
		t.Fatalf("answered by %s", op)
	}
	// op201 on a call this Asterisk no longer has; op101 on a call of
	// another node.
	hold := func(login, callID, group string) {
		t.Helper()
		noErrT(t, r.q.SetState(ctx, login, queues.Available, ""))
		if _, err := r.q.Enqueue(ctx, queues.Entry{CallID: callID, Group: group}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, login+" offered", func() bool { return r.operator(login).State == queues.Offered })
		if _, err := r.q.Answer(ctx, callID, login); err != nil {
			t.Fatal(err)
		}
	}
	hold("op201", "1795000000.77", "lotto2")
	if _, _, err := r.store.OpenCall(ctx, tickets.NewCall{ChannelID: "ast2-1795000000.78", AsteriskNode: "ast2",
		StartedAt: time.Now(), Source: tickets.SourcePhone, Priority: tickets.PriorityMedium}); err != nil {
		t.Fatal(err)
	}
	hold("op101", "ast2-1795000000.78", "accoglienza")

	r.ctrl.ReconcileOperators(ctx)
	if st := r.operator("op201").State; st == queues.OnCall {
		t.Errorf("op201 still on a call that is over")
	}
	if op := r.operator("op202"); op.State != queues.OnCall || op.CallID != live.ID() {
		t.Errorf("op202, talking, was changed: %+v", op)
	}
	if op := r.operator("op101"); op.State != queues.OnCall {
		t.Errorf("op101, on another node's call, was changed: %+v", op)
	}
	log, err := r.q.StateLog(ctx, "", 10)
	if err != nil || len(log) != 1 || log[0].Login != "op201" || log[0].By != queues.ByReconcile {
		t.Errorf("state log %+v %v", log, err)
	}
	live.Hangup()
	r.outcome(live.ID())
}

// Calls cut by a restart of Asterisk are recorded as such, not as hung up
// by their callers.
func TestAsteriskRestartIsRecordedAsTheCause(t *testing.T) {
	r := newRig(t, monday10)
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	r.sim.Restart()
	if h := r.waitKind(c.ID(), ivr.EvHangup); h.By != string(tickets.HangupSystem) {
		t.Fatalf("hangup by %q, want system\n%s", h.By, r.transcript(c.ID()))
	}
	r.outcome(c.ID())
	call, evs, _ := r.mem.Call(c.ID())
	if call.HangupBy != tickets.HangupSystem || call.EndedAt.IsZero() {
		t.Errorf("call record %+v", call)
	}
	if last := evs[len(evs)-1]; last.Kind != tickets.EventHangup || !strings.Contains(last.Detail, "Asterisk restart") {
		t.Errorf("last event %+v", last)
	}
}

func noErrT(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Calls that end while no controller runs (ivrd down) leave no record open
// and no operator held: the next controller closes them when it connects.
func TestCallsEndedWhileNobodyWatchedAreClosed(t *testing.T) {
	r := newQueueRig(t, "", nil)
	r.sim.SetEndpoint("PJSIP/op201", answerAfter(time.Second))
	r.pause("op202")
	r.available("op201")
	talking := r.call("3331111111")
	r.waitPrompt(talking.ID(), "node:root")
	press(t, talking, "12")
	r.answeredBy(talking.ID())
	queued := r.call("3332222222")
	r.waitPrompt(queued.ID(), "node:root")
	press(t, queued, "12")
	r.waitKind(queued.ID(), ivr.EvQueued)

	// ivrd dies: nothing drives the calls, and both callers hang up.
	r.sim.RefuseWebSockets(true)
	r.ctrl.Release()
	r.conn.Close()
	// Its sessions end (each writes "taken over" as it goes) before the
	// next controller starts: otherwise that line could land after the
	// next controller's closing one.
	waitUntil(t, "the first controller's calls ended", func() bool { return r.ctrl.ActiveCalls() == 0 })
	for _, c := range []*arisim.Call{talking, queued} {
		if err := c.Hangup(); err != nil {
			t.Fatal(err)
		}
	}
	r.sim.RefuseWebSockets(false)
	second := newController(t, r.rig, func(o *ivr.Options) { o.Queues = r.q })
	waitUntil(t, "records closed", func() bool {
		a, _, _ := r.mem.Call(talking.ID())
		b, _, _ := r.mem.Call(queued.ID())
		return !a.EndedAt.IsZero() && !b.EndedAt.IsZero()
	})
	a, aEvents, _ := r.mem.Call(talking.ID())
	b, bEvents, _ := r.mem.Call(queued.ID())
	if a.Outcome != tickets.OutcomeAnswered || a.HangupBy != tickets.HangupSystem || b.Outcome != tickets.OutcomeAbandoned {
		t.Errorf("records %+v / %+v", a, b)
	}
	for _, evs := range [][]tickets.CallEvent{aEvents, bEvents} {
		if last := evs[len(evs)-1]; last.Kind != tickets.EventHangup || !strings.Contains(last.Detail, "no controller") {
			t.Errorf("last event %+v", last)
		}
	}
	waitUntil(t, "op201 freed", func() bool { return r.operator("op201").State != queues.OnCall })
	// The operator's leg, left alone in the caller's bridge, is hung up and
	// the bridge deleted.
	waitUntil(t, "nothing left in Asterisk", func() bool {
		st := r.sim.Stats()
		return st.ActiveBridges == 0 && r.sim.ActiveChannels() == 0
	})
	if _, err := r.q.Position(context.Background(), queued.ID()); err == nil {
		t.Error("the gone caller is still queued")
	}
	_ = second
}

// A holding bridge of the call's name that is still there (being
// destroyed, or left by a stopped controller) is used, not a reason to
// lose the caller (409 Conflict on create).
func TestLeftoverHoldingBridgeIsReused(t *testing.T) {
	r := newRig(t, monday10)
	r.sim.SetEndpoint("PJSIP/op302", answerAfter(time.Second))
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	req, err := http.NewRequest(http.MethodPost, r.sim.URL()+"/bridges/qb-"+c.ID()+"?type=mixing", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(simdesk.User, simdesk.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("leftover bridge: %v %v", err, resp)
	}
	resp.Body.Close()
	press(t, c, "13")
	if ans := r.waitKind(c.ID(), ivr.EvAnswered); ans.Group != "lotto3" {
		t.Fatalf("answered %+v\n%s", ans, r.transcript(c.ID()))
	}
	c.Hangup()
	if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeAnswered) {
		t.Fatalf("outcome %+v", out)
	}
}

// callsInEveryState puts a caller talking with op201 (lotto2; op202 on a
// break), one queued for lotto2 behind it, one in menu 2, and returns
// them with op201's leg (once answered).
func (r *qrig) callsInEveryState() (talking, queued, inMenu *arisim.Call, opLeg func() *arisim.Call) {
	r.t.Helper()
	var leg atomic.Pointer[arisim.Call]
	r.sim.SetEndpoint("PJSIP/op201", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second,
		OnCall: func(c *arisim.Call) { leg.Store(c) }})
	r.pause("op202")
	r.available("op201")
	talking = r.call("3331111111")
	r.waitPrompt(talking.ID(), "node:root")
	press(r.t, talking, "12")
	if op := r.answeredBy(talking.ID()); op != "op201" {
		r.t.Fatalf("answered by %s", op)
	}
	queued = r.call("3332222222")
	r.waitPrompt(queued.ID(), "node:root")
	press(r.t, queued, "12")
	r.waitKind(queued.ID(), ivr.EvQueued)
	inMenu = r.call("3333333333")
	r.waitPrompt(inMenu.ID(), "node:root")
	press(r.t, inMenu, "2")
	r.waitPrompt(inMenu.ID(), "node:2")
	return talking, queued, inMenu, leg.Load
}
