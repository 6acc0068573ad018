package queues_test

import (
	"testing"

	"github.com/helpdesk-ivr/ivr/queues"
)

// TestEnqueueOffer: with an operator free the offer comes back with the
// enqueue, the same offer WaitOffer would return; with nobody free there is
// none, and the caller waits as after Enqueue.
func TestEnqueueOffer(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(t, []queues.GroupConfig{{ID: "g"}},
		[]queues.Operator{op("a", map[string]int{"g": 0}), op("b", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	res, of, err := s.EnqueueOffer(ctx, queues.Entry{CallID: "first", Group: "g", Caller: "3331234567"})
	noErr(t, err)
	if of == nil {
		t.Fatal("no offer with an operator free")
	}
	equal(t, "position", res.Position.Position, 1)
	equal(t, "offer", [3]any{of.CallID, of.Group, of.Attempt}, [3]any{"first", "g", 1})
	equal(t, "operators", logins(*of), []string{"a"})
	equal(t, "endpoint", of.Operators[0].Endpoint != "", true)
	equal(t, "events", len(of.Events), 1)
	equal(t, "offered event", [2]string{of.Events[0].Kind, of.Events[0].Operator}, [2]string{queues.EventOffered, "a"})
	if of.RingTimeout <= 0 {
		t.Errorf("ring timeout %v", of.RingTimeout)
	}
	equal(t, "same as WaitOffer", logins(waitOffer(t, s, "first")), []string{"a"})

	// Nobody free now: no offer, the caller waits.
	res, of, err = s.EnqueueOffer(ctx, queues.Entry{CallID: "second", Group: "g"})
	noErr(t, err)
	if of != nil {
		t.Fatalf("offer %+v with nobody free", of)
	}
	equal(t, "second's place", res.Position.Position, 2)
	// b logs in: the offer goes to the waiting caller through WaitOffer.
	noErr(t, s.SetState(ctx, "b", queues.Available, ""))
	equal(t, "later offer", logins(waitOffer(t, s, "second")), []string{"b"})
}
