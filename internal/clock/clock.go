// Package clock lets the call controller and the ARI simulator share one
// notion of time. Production uses the wall clock; `ivrctl simulate`, the
// demo and the tests use a scaled clock so that a call with its digit
// timeouts and prompts runs many times faster than real time, while every
// timestamp still reads as if it happened at normal speed.
package clock

import "time"

// Clock is the time source injected wherever code waits or stamps times.
type Clock interface {
	Now() time.Time
	// NewTimer fires after d of this clock's time.
	NewTimer(d time.Duration) *Timer
	// Wall converts a duration of this clock's time to wall time, for code
	// that must hand a deadline to the operating system (sockets, contexts).
	Wall(d time.Duration) time.Duration
}

// Timer is a stoppable one-shot timer on a Clock.
type Timer struct {
	C <-chan time.Time
	t *time.Timer
}

// Stop prevents the timer from firing; it reports whether it was stopped
// before firing.
func (t *Timer) Stop() bool { return t.t.Stop() }

// Real is the wall clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                     { return time.Now() }
func (realClock) Wall(d time.Duration) time.Duration { return d }
func (realClock) NewTimer(d time.Duration) *Timer {
	t := time.NewTimer(d)
	return &Timer{C: t.C, t: t}
}

// Scaled is a clock that starts at start and runs speed times faster than
// the wall clock (speed 1 is real time from a chosen start).
// Its fields never change after NewScaled, so Now takes no lock: every
// call and the simulator read it all the time.
type Scaled struct {
	start     time.Time
	wallStart time.Time
	speed     float64
}

// NewScaled returns a clock reading start now and advancing speed times
// faster than the wall clock. A speed of zero or less means 1.
func NewScaled(start time.Time, speed float64) *Scaled {
	if speed <= 0 {
		speed = 1
	}
	return &Scaled{start: start, wallStart: time.Now(), speed: speed}
}

// Speed reports how many times faster than the wall clock this clock runs.
func (s *Scaled) Speed() float64 { return s.speed }

// Now returns the scaled time.
func (s *Scaled) Now() time.Time {
	elapsed := time.Since(s.wallStart)
	return s.start.Add(time.Duration(float64(elapsed) * s.speed))
}

// Wall converts a duration of scaled time to wall time.
func (s *Scaled) Wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.speed)
}

// NewTimer fires after d of scaled time.
func (s *Scaled) NewTimer(d time.Duration) *Timer {
	c := make(chan time.Time, 1)
	// Deliver the scaled time, not the wall time, so readers can stamp with it.
	w := &Timer{C: c}
	w.t = time.AfterFunc(s.Wall(d), func() {
		select {
		case c <- s.Now():
		default:
		}
	})
	return w
}

// Offset is base shifted by off: the same speed and timers, another
// instant (a replayed call keeps its original time of day on a clock
// that many calls share).
func Offset(base Clock, off time.Duration) Clock { return offset{base, off} }

type offset struct {
	base Clock
	off  time.Duration
}

func (o offset) Now() time.Time                     { return o.base.Now().Add(o.off) }
func (o offset) Wall(d time.Duration) time.Duration { return o.base.Wall(d) }
func (o offset) NewTimer(d time.Duration) *Timer    { return o.base.NewTimer(d) }
