package queues

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Locking, the whole of it: every change to a group's callers (Enqueue,
// an offer, Answer, NoAnswer, Leave, an overflow) first locks the group's
// row, so one transaction at a time decides for a group and the caller at
// the head is always served first. Operators belong to several groups, so
// a dispatcher takes their rows with FOR UPDATE SKIP LOCKED and only when
// they are free: two groups never take the same operator, and a dispatcher
// never waits for an operator's row. Locks are always taken group, then
// entry, then operators, so there is no cycle to deadlock on.

// made is an offer written by a dispatcher.
type made struct {
	callID, group string
	logins        []string
}

// Dispatch makes every offer possible now, in every group with callers
// waiting. Run calls it periodically; it is also how tests move a fake
// clock past a wrap-up.
func (s *Service) Dispatch(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT group_id FROM queue_entries WHERE state = 'waiting'`)
	if err != nil {
		return dbError("dispatch", err, "")
	}
	groups, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return dbError("dispatch", err, "")
	}
	var errs []error
	for _, g := range groups {
		errs = append(errs, s.dispatchGroup(ctx, g))
	}
	return errors.Join(errs...)
}

// dispatchOperator runs the dispatch of the groups of an operator who just
// became free, the groups where the operator has the lowest penalty and
// the most urgent caller first. Errors are logged: the change that freed
// the operator is committed, and Run's next round retries.
func (s *Service) dispatchOperator(ctx context.Context, logins ...string) {
	rows, err := s.pool.Query(ctx, `SELECT m.group_id FROM queue_members m
		JOIN LATERAL (SELECT e.priority, e.seq FROM queue_entries e WHERE e.group_id = m.group_id AND e.state = 'waiting'
			ORDER BY e.priority DESC, e.seq LIMIT 1) h ON true
		WHERE m.login = ANY($1)
		GROUP BY m.group_id ORDER BY min(m.penalty), max(h.priority) DESC, min(h.seq)`, logins)
	var groups []string
	if err == nil {
		groups, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		s.log.Error("queue_dispatch_failed", "operator", logins, "error", err.Error())
		return
	}
	for _, g := range groups {
		s.dispatchGroupLogged(ctx, g)
	}
}

func (s *Service) dispatchGroupLogged(ctx context.Context, group string) {
	if err := s.dispatchGroup(ctx, group); err != nil {
		s.log.Error("queue_dispatch_failed", "group", group, "error", err.Error())
	}
}

// dispatchGroup makes offers in group, one transaction each, until no
// caller waits or no operator is free.
func (s *Service) dispatchGroup(ctx context.Context, group string) error {
	// Dispatching belongs to the change that called for it: a caller
	// hanging up must not leave the next caller without an offer.
	ctx = context.WithoutCancel(ctx)
	for {
		var m *made
		err := s.tx(ctx, func(tx pgx.Tx) (err error) {
			m, err = s.offerNext(ctx, tx, group)
			return err
		})
		if err != nil {
			return dbError("dispatch "+group, err, "")
		}
		if m == nil {
			return nil
		}
		s.metrics.offered(group, len(m.logins))
		s.wake(m.callID)
	}
}

// offerNext offers the head caller of group to the best free operator(s),
// or returns nil when there is nobody to offer or nobody to offer to.
func (s *Service) offerNext(ctx context.Context, tx pgx.Tx, group string) (*made, error) {
	var strategy Strategy
	var rrLast string
	err := tx.QueryRow(ctx, `SELECT strategy, rr_last FROM queue_groups WHERE id = $1 FOR UPDATE`, group).Scan(&strategy, &rrLast)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// The group's lock keeps other dispatchers and Enqueue out; Answer,
	// NoAnswer and Leave take it too, so the head cannot change under us.
	var callID string
	err = tx.QueryRow(ctx, `SELECT call_id FROM queue_entries WHERE group_id = $1 AND state = 'waiting'
		ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE`, group).Scan(&callID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}

	now := s.stampNow()
	order := "o.idle_since, o.login"
	args := []any{group, now, 1}
	switch strategy {
	case RoundRobin:
		// the next login after the last one offered, wrapping around
		order = "(o.login <= $4), o.login"
		args = append(args, rrLast)
	case FewestCalls:
		order = "CASE WHEN o.calls_day = $4 THEN o.calls_today ELSE 0 END, o.idle_since, o.login"
		args = append(args, s.day(now))
	case RingAll:
		order = "o.login"
		args[2] = 1000
	}
	rows, err := tx.Query(ctx, `SELECT o.login, m.penalty FROM queue_members m JOIN queue_operators o ON o.login = m.login
		WHERE m.group_id = $1 AND (o.state = 'available' OR (o.state = 'wrap_up' AND o.available_at <= $2))
		ORDER BY m.penalty, `+order+`
		LIMIT $3 FOR UPDATE OF o SKIP LOCKED`, args...)
	if err != nil {
		return nil, err
	}
	type cand struct {
		Login   string
		Penalty int
	}
	cands, err := pgx.CollectRows(rows, pgx.RowToStructByPos[cand])
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, nil
	}
	// Ring all rings the lowest penalty among the free; the others stay
	// free (their locks end with the transaction).
	logins := []string{}
	for _, c := range cands {
		if c.Penalty == cands[0].Penalty {
			logins = append(logins, c.Login)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE queue_operators SET state = 'offered', reason = '', state_since = $2,
			available_at = NULL, call_id = $3, call_group = $4
		WHERE login = ANY($1)`, logins, now, callID, group); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE queue_entries SET state = 'offered', offered_to = $2, offered_at = $3, attempt = attempt + 1
		WHERE call_id = $1`, callID, logins, now); err != nil {
		return nil, err
	}
	if strategy == RoundRobin {
		if _, err := tx.Exec(ctx, `UPDATE queue_groups SET rr_last = $2 WHERE id = $1`, group, logins[0]); err != nil {
			return nil, err
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO queue_log (at, group_id, call_id, kind, operator)
		SELECT $1, $2, $3, 'offered', unnest($4::text[])`, now, group, callID, logins); err != nil {
		return nil, err
	}
	// Delivered at commit, to the instance holding the call if not us.
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, s.channel, "o:"+callID); err != nil {
		return nil, err
	}
	return &made{callID: callID, group: group, logins: logins}, nil
}

// wake wakes the WaitOffer of callID, if it is in this instance.
func (s *Service) wake(callID string) {
	s.mu.Lock()
	ch := s.waiters[callID]
	s.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (s *Service) addWaiter(callID string) (chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.waiters[callID] = ch
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		if s.waiters[callID] == ch {
			delete(s.waiters, callID)
		}
		s.mu.Unlock()
	}
}

// Run listens for other instances' offers and, every PollInterval and at
// the end of each wrap-up, removes stale entries and makes the offers that
// became possible. It returns when ctx is cancelled; if the listening
// connection breaks it reconnects, and in between the polling keeps
// everything working, only slower.
func (s *Service) Run(ctx context.Context) error {
	notes := make(chan string, 256)
	go s.listen(ctx, notes)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-notes:
			if callID, ok := strings.CutPrefix(n, "o:"); ok {
				s.wake(callID)
			}
			continue
		case <-timer.C:
		}
		if err := s.Maintain(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("queue_maintenance_failed", "error", err.Error())
		}
		timer.Reset(s.nextRound(ctx))
	}
}

// nextRound is the time to the next maintenance: PollInterval, or sooner
// when a wrap-up ends before.
func (s *Service) nextRound(ctx context.Context) time.Duration {
	now := s.stampNow()
	var next *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT min(available_at) FROM queue_operators WHERE state = 'wrap_up' AND available_at > $1`,
		now).Scan(&next); err != nil || next == nil {
		return s.poll
	}
	return max(min(next.Sub(now)+time.Millisecond, s.poll), time.Millisecond)
}

// listen forwards notifications from a dedicated connection.
func (s *Service) listen(ctx context.Context, notes chan<- string) {
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, notes)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("queue_listen_failed", "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(s.poll):
		}
	}
}

func (s *Service) listenOnce(ctx context.Context, notes chan<- string) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		select {
		case notes <- n.Payload:
		default: // a waiter that misses it polls
		}
	}
}

// Maintain removes the entries of calls whose sessions are gone (see
// Options.StaleAfter) and makes every offer possible now.
func (s *Service) Maintain(ctx context.Context) error {
	cutoff := s.stampNow().Add(-s.stale)
	rows, err := s.pool.Query(ctx, `SELECT call_id FROM queue_entries WHERE seen_at < $1`, cutoff)
	if err != nil {
		return dbError("find stale calls", err, "")
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return dbError("find stale calls", err, "")
	}
	for _, id := range stale {
		if _, err := s.leave(ctx, id, LeaveAbandoned, "session lost", false, cutoff); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		s.log.Warn("queue_stale_call_removed", "call_id", id)
	}
	return s.Dispatch(ctx)
}
