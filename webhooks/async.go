package webhooks

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Async writes events observed outside a transaction (the call
// controller's steps) into the outbox from a goroutine of its own, so that
// Emit never blocks the caller. An event is durable once written; one
// emitted while the buffer is full, or lost with the process before it is
// written, is not delivered (Dropped counts the first kind, and each is
// logged).
type Async struct {
	s       *Service
	ch      chan Event
	done    chan struct{}
	mu      sync.RWMutex
	closed  bool
	dropped atomic.Int64
}

// StartAsync starts the writer with a buffer of size events; Close stops
// it after writing what was emitted.
func (s *Service) StartAsync(size int) *Async {
	a := &Async{s: s, ch: make(chan Event, max(size, 1)), done: make(chan struct{})}
	go a.run()
	return a
}

func (a *Async) run() {
	defer close(a.done)
	for ev := range a.ch {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := a.s.Emit(ctx, a.s.pool, ev); err != nil {
			a.s.log.Error("webhook_emit_failed", "event", ev.Type, "error", err.Error())
		}
		cancel()
	}
}

// Emit queues ev if some subscription wants its type; it never blocks.
func (a *Async) Emit(ev Event) {
	if !a.s.Wants(ev.Type) {
		return
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		a.dropped.Add(1)
		a.s.log.Error("webhook_event_dropped", "event", ev.Type, "reason", "closed")
		return
	}
	select {
	case a.ch <- ev:
	default:
		a.dropped.Add(1)
		a.s.log.Error("webhook_event_dropped", "event", ev.Type, "reason", "buffer full")
	}
}

// Dropped is how many events Emit dropped.
func (a *Async) Dropped() int64 { return a.dropped.Load() }

// Close writes what was emitted and stops; later events are dropped.
func (a *Async) Close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.ch)
	}
	a.mu.Unlock()
	<-a.done
}
