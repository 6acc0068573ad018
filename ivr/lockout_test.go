package ivr_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/tickets"
)

var lockoutPolicy = tickets.LockoutPolicy{Window: 15 * time.Minute, MaxPerNumber: 3, MaxPerOrganization: 4,
	AlarmFailures: 1000, AlarmWindow: 10 * time.Minute, TrustFor: 24 * time.Hour}

func TestMemoryLockouts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := ivr.NewMemoryLockouts()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p := lockoutPolicy
	window := p.Window
	num := func(n string) tickets.PINTarget { return tickets.PINTarget{Caller: n} }
	failed := func(tg tickets.PINTarget, at time.Time) tickets.LockoutVerdict {
		t.Helper()
		v, err := l.Failed(ctx, tg, at, p)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	locked := func(tg tickets.PINTarget, at time.Time) tickets.PINLock {
		t.Helper()
		lk, err := l.Locked(ctx, tg, at, p)
		if err != nil {
			t.Fatal(err)
		}
		return lk
	}
	// Two wrong PINs, a third after the window: the first has expired.
	failed(num("+39333"), t0)
	failed(num("+39333"), t0.Add(time.Minute))
	if failed(num("+39333"), t0.Add(16*time.Minute)).NumberLocked {
		t.Fatal("a failure older than the window still counted")
	}
	// Three within the window (the one at 16 min and two more) lock the
	// number for the window.
	at := t0.Add(20 * time.Minute)
	if failed(num("+39333"), at).NumberLocked {
		t.Fatal("locked after two failures")
	}
	if !failed(num("+39333"), at).NumberLocked {
		t.Fatal("not locked after three failures within the window")
	}
	if !locked(num("+39333"), at).Number || !locked(num("+39333"), at.Add(window-time.Second)).Number || locked(num("+39333"), at.Add(window)).Locked() {
		t.Error("lock does not last exactly the window")
	}
	// A right PIN clears the count.
	failed(num("+39444"), t0)
	failed(num("+39444"), t0)
	l.Succeeded(ctx, num("+39444"), t0)
	if failed(num("+39444"), t0).NumberLocked {
		t.Error("the count survived a right PIN")
	}
	// Withheld numbers share one count, which a right PIN does not clear
	// (anyone can withhold a number).
	failed(num(""), t0)
	l.Succeeded(ctx, num(""), t0)
	failed(num(""), t0)
	if !failed(num(""), t0).NumberLocked || !locked(num(""), t0).Number {
		t.Error("withheld numbers get unlimited tries")
	}
	// Sweeping old entries never forgets an active lock.
	for i := range 5000 {
		failed(num(fmt.Sprintf("+3900%d", i)), at)
	}
	if !locked(num("+39333"), at.Add(time.Minute)).Number {
		t.Error("an active lock was swept away")
	}
}

// Numbers rotating against one Administration lock it, but not for the
// numbers it trusts; the alarm is raised once per window.
func TestMemoryLockoutsPerOrganization(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := ivr.NewMemoryLockouts()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p := lockoutPolicy
	p.AlarmFailures = 5
	rightful := tickets.PINTarget{Caller: "+390699990100", Organization: "trib"}
	l.Succeeded(ctx, rightful, t0)
	var alarms int
	for i := range 4 {
		v, _ := l.Failed(ctx, tickets.PINTarget{Caller: fmt.Sprintf("+3906999900%02d", i), Organization: "trib"}, t0, p)
		if v.NumberLocked || v.OrganizationLocked != (i == 3) {
			t.Fatalf("failure %d: %+v", i, v)
		}
	}
	for i := range 3 {
		v, _ := l.Failed(ctx, tickets.PINTarget{Caller: fmt.Sprintf("+3933300000%02d", i)}, t0, p)
		if v.Alarm {
			alarms++
		}
		if v.Recent != 5+i {
			t.Errorf("recent %d, want %d", v.Recent, 5+i)
		}
	}
	if alarms != 1 {
		t.Errorf("%d alarms, want 1", alarms)
	}
	if lk, _ := l.Locked(ctx, tickets.PINTarget{Caller: "+390699990099", Organization: "trib"}, t0, p); !lk.Organization || lk.Number {
		t.Errorf("an untrusted number may try a locked Administration: %+v", lk)
	}
	if lk, _ := l.Locked(ctx, tickets.PINTarget{Caller: "", Organization: "trib"}, t0, p); !lk.Organization {
		t.Errorf("a withheld number may try a locked Administration: %+v", lk)
	}
	if lk, _ := l.Locked(ctx, rightful, t0, p); lk.Locked() {
		t.Errorf("a trusted number is locked out: %+v", lk)
	}
	if lk, _ := l.Locked(ctx, tickets.PINTarget{Caller: "+390699990099", Organization: "trib"}, t0.Add(p.Window), p); lk.Locked() {
		t.Errorf("the lock outlived its window: %+v", lk)
	}
	if lk, _ := l.Locked(ctx, tickets.PINTarget{Caller: "+390699990099", Organization: "other"}, t0, p); lk.Locked() {
		t.Errorf("another Administration is locked: %+v", lk)
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
