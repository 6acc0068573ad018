package queues

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// Callbacks. A waiting caller may ask to be called back and hang up: the
// entry stays, with its priority and arrival, so the place in the queue is
// kept (RequestCallback). Whoever runs callbacks (ivrd's controller) claims
// them (ClaimCallbacks) and waits for each one's offer as a session would
// (WaitOffer, which never overflows a callback). The operator who answers
// the offer takes the callback (CallbackTaken: the operator is on call,
// the entry "calling"), the controller calls the caller and reports
// (CallbackDone): answered, the entry goes; not answered, it waits again
// until a retry time, or goes as failed.

// ScheduledPriority is added to the priority of a callback scheduled for
// the next opening: at the opening it is first in line.
const ScheduledPriority = 1000

// Queue log and event kinds of callbacks.
const (
	EventCallbackRequested = "callback_requested"
	EventCallbackMade      = "callback_made"      // an operator took it; the caller is being called
	EventCallbackNoAnswer  = "callback_no_answer" // an attempt reached nobody; another follows
	EventCallbackAnswered  = "callback_answered"
	EventCallbackFailed    = "callback_failed" // the last attempt reached nobody
)

// Callback is a callback entry, as ClaimCallbacks returns it.
type Callback struct {
	CallID      string
	Group       string
	Number      string
	TicketID    int64
	Enqueued    time.Time
	RequestedAt time.Time
	Tries       int
}

// RequestCallback turns a waiting caller's entry into a callback to number
// (E.164): the caller may hang up, the entry keeps its place. With
// notBefore set (the next opening) it is not offered before then, and it is
// first in line at that time (ScheduledPriority). A call being offered is
// fault.ErrConflict: the operator rings, take the offer instead.
func (s *Service) RequestCallback(ctx context.Context, callID, number string, notBefore time.Time) ([]Event, error) {
	if number == "" {
		return nil, fmt.Errorf("request callback: %w", fault.Errorf(fault.EINVALID, "a callback needs a number"))
	}
	now := s.stampNow()
	var nb *time.Time
	bonus := 0
	if !notBefore.IsZero() {
		t := notBefore.Truncate(time.Microsecond)
		nb, bonus = &t, ScheduledPriority
	}
	var group string
	err := s.txFrom(ctx, lockCallGroupSQL, []any{callID}, func(row pgx.Row) error { return row.Scan(&group) }, func(tx dbtx) error {
		tag, err := tx.Exec(ctx, `UPDATE queue_entries SET callback = $2, callback_requested_at = $3, not_before = $4,
				priority = priority + $5, seen_at = $3, instance = $6
			WHERE call_id = $1 AND state = 'waiting' AND callback = ''`, callID, number, now, nb, bonus, s.instance)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fault.Errorf(fault.ECONFLICT, "call being offered or already a callback")
		}
		_, err = tx.Exec(ctx, `INSERT INTO queue_log (at, group_id, call_id, kind, waited_ms, position)
			SELECT $1, group_id, call_id, 'callback_requested', trunc(EXTRACT(EPOCH FROM $1 - enqueued_at) * 1000), position_at_entry
			FROM queue_entries WHERE call_id = $2`, now, callID)
		return err
	})
	if err != nil {
		return nil, fault.FromDB("request callback", err, "call not queued")
	}
	s.metrics.callback(group, EventCallbackRequested)
	detail := "callback requested"
	if nb != nil {
		detail += ", not before " + nb.In(s.loc).Format("2006-01-02 15:04")
	}
	return []Event{{At: now, Kind: EventCallbackRequested, Group: group, Detail: detail}}, nil
}

// ClaimCallbacks returns the callbacks this instance is to run: its own,
// and those of instances gone for StaleAfter (their runners stopped). A
// claimed callback that was being called by a dead instance waits again.
// The runner's WaitOffer keeps the claim fresh (an attempt, shorter than
// StaleAfter, leaves the entry or puts it back to wait).
func (s *Service) ClaimCallbacks(ctx context.Context) ([]Callback, error) {
	now := s.stampNow()
	rows, err := s.pool.Query(ctx, `UPDATE queue_entries SET instance = $1, seen_at = $2,
			state = CASE WHEN state = 'calling' AND instance <> $1 THEN 'waiting' ELSE state END,
			offered_to = CASE WHEN state = 'calling' AND instance <> $1 THEN '{}' ELSE offered_to END
		WHERE callback <> '' AND (instance = $1 OR seen_at < $3)
		RETURNING call_id, group_id, callback, ticket_id, enqueued_at, callback_requested_at, callback_tries`,
		s.instance, now, now.Add(-s.stale))
	if err != nil {
		return nil, fault.FromDB("claim callbacks", err, "")
	}
	cbs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Callback, error) {
		var c Callback
		var req *time.Time
		err := r.Scan(&c.CallID, &c.Group, &c.Number, &c.TicketID, &c.Enqueued, &req, &c.Tries)
		if req != nil {
			c.RequestedAt = req.In(s.loc)
		}
		c.Enqueued = c.Enqueued.In(s.loc)
		return c, err
	})
	return cbs, fault.FromDB("claim callbacks", err, "")
}

// CallbackTaken reports that login answered the callback offered to them:
// the operator is on call (the others rung are free again) and the entry
// is being called; report the result with CallbackDone.
func (s *Service) CallbackTaken(ctx context.Context, callID, login string) ([]Event, error) {
	now := s.stampNow()
	var group string
	var released []string
	err := s.txFrom(ctx, lockCallGroupSQL, []any{callID}, func(row pgx.Row) error { return row.Scan(&group) }, func(tx dbtx) error {
		var taken, onCall bool
		err := tx.QueryRow(ctx, `WITH d AS (
				UPDATE queue_entries SET state = 'calling', seen_at = $3
				WHERE call_id = $1 AND state = 'offered' AND $2 = ANY(offered_to) AND callback <> ''
				RETURNING offered_to
			), a AS (
				UPDATE queue_operators SET state = 'on_call', state_since = $3,
					calls_today = CASE WHEN calls_day = $4 THEN calls_today + 1 ELSE 1 END, calls_day = $4
				WHERE login = $2 AND state = 'offered' AND call_id = $1 AND EXISTS (SELECT FROM d)
				RETURNING login
			), r AS (
				UPDATE queue_operators o SET state = 'available', state_since = $3, call_id = '', call_group = ''
				FROM d WHERE o.login = ANY(d.offered_to) AND o.login <> $2 AND o.state = 'offered' AND o.call_id = $1
					AND EXISTS (SELECT FROM a)
				RETURNING o.login
			), l AS (
				INSERT INTO queue_log (at, group_id, call_id, kind, operator) SELECT $3, $5, $1, 'callback_made', $2 FROM d, a
			)
			SELECT EXISTS (SELECT FROM d), EXISTS (SELECT FROM a), ARRAY(SELECT login FROM r)`,
			callID, login, now, s.day(now), group).Scan(&taken, &onCall, &released)
		switch {
		case err != nil:
			return err
		case !taken:
			return fault.Errorf(fault.ECONFLICT, "callback not offered to %s", login)
		case !onCall:
			return fault.Errorf(fault.ECONFLICT, "operator %s is no longer offered the callback", login)
		}
		return nil
	})
	if err != nil {
		return nil, fault.FromDB("take callback", err, "call not queued")
	}
	s.metrics.callback(group, EventCallbackMade)
	if len(released) > 0 {
		s.dispatchOperator(ctx, released...)
	}
	return []Event{{At: now, Kind: EventCallbackMade, Group: group, Operator: login}}, nil
}

// CallbackResult is what came of calling a callback's number.
type CallbackResult struct {
	Answered bool
	Operator string // who took it
	// RetryAt, for a callback not answered, is when to try again; zero:
	// no more attempts, the callback failed.
	RetryAt time.Time
	Detail  string // "no answer", "busy"…
}

// CallbackDone reports the call to a callback's number (after
// CallbackTaken). Answered, the entry leaves the queue as answered (its
// wait counts from the original arrival); not answered, it waits again,
// in its place, from RetryAt, or leaves as failed. The operator's call is
// ended separately (CallEnded).
func (s *Service) CallbackDone(ctx context.Context, callID string, res CallbackResult) ([]Event, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := s.stampNow()
	var group string
	var enqueued, requested time.Time
	kind := EventCallbackAnswered
	switch {
	case res.Answered:
	case !res.RetryAt.IsZero():
		kind = EventCallbackNoAnswer
	default:
		kind = EventCallbackFailed
	}
	err := s.txFrom(ctx, lockCallGroupSQL, []any{callID}, func(row pgx.Row) error { return row.Scan(&group) }, func(tx dbtx) error {
		var position int
		var req *time.Time
		err := tx.QueryRow(ctx, `SELECT enqueued_at, callback_requested_at, position_at_entry FROM queue_entries
			WHERE call_id = $1 AND state = 'calling' FOR UPDATE`, callID).Scan(&enqueued, &req, &position)
		if errors.Is(err, pgx.ErrNoRows) {
			return fault.Errorf(fault.ECONFLICT, "callback not being called")
		}
		if err != nil {
			return err
		}
		requested = enqueued
		if req != nil {
			requested = *req
		}
		if kind == EventCallbackNoAnswer {
			_, err = tx.Exec(ctx, `UPDATE queue_entries SET state = 'waiting', offered_to = '{}', offered_at = NULL,
					callback_tries = callback_tries + 1, not_before = $2, seen_at = $3
				WHERE call_id = $1`, callID, res.RetryAt.Truncate(time.Microsecond), now)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM queue_entries WHERE call_id = $1`, callID)
		}
		if err != nil {
			return err
		}
		// The log's waited_ms of a callback's steps is the time since the
		// request; an answered callback is also "answered", waited since
		// the arrival: it counts in the group's answers like any call.
		_, err = tx.Exec(ctx, `INSERT INTO queue_log (at, group_id, call_id, kind, operator, waited_ms, position)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, now, group, callID, kind, res.Operator, ms(now.Sub(requested)), position)
		if err == nil && res.Answered {
			_, err = tx.Exec(ctx, `INSERT INTO queue_log (at, group_id, call_id, kind, operator, waited_ms, position)
				VALUES ($1, $2, $3, 'answered', $4, $5, $6)`, now, group, callID, res.Operator, ms(now.Sub(enqueued)), position)
		}
		return err
	})
	if err != nil {
		return nil, fault.FromDB("callback done", err, "call not queued")
	}
	s.metrics.callback(group, kind)
	detail := res.Detail
	switch kind {
	case EventCallbackAnswered:
		s.metrics.answered(group, now.Sub(enqueued))
		s.metrics.callbackDelay.WithLabelValues(group).Observe(now.Sub(requested).Seconds())
		detail = fmt.Sprintf("after %ds from the request", int(now.Sub(requested).Seconds()))
	case EventCallbackNoAnswer:
		detail = fmt.Sprintf("%s; next attempt at %s", res.Detail, res.RetryAt.In(s.loc).Format("15:04:05"))
		s.dispatchGroupLogged(ctx, group)
	}
	return []Event{{At: now, Kind: kind, Group: group, Operator: res.Operator, Detail: detail}}, nil
}
