package simdesk

import (
	"context"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/queues"
)

// ShiftQueues lets a desk whose clock runs by (at the same speed) ahead of
// the queues' clock wait in those queues: a call at a chosen date and time
// in the demo's queues, with the demo's operators. The queues keep their
// own time (operators' idle time, wrap-up, the wallboard's day); the steps
// they report come back on the desk's clock, so that the call's record
// reads in one time.
func ShiftQueues(q ivr.Queues, by time.Duration) ivr.Queues {
	return shifted{q: q, by: by}
}

type shifted struct {
	q  ivr.Queues
	by time.Duration
}

func (s shifted) events(evs []queues.Event) []queues.Event {
	for i := range evs {
		evs[i].At = evs[i].At.Add(s.by)
	}
	return evs
}

func (s shifted) events2(evs []queues.Event, err error) ([]queues.Event, error) {
	return s.events(evs), err
}

func (s shifted) WaitOffer(ctx context.Context, callID string) (queues.Offer, error) {
	o, err := s.q.WaitOffer(ctx, callID)
	o.Events = s.events(o.Events)
	return o, err
}

func (s shifted) Enqueue(ctx context.Context, e queues.Entry) (queues.Enqueued, error) {
	if !e.Since.IsZero() {
		e.Since = e.Since.Add(-s.by) // the queues' time
	}
	en, err := s.q.Enqueue(ctx, e)
	en.Events = s.events(en.Events)
	if en.Offer != nil {
		en.Offer.Events = s.events(en.Offer.Events)
	}
	return en, err
}

func (s shifted) Position(ctx context.Context, callID string) (queues.Position, error) {
	return s.q.Position(ctx, callID)
}

func (s shifted) Answer(ctx context.Context, callID, login string) ([]queues.Event, error) {
	return s.events2(s.q.Answer(ctx, callID, login))
}

func (s shifted) NoAnswer(ctx context.Context, callID string, logins ...string) ([]queues.Event, error) {
	return s.events2(s.q.NoAnswer(ctx, callID, logins...))
}

func (s shifted) Leave(ctx context.Context, callID, reason string) ([]queues.Event, error) {
	return s.events2(s.q.Leave(ctx, callID, reason))
}

func (s shifted) CallEnded(ctx context.Context, login string) error {
	return s.q.CallEnded(ctx, login)
}

func (s shifted) Operators(ctx context.Context, group string) ([]queues.Operator, error) {
	ops, err := s.q.Operators(ctx, group)
	for i := range ops {
		if !ops[i].Since.IsZero() {
			ops[i].Since = ops[i].Since.Add(s.by)
		}
	}
	return ops, err
}

func (s shifted) ReleaseCall(ctx context.Context, login, callID string) (bool, error) {
	return s.q.ReleaseCall(ctx, login, callID)
}

func (s shifted) Reserve(ctx context.Context, login, callID, group string) (queues.Operator, error) {
	return s.q.Reserve(ctx, login, callID, group)
}

func (s shifted) TakeCall(ctx context.Context, login, callID string) error {
	return s.q.TakeCall(ctx, login, callID)
}
