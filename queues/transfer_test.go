package queues_test

import (
	"errors"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/queues"
)

// A caller transferred from another group keeps the time already waited:
// it goes before the callers of its priority who came after it, and its
// new group's wait still starts now.
func TestTransferredCallerKeepsItsWait(t *testing.T) {
	t.Parallel()
	s, clk, _ := newService(t, []queues.GroupConfig{{ID: "g"}}, []queues.Operator{op("a", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Paused, queues.ReasonBreak))
	first := clk.Now()
	clk.Advance(time.Minute)
	enqueue(t, s, "late-1", "g", 0)
	clk.Advance(time.Second)
	enqueue(t, s, "urgent", "g", 10)
	clk.Advance(time.Second)
	res, err := s.Enqueue(ctx, queues.Entry{CallID: "moved", Group: "g", Caller: "+390612345678", Since: first})
	noErr(t, err)
	equal(t, "position of the transferred caller", res.Position.Position, 2)
	enqueue(t, s, "late-2", "g", 0)
	for id, want := range map[string]int{"urgent": 1, "moved": 2, "late-1": 3, "late-2": 4} {
		equal(t, "position of "+id, must[queues.Position](t)(s.Position(ctx, id)).Position, want)
	}
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	for _, id := range []string{"urgent", "moved", "late-1"} {
		equal(t, "offered", logins(waitOffer(t, s, id)), []string{"a"})
		clk.Advance(10 * time.Second)
		evs := must[[]queues.Event](t)(s.Answer(ctx, id, "a"))
		if id == "moved" && evs[0].Detail != "after 20s" {
			t.Errorf("the transferred caller's wait in this group: %q, want after 20s (its wait in this group only)", evs[0].Detail)
		}
		noErr(t, s.CallEnded(ctx, "a"))
	}
}

// An operator a call is transferred to by name is reserved while their
// phone rings (no queue offers them a call), is on the call once they
// answer, and is refused when not free.
func TestReserveOperator(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(t, []queues.GroupConfig{{ID: "g"}}, []queues.Operator{op("a", map[string]int{"g": 0}), op("b", map[string]int{"g": 0})})
	if _, err := s.Reserve(ctx, "a", "c1", "g"); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("reserve a logged-out operator: %v", err)
	}
	if _, err := s.Reserve(ctx, "nobody", "c1", "g"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("reserve nobody: %v", err)
	}
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	o := must[queues.Operator](t)(s.Reserve(ctx, "a", "c1", "g"))
	if o.State != queues.Offered || o.CallID != "c1" || o.Endpoint != "PJSIP/a" {
		t.Fatalf("reserved %+v", o)
	}
	if _, err := s.Reserve(ctx, "a", "c2", "g"); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("reserve twice: %v", err)
	}
	// A caller arriving now is not offered to a.
	noErr(t, s.SetState(ctx, "b", queues.Available, ""))
	enqueue(t, s, "c3", "g", 0)
	equal(t, "offered", logins(waitOffer(t, s, "c3")), []string{"b"})
	if err := s.TakeCall(ctx, "a", "other"); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("take another call: %v", err)
	}
	noErr(t, s.TakeCall(ctx, "a", "c1"))
	equal(t, "state", must[queues.Operator](t)(s.Operator(ctx, "a")).State, queues.OnCall)
	noErr(t, s.CallEnded(ctx, "a"))
	// Not answered: released, available again.
	o = must[queues.Operator](t)(s.Reserve(ctx, "a", "c4", "g"))
	if ok := must[bool](t)(s.ReleaseCall(ctx, "a", "c4")); !ok {
		t.Fatal("release refused")
	}
	equal(t, "state after release", must[queues.Operator](t)(s.Operator(ctx, "a")).State, queues.Available)
}
