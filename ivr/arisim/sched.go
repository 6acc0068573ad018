package arisim

import (
	"container/heap"
	"sync"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/clock"
)

// scheduler runs callbacks at instants of a clock.Clock. One goroutine and
// one heap serve every playback, recording, DTMF and dial timer of the
// server, so thousands of simulated calls cost no goroutine each.
type scheduler struct {
	clk  clock.Clock
	mu   sync.Mutex
	h    timerHeap
	seq  uint64
	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

// timerEntry is one scheduled callback. dead is guarded by Server.mu (the
// callbacks check it under that lock, so a cancel that races with the
// firing is still honoured); index is guarded by scheduler.mu.
type timerEntry struct {
	at    time.Time
	seq   uint64
	fn    func()
	index int
	dead  bool
}

type timerHeap []*timerEntry

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	e := x.(*timerEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*h = old[:n-1]
	return e
}

func newScheduler(clk clock.Clock) *scheduler {
	s := &scheduler{
		clk:  clk,
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.loop()
	return s
}

// at schedules fn at the clock instant t.
func (s *scheduler) at(t time.Time, fn func()) *timerEntry {
	s.mu.Lock()
	s.seq++
	e := &timerEntry{at: t, seq: s.seq, fn: fn}
	heap.Push(&s.h, e)
	first := e.index == 0
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return e
}

// remove takes e out of the heap if it is still there.
func (s *scheduler) remove(e *timerEntry) {
	s.mu.Lock()
	if e.index >= 0 && e.index < len(s.h) && s.h[e.index] == e {
		heap.Remove(&s.h, e.index)
	}
	s.mu.Unlock()
}

func (s *scheduler) stop() {
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.done
}

func (s *scheduler) loop() {
	defer close(s.done)
	var due []*timerEntry
	for {
		s.mu.Lock()
		now := s.clk.Now()
		due = due[:0]
		for len(s.h) > 0 && !s.h[0].at.After(now) {
			due = append(due, heap.Pop(&s.h).(*timerEntry))
		}
		var next time.Duration = -1
		if len(due) == 0 && len(s.h) > 0 {
			next = s.h[0].at.Sub(now)
		}
		s.mu.Unlock()

		if len(due) > 0 {
			for i, e := range due {
				e.fn()
				due[i] = nil
			}
			select {
			case <-s.quit:
				return
			default:
			}
			continue
		}
		if next < 0 {
			select {
			case <-s.wake:
			case <-s.quit:
				return
			}
			continue
		}
		t := s.clk.NewTimer(next)
		select {
		case <-t.C:
		case <-s.wake:
			t.Stop()
		case <-s.quit:
			t.Stop()
			return
		}
	}
}
