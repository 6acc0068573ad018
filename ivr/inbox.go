package ivr

import (
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"
)

// item is one thing for a session: an event, a request to re-check its
// state after the event socket came back, or to let the call go.
type item struct {
	ev       ari.Event
	at       time.Time // wall time the dispatcher received ev
	resync   bool
	restart  bool // with resync: Asterisk restarted meanwhile
	release  bool
	shutdown bool
	offer    bool        // the queue's wait for an offer has returned
	act      *actRequest // a request from the panel (control.go)
}

// inbox is a session's unbounded, ordered queue. The dispatcher never
// blocks on a slow call, and no key press is ever dropped.
type inbox struct {
	mu     sync.Mutex
	items  []item
	signal chan struct{}
}

func newInbox() inbox { return inbox{signal: make(chan struct{}, 1)} }

func (b *inbox) push(it item) {
	b.mu.Lock()
	b.items = append(b.items, it)
	b.mu.Unlock()
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

func (b *inbox) pop() (item, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.items) == 0 {
		return item{}, false
	}
	it := b.items[0]
	b.items[0] = item{}
	b.items = b.items[1:]
	if len(b.items) == 0 {
		b.items = nil // let the backing array go
	}
	return it, true
}
