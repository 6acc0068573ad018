package tickets_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/tickets"
)

var pinPolicy = tickets.LockoutPolicy{Window: 15 * time.Minute, MaxPerNumber: 3, MaxPerOrganization: 4,
	AlarmFailures: 1000, AlarmWindow: 10 * time.Minute, TrustFor: 24 * time.Hour}

// lockoutDB is one database that ivrd instances (or one ivrd restarted)
// open lockout stores on, each with a pool of its own.
type lockoutDB struct {
	t   *testing.T
	url string
	clk *clock
	p   tickets.LockoutPolicy
}

func newLockoutDB(t *testing.T, p tickets.LockoutPolicy, clk *clock) lockoutDB {
	return lockoutDB{t: t, url: pgtest.DatabaseURL(t), clk: clk, p: p}
}

func (db lockoutDB) open(reg prometheus.Registerer) *tickets.LockoutStore {
	db.t.Helper()
	pool, err := pgxpool.New(ctx, db.url)
	if err != nil {
		db.t.Fatal(err)
	}
	db.t.Cleanup(pool.Close)
	s, err := tickets.NewLockoutStore(pool, tickets.LockoutOptions{Now: db.clk.Now, Registerer: reg,
		Policy: func() tickets.LockoutPolicy { return db.p }})
	if err != nil {
		db.t.Fatal(err)
	}
	return s
}

func TestLockoutStorePerNumber(t *testing.T) {
	t.Parallel()
	p := pinPolicy
	clk := newClock(t0)
	db := newLockoutDB(t, p, clk)
	a, b := db.open(nil), db.open(nil)
	num := func(n string) tickets.PINTarget { return tickets.PINTarget{Caller: n} }
	failed := func(s *tickets.LockoutStore, tg tickets.PINTarget, at time.Time) tickets.LockoutVerdict {
		t.Helper()
		return must[tickets.LockoutVerdict](t)(s.Failed(ctx, tg, at, p))
	}
	locked := func(s *tickets.LockoutStore, tg tickets.PINTarget, at time.Time) tickets.PINLock {
		t.Helper()
		return must[tickets.PINLock](t)(s.Locked(ctx, tg, at, p))
	}
	succeeded := func(s *tickets.LockoutStore, tg tickets.PINTarget, at time.Time) {
		t.Helper()
		if err := s.Succeeded(ctx, tg, at); err != nil {
			t.Fatal(err)
		}
	}
	// Two wrong PINs on one instance, a third on the other after the
	// window: the first has expired.
	failed(a, num("+39333"), t0)
	failed(a, num("+39333"), t0.Add(time.Minute))
	if failed(b, num("+39333"), t0.Add(16*time.Minute)).NumberLocked {
		t.Fatal("a failure older than the window still counted")
	}
	at := t0.Add(20 * time.Minute)
	if failed(b, num("+39333"), at).NumberLocked {
		t.Fatal("locked after two failures")
	}
	if !failed(a, num("+39333"), at).NumberLocked {
		t.Fatal("not locked after three failures within the window, counted on two instances")
	}
	for _, s := range []*tickets.LockoutStore{a, b} {
		if !locked(s, num("+39333"), at).Number || !locked(s, num("+39333"), at.Add(p.Window-time.Second)).Number ||
			locked(s, num("+39333"), at.Add(p.Window)).Locked() {
			t.Error("lock does not last exactly the window on every instance")
		}
	}
	// After the lock the count starts again.
	if failed(a, num("+39333"), at.Add(p.Window)).NumberLocked {
		t.Error("the failures before the lock counted again after it")
	}
	// A right PIN clears the count.
	failed(a, num("+39444"), t0)
	failed(b, num("+39444"), t0)
	succeeded(a, tickets.PINTarget{Caller: "+39444", Organization: "trib"}, t0)
	if failed(b, num("+39444"), t0).NumberLocked {
		t.Error("the count survived a right PIN")
	}
	// Withheld numbers share one count that a right PIN does not clear.
	failed(a, num(""), t0)
	succeeded(b, tickets.PINTarget{Organization: "trib"}, t0)
	failed(b, num(""), t0)
	if !failed(a, num(""), t0).NumberLocked || !locked(b, num(""), t0).Number {
		t.Error("withheld numbers get unlimited tries")
	}
	// A restart (a new store and pool on the same database) keeps the
	// locks and the counts.
	c := db.open(nil)
	if !locked(c, num(""), t0).Number {
		t.Error("a lock was lost with the restart")
	}
	failed(a, num("+39555"), t0)
	failed(a, num("+39555"), t0)
	if !failed(c, num("+39555"), t0).NumberLocked {
		t.Error("a count was lost with the restart")
	}
}

// Counting is exact when instances count the same number at once: every
// MaxPerNumber-th failure locks, no more, no fewer.
func TestLockoutStoreConcurrentFailures(t *testing.T) {
	t.Parallel()
	p := pinPolicy
	p.MaxPerNumber = 5
	db := newLockoutDB(t, p, newClock(t0))
	stores := []*tickets.LockoutStore{db.open(nil), db.open(nil), db.open(nil)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	locks := 0
	for i := range 20 {
		wg.Go(func() {
			v, err := stores[i%3].Failed(ctx, tickets.PINTarget{Caller: "+39333", Organization: "trib"}, t0, p)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if v.NumberLocked {
				locks++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if locks != 4 {
		t.Errorf("20 concurrent failures locked %d times, want 4", locks)
	}
}

// Numbers rotating against one Administration lock it, but not for the
// numbers that keyed its PIN right before; the alarm is raised once per
// window across instances, and read back for the panel and the metrics.
func TestLockoutStorePerOrganizationAndAlarm(t *testing.T) {
	t.Parallel()
	p := pinPolicy
	p.AlarmFailures = 5
	clk := newClock(t0)
	db := newLockoutDB(t, p, clk)
	reg := prometheus.NewRegistry()
	a, b := db.open(reg), db.open(nil)
	rightful := tickets.PINTarget{Caller: "+390699990100", Organization: "trib"}
	if err := a.Succeeded(ctx, rightful, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		s := []*tickets.LockoutStore{a, b}[i%2]
		v := must[tickets.LockoutVerdict](t)(s.Failed(ctx, tickets.PINTarget{Caller: fmt.Sprintf("+3906999900%02d", i), Organization: "trib"}, t0, p))
		if v.NumberLocked || v.OrganizationLocked != (i == 3) || v.Alarm || v.Recent != i+1 {
			t.Fatalf("failure %d: %+v", i, v)
		}
	}
	if alarm, n := must2(t)(a.RecentPINFailureAlarm(ctx)); alarm || n != 4 {
		t.Errorf("alarm %v with %d failures, want none with 4", alarm, n)
	}
	if got := testkit.MetricValue(t, reg, "ivr_pin_failure_alarm"); got != 0 {
		t.Errorf("ivr_pin_failure_alarm %v before the threshold", got)
	}
	alarms := 0
	for i := range 3 {
		s := []*tickets.LockoutStore{a, b}[i%2]
		v := must[tickets.LockoutVerdict](t)(s.Failed(ctx, tickets.PINTarget{Caller: fmt.Sprintf("+3933300000%02d", i)}, t0, p))
		if v.Alarm {
			alarms++
		}
	}
	if alarms != 1 {
		t.Errorf("%d alarms raised, want 1", alarms)
	}
	if alarm, n := must2(t)(b.RecentPINFailureAlarm(ctx)); !alarm || n != 7 {
		t.Errorf("alarm %v with %d failures, want one with 7", alarm, n)
	}
	if got := testkit.MetricValue(t, reg, "ivr_pin_failure_alarm"); got != 1 {
		t.Errorf("ivr_pin_failure_alarm %v above the threshold", got)
	}
	if got := testkit.MetricValue(t, reg, "ivr_pin_failures_recent"); got != 7 {
		t.Errorf("ivr_pin_failures_recent %v", got)
	}
	// Past the alarm window the failures are no longer recent, and the
	// next burst raises the alarm again.
	clk.Set(t0.Add(p.AlarmWindow + time.Second))
	if alarm, n := must2(t)(a.RecentPINFailureAlarm(ctx)); alarm || n != 0 {
		t.Errorf("alarm %v with %d failures after the window", alarm, n)
	}
	later := clk.Now()
	for i := range 5 {
		v := must[tickets.LockoutVerdict](t)(a.Failed(ctx, tickets.PINTarget{Caller: fmt.Sprintf("+3933400000%02d", i)}, later, p))
		if v.Alarm != (i == 4) {
			t.Errorf("second burst, failure %d: %+v", i, v)
		}
	}

	lockedOut := func(tg tickets.PINTarget, at time.Time) tickets.PINLock {
		t.Helper()
		return must[tickets.PINLock](t)(b.Locked(ctx, tg, at, p))
	}
	if lk := lockedOut(tickets.PINTarget{Caller: "+390699990099", Organization: "trib"}, t0); !lk.Organization || lk.Number {
		t.Errorf("an untrusted number may try a locked Administration: %+v", lk)
	}
	if lk := lockedOut(tickets.PINTarget{Organization: "trib"}, t0); !lk.Organization {
		t.Errorf("a withheld number may try a locked Administration: %+v", lk)
	}
	if lk := lockedOut(rightful, t0); lk.Locked() {
		t.Errorf("a number the Administration trusts is locked out: %+v", lk)
	}
	shortTrust := p
	shortTrust.TrustFor = 30 * time.Minute // the right PIN was an hour ago
	if lk := must[tickets.PINLock](t)(b.Locked(ctx, rightful, t0, shortTrust)); !lk.Organization {
		t.Errorf("trust outlived TrustFor: %+v", lk)
	}
	if lk := lockedOut(tickets.PINTarget{Caller: "+390699990099", Organization: "trib"}, t0.Add(p.Window)); lk.Locked() {
		t.Errorf("the Administration's lock outlived its window: %+v", lk)
	}
	if lk := lockedOut(tickets.PINTarget{Caller: "+390699990099", Organization: "other"}, t0); lk.Locked() {
		t.Errorf("another Administration is locked: %+v", lk)
	}
}

func must2(t *testing.T) func(bool, int, error) (bool, int) {
	return func(b bool, n int, err error) (bool, int) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b, n
	}
}
