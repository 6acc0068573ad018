package queues_test

import (
	"errors"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/queues"
)

// A supervisor can free an operator whatever their state, the caller
// offered to them waits for someone else, and the change is logged.
func TestForceState(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(t, []queues.GroupConfig{{ID: "g"}}, []queues.Operator{op("a", map[string]int{"g": 0}), op("b", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	enqueue(t, s, "c1", "g", 0)
	equal(t, "offered to", logins(waitOffer(t, s, "c1")), []string{"a"})
	must[[]queues.Event](t)(s.Answer(ctx, "c1", "a"))
	if err := s.SetState(ctx, "a", queues.Available, ""); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("the operator's own change while on call: %v", err)
	}
	if err := s.ForceState(ctx, "a", queues.OnCall, "", "sup1"); err == nil {
		t.Fatal("forced to on_call")
	}
	if err := s.ForceState(ctx, "a", queues.Paused, "", "sup1"); err == nil {
		t.Fatal("forced a pause without a reason")
	}
	if err := s.ForceState(ctx, "a", queues.Available, "", ""); err == nil {
		t.Fatal("forced by nobody")
	}
	noErr(t, s.ForceState(ctx, "a", queues.Paused, "riunione", "sup1"))
	if o := must[queues.Operator](t)(s.Operator(ctx, "a")); o.State != queues.Paused || o.CallID != "" || o.Reason != "riunione" {
		t.Fatalf("a after the force: %+v", o)
	}
	// Offered: the caller goes back to waiting and the next operator gets it.
	noErr(t, s.ForceState(ctx, "a", queues.Available, "", "sup1"))
	enqueue(t, s, "c2", "g", 0)
	equal(t, "offered to", logins(waitOffer(t, s, "c2")), []string{"a"})
	noErr(t, s.ForceState(ctx, "a", queues.LoggedOut, "", "sup1"))
	noErr(t, s.SetState(ctx, "b", queues.Available, ""))
	equal(t, "offered after the force", logins(waitOffer(t, s, "c2")), []string{"b"})

	log := must[[]queues.StateChange](t)(s.StateLog(ctx, "a", 10))
	var got []string
	for _, c := range log {
		got = append(got, string(c.From)+">"+string(c.To)+" "+c.By+" "+c.CallID+" "+c.Reason)
	}
	equal(t, "log", got, []string{"offered>logged_out sup1 c2 ", "paused>available sup1  ", "on_call>paused sup1 c1 riunione"})
}

// ReleaseCall frees an operator held by a call that is over, and only by
// that call.
func TestReleaseCall(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(t, []queues.GroupConfig{{ID: "g"}}, []queues.Operator{op("a", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	enqueue(t, s, "c1", "g", 0)
	waitOffer(t, s, "c1")
	must[[]queues.Event](t)(s.Answer(ctx, "c1", "a"))
	if done := must[bool](t)(s.ReleaseCall(ctx, "a", "other")); done {
		t.Fatal("released by another call's end")
	}
	if st, _ := state(t, s, "a"); st != queues.OnCall {
		t.Fatalf("a is %s", st)
	}
	if done := must[bool](t)(s.ReleaseCall(ctx, "a", "c1")); !done {
		t.Fatal("not released")
	}
	if o := must[queues.Operator](t)(s.Operator(ctx, "a")); o.State != queues.Available || o.CallID != "" {
		t.Fatalf("a after the release: %+v", o)
	}
	if done := must[bool](t)(s.ReleaseCall(ctx, "a", "c1")); done {
		t.Fatal("released twice")
	}
	log := must[[]queues.StateChange](t)(s.StateLog(ctx, "", 10))
	if len(log) != 1 || log[0].By != queues.ByReconcile || log[0].From != queues.OnCall || log[0].CallID != "c1" {
		t.Fatalf("log %+v", log)
	}
}
