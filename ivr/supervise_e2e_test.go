package ivr_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// srig is a help desk with a supervisor of lotto3 ("capo", on PJSIP/capo)
// and op302 answering lotto3's calls; it keeps the phones' handles.
type srig struct {
	*rig
	reg    *prometheus.Registry
	mu     sync.Mutex
	phones map[string]*arisim.Call // by endpoint, the latest call
}

func newSuperviseRig(t *testing.T) *srig {
	t.Helper()
	sr := &srig{phones: map[string]*arisim.Call{}, reg: prometheus.NewRegistry()}
	sr.rig = newRig(t, monday10, func(o *simdesk.Options) {
		o.Registerer = sr.reg
		o.Config.Supervisors = append(o.Config.Supervisors,
			&menu.Supervisor{Login: "capo", Name: "Capo", Endpoint: "PJSIP/capo", Groups: []string{"lotto3"}},
			&menu.Supervisor{Login: "altro", Name: "Altro", Endpoint: "PJSIP/altro", Groups: []string{"lotto3"}})
	})
	keep := func(ep string) func(*arisim.Call) {
		return func(c *arisim.Call) {
			sr.mu.Lock()
			sr.phones[ep] = c
			sr.mu.Unlock()
		}
	}
	sr.sim.SetEndpoint("PJSIP/op302", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second, OnCall: keep("op302")})
	sr.sim.SetEndpoint("PJSIP/op301", arisim.EndpointBehavior{Mode: arisim.Busy})
	sr.sim.SetEndpoint("PJSIP/capo", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second, OnCall: keep("capo")})
	sr.sim.SetEndpoint("PJSIP/altro", arisim.EndpointBehavior{Mode: arisim.Answer, OnCall: keep("altro")})
	return sr
}

// nextPhone waits for a call to ep other than prev (the phone's handle
// comes on the call's own delivery goroutine).
func (sr *srig) nextPhone(ep string, prev *arisim.Call) *arisim.Call {
	sr.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c := sr.phone(ep); c != nil && c != prev {
			return c
		}
		if time.Now().After(deadline) {
			sr.t.Fatalf("no new call to %s", ep)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (sr *srig) phone(ep string) *arisim.Call {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	return sr.phones[ep]
}

// talking places a call to lotto3 and waits until op302 talks with it.
func (sr *srig) talking() *arisim.Call {
	sr.t.Helper()
	c := sr.call("3331234567")
	sr.waitPrompt(c.ID(), "node:root")
	press(sr.t, c, "1")
	sr.waitPrompt(c.ID(), "node:1")
	press(sr.t, c, "3")
	if ans := sr.waitKind(c.ID(), ivr.EvAnswered); ans.Operator != "op302" {
		sr.t.Fatalf("answered by %q", ans.Operator)
	}
	return c
}

func (sr *srig) act(callID string, kind ivr.ActionKind, by string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return sr.ctrl.Act(ctx, callID, ivr.Action{Kind: kind, By: by})
}

// hears waits until the phone of channel id hears exactly want (the ids
// of phones; "op" and "sup" stand for op302's and the supervisor's).
func (sr *srig) hears(who, id string, want ...string) {
	sr.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := sr.sim.Hears(id)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			sr.t.Fatalf("%s hears %v, want %v", who, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGone waits until nothing of the supervision is left in Asterisk:
// only the channels and bridges of keep remain.
func (sr *srig) waitNoSupervision() {
	sr.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []string
		for _, c := range sr.sim.ChannelIDs() {
			if strings.HasPrefix(c, "sv-") {
				left = append(left, c)
			}
		}
		for _, b := range sr.sim.BridgeIDs() {
			if strings.HasPrefix(b, "svb-") {
				left = append(left, b)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			sr.t.Fatalf("left behind: %v", left)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// interventions reads ivr_supervisor_interventions_total by kind.
func (sr *srig) interventions() map[string]float64 {
	sr.t.Helper()
	mfs, err := sr.reg.Gather()
	if err != nil {
		sr.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "ivr_supervisor_interventions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}

func supervisorDetails(evs []tickets.CallEvent) []string {
	var out []string
	for _, e := range evs {
		if strings.HasPrefix(string(e.Kind), "supervisor") || e.Kind == ivr.EventEndedBySupervis {
			out = append(out, string(e.Kind)+" "+e.Detail)
		}
	}
	return out
}

// A supervisor listens, whispers to the operator, barges in and listens
// again on one call without their phone ever leaving it; each mode
// reaches exactly the phones it should (whisper: the operator, not the
// caller); the live view and the call record say so; stopping leaves no
// channel or bridge behind, and the call goes on.
func TestSuperviseListenWhisperBarge(t *testing.T) {
	sr := newSuperviseRig(t)
	live := ivr.NewLive(nil)
	c := sr.talking()
	op := sr.phone("op302").ID()
	if err := sr.act(c.ID(), ivr.ActListen, "capo"); err != nil {
		t.Fatal(err)
	}
	sr.waitFor(c.ID(), "supervisor on", func(e ivr.Event) bool { return e.Kind == ivr.EvSupervise && e.Result == "on" })
	sup := sr.phone("capo")
	sr.hears("supervisor listening", sup.ID(), c.ID(), op)
	sr.hears("operator with a listener", op, c.ID())
	sr.hears("caller with a listener", c.ID(), op)

	if err := sr.act(c.ID(), ivr.ActWhisper, "capo"); err != nil {
		t.Fatal(err)
	}
	sr.hears("operator whispered to", op, c.ID(), sup.ID())
	sr.hears("caller during a whisper", c.ID(), op)
	sr.hears("supervisor whispering", sup.ID(), c.ID(), op)

	if err := sr.act(c.ID(), ivr.ActBarge, "capo"); err != nil {
		t.Fatal(err)
	}
	sr.hears("caller in a barge", c.ID(), op, sup.ID())
	sr.hears("operator in a barge", op, c.ID(), sup.ID())
	sr.hears("supervisor in a barge", sup.ID(), c.ID(), op)

	if err := sr.act(c.ID(), ivr.ActListen, "capo"); err != nil {
		t.Fatal(err)
	}
	sr.hears("caller after the barge", c.ID(), op)
	sr.hears("operator after the barge", op, c.ID())
	if sup.State() != "Up" || sr.phone("capo") != sup {
		t.Fatalf("the supervisor's phone was dropped or rung again while switching (state %q)", sup.State())
	}
	// Another supervisor cannot take the call meanwhile.
	if err := sr.act(c.ID(), ivr.ActListen, "altro"); !errors.Is(err, ivr.ErrSupervised) {
		t.Errorf("second supervisor: %v, want ErrSupervised", err)
	}
	for _, e := range sr.eventsOf(c.ID()) {
		live.Observe(e)
	}
	if lc := liveCall(live, c.ID()); lc.Supervisor != "capo" || lc.SuperviseMode != "listen" || lc.Phase != "talking" {
		t.Errorf("live view %+v", lc)
	}

	if err := sr.act(c.ID(), ivr.ActSuperviseStop, "capo"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sup.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor's phone is still up after stop")
	}
	sr.waitFor(c.ID(), "supervisor off", func(e ivr.Event) bool { return e.Kind == ivr.EvSupervise && e.Result == "off" })
	sr.waitNoSupervision()
	sr.hears("caller after the supervisor left", c.ID(), op)
	live = ivr.NewLive(nil)
	for _, e := range sr.eventsOf(c.ID()) {
		live.Observe(e)
	}
	if lc := liveCall(live, c.ID()); lc.Supervisor != "" || lc.SuperviseMode != "" {
		t.Errorf("live view after stop %+v", lc)
	}
	c.Hangup()
	sr.outcome(c.ID())
	_, evs, _ := sr.mem.Call(c.ID())
	if got := sr.interventions(); !maps.Equal(got, map[string]float64{"listen": 2, "whisper": 1, "barge": 1, "end_call": 0}) {
		t.Errorf("ivr_supervisor_interventions_total %v", got)
	}
	want := []string{"supervisor capo: listen", "supervisor capo: whisper", "supervisor capo: barge", "supervisor capo: listen", "supervisor_left capo: stopped"}
	if got := supervisorDetails(evs); !slices.Equal(got, want) {
		t.Errorf("call record: %q, want %q", got, want)
	}
}

// Whoever hangs up, nothing is stranded: the supervisor hanging up leaves
// the conversation as it was; the caller or the operator hanging up while
// a supervisor is on ends the supervisor's phone and its snoop, and the
// call's record is complete.
func TestSuperviseHangups(t *testing.T) {
	for _, who := range []string{"supervisor", "caller", "operator"} {
		t.Run(who, func(t *testing.T) {
			sr := newSuperviseRig(t)
			c := sr.talking()
			op := sr.phone("op302")
			if err := sr.act(c.ID(), ivr.ActWhisper, "capo"); err != nil {
				t.Fatal(err)
			}
			sr.waitFor(c.ID(), "supervisor on", func(e ivr.Event) bool { return e.Kind == ivr.EvSupervise && e.Result == "on" })
			sup := sr.phone("capo")
			sr.hears("operator", op.ID(), c.ID(), sup.ID())
			switch who {
			case "supervisor":
				sup.Hangup()
			case "caller":
				c.Hangup()
			case "operator":
				op.Hangup()
			}
			select {
			case <-sup.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the supervisor's phone is still up")
			}
			sr.waitNoSupervision()
			reason := map[string]string{"supervisor": "hung up", "caller": "the conversation ended", "operator": "the conversation ended"}[who]
			if who == "supervisor" {
				// The conversation goes on, and the supervisor may come back.
				sr.hears("caller", c.ID(), op.ID())
				sr.hears("operator", op.ID(), c.ID())
				if err := sr.act(c.ID(), ivr.ActListen, "capo"); err != nil {
					t.Fatal(err)
				}
				sr.hears("supervisor back", sr.nextPhone("capo", sup).ID(), c.ID(), op.ID())
				c.Hangup()
				sr.waitNoSupervision()
			}
			out := sr.outcome(c.ID())
			waitDone(t, c)
			call, evs, _ := sr.mem.Call(c.ID())
			if out.Outcome != string(tickets.OutcomeAnswered) || call.EndedAt.IsZero() || call.Operator != "op302" {
				t.Errorf("outcome %q, record %+v", out.Outcome, call)
			}
			got := supervisorDetails(evs)
			if len(got) < 2 || got[0] != "supervisor capo: whisper" || got[1] != "supervisor_left capo: "+reason {
				t.Errorf("call record: %q", got)
			}
			if kinds := eventKinds(evs); kinds[len(kinds)-1] != tickets.EventHangup && !slices.Contains(kinds, tickets.EventHangup) {
				t.Errorf("no hangup in the record: %v", kinds)
			}
		})
	}
}

// What the controller refuses: a call not talking, a supervisor with no
// phone, an unknown call; and a stuck call ended by a supervisor, wherever
// it is, with its record saying who.
func TestSuperviseRefusalsAndEndCall(t *testing.T) {
	sr := newSuperviseRig(t)
	c := sr.call("3331234567")
	sr.waitPrompt(c.ID(), "node:root")
	if err := sr.act(c.ID(), ivr.ActListen, "capo"); !errors.Is(err, ivr.ErrNotNow) {
		t.Errorf("listen to a call in the menu: %v, want ErrNotNow", err)
	}
	if err := sr.act(c.ID(), ivr.ActSuperviseStop, "capo"); !errors.Is(err, ivr.ErrNotNow) {
		t.Errorf("stop with nobody on: %v, want ErrNotNow", err)
	}
	if err := sr.act("no-such-call", ivr.ActListen, "capo"); !errors.Is(err, ivr.ErrNoSuchCall) {
		t.Errorf("unknown call: %v", err)
	}
	if err := sr.act(c.ID(), ivr.ActEndCall, "capo"); err != nil {
		t.Fatal(err)
	}
	out := sr.outcome(c.ID())
	waitDone(t, c)
	call, evs, _ := sr.mem.Call(c.ID())
	if out.Outcome != string(tickets.OutcomeHungUpInMenu) || call.HangupBy != tickets.HangupSystem {
		t.Errorf("ended call: outcome %q, hangup by %q", out.Outcome, call.HangupBy)
	}
	if got := supervisorDetails(evs); !slices.Equal(got, []string{"ended_by_supervisor capo"}) {
		t.Errorf("call record: %q", got)
	}
	if got := sr.interventions()["end_call"]; got != 1 {
		t.Errorf("end_call interventions: %v", got)
	}

	c2 := sr.talking()
	if err := sr.act(c2.ID(), ivr.ActListen, "nobody"); !errors.Is(err, ivr.ErrNoPhone) {
		t.Errorf("a supervisor without a phone: %v, want ErrNoPhone", err)
	}
	// A supervisor on one call is not rung for another meanwhile.
	c3 := sr.talking()
	if err := sr.act(c2.ID(), ivr.ActListen, "capo"); err != nil {
		t.Fatal(err)
	}
	if err := sr.act(c3.ID(), ivr.ActListen, "capo"); !errors.Is(err, ivr.ErrSupervised) {
		t.Errorf("a supervisor on another call: %v, want ErrSupervised", err)
	}
	c2.Hangup()
	sr.outcome(c2.ID())
	sr.waitNoSupervision()
	if err := sr.act(c3.ID(), ivr.ActListen, "capo"); err != nil {
		t.Errorf("once free: %v", err)
	}
	c3.Hangup()
	sr.outcome(c3.ID())
	sr.waitNoSupervision()
}

func liveCall(l *ivr.Live, id string) ivr.LiveCall {
	for _, c := range l.Calls() {
		if c.CallID == id {
			return c
		}
	}
	return ivr.LiveCall{}
}

// Through the operator queues: a supervisor barges into a call op201
// took from lotto2's queue; op201 hangs up: the supervisor's phone goes,
// op201 wraps up as after any call, and the timeline has the supervision.
func TestSuperviseQueuedCall(t *testing.T) {
	r := newQueueRig(t, "", func(cfg *menu.Config) {
		cfg.Supervisors = append(cfg.Supervisors, &menu.Supervisor{Login: "capo", Name: "Capo", Endpoint: "PJSIP/capo", Groups: []string{"lotto2"}})
	})
	var mu sync.Mutex
	phones := map[string]*arisim.Call{}
	keep := func(ep string) func(*arisim.Call) {
		return func(c *arisim.Call) { mu.Lock(); phones[ep] = c; mu.Unlock() }
	}
	phone := func(ep string) *arisim.Call { mu.Lock(); defer mu.Unlock(); return phones[ep] }
	r.sim.SetEndpoint("PJSIP/op201", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second, OnCall: keep("op201")})
	r.sim.SetEndpoint("PJSIP/capo", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second, OnCall: keep("capo")})
	r.available("op201")
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	if op := r.answeredBy(c.ID()); op != "op201" {
		t.Fatalf("answered by %s", op)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.ctrl.Act(ctx, c.ID(), ivr.Action{Kind: ivr.ActBarge, By: "capo"}); err != nil {
		t.Fatal(err)
	}
	r.waitFor(c.ID(), "supervisor on", func(e ivr.Event) bool { return e.Kind == ivr.EvSupervise && e.Result == "on" })
	op, sup := phone("op201"), phone("capo")
	waitUntil(t, "the caller hears the supervisor", func() bool {
		return slices.Equal(r.sim.Hears(c.ID()), []string{op.ID(), sup.ID()})
	})
	op.Hangup()
	select {
	case <-sup.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor's phone is still up")
	}
	r.outcome(c.ID())
	r.waitState("op201", queues.WrapUp)
	waitUntil(t, "the supervision in the timeline", func() bool {
		got := r.timeline(c.ID())
		return slices.Contains(got, "supervisor lotto2 op201") && slices.Contains(got, "supervisor_left lotto2 op201")
	})
}

// A controller that stops while a supervisor listens: the one that takes
// over keeps the conversation, hangs up the supervisor's phone and snoop
// it does not drive and deletes their bridge; the supervisor may listen
// again through it.
func TestSuperviseTakeover(t *testing.T) {
	sr := newSuperviseRig(t)
	c := sr.talking()
	op := sr.phone("op302")
	if err := sr.act(c.ID(), ivr.ActListen, "capo"); err != nil {
		t.Fatal(err)
	}
	sr.waitFor(c.ID(), "supervisor on", func(e ivr.Event) bool { return e.Kind == ivr.EvSupervise && e.Result == "on" })
	sup := sr.phone("capo")
	second := newController(t, sr.rig)
	if e := second.waitKind(c.ID(), ivr.EvAnswered); e.Reason != "resumed talking" {
		t.Fatalf("conversation taken over: %+v", e)
	}
	select {
	case <-sup.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor's phone is still up after the takeover")
	}
	sr.waitNoSupervision()
	sr.hears("caller after the takeover", c.ID(), op.ID())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The new session takes the conversation over a moment after it says
	// so: until then the call cannot be listened to.
	waitUntil(t, "the conversation to take a supervisor", func() bool {
		err := second.ctrl.Act(ctx, c.ID(), ivr.Action{Kind: ivr.ActListen, By: "capo"})
		if err != nil && !errors.Is(err, ivr.ErrNotNow) {
			t.Fatal(err)
		}
		return err == nil
	})
	sr.hears("supervisor through the new controller", sr.nextPhone("capo", sup).ID(), c.ID(), op.ID())
	c.Hangup()
	second.outcome(c.ID())
	sr.waitNoSupervision()
}
