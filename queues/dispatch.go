package queues

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
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
	operators     []Operator // as offered, in the order of logins
	at            time.Time
}

// Dispatch makes every offer possible now, in every group with callers
// waiting. Run calls it periodically; it is also how tests move a fake
// clock past a wrap-up.
func (s *Service) Dispatch(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT group_id FROM queue_entries WHERE state = 'waiting'`)
	if err != nil {
		return fault.FromDB("dispatch", err, "")
	}
	groups, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fault.FromDB("dispatch", err, "")
	}
	var errs []error
	for _, g := range groups {
		errs = append(errs, s.dispatchGroup(ctx, g))
	}
	return errors.Join(errs...)
}

// groupsToDispatchSQL finds the groups to dispatch when the operators
// logins (an array placeholder) became free: those with callers waiting
// where the operators are members, where they have the lowest penalty and
// the most urgent caller first.
func groupsToDispatchSQL(logins string) string {
	return `SELECT m.group_id FROM queue_members m
		JOIN LATERAL (SELECT e.priority, e.arrived_at, e.seq FROM queue_entries e WHERE e.group_id = m.group_id AND e.state = 'waiting'
			ORDER BY e.priority DESC, e.arrived_at, e.seq LIMIT 1) h ON true
		WHERE m.login = ANY(` + logins + `)
		GROUP BY m.group_id ORDER BY min(m.penalty), max(h.priority) DESC, min(h.arrived_at), min(h.seq)`
}

// dispatchOperator runs the dispatch of the groups of an operator who just
// became free (see groupsToDispatchSQL). Errors are logged: the change that
// freed the operator is committed, and Run's next round retries.
func (s *Service) dispatchOperator(ctx context.Context, logins ...string) {
	// One login (the usual case) as a text parameter: with an array the
	// planner estimates the generic plan badly and plans every call.
	var rows pgx.Rows
	var err error
	if len(logins) == 1 {
		rows, err = s.pool.Query(ctx, groupsToDispatchSQL("ARRAY[$1]"), logins[0])
	} else {
		rows, err = s.pool.Query(ctx, groupsToDispatchSQL("$1"), logins)
	}
	var groups []string
	if err == nil {
		groups, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		s.log.Error("queue_dispatch_failed", "operator", logins, "error", err.Error())
		return
	}
	s.dispatchGroups(ctx, groups)
}

func (s *Service) dispatchGroups(ctx context.Context, groups []string) {
	for _, g := range groups {
		s.dispatchGroupLogged(ctx, g)
	}
}

func (s *Service) dispatchGroupLogged(ctx context.Context, group string) {
	if err := s.dispatchGroup(ctx, group); err != nil {
		s.log.Error("queue_dispatch_failed", "group", group, "error", err.Error())
	}
}

// dispatchGroup makes offers in group, in one transaction, until no caller
// waits or no operator is free.
func (s *Service) dispatchGroup(ctx context.Context, group string) error {
	// Dispatching belongs to the change that called for it: a caller
	// hanging up must not leave the next caller without an offer.
	ctx = context.WithoutCancel(ctx)
	var offers []made
	g := lockedGroup{id: group}
	var found bool
	err := s.txFrom(ctx, `SELECT strategy, rr_last FROM queue_groups WHERE id = $1 FOR UPDATE`, []any{group},
		func(row pgx.Row) error {
			err := row.Scan(&g.strategy, &g.rrLast)
			found = err == nil
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		},
		func(tx dbtx) (err error) {
			offers = nil
			if found {
				offers, err = s.offerAll(ctx, tx, g)
			}
			return err
		})
	if err != nil {
		return fault.FromDB("dispatch "+group, err, "")
	}
	s.announce(offers)
	return nil
}

// announce counts offers committed and wakes their WaitOffers.
func (s *Service) announce(offers []made) {
	for _, m := range offers {
		s.metrics.offered(m.group, len(m.logins))
		s.wake(m.callID)
	}
}

// lockedGroup is what the dispatch needs of a group whose row the
// transaction has locked.
type lockedGroup struct {
	id       string
	strategy Strategy
	rrLast   string
}

// offerAll makes offers in g, whose row tx has locked, until no caller
// waits or no operator is free. The offers are the transaction's: announce
// them once it has committed.
func (s *Service) offerAll(ctx context.Context, tx dbtx, g lockedGroup) ([]made, error) {
	var offers []made
	for {
		m, more, err := s.offerNext(ctx, tx, &g)
		if err != nil || m == nil {
			return offers, err
		}
		offers = append(offers, *m)
		if !more {
			// Nobody else waits: no need to look again.
			return offers, nil
		}
	}
}

// offerNext offers the head caller of g to the best free operator(s), or
// returns nil when there is nobody to offer or nobody to offer to; more
// says whether other callers wait behind the one offered.
func (s *Service) offerNext(ctx context.Context, tx dbtx, g *lockedGroup) (m *made, more bool, err error) {
	// The group's lock keeps other dispatchers and Enqueue out; Answer,
	// NoAnswer and Leave take it too, so the head cannot change under us.
	// The head is locked first, then the operators: the package's lock
	// order. Nobody waiting, no operator is locked.
	now := s.stampNow()
	cands, callID, holder, more, err := s.candidates(ctx, tx, g, now, g.strategy == LongestIdle)
	if err == nil && callID != "" && len(cands) == 0 && g.strategy == LongestIdle {
		// Nobody free at the group's lowest penalty: the general way.
		cands, _, _, _, err = s.candidates(ctx, tx, g, now, false)
	}
	if err != nil || len(cands) == 0 {
		return nil, false, err
	}
	// Ring all rings the lowest penalty among the free; the others stay
	// free (their locks end with the transaction).
	logins := []string{}
	for _, c := range cands {
		if c.penalty == cands[0].penalty {
			logins = append(logins, c.login)
		}
	}
	// Every write of the offer in one statement, which returns the
	// operators offered. The notification, sent at commit (once however
	// many operators), is for another instance holding the call: ours is
	// woken directly, and a WaitOffer yet to start reads the offer first
	// thing.
	rows, err := tx.Query(ctx, `WITH o AS (
			UPDATE queue_operators o SET state = 'offered', reason = '', state_since = $2,
				available_at = NULL, call_id = $3, call_group = $4
			WHERE login = ANY($1)
			RETURNING `+operatorColumnsAt("$2", "$9")+`
		), e AS (
			UPDATE queue_entries SET state = 'offered', offered_to = $1, offered_at = $2, attempt = attempt + 1
			WHERE call_id = $3
		), rr AS (
			UPDATE queue_groups SET rr_last = ($1::text[])[1] WHERE id = $4 AND $5
		), l AS (
			INSERT INTO queue_log (at, group_id, call_id, kind, operator)
			SELECT $2, $4, $3, 'offered', unnest($1::text[])
		), n AS (
			SELECT pg_notify($6, $7) WHERE $8
		)
		SELECT o.* FROM o LEFT JOIN n ON true`, logins, now, callID, g.id, g.strategy == RoundRobin, s.channel, "o:"+callID,
		holder != s.instance, s.day(now))
	if err != nil {
		return nil, false, err
	}
	ops, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Operator, error) { return s.scanOperator(r) })
	if err != nil {
		return nil, false, err
	}
	slices.SortFunc(ops, func(a, b Operator) int { return slices.Index(logins, a.Login) - slices.Index(logins, b.Login) })
	if g.strategy == RoundRobin {
		g.rrLast = logins[0]
	}
	return &made{callID: callID, group: g.id, logins: logins, operators: ops, at: now}, more, nil
}

// cand is an operator who may be offered a call.
type cand struct {
	login   string
	penalty int
}

// candidates locks the head caller of g (when it is not locked yet: first
// time round) and the best free operators for it (FOR UPDATE SKIP LOCKED),
// best first. callID is the head ("" when nobody waits: then no operator is
// locked), holder the instance holding it, more whether others wait
// behind it. With lowest, only the
// longest idle free operator among the members of the group's lowest
// penalty, found by walking queue_operators_free_idle: the same as the
// general way whenever there is one.
func (s *Service) candidates(ctx context.Context, tx dbtx, g *lockedGroup, now time.Time, lowest bool) (cands []cand, callID, holder string, more bool, err error) {
	// The limit is written out, not a parameter: PostgreSQL's generic plan
	// of a prepared statement must know it to walk an index rather than
	// sort, or it plans the statement again at every call.
	order, limit := "m.penalty, o.idle_since, o.login", "1"
	args := []any{g.id, now}
	switch g.strategy {
	case RoundRobin:
		// the next login after the last one offered, wrapping around
		order = "m.penalty, (o.login <= $3), o.login"
		args = append(args, g.rrLast)
	case FewestCalls:
		order = "m.penalty, CASE WHEN o.calls_day = $3 THEN o.calls_today ELSE 0 END, o.idle_since, o.login"
		args = append(args, s.day(now))
	case RingAll:
		order, limit = "m.penalty, o.login", "1000"
	}
	free := "o.state = 'available' OR (o.state = 'wrap_up' AND o.available_at <= $2)"
	members := "JOIN queue_members m ON m.login = o.login AND m.group_id = $1"
	lowestOnly := ""
	if lowest {
		// The partial index's condition spelled out, so that the planner
		// walks it in order; each operator's membership looked up by key
		// (OFFSET 0 keeps the planner from joining otherwise), so that
		// even without statistics the cost is one lookup per free operator
		// at worst, not one per free operator and member.
		free = "o.state IN ('available', 'wrap_up') AND (" + free + ")"
		members = "CROSS JOIN LATERAL (SELECT m.penalty FROM queue_members m WHERE m.group_id = $1 AND m.login = o.login OFFSET 0) m"
		lowestOnly = " AND m.penalty = (SELECT min(penalty) FROM queue_members WHERE group_id = $1)"
		order = "o.idle_since, o.login"
	}
	rows, err := tx.Query(ctx, `WITH h AS MATERIALIZED (
			SELECT e.call_id, e.instance, EXISTS (SELECT FROM queue_entries x WHERE x.group_id = $1 AND x.state = 'waiting'
				AND x.call_id <> e.call_id) AS more
			FROM queue_entries e WHERE e.group_id = $1 AND e.state = 'waiting' AND (e.not_before IS NULL OR e.not_before <= $2)
			ORDER BY e.priority DESC, e.arrived_at, e.seq LIMIT 1 FOR UPDATE OF e)
		SELECT h.call_id, h.instance, h.more, c.login, c.penalty FROM h LEFT JOIN LATERAL (
			SELECT o.login, m.penalty FROM queue_operators o `+members+`
			WHERE (`+free+`)`+lowestOnly+`
			ORDER BY `+order+`
			LIMIT `+limit+` FOR UPDATE OF o SKIP LOCKED) c ON true`, args...)
	if err != nil {
		return nil, "", "", false, err
	}
	defer rows.Close()
	for rows.Next() {
		var login *string
		var penalty *int
		if err := rows.Scan(&callID, &holder, &more, &login, &penalty); err != nil {
			return nil, "", "", false, err
		}
		if login != nil {
			cands = append(cands, cand{*login, *penalty})
		}
	}
	return cands, callID, holder, more, rows.Err()
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
	s.refreshStatistics(ctx)
	cutoff := s.stampNow().Add(-s.stale)
	// A callback has no session: its runner keeps it (ClaimCallbacks).
	rows, err := s.pool.Query(ctx, `SELECT call_id FROM queue_entries WHERE seen_at < $1 AND callback = ''`, cutoff)
	if err != nil {
		return fault.FromDB("find stale calls", err, "")
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fault.FromDB("find stale calls", err, "")
	}
	for _, id := range stale {
		if _, err := s.leave(ctx, id, LeaveAbandoned, "session lost", false, cutoff); err != nil && !errors.Is(err, fault.ErrNotFound) {
			return err
		}
		s.log.Warn("queue_stale_call_removed", "call_id", id)
	}
	return s.Dispatch(ctx)
}

// refreshStatistics analyzes the queue tables after their groups or
// operators changed. Until autovacuum gets to it (a minute or more after
// ivrd synced its configuration) the planner takes a group of 600 members
// for one of 4 and nests loops over every pair of member and free
// operator: 6 ms an offer instead of 0.5. A failure (a role not allowed
// to analyze) is logged and left to autovacuum.
func (s *Service) refreshStatistics(ctx context.Context) {
	if !s.membersChanged.Swap(false) {
		return
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE queue_groups, queue_members, queue_operators`); err != nil && ctx.Err() == nil {
		s.log.Warn("queue_analyze_failed", "error", err.Error())
	}
}
