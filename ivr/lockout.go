package ivr

import (
	"sync"
	"time"
)

// Lockouts remembers caller numbers that failed PIN entry too often.
type Lockouts interface {
	// Locked reports whether number may not try a PIN at now.
	Locked(number string, now time.Time) bool
	// Lock forbids PIN entry to number from now until until.
	Lock(number string, now, until time.Time)
}

// MemoryLockouts keeps lockouts in memory (one instance).
type MemoryLockouts struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// NewMemoryLockouts returns an empty lockout table.
func NewMemoryLockouts() *MemoryLockouts {
	return &MemoryLockouts{until: map[string]time.Time{}}
}

// Locked implements Lockouts.
func (l *MemoryLockouts) Locked(number string, now time.Time) bool {
	if number == "" {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.until[number]
	if ok && !now.Before(u) {
		delete(l.until, number)
		return false
	}
	return ok
}

// Lock implements Lockouts.
func (l *MemoryLockouts) Lock(number string, now, until time.Time) {
	if number == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Keep the table small: drop expired entries now and then (an entry
	// is expired once the lock it stood for has ended).
	if len(l.until)%256 == 255 {
		for n, u := range l.until {
			if !now.Before(u) {
				delete(l.until, n)
			}
		}
	}
	l.until[number] = until
}
