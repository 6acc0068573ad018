package ivr

import (
	"context"
	"sync"
	"time"

	"github.com/helpdesk-ivr/ivr/tickets"
)

// Lockouts counts wrong PINs across calls, per caller number and per
// Administration targeted, so that redialling, or rotating caller ids
// against one Administration, gains nothing; and raises an alarm when
// wrong PINs across all numbers pile up. ivrd keeps them in PostgreSQL
// (tickets.LockoutStore), shared by every instance and kept across
// restarts; MemoryLockouts serves simulations without a database.
//
// Locking an Administration does not lock out its rightful callers: a
// number that keyed one of its PINs right (within policy.TrustFor) keeps
// trying while the Administration is locked; everybody else is refused
// and routed as the configuration says for a lockout (an operator, in the
// example), so an attacker can keep the Administration locked but not
// keep its known callers from their PINs. Withheld numbers are never
// trusted.
type Lockouts interface {
	// Locked reports whether t may not try a PIN at now.
	Locked(ctx context.Context, t tickets.PINTarget, now time.Time, p tickets.LockoutPolicy) (tickets.PINLock, error)
	// Failed counts a wrong PIN of t at now: p.MaxPerNumber of them
	// from a number within p.Window lock the number for p.Window, and
	// p.MaxPerOrganization against an Administration lock it.
	Failed(ctx context.Context, t tickets.PINTarget, now time.Time, p tickets.LockoutPolicy) (tickets.LockoutVerdict, error)
	// Succeeded records a right PIN: the number's count starts again and
	// the Administration trusts the number.
	Succeeded(ctx context.Context, t tickets.PINTarget, now time.Time) error
}

var _ Lockouts = (*tickets.LockoutStore)(nil)

// MemoryLockouts keeps the counts in memory (one process: `ivrctl
// simulate`, the test phone outside the demo).
type MemoryLockouts struct {
	mu       sync.Mutex
	numbers  map[string]*lockoutEntry
	orgs     map[string]*lockoutEntry
	trusted  map[tickets.PINTarget]time.Time // last right PIN
	all      []time.Time                     // every failure, for the alarm
	alarmAt  time.Time
	failures int
}

type lockoutEntry struct {
	failures []time.Time // within the window
	until    time.Time   // locked until
}

// NewMemoryLockouts returns an empty table.
func NewMemoryLockouts() *MemoryLockouts {
	return &MemoryLockouts{numbers: map[string]*lockoutEntry{}, orgs: map[string]*lockoutEntry{},
		trusted: map[tickets.PINTarget]time.Time{}}
}

// Locked implements Lockouts.
func (l *MemoryLockouts) Locked(_ context.Context, t tickets.PINTarget, now time.Time, p tickets.LockoutPolicy) (tickets.PINLock, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var lk tickets.PINLock
	if e := l.numbers[t.Caller]; e != nil && now.Before(e.until) {
		lk.Number = true
	}
	if e := l.orgs[t.Organization]; t.Organization != "" && e != nil && now.Before(e.until) {
		last, ok := l.trusted[t]
		lk.Organization = t.Caller == "" || !ok || !now.Before(last.Add(trustFor(p)))
	}
	return lk, nil
}

func trustFor(p tickets.LockoutPolicy) time.Duration {
	if p.TrustFor > 0 {
		return p.TrustFor
	}
	return tickets.DefaultPINTrust
}

// Failed implements Lockouts.
func (l *MemoryLockouts) Failed(_ context.Context, t tickets.PINTarget, now time.Time, p tickets.LockoutPolicy) (tickets.LockoutVerdict, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures++
	if l.failures%1024 == 0 {
		l.sweep(now, p)
	}
	var v tickets.LockoutVerdict
	v.NumberLocked = count(l.numbers, t.Caller, now, p.Window, p.MaxPerNumber)
	if t.Organization != "" {
		v.OrganizationLocked = count(l.orgs, t.Organization, now, p.Window, p.MaxPerOrganization)
	}
	kept := l.all[:0]
	for _, f := range l.all {
		if now.Sub(f) < p.AlarmWindow {
			kept = append(kept, f)
		}
	}
	l.all = append(kept, now)
	v.Recent = len(l.all)
	if p.AlarmFailures > 0 && v.Recent >= p.AlarmFailures && (l.alarmAt.IsZero() || now.Sub(l.alarmAt) >= p.AlarmWindow) {
		l.alarmAt, v.Alarm = now, true
	}
	return v, nil
}

// count adds a failure of key at now and locks it once max fall within
// window.
func count(m map[string]*lockoutEntry, key string, now time.Time, window time.Duration, max int) bool {
	e := m[key]
	if e == nil {
		e = &lockoutEntry{}
		m[key] = e
	}
	kept := e.failures[:0]
	for _, f := range e.failures {
		if now.Sub(f) < window {
			kept = append(kept, f)
		}
	}
	e.failures = append(kept, now)
	if max > 0 && len(e.failures) >= max {
		e.until = now.Add(window)
		e.failures = nil
		return true
	}
	return false
}

// Succeeded implements Lockouts.
func (l *MemoryLockouts) Succeeded(_ context.Context, t tickets.PINTarget, now time.Time) error {
	if t.Caller == "" {
		return nil // withheld numbers share a count anyone can add to
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.numbers[t.Caller]; e != nil {
		e.failures = nil
	}
	if t.Organization != "" {
		l.trusted[t] = now
	}
	return nil
}

// sweep drops entries with nothing left to remember.
func (l *MemoryLockouts) sweep(now time.Time, p tickets.LockoutPolicy) {
	for _, m := range []map[string]*lockoutEntry{l.numbers, l.orgs} {
		for k, e := range m {
			last := e.until
			if n := len(e.failures); n > 0 && e.failures[n-1].Add(p.Window).After(last) {
				last = e.failures[n-1].Add(p.Window)
			}
			if !now.Before(last) {
				delete(m, k)
			}
		}
	}
	for k, at := range l.trusted {
		if !now.Before(at.Add(trustFor(p))) {
			delete(l.trusted, k)
		}
	}
}
