package ivr_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
)

func TestMemoryLockouts(t *testing.T) {
	t.Parallel()
	l := ivr.NewMemoryLockouts()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	const window, max = 15 * time.Minute, 3
	// Two wrong PINs, a third after the window: the first has expired.
	l.Failed("+39333", t0, window, max)
	l.Failed("+39333", t0.Add(time.Minute), window, max)
	if l.Failed("+39333", t0.Add(16*time.Minute), window, max) {
		t.Fatal("a failure older than the window still counted")
	}
	// Three within the window (the one at 16 min and two more) lock the
	// number for the window.
	at := t0.Add(20 * time.Minute)
	if l.Failed("+39333", at, window, max) {
		t.Fatal("locked after two failures")
	}
	if !l.Failed("+39333", at, window, max) {
		t.Fatal("not locked after three failures within the window")
	}
	if !l.Locked("+39333", at) || !l.Locked("+39333", at.Add(window-time.Second)) || l.Locked("+39333", at.Add(window)) {
		t.Error("lock does not last exactly the window")
	}
	// A right PIN clears the count.
	l.Failed("+39444", t0, window, max)
	l.Failed("+39444", t0, window, max)
	l.Succeeded("+39444")
	if l.Failed("+39444", t0, window, max) {
		t.Error("the count survived a right PIN")
	}
	// Withheld numbers share one count.
	l.Failed("", t0, window, max)
	l.Failed("", t0, window, max)
	if !l.Failed("", t0, window, max) || !l.Locked("", t0) {
		t.Error("withheld numbers get unlimited tries")
	}
	// Sweeping old entries never forgets an active lock.
	for i := range 5000 {
		l.Failed(fmt.Sprintf("+3900%d", i), at, window, max)
	}
	if !l.Locked("+39333", at.Add(time.Minute)) {
		t.Error("an active lock was swept away")
	}
}

// Redialling after each wrong PIN does not reset the count.
func TestPINFailuresCountAcrossCalls(t *testing.T) {
	r := newRig(t, monday10)
	first := r.call("3330000009")
	r.waitPrompt(first.ID(), "node:root")
	press(t, first, "4")
	for range 2 {
		r.waitPrompt(first.ID(), "system:pin_ask")
		press(t, first, "1111#")
		r.waitFor(first.ID(), "verdict", func(e ivr.Event) bool { return e.Kind == ivr.EvPIN && e.Result == "wrong" })
	}
	first.Hangup()
	r.outcome(first.ID())

	again := r.call("3330000009")
	r.waitPrompt(again.ID(), "node:root")
	press(t, again, "4")
	r.waitPrompt(again.ID(), "system:pin_ask")
	press(t, again, "2222#")
	ev := r.waitKind(again.ID(), ivr.EvRoute)
	if ev.Reason != "pin_locked" {
		t.Fatalf("third wrong PIN over two calls: %+v\n%s", ev, r.transcript(again.ID()))
	}
	again.Hangup()
	r.outcome(again.ID())
}
