package ivr

import (
	"sync"
	"time"
)

// Lockouts counts wrong PINs per caller number across calls, so that
// redialling after each wrong try does not reset the count, and locks a
// number out of PIN entry once it has too many.
type Lockouts interface {
	// Locked reports whether number may not try a PIN at now.
	Locked(number string, now time.Time) bool
	// Failed counts a wrong PIN from number at now; once max wrong PINs
	// fall within window, the number is locked for window and Failed
	// reports true.
	Failed(number string, now time.Time, window time.Duration, max int) bool
	// Succeeded clears the count of a number that keyed a right PIN.
	Succeeded(number string)
}

// anonymous is the key of callers who withhold their number: they share
// one count, so withholding the number does not give unlimited tries.
const anonymous = "anonymous"

// MemoryLockouts keeps the counts in memory (one ivrd instance).
type MemoryLockouts struct {
	mu      sync.Mutex
	entries map[string]*lockoutEntry
}

type lockoutEntry struct {
	failures []time.Time // within the window
	until    time.Time   // locked until
}

// NewMemoryLockouts returns an empty table.
func NewMemoryLockouts() *MemoryLockouts {
	return &MemoryLockouts{entries: map[string]*lockoutEntry{}}
}

func key(number string) string {
	if number == "" {
		return anonymous
	}
	return number
}

// Locked implements Lockouts.
func (l *MemoryLockouts) Locked(number string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key(number)]
	return e != nil && now.Before(e.until)
}

// Failed implements Lockouts.
func (l *MemoryLockouts) Failed(number string, now time.Time, window time.Duration, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := key(number)
	e := l.entries[k]
	if e == nil {
		if len(l.entries)%1024 == 1023 {
			l.sweep(now, window)
		}
		e = &lockoutEntry{}
		l.entries[k] = e
	}
	kept := e.failures[:0]
	for _, f := range e.failures {
		if now.Sub(f) < window {
			kept = append(kept, f)
		}
	}
	e.failures = append(kept, now)
	if len(e.failures) >= max {
		e.until = now.Add(window)
		e.failures = nil
		return true
	}
	return false
}

// Succeeded implements Lockouts.
func (l *MemoryLockouts) Succeeded(number string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key(number))
}

// sweep drops entries with nothing left to remember.
func (l *MemoryLockouts) sweep(now time.Time, window time.Duration) {
	for k, e := range l.entries {
		last := e.until
		if n := len(e.failures); n > 0 && e.failures[n-1].Add(window).After(last) {
			last = e.failures[n-1].Add(window)
		}
		if !now.Before(last) {
			delete(l.entries, k)
		}
	}
}
