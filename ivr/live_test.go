package ivr

import (
	"testing"
	"time"
)

func TestLiveFollowsACall(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	changes := 0
	l := NewLive(func() { changes++ })
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	open := true
	steps := []struct {
		ev    Event
		check func(LiveCall) bool
	}{
		{Event{Kind: EvCall, Caller: "+390612345678", Org: "tribunale-roma-demo"}, func(c LiveCall) bool {
			return c.Caller == "+390612345678" && c.Organization == "tribunale-roma-demo" && c.Phase == "menu"
		}},
		{Event{Kind: EvTicket, Ticket: "2026112300013"}, func(c LiveCall) bool { return c.Ticket == "2026112300013" }},
		{Event{Kind: EvHours, Open: &open}, func(c LiveCall) bool { return c.Phase == "menu" }},
		{Event{Kind: EvPrompt, Prompt: []string{"node:root"}}, func(c LiveCall) bool { return c.Node == "root" }},
		{Event{Kind: EvPrompt, Prompt: []string{"system:pin_ask"}}, func(c LiveCall) bool { return c.Phase == "pin" }},
		{Event{Kind: EvPIN, Result: "accepted", Role: "referent"}, func(c LiveCall) bool { return c.Role == "referent" }},
		{Event{Kind: EvRoute, Group: "lotto3"}, func(c LiveCall) bool { return c.Group == "lotto3" }},
		{Event{Kind: EvQueued, Group: "lotto3", Position: 2}, func(c LiveCall) bool {
			return c.Phase == "queue" && c.Position == 2 && c.Since.Equal(at(7))
		}},
		{Event{Kind: EvPosition, Group: "lotto3", Position: 1}, func(c LiveCall) bool { return c.Position == 1 && c.Since.Equal(at(7)) }},
		{Event{Kind: EvRinging, Operator: "op301"}, func(c LiveCall) bool { return c.Phase == "ringing" && c.Operator == "op301" }},
		{Event{Kind: EvNoAnswer, Operator: "op301"}, func(c LiveCall) bool { return c.Phase == "queue" && c.Operator == "" }},
		{Event{Kind: EvAnswered, Operator: "op302"}, func(c LiveCall) bool {
			return c.Phase == "talking" && c.Operator == "op302" && c.Position == 0
		}},
		// The operator hung up: the caller rates the conversation.
		{Event{Kind: EvSurvey, Result: "asked", Operator: "op302"}, func(c LiveCall) bool {
			return c.Phase == "survey" && c.Operator == "op302"
		}},
		{Event{Kind: EvKeys, Node: "survey", Keys: "5"}, func(c LiveCall) bool { return c.Phase == "survey" && c.Node == "root" }},
	}
	for i, s := range steps {
		s.ev.CallID, s.ev.Time = "c1", at(i)
		l.Observe(s.ev)
		calls := l.Calls()
		if len(calls) != 1 || !s.check(calls[0]) {
			t.Fatalf("after %s: %+v", s.ev.Kind, calls)
		}
	}
	l.Observe(Event{CallID: "c2", Kind: EvCall, Time: at(20)})
	if calls := l.Calls(); len(calls) != 2 || calls[0].CallID != "c1" {
		t.Fatalf("two calls, oldest first: %+v", calls)
	}
	l.Observe(Event{CallID: "c1", Kind: EvHangup, Time: at(30)})
	l.Observe(Event{CallID: "c1", Kind: EvOutcome, Time: at(30)}) // after the hangup: no ghost call
	if calls := l.Calls(); len(calls) != 1 || calls[0].CallID != "c2" {
		t.Fatalf("after c1 hung up: %+v", calls)
	}
	if changes != len(steps)+2 {
		t.Errorf("%d change notifications, want %d", changes, len(steps)+2)
	}
}
