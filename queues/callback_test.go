package queues_test

import (
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/queues"
)

// TestCallbackKeepsPlace: a callback keeps its entry's place (a caller
// queued later is served after it), survives the maintenance although no
// session looks at it, ignores the group's max wait, and is retried in its
// place, then answered or failed.
func TestCallbackKeepsPlace(t *testing.T) {
	t.Parallel()
	s, clk, _ := newService(t, []queues.GroupConfig{{ID: "g", MaxWait: 10 * time.Minute}}, []queues.Operator{op("a", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Paused, queues.ReasonBreak))
	enqueue(t, s, "cb", "g", 20)
	clk.Advance(10 * time.Second)
	evs := must[[]queues.Event](t)(s.RequestCallback(ctx, "cb", "+390612345678", time.Time{}))
	equal(t, "request event", [2]string{evs[0].Kind, evs[0].Group}, [2]string{queues.EventCallbackRequested, "g"})
	_, err := s.RequestCallback(ctx, "cb", "+390612345678", time.Time{})
	wantErr(t, err, fault.ErrConflict) // already one
	enqueue(t, s, "later", "g", 20)
	equal(t, "later behind the callback", must[queues.Position](t)(s.Position(ctx, "later")).Position, 2)

	// Minutes pass: the callback, without a session, is not stale.
	clk.Advance(2 * time.Minute)
	noErr(t, s.Maintain(ctx))
	cbs := must[[]queues.Callback](t)(s.ClaimCallbacks(ctx))
	equal(t, "claimed", len(cbs), 1)
	equal(t, "claimed callback", [3]any{cbs[0].CallID, cbs[0].Number, cbs[0].Group}, [3]any{"cb", "+390612345678", "g"})
	st := must[[]queues.GroupStats](t)(s.Snapshot(ctx))
	equal(t, "wallboard", [3]int{st[0].Waiting, st[0].CallbacksWaiting, st[0].CallbacksRequested}, [3]int{1, 1, 1})

	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	of := waitOffer(t, s, "cb")
	equal(t, "callback offered first", [3]any{logins(of), of.Callback, of.Overflow == nil}, [3]any{[]string{"a"}, "+390612345678", true})
	must[[]queues.Event](t)(s.CallbackTaken(ctx, "cb", "a"))
	if st, _ := state(t, s, "a"); st != queues.OnCall {
		t.Fatalf("a is %s", st)
	}
	// Nobody answers: the callback waits again, in its place, until the retry.
	retry := clk.Now().Add(10 * time.Minute)
	evs = must[[]queues.Event](t)(s.CallbackDone(ctx, "cb", queues.CallbackResult{Operator: "a", RetryAt: retry, Detail: "no answer"}))
	equal(t, "retry event", evs[0].Kind, queues.EventCallbackNoAnswer)
	noErr(t, s.CallEnded(ctx, "a"))
	equal(t, "still first", must[queues.Position](t)(s.Position(ctx, "cb")).Position, 1)
	// Until the retry the next caller is served.
	of = waitOffer(t, s, "later")
	equal(t, "later served meanwhile", logins(of), []string{"a"})
	must[[]queues.Event](t)(s.Answer(ctx, "later", "a"))
	noErr(t, s.CallEnded(ctx, "a"))
	clk.Advance(10 * time.Minute) // past the group's max wait too
	noErr(t, s.Maintain(ctx))
	of = waitOffer(t, s, "cb")
	equal(t, "retried", [2]any{logins(of), of.CallbackTries}, [2]any{[]string{"a"}, 1})
	must[[]queues.Event](t)(s.CallbackTaken(ctx, "cb", "a"))
	clk.Advance(30 * time.Second)
	evs = must[[]queues.Event](t)(s.CallbackDone(ctx, "cb", queues.CallbackResult{Answered: true, Operator: "a"}))
	equal(t, "answered event", evs[0].Kind, queues.EventCallbackAnswered)
	_, err = s.Position(ctx, "cb")
	wantErr(t, err, fault.ErrNotFound)
	st = must[[]queues.GroupStats](t)(s.Snapshot(ctx))
	equal(t, "wallboard after", [6]int{st[0].CallbacksWaiting, st[0].CallbacksMade, st[0].CallbacksAnswered, st[0].CallbacksFailed, st[0].Answered,
		int(st[0].CallbackDelay / time.Second)}, [6]int{0, 2, 1, 0, 2, 2*60 + 10*60 + 30})
}

// TestCallbackScheduled: a callback for the next opening is not offered
// before then, and is first in line at that time, before callers of any
// priority who arrive meanwhile.
func TestCallbackScheduled(t *testing.T) {
	t.Parallel()
	s, clk, _ := newService(t, []queues.GroupConfig{{ID: "g", NoOperators: queues.OverflowPolicy{Action: queues.OverflowWait}}},
		[]queues.Operator{op("a", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	noErr(t, s.SetState(ctx, "a", queues.Paused, queues.ReasonBreak))
	enqueue(t, s, "cb", "g", 10)
	opening := clk.Now().Add(time.Hour)
	must[[]queues.Event](t)(s.RequestCallback(ctx, "cb", "+393331234567", opening))
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	enqueue(t, s, "urgent", "g", 40)
	equal(t, "the caller on the line goes before the opening", logins(waitOffer(t, s, "urgent")), []string{"a"})
	must[[]queues.Event](t)(s.Answer(ctx, "urgent", "a"))
	noErr(t, s.CallEnded(ctx, "a"))
	noErr(t, s.SetState(ctx, "a", queues.Paused, queues.ReasonBreak))
	clk.Advance(time.Hour)
	enqueue(t, s, "urgent2", "g", 40)
	equal(t, "callback first at the opening", must[queues.Position](t)(s.Position(ctx, "urgent2")).Position, 2)
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	equal(t, "offered at the opening", logins(waitOffer(t, s, "cb")), []string{"a"})
	must[[]queues.Event](t)(s.CallbackTaken(ctx, "cb", "a"))
	evs := must[[]queues.Event](t)(s.CallbackDone(ctx, "cb", queues.CallbackResult{Operator: "a", Detail: "busy"}))
	equal(t, "failed", evs[0].Kind, queues.EventCallbackFailed)
	_, err := s.Position(ctx, "cb")
	wantErr(t, err, fault.ErrNotFound)
	_, err = s.CallbackDone(ctx, "cb", queues.CallbackResult{Operator: "a"})
	wantErr(t, err, fault.ErrNotFound)
}
