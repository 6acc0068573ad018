package ivr_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
)

// The panel's requests reach a live call, and a call that cannot take
// one (here: still in the menu) says so at once instead of leaving the
// panel waiting; a call that is over, or unknown, is not found.
func TestActOnLiveCall(t *testing.T) {
	r := newRig(t, monday10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.ctrl.Act(ctx, "no-such-call", ivr.Action{Kind: "hold", By: "op101"}); !errors.Is(err, ivr.ErrNoSuchCall) {
		t.Fatalf("unknown call: %v, want ErrNoSuchCall", err)
	}
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	if err := r.ctrl.Act(ctx, c.ID(), ivr.Action{Kind: "hold", By: "op101"}); !errors.Is(err, ivr.ErrNotNow) {
		t.Fatalf("call in the menu: %v, want ErrNotNow", err)
	}
	c.Hangup()
	r.outcome(c.ID())
	waitDone(t, c)
	deadline := time.Now().Add(10 * time.Second)
	for r.ctrl.ActiveCalls() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.ctrl.Act(ctx, c.ID(), ivr.Action{Kind: "hold", By: "op101"}); !errors.Is(err, ivr.ErrNoSuchCall) {
		t.Fatalf("ended call: %v, want ErrNoSuchCall", err)
	}
}
