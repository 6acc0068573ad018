package queues

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// EnqueueOffer is Enqueue that also returns the offer Enqueue made at once
// when an operator was free (nil otherwise: WaitOffer then waits for one).
// The controller rings that operator straight away, without holding the
// caller with music or telling a place in the queue that is already
// over, and skips a WaitOffer.
func (s *Service) EnqueueOffer(ctx context.Context, e Entry) (Enqueued, *Offer, error) {
	wake, done := s.addWaiter(e.CallID)
	defer done()
	res, err := s.Enqueue(ctx, e)
	if err != nil || res.Overflow != nil {
		return res, nil, err
	}
	select {
	case <-wake: // Enqueue's dispatch offered this call
	default:
		return res, nil, nil
	}
	o, ok, err := s.currentOffer(ctx, e.CallID)
	if err != nil || !ok {
		// Offered and already withdrawn, or not readable: WaitOffer
		// finds out.
		return res, nil, err
	}
	return res, &o, nil
}

// currentOffer reads the offer standing for callID, if there is one.
func (s *Service) currentOffer(ctx context.Context, callID string) (Offer, bool, error) {
	o := Offer{CallID: callID}
	var offeredTo []string
	var ring int64
	err := s.pool.QueryRow(ctx, `SELECT e.group_id, e.offered_to, e.attempt, g.ring_timeout_ms
		FROM queue_entries e JOIN queue_groups g ON g.id = e.group_id
		WHERE e.call_id = $1 AND e.state = 'offered'`, callID).Scan(&o.Group, &offeredTo, &o.Attempt, &ring)
	if errors.Is(err, pgx.ErrNoRows) {
		return Offer{}, false, nil
	}
	if err != nil {
		return Offer{}, false, dbError("read the offer", err, "")
	}
	o.RingTimeout = fromMS(ring)
	now := s.stampNow()
	for _, login := range offeredTo {
		op, err := s.Operator(ctx, login)
		if err != nil {
			return Offer{}, false, err
		}
		o.Operators = append(o.Operators, op)
		o.Events = append(o.Events, Event{At: now, Kind: EventOffered, Group: o.Group, Operator: login, Detail: op.Endpoint})
	}
	return o, true, nil
}
