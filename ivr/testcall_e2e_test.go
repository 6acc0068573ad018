package ivr_test

import (
	"testing"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
)

// A call entering Stasis(ivr,test) (the test phone's) is a test call:
// every one of its events says so, the live view marks it, and a caller's
// call beside it is not marked.
func TestTestCallIsMarked(t *testing.T) {
	t.Parallel()
	live := ivr.NewLive(nil)
	r := newRig(t, monday10, func(o *simdesk.Options) {
		inner := o.Observe
		o.Observe = func(e ivr.Event) {
			live.Observe(e)
			inner(e)
		}
	})
	test := r.call("3331234567", arisim.CallOptions{StasisArgs: []string{ivr.TestArg}})
	real := r.call("3337654321")
	r.waitPrompt(test.ID(), "node:root")
	r.waitPrompt(real.ID(), "node:root")
	marked := map[string]bool{}
	for _, c := range live.Calls() {
		marked[c.CallID] = c.Test
	}
	if !marked[test.ID()] || marked[real.ID()] || len(marked) != 2 {
		t.Errorf("live calls marked as test: %v, want only %s", marked, test.ID())
	}
	for _, c := range []*arisim.Call{test, real} {
		_ = c.Hangup()
		r.outcome(c.ID())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if want := e.CallID == test.ID(); e.Test != want {
			t.Errorf("event %s of call %s: test %v, want %v", e.Kind, e.CallID, e.Test, want)
		}
	}
}
