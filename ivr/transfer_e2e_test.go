package ivr_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// phone follows what one party of the simulator hears: the bridge it is
// in and who with, music on hold, its end.
type phone struct {
	call *arisim.Call

	mu     sync.Mutex
	bridge string
	peers  []string
	moh    bool
	hungUp bool
}

func follow(c *arisim.Call) *phone {
	p := &phone{call: c}
	go func() {
		for {
			select {
			case e := <-c.Events():
				p.mu.Lock()
				switch e.Kind {
				case arisim.EventBridged:
					p.bridge, p.peers = e.Bridge, e.Peers
				case arisim.EventBridgePeers:
					if e.Bridge == p.bridge {
						p.peers = e.Peers
					}
				case arisim.EventUnbridged:
					if e.Bridge == p.bridge {
						p.bridge, p.peers = "", nil
					}
				case arisim.EventMOHStarted:
					p.moh = true
				case arisim.EventMOHStopped:
					p.moh = false
				case arisim.EventHangup:
					p.hungUp = true
				}
				p.mu.Unlock()
			case <-c.Done():
				// What is still buffered was read above first, if any.
				p.mu.Lock()
				p.hungUp = true
				p.mu.Unlock()
				return
			}
		}
	}()
	return p
}

// state is what the phone hears now: "gone", "music", "alone" or the ids
// of who it talks with, sorted and joined by "+".
func (p *phone) state() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.hungUp:
		return "gone"
	case p.moh:
		return "music"
	case len(p.peers) == 0:
		return "alone"
	}
	peers := slices.Clone(p.peers)
	slices.Sort(peers)
	return strings.Join(peers, "+")
}

// phones hands out the simulated phones of the operators (and outside
// numbers) as they ring.
type phones struct {
	mu   sync.Mutex
	byEP map[string][]*phone
}

func (ps *phones) answering(r *qrig, endpoint string, after time.Duration) {
	r.sim.SetEndpoint(endpoint, arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: after, OnCall: func(c *arisim.Call) {
		p := follow(c)
		ps.mu.Lock()
		ps.byEP[endpoint] = append(ps.byEP[endpoint], p)
		ps.mu.Unlock()
	}})
}

// nth waits for the nth call (1 is the first) to endpoint.
func (ps *phones) nth(t *testing.T, endpoint string, n int) *phone {
	t.Helper()
	var p *phone
	waitUntil(t, endpoint+" rung", func() bool {
		ps.mu.Lock()
		defer ps.mu.Unlock()
		if l := ps.byEP[endpoint]; len(l) >= n {
			p = l[n-1]
			return true
		}
		return false
	})
	return p
}

// xrig is a help desk with queues and the ticket store in PostgreSQL, its
// operator phones followed.
type xrig struct {
	*qrig
	store  *tickets.Store
	phones *phones
	reg    *prometheus.Registry
}

// metric is the value of the controller's counter name with labels
// (name=value pairs), 0 when it has none yet.
func (r *xrig) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
					return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}) {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func newXferRig(t *testing.T, tune func(*menu.Config)) *xrig {
	t.Helper()
	url := pgtest.DatabaseURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := tickets.New(pool, tickets.Options{Location: mustLoc("Europe/Rome")})
	reg := prometheus.NewRegistry()
	r := &xrig{qrig: newQueueRig(t, url, tune, withStore(store), func(o *simdesk.Options) { o.Registerer = reg }),
		store: store, phones: &phones{byEP: map[string][]*phone{}}, reg: reg}
	t.Cleanup(func() {
		// Nothing stranded: every channel hung up, every bridge gone.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if st := r.sim.Stats(); st.ActiveChannels == 0 && st.ActiveBridges == 0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		st := r.sim.Stats()
		t.Errorf("left in Asterisk: %d channels, %d bridges\n%s", st.ActiveChannels, st.ActiveBridges, r.allTranscripts())
	})
	return r
}

// answered calls lotto2 (menu 1, 2) and waits until op201 talks with the
// caller: the caller's phone, op201's.
func (r *xrig) answered(t *testing.T) (*arisim.Call, *phone, *phone) {
	t.Helper()
	r.phones.answering(r.qrig, "PJSIP/op201", 2*time.Second)
	r.available("op201")
	c := r.call("3331234567")
	caller := follow(c)
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	if op := r.answeredBy(c.ID()); op != "op201" {
		t.Fatalf("answered by %s", op)
	}
	op := r.phones.nth(t, "PJSIP/op201", 1)
	r.hears(t, caller, op.call.ID())
	return c, caller, op
}

func (r *xrig) act(t *testing.T, callID string, a ivr.Action) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.ctrl.Act(ctx, callID, a)
}

func (r *xrig) mustAct(t *testing.T, callID string, a ivr.Action) {
	t.Helper()
	if err := r.act(t, callID, a); err != nil {
		t.Fatalf("%s: %v\n%s", a.Kind, err, r.transcript(callID))
	}
}

// hears waits until p hears want (see phone.state).
func (r *xrig) hears(t *testing.T, p *phone, want ...string) {
	t.Helper()
	slices.Sort(want)
	w := strings.Join(want, "+")
	deadline := time.Now().Add(10 * time.Second)
	for p.state() != w {
		if time.Now().After(deadline) {
			t.Fatalf("%s hears %q, want %q\n%s", p.call.ID(), p.state(), w, r.allTranscripts())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// record waits for the call's record to be finished and returns it with
// its events and ticket.
func (r *xrig) record(t *testing.T, callID string) (tickets.Call, []tickets.CallEvent, tickets.Ticket) {
	t.Helper()
	r.outcome(callID)
	ctx := context.Background()
	var call tickets.Call
	waitUntil(t, "call finished", func() bool {
		var err error
		call, err = r.store.FindCallByChannel(ctx, callID)
		return err == nil && !call.EndedAt.IsZero()
	})
	evs, err := r.store.CallEvents(ctx, call.ID)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := r.store.FindTicketByID(ctx, call.TicketID, tickets.Viewer{Kind: tickets.ViewerSystem})
	if err != nil {
		t.Fatal(err)
	}
	return call, evs, tk
}

func findEvent(evs []tickets.CallEvent, kind tickets.EventKind) (tickets.CallEvent, bool) {
	for _, e := range evs {
		if e.Kind == kind {
			return e, true
		}
	}
	return tickets.CallEvent{}, false
}

func countEvents(evs []tickets.CallEvent, kind tickets.EventKind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// Hold: the caller hears music, alone; keys pressed meanwhile do nothing;
// resume puts the caller back with the operator, whose phone stayed up.
// The caller hanging up on hold ends the call for the operator too, the
// hold's length in the record.
func TestHoldAndResume(t *testing.T) {
	r := newXferRig(t, nil)
	c, caller, op := r.answered(t)
	if err := r.act(t, c.ID(), ivr.Action{Kind: ivr.ActResume, By: "op201"}); !errors.Is(err, ivr.ErrNotNow) {
		t.Fatalf("resume while talking: %v", err)
	}
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActHold, By: "op201"})
	r.hears(t, caller, "music")
	r.hears(t, op, "alone")
	if err := r.act(t, c.ID(), ivr.Action{Kind: ivr.ActHold, By: "op201"}); !errors.Is(err, ivr.ErrNotNow) {
		t.Fatalf("hold twice: %v", err)
	}
	// The break-out key of the queue and others: nothing happens.
	before := len(r.eventsOf(c.ID()))
	press(t, c, "*1#")
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActResume, By: "op201"})
	r.hears(t, caller, op.call.ID())
	for _, e := range r.eventsOf(c.ID())[before:] {
		if e.Kind == ivr.EvKeys || e.Kind == ivr.EvPrompt || e.Kind == ivr.EvRecording {
			t.Fatalf("keys on hold did something: %+v", e)
		}
	}
	if st := r.operator("op201").State; st != queues.OnCall {
		t.Fatalf("op201 %s after resume", st)
	}
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActHold, By: "op201"})
	r.hears(t, caller, "music")
	c.Hangup()
	r.hears(t, op, "gone")
	call, evs, tk := r.record(t, c.ID())
	if call.Outcome != tickets.OutcomeAnswered || call.HangupBy != tickets.HangupCaller || call.Operator != "op201" {
		t.Errorf("call %+v", call)
	}
	if countEvents(evs, ivr.EventOnHold) != 2 || countEvents(evs, ivr.EventOffHold) != 2 {
		t.Errorf("holds in the record: %v", eventKinds(evs))
	}
	for _, e := range evs {
		if e.Kind == ivr.EventOffHold && e.Duration <= 0 {
			t.Errorf("a hold without its length: %+v", e)
		}
	}
	if h, ok := findEvent(evs, ivr.EventHandled); ok {
		t.Errorf("a call one operator had: %+v (its talk time is the call's)", h)
	}
	if tk.Assignee != "op201" || tk.Group != "lotto2" {
		t.Errorf("ticket %+v", tk)
	}
	if st := r.operator("op201").State; st == queues.OnCall {
		t.Errorf("op201 still on call")
	}
	if n, s := r.metric(t, "ivr_holds_total", "group", "lotto2"), r.metric(t, "ivr_hold_seconds_total", "group", "lotto2"); n != 2 || s <= 0 {
		t.Errorf("/metrics: %v holds, %v s", n, s)
	}
}

// With on_hold: free the operator's phone is hung up on hold (the
// operator keeps the call) and rung again on resume.
func TestHoldFreesThePhone(t *testing.T) {
	r := newXferRig(t, func(cfg *menu.Config) { cfg.Group("lotto2").OnHold = menu.HoldFree })
	c, caller, op := r.answered(t)
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActHold, By: "op201"})
	r.hears(t, caller, "music")
	r.hears(t, op, "gone")
	if st := r.operator("op201").State; st != queues.OnCall {
		t.Fatalf("op201 %s on hold, want on_call (the call is still theirs)", st)
	}
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActResume, By: "op201"})
	again := r.phones.nth(t, "PJSIP/op201", 2)
	r.hears(t, caller, again.call.ID())
	// The operator ends the call.
	if err := again.call.Hangup(); err != nil {
		t.Fatal(err)
	}
	r.hears(t, caller, "gone")
	call, evs, _ := r.record(t, c.ID())
	if call.HangupBy != tickets.HangupOperator || countEvents(evs, ivr.EventOffHold) != 1 {
		t.Errorf("call %+v, events %v", call, eventKinds(evs))
	}
}

// The operator hanging up while the caller is on hold ends the call.
func TestOperatorHangsUpOnHold(t *testing.T) {
	r := newXferRig(t, nil)
	c, caller, op := r.answered(t)
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActHold, By: "op201"})
	r.hears(t, caller, "music")
	if err := op.call.Hangup(); err != nil {
		t.Fatal(err)
	}
	r.hears(t, caller, "gone")
	call, evs, _ := r.record(t, c.ID())
	if call.HangupBy != tickets.HangupOperator || countEvents(evs, ivr.EventOffHold) != 1 {
		t.Errorf("call %+v, events %v", call, eventKinds(evs))
	}
}

// A blind transfer to a group: the caller joins its queue with the time
// already waited (before a caller who came later), the same ticket
// reassigned to the group, and op201's handling time stays lotto2's.
func TestBlindTransferToGroup(t *testing.T) {
	r := newXferRig(t, nil)
	r.phones.answering(r.qrig, "PJSIP/op301", 2*time.Second)
	// op201 is on a break: the caller waits a little in lotto2 first.
	r.phones.answering(r.qrig, "PJSIP/op201", 2*time.Second)
	r.available("op201", "op301")
	r.pause("op201", "op301")
	c := r.call("3331234567")
	caller := follow(c)
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	r.waitKind(c.ID(), ivr.EvQueued)
	// Another caller reaches lotto3 after ours joined a queue.
	other := r.call("0298765432")
	r.waitPrompt(other.ID(), "node:root")
	press(t, other, "13")
	r.waitKind(other.ID(), ivr.EvQueued)
	r.available("op201")
	if op := r.answeredBy(c.ID()); op != "op201" {
		t.Fatalf("answered by %s", op)
	}
	op := r.phones.nth(t, "PJSIP/op201", 1)
	r.hears(t, caller, op.call.ID())
	if err := r.act(t, c.ID(), ivr.Action{Kind: ivr.ActTransfer, By: "op201", Group: "nowhere"}); !errors.Is(err, fault.ErrInvalid) {
		t.Fatalf("transfer to an unknown group: %v", err)
	}
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActTransfer, By: "op201", Group: "lotto3"})
	r.hears(t, op, "gone")
	r.hears(t, caller, "music")
	r.waitFor(c.ID(), "queued in lotto3", func(e ivr.Event) bool { return e.Kind == ivr.EvQueued && e.Group == "lotto3" })
	if st := r.operator("op201").State; st != queues.WrapUp {
		t.Fatalf("op201 %s after the transfer, want wrap_up", st)
	}
	pos, err := r.q.Position(context.Background(), c.ID())
	if err != nil || pos.Position != 1 {
		t.Fatalf("the transferred caller is at %+v (%v), want first: it waited before the other", pos, err)
	}
	r.available("op301")
	if op := r.waitFor(c.ID(), "op301", func(e ivr.Event) bool { return e.Kind == ivr.EvAnswered && e.Operator == "op301" }); op.Group != "lotto3" {
		t.Fatalf("answered %+v", op)
	}
	op3 := r.phones.nth(t, "PJSIP/op301", 1)
	r.hears(t, caller, op3.call.ID())
	c.Hangup()
	r.hears(t, op3, "gone")
	call, evs, tk := r.record(t, c.ID())
	if call.Group != "lotto3" || call.Operator != "op301" || call.Outcome != tickets.OutcomeAnswered {
		t.Errorf("call %+v", call)
	}
	if tk.Group != "lotto3" || tk.Assignee != "op301" {
		t.Errorf("ticket %+v", tk)
	}
	if e, ok := findEvent(evs, ivr.EventTransferGroup); !ok || e.Group != "lotto2" || e.Operator != "op201" || e.Detail != "to group lotto3" {
		t.Errorf("transfer event %+v (%v)", e, ok)
	}
	var handled []string
	for _, e := range evs {
		if e.Kind == ivr.EventHandled {
			if e.Duration <= 0 {
				t.Errorf("handled without a length: %+v", e)
			}
			handled = append(handled, e.Group+" "+e.Operator)
		}
	}
	if !slices.Equal(handled, []string{"lotto2 op201", "lotto3 op301"}) {
		t.Errorf("handled %v", handled)
	}
	if n := r.metric(t, "ivr_transfers_total", "kind", "group", "group", "lotto2"); n != 1 {
		t.Errorf("ivr_transfers_total{kind=group,group=lotto2} = %v", n)
	}
	hist, err := r.store.History(context.Background(), tk.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	if err != nil || len(hist) == 0 {
		t.Errorf("history %v %v", hist, err)
	}
	other.Hangup()
	r.outcome(other.ID())
}

// A blind transfer to a named operator: refused at once when they are not
// available (the caller stays); rung, and the caller theirs when they
// answer; when they do not, the caller goes back to the group's queue.
func TestBlindTransferToOperator(t *testing.T) {
	r := newXferRig(t, nil)
	c, caller, op := r.answered(t)
	if err := r.act(t, c.ID(), ivr.Action{Kind: ivr.ActTransfer, By: "op201", Operator: "op202"}); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("transfer to a logged-out operator: %v", err)
	}
	if err := r.act(t, c.ID(), ivr.Action{Kind: ivr.ActTransfer, By: "op201", Operator: "op201"}); !errors.Is(err, fault.ErrInvalid) {
		t.Fatalf("transfer to oneself: %v", err)
	}
	r.hears(t, caller, op.call.ID())
	r.phones.answering(r.qrig, "PJSIP/op202", 2*time.Second)
	r.available("op202")
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActTransfer, By: "op201", Operator: "op202"})
	r.hears(t, op, "gone")
	op2 := r.phones.nth(t, "PJSIP/op202", 1)
	r.hears(t, caller, op2.call.ID())
	r.waitState("op202", queues.OnCall)
	if st := r.operator("op201").State; st != queues.WrapUp {
		t.Fatalf("op201 %s", st)
	}
	// op202 passes the caller on to op301, who does not answer.
	r.sim.SetEndpoint("PJSIP/op301", arisim.EndpointBehavior{Mode: arisim.NoAnswer})
	r.available("op301")
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActTransfer, By: "op202", Operator: "op301"})
	r.hears(t, op2, "gone")
	failed := r.waitFor(c.ID(), "transfer failed", func(e ivr.Event) bool { return e.Kind == ivr.EvControl && e.Result == "failed" })
	if failed.Group != "lotto2" || failed.Operator != "op301" {
		t.Errorf("failed %+v", failed)
	}
	r.waitFor(c.ID(), "back in lotto2's queue", func(e ivr.Event) bool { return e.Kind == ivr.EvQueued && e.Group == "lotto2" })
	if st := r.operator("op301").State; st != queues.Available {
		t.Errorf("op301 %s after not answering, want available", st)
	}
	c.Hangup()
	call, evs, tk := r.record(t, c.ID())
	if e, ok := findEvent(evs, ivr.EventTransferFailed); !ok || !strings.Contains(e.Detail, "back to the queue of lotto2") {
		t.Errorf("transfer_failed %+v (%v)", e, ok)
	}
	if countEvents(evs, ivr.EventTransferOperator) != 2 || tk.Group != "lotto2" || call.Outcome != tickets.OutcomeAbandoned {
		t.Errorf("call %+v ticket %+v events %v", call, tk, eventKinds(evs))
	}
}

// An outside number: only those on the allow-list, dialled through the
// carrier.
func TestTransferToNumber(t *testing.T) {
	r := newXferRig(t, func(cfg *menu.Config) {
		cfg.Transfers = &menu.Transfers{Numbers: []string{"+390668851"}, Endpoint: "PJSIP/{national}@carrier",
			CallerID: "800749049", RingTimeout: 20 * time.Second}
	})
	c, caller, op := r.answered(t)
	if err := r.act(t, c.ID(), ivr.Action{Kind: ivr.ActTransfer, By: "op201", Number: "0668852"}); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("a number not on the list: %v", err)
	}
	r.hears(t, caller, op.call.ID())
	r.phones.answering(r.qrig, "PJSIP/0668851@carrier", 2*time.Second)
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActTransfer, By: "op201", Number: "06 6885 1"})
	r.hears(t, op, "gone")
	out := r.phones.nth(t, "PJSIP/0668851@carrier", 1)
	r.hears(t, caller, out.call.ID())
	if err := out.call.Hangup(); err != nil {
		t.Fatal(err)
	}
	r.hears(t, caller, "gone")
	_, evs, _ := r.record(t, c.ID())
	if e, ok := findEvent(evs, ivr.EventTransferNumber); !ok || e.Detail != "to +390668851" {
		t.Errorf("transfer event %+v (%v) in %v", e, ok, eventKinds(evs))
	}
}

// Attended transfer: the operator talks with the colleague while the
// caller hears music; cancel brings the caller back; a three-way call
// joins all three; the operator leaving it gives the caller to the
// colleague.
func TestAttendedTransfer(t *testing.T) {
	r := newXferRig(t, nil)
	c, caller, op := r.answered(t)
	r.phones.answering(r.qrig, "PJSIP/op202", 2*time.Second)
	r.available("op202")
	if err := r.act(t, c.ID(), ivr.Action{Kind: ivr.ActComplete, By: "op201"}); !errors.Is(err, ivr.ErrNotNow) {
		t.Fatalf("complete without a consultation: %v", err)
	}
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActConsult, By: "op201", Operator: "op202"})
	r.hears(t, caller, "music")
	col := r.phones.nth(t, "PJSIP/op202", 1)
	r.hears(t, op, col.call.ID())
	r.hears(t, col, op.call.ID())
	// Cancel: the colleague hung up, the operator back with the caller.
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActCancel, By: "op201"})
	r.hears(t, col, "gone")
	r.hears(t, caller, op.call.ID())
	// Again, then a three-way call.
	r.waitState("op202", queues.WrapUp)
	if err := r.q.SetState(context.Background(), "op202", queues.Available, ""); err != nil {
		t.Fatal(err)
	}
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActConsult, By: "op201", Operator: "op202"})
	col = r.phones.nth(t, "PJSIP/op202", 2)
	r.hears(t, col, op.call.ID())
	if err := r.act(t, c.ID(), ivr.Action{Kind: ivr.ActHold, By: "op201"}); !errors.Is(err, ivr.ErrNotNow) {
		t.Fatalf("hold while consulting: %v", err)
	}
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActThreeWay, By: "op201"})
	r.hears(t, caller, op.call.ID(), col.call.ID())
	r.hears(t, col, op.call.ID(), c.ID())
	// op201 leaves: the caller is op202's.
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActComplete, By: "op201"})
	r.hears(t, op, "gone")
	r.hears(t, caller, col.call.ID())
	if st := r.operator("op201").State; st != queues.WrapUp {
		t.Errorf("op201 %s", st)
	}
	c.Hangup()
	r.hears(t, col, "gone")
	call, evs, tk := r.record(t, c.ID())
	if call.Operator != "op202" || tk.Assignee != "op202" {
		t.Errorf("call %+v ticket %+v", call, tk)
	}
	for _, k := range []tickets.EventKind{ivr.EventConsult, ivr.EventConsultEnded, ivr.EventThreeWay, ivr.EventTransferAttended} {
		if _, ok := findEvent(evs, k); !ok {
			t.Errorf("no %s in %v", k, eventKinds(evs))
		}
	}
	r.waitState("op202", queues.WrapUp)
}

// Complete: the colleague takes the caller, the operator is free.
func TestAttendedTransferComplete(t *testing.T) {
	r := newXferRig(t, nil)
	c, caller, op := r.answered(t)
	r.phones.answering(r.qrig, "PJSIP/op202", 2*time.Second)
	r.available("op202")
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActConsult, By: "op201", Operator: "op202"})
	col := r.phones.nth(t, "PJSIP/op202", 1)
	r.hears(t, col, op.call.ID())
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActComplete, By: "op201"})
	r.hears(t, op, "gone")
	r.hears(t, caller, col.call.ID())
	if err := col.call.Hangup(); err != nil {
		t.Fatal(err)
	}
	r.hears(t, caller, "gone")
	call, evs, tk := r.record(t, c.ID())
	if call.HangupBy != tickets.HangupOperator || tk.Assignee != "op202" || countEvents(evs, ivr.EventHandled) != 2 {
		t.Errorf("call %+v ticket %+v events %v", call, tk, eventKinds(evs))
	}
}

// Hang-ups during a consultation, from each side: the caller (everyone
// hung up), the colleague (the operator back with the caller), the
// operator (the transfer completes, as on a desk phone).
func TestHangupsDuringConsultation(t *testing.T) {
	t.Run("caller", func(t *testing.T) {
		r := newXferRig(t, nil)
		c, _, op := r.answered(t)
		r.phones.answering(r.qrig, "PJSIP/op202", 2*time.Second)
		r.available("op202")
		r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActConsult, By: "op201", Operator: "op202"})
		col := r.phones.nth(t, "PJSIP/op202", 1)
		r.hears(t, col, op.call.ID())
		c.Hangup()
		r.hears(t, op, "gone")
		r.hears(t, col, "gone")
		call, _, _ := r.record(t, c.ID())
		if call.HangupBy != tickets.HangupCaller || call.Outcome != tickets.OutcomeAnswered {
			t.Errorf("call %+v", call)
		}
		r.waitState("op202", queues.WrapUp)
	})
	t.Run("colleague", func(t *testing.T) {
		r := newXferRig(t, nil)
		c, caller, op := r.answered(t)
		r.phones.answering(r.qrig, "PJSIP/op202", 2*time.Second)
		r.available("op202")
		r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActConsult, By: "op201", Operator: "op202"})
		col := r.phones.nth(t, "PJSIP/op202", 1)
		r.hears(t, col, op.call.ID())
		if err := col.call.Hangup(); err != nil {
			t.Fatal(err)
		}
		r.hears(t, caller, op.call.ID())
		c.Hangup()
		r.record(t, c.ID())
	})
	t.Run("operator", func(t *testing.T) {
		r := newXferRig(t, nil)
		c, caller, op := r.answered(t)
		r.phones.answering(r.qrig, "PJSIP/op202", 2*time.Second)
		r.available("op202")
		r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActConsult, By: "op201", Operator: "op202"})
		col := r.phones.nth(t, "PJSIP/op202", 1)
		r.hears(t, col, op.call.ID())
		if err := op.call.Hangup(); err != nil {
			t.Fatal(err)
		}
		r.hears(t, caller, col.call.ID())
		c.Hangup()
		_, _, tk := r.record(t, c.ID())
		if tk.Assignee != "op202" {
			t.Errorf("ticket %+v", tk)
		}
	})
	t.Run("caller while ringing", func(t *testing.T) {
		r := newXferRig(t, nil)
		c, _, op := r.answered(t)
		r.sim.SetEndpoint("PJSIP/op202", arisim.EndpointBehavior{Mode: arisim.NoAnswer})
		r.available("op202")
		r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActConsult, By: "op201", Operator: "op202"})
		r.waitState("op202", queues.Offered)
		c.Hangup()
		r.hears(t, op, "gone")
		r.record(t, c.ID())
		r.waitState("op202", queues.Available)
	})
}

// A supervisor moves a caller waiting in lotto2 to lotto3: the same
// ticket, lotto3's queue, the time waited kept.
func TestMoveQueuedCaller(t *testing.T) {
	r := newXferRig(t, nil)
	r.available("op201", "op301")
	r.pause("op201", "op301")
	c := r.call("3331234567")
	caller := follow(c)
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	r.waitKind(c.ID(), ivr.EvQueued)
	r.hears(t, caller, "music")
	if err := r.act(t, c.ID(), ivr.Action{Kind: ivr.ActHold, By: "supervisore"}); !errors.Is(err, ivr.ErrNotNow) {
		t.Fatalf("hold a queued caller: %v", err)
	}
	if err := r.act(t, c.ID(), ivr.Action{Kind: ivr.ActMove, By: "supervisore", Group: "lotto2"}); !errors.Is(err, fault.ErrInvalid) {
		t.Fatalf("move to the same group: %v", err)
	}
	r.mustAct(t, c.ID(), ivr.Action{Kind: ivr.ActMove, By: "supervisore", Group: "lotto3"})
	r.waitFor(c.ID(), "queued in lotto3", func(e ivr.Event) bool { return e.Kind == ivr.EvQueued && e.Group == "lotto3" })
	if p, err := r.q.Position(context.Background(), c.ID()); err != nil || p.Group != "lotto3" {
		t.Fatalf("position %+v %v", p, err)
	}
	c.Hangup()
	call, evs, tk := r.record(t, c.ID())
	if call.Group != "lotto3" || tk.Group != "lotto3" {
		t.Errorf("call %+v ticket %+v", call, tk)
	}
	if e, ok := findEvent(evs, ivr.EventTransferMove); !ok || e.Operator != "supervisore" || e.Group != "lotto2" {
		t.Errorf("move %+v (%v)", e, ok)
	}
}
