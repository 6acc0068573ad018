package ivr_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
)

// caller is one simulated caller who keeps what they hear (the
// simulator's playback events of their channel) and when they pressed
// keys, to tell an announcement cut short from one the caller
// interrupted.
type caller struct {
	t   *testing.T
	clk *clock.Scaled
	c   *arisim.Call

	mu      sync.Mutex
	heard   []arisim.CallerEvent
	presses []span // clock time from the call to Press to its return
	changed chan struct{}
}

type span struct{ from, to time.Time }

// dial places a call from a number; the caller speaks speak seconds
// whenever a recording starts.
func dial(t *testing.T, r *rig, from string, speak time.Duration) *caller {
	t.Helper()
	cl := &caller{t: t, clk: r.clk, changed: make(chan struct{})}
	cl.c = r.call(from, arisim.CallOptions{SpeakOnRecord: speak, OnEvent: cl.add, EventBuffer: -1})
	return cl
}

func (cl *caller) ID() string { return cl.c.ID() }

func (cl *caller) add(e arisim.CallerEvent) {
	cl.mu.Lock()
	cl.heard = append(cl.heard, e)
	close(cl.changed)
	cl.changed = make(chan struct{})
	cl.mu.Unlock()
}

// press keys the digits, as a caller does on what they hear.
func (cl *caller) press(keys string) {
	cl.t.Helper()
	from := cl.clk.Now()
	if err := cl.c.Press(keys); err != nil {
		cl.t.Fatalf("call %s: press %q: %v", cl.ID(), keys, err)
	}
	cl.mu.Lock()
	cl.presses = append(cl.presses, span{from, cl.clk.Now()})
	cl.mu.Unlock()
}

func (cl *caller) hangup() {
	cl.t.Helper()
	if err := cl.c.Hangup(); err != nil {
		cl.t.Fatalf("call %s: hang up: %v", cl.ID(), err)
	}
}

// waitHeard waits until media has played to its end.
func (cl *caller) waitHeard(media string) {
	cl.t.Helper()
	cl.waitEvent("the end of "+media, func(e arisim.CallerEvent) bool {
		return e.Kind == arisim.EventPlaybackFinished && e.Media == media && e.State == "done"
	})
}

// waitEnded waits until the call is over and every event of it is kept.
func (cl *caller) waitEnded() arisim.CallerEvent {
	cl.t.Helper()
	return cl.waitEvent("the end of the call", func(e arisim.CallerEvent) bool { return e.Kind == arisim.EventHangup })
}

func (cl *caller) waitEvent(what string, ok func(arisim.CallerEvent) bool) arisim.CallerEvent {
	cl.t.Helper()
	deadline := time.After(20 * time.Second)
	seen := 0
	for {
		cl.mu.Lock()
		evs, changed := cl.heard[seen:], cl.changed
		seen = len(cl.heard)
		cl.mu.Unlock()
		for _, e := range evs {
			if ok(e) {
				return e
			}
		}
		select {
		case <-changed:
		case <-deadline:
			cl.t.Fatalf("call %s: no %s within 20s; the caller heard:\n%s", cl.ID(), what, cl.transcript())
		}
	}
}

func (cl *caller) transcript() string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var b strings.Builder
	for _, e := range cl.heard {
		b.WriteString(e.String() + "\n")
	}
	for _, p := range cl.presses {
		fmt.Fprintf(&b, "keys pressed %s–%s\n", p.from.Format("15:04:05.000"), p.to.Format("15:04:05.000"))
	}
	return b.String()
}

// cutShort lists the playbacks of an ended call that did not play to
// their end although the caller pressed no key meanwhile: stopped by the
// help desk, or failed before the caller hung up.
//
// offers are the times the help desk rang an operator for the call: an
// announcement in the queue stopped then was stopped by the offer, by
// design (the caller is about to talk to someone).
func (cl *caller) cutShort(offers []time.Time) []string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var end arisim.CallerEvent
	started := map[string]arisim.CallerEvent{}
	// queued: the playbacks of the queue's announcements, with the digits
	// and numbers said after them (their own playbacks).
	queued, inQueue := map[string]bool{}, false
	for _, e := range cl.heard {
		switch e.Kind {
		case arisim.EventHangup:
			end = e
		case arisim.EventPlaybackStarted:
			started[e.PlaybackID] = e
			spoken := strings.HasPrefix(e.Media, "digits:") || strings.HasPrefix(e.Media, "number:")
			inQueue = queueAnnouncement(e.Media) || inQueue && spoken
			queued[e.PlaybackID] = inQueue
		}
	}
	var out []string
	for _, e := range cl.heard {
		if e.Kind != arisim.EventPlaybackFinished {
			continue
		}
		begin, ok := started[e.PlaybackID]
		delete(started, e.PlaybackID)
		switch {
		case !ok:
			out = append(out, "finished, never started: "+e.String())
		case e.State == "done":
		case e.State == "stopped" && cl.pressedDuring(begin.Time, e.Time):
		case e.State == "stopped" && queued[e.PlaybackID] && near(offers, e.Time, time.Second):
		case e.State == "failed" && e.Time.Equal(end.Time) && end.By == arisim.ByCaller:
			// The caller hung up while it played.
		default:
			out = append(out, e.String())
		}
	}
	for _, e := range started {
		out = append(out, "never finished: "+e.String())
	}
	return out
}

// queueAnnouncement reports the media of the queue's announcements (the
// position, the break-out key, the callback offer), which an offer to an
// operator may stop.
func queueAnnouncement(media string) bool {
	return strings.Contains(media, "system-queue_") || strings.Contains(media, "system-callback_offer")
}

// pressedDuring reports a key press between from and to; a press that
// ended just before from counts, its last key reaching the help desk
// after the prompt started.
func (cl *caller) pressedDuring(from, to time.Time) bool {
	for _, p := range cl.presses {
		if !p.from.After(to) && !p.to.Add(time.Second).Before(from) {
			return true
		}
	}
	return false
}

// near reports a time in ts within d of t.
func near(ts []time.Time, t time.Time, d time.Duration) bool {
	for _, x := range ts {
		if x.Sub(t).Abs() <= d {
			return true
		}
	}
	return false
}
