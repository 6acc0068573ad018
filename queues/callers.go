package queues

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
)

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Enqueue puts a caller in its group's queue, unless the group refuses it
// (Enqueued.Overflow: queue full, nobody logged in), and makes an offer at
// once if an operator is free (WaitOffer returns it).
func (s *Service) Enqueue(ctx context.Context, e Entry) (Enqueued, error) {
	if e.CallID == "" || e.Group == "" {
		return Enqueued{}, fmt.Errorf("enqueue: %w", fault.Errorf(fault.EINVALID, "a queued call needs a call id and a group"))
	}
	now := s.stampNow()
	// A new caller arrives after everyone already queued (the group's
	// lock orders arrivals, whatever the instances' clocks say); a
	// transferred one when it first joined a queue.
	var arrived *time.Time
	if !e.Since.IsZero() && e.Since.Before(now) {
		at := e.Since.Truncate(time.Microsecond)
		arrived = &at
	}
	var res Enqueued
	var offers []made
	// One transaction: the caller joins and, under the same lock of the
	// group, is offered at once if an operator is free.
	var maxWaiting, waiting int
	var noOps, over OverflowPolicy
	var loggedIn bool
	var ring int64
	g := lockedGroup{id: e.Group}
	err := s.txFrom(ctx, `SELECT max_waiting, no_operators_action, no_operators_group, overflow_action, overflow_group,
			(SELECT count(*) FROM queue_entries e WHERE e.group_id = g.id),
			EXISTS (SELECT FROM queue_members m JOIN queue_operators o ON o.login = m.login
				WHERE m.group_id = g.id AND o.state <> 'logged_out'),
			strategy, rr_last, ring_timeout_ms
		FROM queue_groups g WHERE id = $1 AND active FOR UPDATE`, []any{e.Group}, func(row pgx.Row) error {
		err := row.Scan(&maxWaiting, &noOps.Action, &noOps.Group, &over.Action, &over.Group, &waiting, &loggedIn, &g.strategy, &g.rrLast, &ring)
		if errors.Is(err, pgx.ErrNoRows) {
			return fault.Errorf(fault.ENOTFOUND, "no such group %s", e.Group)
		}
		return err
	}, func(tx dbtx) error {
		res, offers = Enqueued{}, nil
		var refused *Overflow
		switch {
		case !loggedIn && noOps.Action != OverflowWait:
			refused = &Overflow{Action: noOps.Action, Group: noOps.Group, Reason: OverflowNoOperators}
		case maxWaiting > 0 && waiting >= maxWaiting:
			refused = &Overflow{Action: over.Action, Group: over.Group, Reason: OverflowMaxWaiting}
		}
		if refused != nil {
			res.Overflow = refused
			res.Events = []Event{{At: now, Kind: EventTransferred, Group: e.Group, Detail: refused.detail()}}
			_, err := tx.Exec(ctx, `INSERT INTO queue_log (at, group_id, call_id, kind) VALUES ($1, $2, $3, 'overflow')`,
				now, e.Group, e.CallID)
			return err
		}
		// The entry, its place (the group's lock orders arrivals: every
		// entry of the same priority came before), the log and the
		// estimate in one statement.
		var perPlace *float64
		if err := tx.QueryRow(ctx, `WITH e AS (
				INSERT INTO queue_entries (call_id, group_id, priority, caller, ticket_id, enqueued_at, seen_at, position_at_entry, instance, arrived_at)
				SELECT $1, $2, $3, $4, $5, $6, $6, count(*) FILTER (WHERE x.priority > $3 OR (x.priority = $3 AND x.arrived_at <= a.at)) + 1,
					$8, a.at
				FROM (SELECT CASE WHEN $9::timestamptz IS NOT NULL THEN $9::timestamptz
					ELSE GREATEST($6, (SELECT max(arrived_at) FROM queue_entries WHERE group_id = $2)) END AS at) a
				LEFT JOIN queue_entries x ON x.group_id = $2
				GROUP BY a.at
				RETURNING position_at_entry
			), l AS (
				INSERT INTO queue_log (at, group_id, call_id, kind, position) SELECT $6, $2, $1, 'queued', position_at_entry FROM e
			)
			SELECT position_at_entry, (`+estimateSQL("$2", "$7")+`) FROM e`,
			e.CallID, e.Group, e.Priority, e.Caller, e.TicketID, now, now.Add(-time.Hour), s.instance, arrived).Scan(&res.Position.Position, &perPlace); err != nil {
			return err
		}
		res.Position.Group = e.Group
		res.Position.EstimatedWait = estimated(perPlace, res.Position.Position)
		res.Events = []Event{{At: now, Kind: EventQueued, Group: e.Group, Detail: fmt.Sprintf("position %d", res.Position.Position)}}
		var err error
		offers, err = s.offerAll(ctx, tx, g)
		for _, m := range offers {
			if m.callID == e.CallID {
				o := &Offer{CallID: e.CallID, Group: e.Group, Attempt: 1, Operators: m.operators, RingTimeout: fromMS(ring)}
				for _, op := range m.operators {
					o.Events = append(o.Events, Event{At: m.at, Kind: EventOffered, Group: e.Group, Operator: op.Login, Detail: op.Endpoint})
				}
				res.Offer = o
			}
		}
		return err
	})
	if err != nil {
		return Enqueued{}, fault.FromDB("enqueue", err, "no such group "+e.Group)
	}
	if res.Overflow != nil {
		s.metrics.overflowed(e.Group)
		return res, nil
	}
	s.announce(offers)
	return res, nil
}

// estimateSQL is the mean time per place of group's last 20 answered
// calls since since (each call's wait divided by its position on arrival),
// or NULL without such calls; group and since are placeholders.
func estimateSQL(group, since string) string {
	return `SELECT avg(waited_ms::float8 / GREATEST(position, 1)) FROM (
		SELECT waited_ms, position FROM queue_log WHERE group_id = ` + group + ` AND kind = 'answered' AND at >= ` + since + `
		ORDER BY at DESC LIMIT 20) r`
}

// estimated is the expected wait at position pos given the time per place.
func estimated(perPlace *float64, pos int) time.Duration {
	if perPlace == nil {
		return 0
	}
	return (time.Duration(*perPlace*float64(pos)) * time.Millisecond).Round(time.Second)
}

// estimate is the expected wait of the caller at position pos: pos times
// the mean time per place of the group's last 20 answered calls of the
// past hour (each call's wait divided by its position on arrival), or 0
// without such calls.
func (s *Service) estimate(ctx context.Context, q querier, group string, pos int, now time.Time) (time.Duration, error) {
	var perPlace *float64
	err := q.QueryRow(ctx, estimateSQL("$1", "$2"), group, now.Add(-time.Hour)).Scan(&perPlace)
	return estimated(perPlace, pos), err
}

// Position returns a waiting caller's place in its queue and the estimated
// wait, for announcements.
func (s *Service) Position(ctx context.Context, callID string) (Position, error) {
	var p Position
	var group string
	err := s.pool.QueryRow(ctx, `SELECT e.group_id, (SELECT count(*) FROM queue_entries x WHERE x.group_id = e.group_id
			AND (x.priority > e.priority OR (x.priority = e.priority AND (x.arrived_at, x.seq) <= (e.arrived_at, e.seq))))
		FROM queue_entries e WHERE e.call_id = $1`, callID).Scan(&group, &p.Position)
	if err != nil {
		return Position{}, fault.FromDB("queue position", err, "call not queued")
	}
	p.Group = group
	p.EstimatedWait, err = s.estimate(ctx, s.pool, group, p.Position, s.stampNow())
	return p, fault.FromDB("queue position", err, "")
}

// WaitOffer waits until the call is offered to an operator (or several,
// for RingAll) and returns the offer; the controller rings them for
// Offer.RingTimeout and reports with Answer or NoAnswer. If the call is
// already offered (a session resuming after a restart), that offer is
// returned. When the caller reaches the group's MaxWait, or nobody is
// logged in any more, the call leaves the queue and Offer.Overflow says
// what to do. Cancel ctx when the caller hangs up, then call Leave.
func (s *Service) WaitOffer(ctx context.Context, callID string) (Offer, error) {
	wake, done := s.addWaiter(callID)
	defer done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := s.stampNow()
		var (
			o           = Offer{CallID: callID}
			state       string
			offeredTo   []string
			enqueued    time.Time
			maxWait     int64
			ring        int64
			noOps, over OverflowPolicy
			loggedIn    bool
		)
		// Reading the entry also tells Maintain that the session is alive,
		// and in which instance; the operators offered the call come in
		// the same round trip.
		var ops []Operator
		b := &pgx.Batch{}
		b.Queue(`UPDATE queue_entries e SET seen_at = $2, instance = $3 FROM queue_groups g
			WHERE e.call_id = $1 AND g.id = e.group_id
			RETURNING e.group_id, e.state, e.offered_to, e.attempt, e.enqueued_at, e.callback, e.callback_tries,
				g.max_wait_ms, g.ring_timeout_ms,
				g.no_operators_action, g.no_operators_group, g.overflow_action, g.overflow_group,
				EXISTS (SELECT FROM queue_members m JOIN queue_operators o ON o.login = m.login
					WHERE m.group_id = e.group_id AND o.state <> 'logged_out')`, callID, now, s.instance).
			QueryRow(func(row pgx.Row) error {
				return row.Scan(&o.Group, &state, &offeredTo, &o.Attempt, &enqueued, &o.Callback, &o.CallbackTries,
					&maxWait, &ring,
					&noOps.Action, &noOps.Group, &over.Action, &over.Group, &loggedIn)
			})
		// (OFFSET 0 keeps the lookup of each operator by its key: joined,
		// the planner hashes the whole table for one row.)
		b.Queue(`SELECT `+operatorColumns+` FROM queue_entries e
			CROSS JOIN LATERAL unnest(e.offered_to) WITH ORDINALITY AS u(login, n)
			CROSS JOIN LATERAL (SELECT * FROM queue_operators o WHERE o.login = u.login OFFSET 0) o
			WHERE e.call_id = $3 AND e.state = 'offered' ORDER BY u.n`, now, s.day(now), callID).
			Query(func(rows pgx.Rows) (err error) {
				ops, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Operator, error) { return s.scanOperator(r) })
				return err
			})
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			return Offer{}, fault.FromDB("wait for an offer", err, "call not queued")
		}
		o.RingTimeout = fromMS(ring)
		if state == string(Offered) {
			for i, login := range offeredTo {
				if i >= len(ops) || ops[i].Login != login {
					return Offer{}, fmt.Errorf("wait for an offer: %w", fault.FromDB("find operator", pgx.ErrNoRows, "no such operator "+login))
				}
				op := ops[i]
				o.Operators = append(o.Operators, op)
				o.Events = append(o.Events, Event{At: now, Kind: EventOffered, Group: o.Group, Operator: login, Detail: op.Endpoint})
			}
			return o, nil
		}
		var why *Overflow
		deadline := enqueued.Add(fromMS(maxWait))
		switch {
		case o.Callback != "":
			// A callback waits for its turn whatever the limits: the
			// caller is off the line.
			maxWait = 0
		case maxWait > 0 && !now.Before(deadline):
			why = &Overflow{Action: over.Action, Group: over.Group, Reason: OverflowMaxWait}
		case !loggedIn && noOps.Action != OverflowWait:
			why = &Overflow{Action: noOps.Action, Group: noOps.Group, Reason: OverflowNoOperators}
		}
		if why != nil {
			evs, err := s.leave(ctx, callID, LeaveOverflow, why.detail(), true, time.Time{})
			if errors.Is(err, fault.ErrConflict) {
				continue // offered meanwhile: take the offer
			}
			if err != nil {
				return Offer{}, fmt.Errorf("wait for an offer: %w", err)
			}
			s.metrics.overflowed(o.Group)
			o.Overflow, o.Events = why, evs
			return o, nil
		}
		d := s.poll
		if maxWait > 0 {
			d = min(d, deadline.Sub(now))
		}
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return Offer{}, ctx.Err()
		case <-wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// entry is a queued call's row, read under its group's lock.
type entry struct {
	group     string
	state     string
	offeredTo []string
	enqueued  time.Time
	position  int
}

// lockEntry locks the call's group, then its entry (the package's lock
// order).
func lockEntry(ctx context.Context, tx pgx.Tx, callID string) (entry, error) {
	group, err := lockCallGroup(ctx, tx, callID)
	if err != nil {
		return entry{}, err
	}
	e := entry{group: group}
	err = tx.QueryRow(ctx, `SELECT state, offered_to, enqueued_at, position_at_entry FROM queue_entries
		WHERE call_id = $1 FOR UPDATE`, callID).Scan(&e.state, &e.offeredTo, &e.enqueued, &e.position)
	return e, err
}

// lockCallGroupSQL locks the group of the call $1's entry and returns its
// id; no entry, no row. (The entry's group never changes.)
const lockCallGroupSQL = `SELECT id FROM queue_groups WHERE id = (SELECT group_id FROM queue_entries WHERE call_id = $1)
	FOR UPDATE`

func lockCallGroup(ctx context.Context, tx pgx.Tx, callID string) (string, error) {
	var group string
	err := tx.QueryRow(ctx, lockCallGroupSQL, callID).Scan(&group)
	return group, err
}

// releaseOffered frees the operators still ringing for callID.
func releaseOffered(ctx context.Context, tx pgx.Tx, callID string, logins []string, now time.Time) ([]string, error) {
	rows, err := tx.Query(ctx, `UPDATE queue_operators SET state = 'available', state_since = $3, call_id = '', call_group = ''
		WHERE login = ANY($1) AND state = 'offered' AND call_id = $2 RETURNING login`, logins, callID, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Answer reports that login answered the offered call: the caller leaves
// the queue, the operator is on call, and the other operators rung with it
// (RingAll) are free again.
func (s *Service) Answer(ctx context.Context, callID, login string) ([]Event, error) {
	now := s.stampNow()
	var e entry
	var released []string
	err := s.txFrom(ctx, lockCallGroupSQL, []any{callID}, func(row pgx.Row) error { return row.Scan(&e.group) }, func(tx dbtx) (err error) {
		// Under the group's lock, every write in one statement: the entry
		// goes if it was offered to login, login goes on call if still
		// offered it, the others rung with it are freed, and the log.
		var deleted, onCall bool
		err = tx.QueryRow(ctx, `WITH d AS (
				DELETE FROM queue_entries WHERE call_id = $1 AND state = 'offered' AND $2 = ANY(offered_to)
				RETURNING enqueued_at, position_at_entry, offered_to
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
				INSERT INTO queue_log (at, group_id, call_id, kind, operator, waited_ms, position)
				SELECT $3, $5, $1, 'answered', $2, trunc(EXTRACT(EPOCH FROM $3 - d.enqueued_at) * 1000), d.position_at_entry
				FROM d, a
			)
			SELECT EXISTS (SELECT FROM d), EXISTS (SELECT FROM a), COALESCE((SELECT enqueued_at FROM d), $3),
				ARRAY(SELECT login FROM r)`,
			callID, login, now, s.day(now), e.group).Scan(&deleted, &onCall, &e.enqueued, &released)
		switch {
		case err != nil:
			return err
		case !deleted:
			return fault.Errorf(fault.ECONFLICT, "call not offered to %s", login)
		case !onCall:
			return fault.Errorf(fault.ECONFLICT, "operator %s is no longer offered the call", login)
		}
		return nil
	})
	if err != nil {
		return nil, fault.FromDB("answer", err, "call not queued")
	}
	s.metrics.answered(e.group, now.Sub(e.enqueued))
	if len(released) > 0 {
		s.dispatchOperator(ctx, released...)
	}
	return []Event{{At: now, Kind: EventAnswered, Group: e.group, Operator: login,
		Detail: fmt.Sprintf("after %ds", int(now.Sub(e.enqueued).Seconds()))}}, nil
}

// NoAnswer reports that operators offered the call did not answer within
// the ring timeout (or could not be rung): they are paused with reason
// "no_answer", and when none of the call's operators is still ringing the
// caller is back at the head of the queue for the next offer (WaitOffer
// again). With no logins, every operator offered the call.
func (s *Service) NoAnswer(ctx context.Context, callID string, logins ...string) ([]Event, error) {
	now := s.stampNow()
	var e entry
	var paused []string
	var waiting bool
	err := s.tx(ctx, func(tx pgx.Tx) (err error) {
		if e, err = lockEntry(ctx, tx, callID); err != nil {
			return err
		}
		if e.state != string(Offered) {
			return fault.Errorf(fault.ECONFLICT, "call not offered")
		}
		targets := logins
		if len(targets) == 0 {
			targets = e.offeredTo
		}
		var left []string
		for _, l := range e.offeredTo {
			if !slices.Contains(targets, l) {
				left = append(left, l)
			}
		}
		for _, l := range targets {
			if !slices.Contains(e.offeredTo, l) {
				return fault.Errorf(fault.ECONFLICT, "call not offered to %s", l)
			}
		}
		rows, err := tx.Query(ctx, `UPDATE queue_operators SET state = 'paused', reason = $4, state_since = $3, call_id = '', call_group = ''
			WHERE login = ANY($1) AND state = 'offered' AND call_id = $2 RETURNING login`, targets, callID, now, ReasonNoAnswer)
		if err != nil {
			return err
		}
		if paused, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		waiting = len(left) == 0
		if waiting {
			_, err = tx.Exec(ctx, `UPDATE queue_entries SET state = 'waiting', offered_to = '{}', offered_at = NULL, seen_at = $2
				WHERE call_id = $1`, callID, now)
		} else {
			_, err = tx.Exec(ctx, `UPDATE queue_entries SET offered_to = $2 WHERE call_id = $1`, callID, left)
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO queue_log (at, group_id, call_id, kind, operator)
			SELECT $1, $2, $3, 'no_answer', unnest($4::text[])`, now, e.group, callID, targets)
		return err
	})
	if err != nil {
		return nil, fault.FromDB("no answer", err, "call not queued")
	}
	evs := make([]Event, 0, len(logins))
	for _, l := range paused {
		s.log.Info("queue_operator_state", "operator", l, "from", string(Offered), "to", string(Paused), "reason", ReasonNoAnswer)
		evs = append(evs, Event{At: now, Kind: EventNoAnswer, Group: e.group, Operator: l, Detail: "ring timeout"})
	}
	s.metrics.noAnswer(e.group, len(paused))
	if waiting {
		s.dispatchGroupLogged(ctx, e.group)
	}
	return evs, nil
}

// Leave takes a call out of its queue: LeaveAbandoned when the caller hung
// up (the event says after how long), LeaveOverflow when the controller
// sends it elsewhere. Operators still ringing for it are freed. A call no
// longer queued is fault.ErrNotFound.
func (s *Service) Leave(ctx context.Context, callID, reason string) ([]Event, error) {
	switch reason {
	case LeaveAbandoned, LeaveOverflow:
	default:
		return nil, fmt.Errorf("leave queue: %w", fault.Errorf(fault.EINVALID, "unknown reason %q", reason))
	}
	// Runs to the end even if the caller's context is already cancelled.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return s.leave(ctx, callID, reason, reason, false, time.Time{})
}

// leave removes a call; with onlyWaiting, not if it is being offered
// (fault.ErrConflict); with staleBefore set, only if its session has not been
// seen since then.
func (s *Service) leave(ctx context.Context, callID, reason, detail string, onlyWaiting bool, staleBefore time.Time) ([]Event, error) {
	now := s.stampNow()
	var e entry
	var released []string
	err := s.tx(ctx, func(tx pgx.Tx) (err error) {
		if e, err = lockEntry(ctx, tx, callID); err != nil {
			return err
		}
		if onlyWaiting && e.state != "waiting" {
			return fault.Errorf(fault.ECONFLICT, "call being offered")
		}
		cond := ""
		args := []any{callID}
		if !staleBefore.IsZero() {
			cond, args = " AND seen_at < $2", append(args, staleBefore)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM queue_entries WHERE call_id = $1`+cond, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		if e.state == string(Offered) {
			if released, err = releaseOffered(ctx, tx, callID, e.offeredTo, now); err != nil {
				return err
			}
		}
		kind := "abandoned"
		if reason == LeaveOverflow {
			kind = "overflow"
		}
		_, err = tx.Exec(ctx, `INSERT INTO queue_log (at, group_id, call_id, kind, waited_ms, position)
			VALUES ($1, $2, $3, $4, $5, $6)`, now, e.group, callID, kind, ms(now.Sub(e.enqueued)), e.position)
		return err
	})
	if err != nil {
		return nil, fault.FromDB("leave queue", err, "call not queued")
	}
	if len(released) > 0 {
		s.dispatchOperator(ctx, released...)
	}
	if reason == LeaveOverflow {
		return []Event{{At: now, Kind: EventTransferred, Group: e.group, Detail: detail}}, nil
	}
	s.metrics.abandoned(e.group)
	waited := int(now.Sub(e.enqueued).Seconds())
	d := fmt.Sprintf("after %ds", waited)
	if detail != reason {
		d += ", " + detail
	}
	return []Event{{At: now, Kind: EventAbandoned, Group: e.group, Detail: d}}, nil
}

// CallEnded reports that an operator's call is over: the operator wraps
// up for the call's group's WrapUp, then is available again (no timer: the
// end of the wrap-up is a time in the operator's row).
func (s *Service) CallEnded(ctx context.Context, login string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := s.stampNow()
	// One statement: the operator's state, and with no wrap-up the groups
	// to dispatch now that the operator is free.
	var wrap int64
	var groups []string
	err := s.pool.QueryRow(ctx, `WITH w AS (
			SELECT COALESCE((SELECT g.wrap_up_ms FROM queue_groups g WHERE g.id = x.call_group), 0) AS ms
			FROM queue_operators x WHERE x.login = $1
		), u AS (
			UPDATE queue_operators o SET state = CASE WHEN w.ms > 0 THEN 'wrap_up' ELSE 'available' END,
				state_since = $2::timestamptz, available_at = CASE WHEN w.ms > 0 THEN $2::timestamptz + w.ms * interval '1 millisecond' END,
				idle_since = $2::timestamptz + w.ms * interval '1 millisecond', call_id = '', call_group = ''
			FROM w WHERE o.login = $1 AND o.state = 'on_call'
			RETURNING w.ms
		)
		SELECT u.ms, CASE WHEN u.ms = 0 THEN ARRAY(`+groupsToDispatchSQL("ARRAY[$1]")+`) END FROM u`,
		login, now).Scan(&wrap, &groups)
	if errors.Is(err, pgx.ErrNoRows) {
		// Not on a call: say what the operator is.
		var state State
		if err = s.pool.QueryRow(ctx, `SELECT state FROM queue_operators WHERE login = $1`, login).Scan(&state); err == nil {
			err = fault.Errorf(fault.ECONFLICT, "operator %s is %s, not on a call", login, state)
		}
	}
	if err != nil {
		return fault.FromDB("call ended", err, "no such operator "+login)
	}
	s.dispatchGroups(ctx, groups)
	return nil
}
