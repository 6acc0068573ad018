package queues

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Service.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Location is the service time zone, where "today" begins (fewest calls
	// today, the wallboard's counts). Default time.Local.
	Location *time.Location
	// Logger; default discards.
	Logger *slog.Logger
	// Registerer receives the queue metrics; nil registers none.
	Registerer prometheus.Registerer
	// PollInterval bounds how late a waiting call notices an offer when a
	// notification is lost, and how often Run does its maintenance;
	// default 2 s.
	PollInterval time.Duration
	// StaleAfter: a queued call whose session has not looked at its entry
	// for this long (its instance died and did not come back) is removed as
	// abandoned by Run. It must exceed the longest prompt between Enqueue
	// and WaitOffer and any RingTimeout; default 3 minutes.
	StaleAfter time.Duration
	// Channel is the LISTEN/NOTIFY channel; default "ivr_queues".
	Channel string
}

// Service is the operator queues on PostgreSQL. It is safe for concurrent
// use, and several Services (several ivrd instances) may share a database.
type Service struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	loc     *time.Location
	log     *slog.Logger
	poll    time.Duration
	stale   time.Duration
	channel string
	metrics *metrics
	// instance names this Service in the queue entries of its sessions'
	// calls (see offerNext's notification).
	instance string

	mu      sync.Mutex
	waiters map[string]chan struct{} // call id → wakes its WaitOffer

	// membersChanged: groups or operators were written since Maintain
	// last refreshed the planner's statistics of the queue tables.
	membersChanged atomic.Bool
}

// New returns a Service on pool. The schema must be migrated (Migrate).
// Run must be running for offers made by other instances to be noticed at
// once and for operators to become available at the end of their wrap-up.
func New(pool *pgxpool.Pool, opts Options) *Service {
	s := &Service{
		pool:     pool,
		now:      opts.Now,
		loc:      cmp.Or(opts.Location, time.Local),
		log:      cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		poll:     cmp.Or(opts.PollInterval, 2*time.Second),
		stale:    cmp.Or(opts.StaleAfter, 3*time.Minute),
		channel:  cmp.Or(opts.Channel, "ivr_queues"),
		waiters:  map[string]chan struct{}{},
		instance: rand.Text(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.metrics = newMetrics(s, opts.Registerer)
	return s
}

// stamp rounds t to what PostgreSQL stores.
func (s *Service) stampNow() time.Time { return s.now().Truncate(time.Microsecond) }

// day numbers the day of t in the service zone (days since 1970-01-01).
func (s *Service) day(t time.Time) int {
	y, m, d := t.In(s.loc).Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func (s *Service) dayStart(t time.Time) time.Time {
	y, m, d := t.In(s.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, s.loc)
}

// tx runs fn in a transaction, again after a deadlock or serialization
// failure.
func (s *Service) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err != nil && retryable(err) && attempt < 5 {
			continue
		}
		return err
	}
}

// dbtx runs the statements of a transaction: a pgx.Tx, or the connection
// of txFrom's.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// txFrom is tx for a transaction that starts with the statement first
// (its row handed to scan): BEGIN and that statement go in one round
// trip, one fewer than tx's. An error of scan or fn rolls back.
func (s *Service) txFrom(ctx context.Context, first string, args []any, scan func(pgx.Row) error, fn func(dbtx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.txFromOnce(ctx, first, args, scan, fn)
		if err != nil && retryable(err) && attempt < 5 {
			continue
		}
		return err
	}
}

func (s *Service) txFromOnce(ctx context.Context, first string, args []any, scan func(pgx.Row) error, fn func(dbtx) error) (err error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	defer func() {
		if err != nil && !c.Conn().IsClosed() && c.Conn().PgConn().TxStatus() != 'I' {
			// Left in the transaction: roll back, or the pool closes the
			// connection (it takes back only idle ones).
			_, _ = c.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(first, args...).QueryRow(scan)
	if err = c.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if err = fn(c.Conn()); err != nil {
		return err
	}
	tag, err := c.Exec(ctx, "COMMIT")
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("commit: the transaction was rolled back (%s)", tag)
	}
	return err
}

// effectiveState is the SQL for an operator's state: a wrap-up that has
// ended is available. $now must be bound at position n.
func effectiveState(n string) string {
	return "CASE WHEN o.state = 'wrap_up' AND o.available_at <= " + n + " THEN 'available' ELSE o.state END"
}

func validOverflow(p OverflowPolicy, allowWait bool) error {
	switch p.Action {
	case OverflowMessage, OverflowHangup:
	case OverflowWait:
		if !allowWait {
			return errors.New("overflow action wait is only for no operators")
		}
	case OverflowGroup:
		if p.Group == "" {
			return errors.New("overflow to a group needs the group")
		}
	default:
		return fmt.Errorf("unknown overflow action %q", p.Action)
	}
	return nil
}

// SyncGroups makes the configured groups exactly these: new ones are
// created, existing ones updated, and groups no longer listed stop taking
// callers (those already waiting stay until they leave).
func (s *Service) SyncGroups(ctx context.Context, groups []GroupConfig) error {
	for i := range groups {
		g := &groups[i]
		g.Strategy = cmp.Or(g.Strategy, LongestIdle)
		g.RingTimeout = cmp.Or(g.RingTimeout, 20*time.Second)
		g.NoOperators.Action = cmp.Or(g.NoOperators.Action, OverflowMessage)
		g.Overflow.Action = cmp.Or(g.Overflow.Action, OverflowMessage)
		if g.ID == "" {
			return fmt.Errorf("sync groups: %w", fault.Errorf(fault.EINVALID, "a group without an id"))
		}
		switch g.Strategy {
		case LongestIdle, RoundRobin, RingAll, FewestCalls:
		default:
			return fmt.Errorf("sync groups: %w", fault.Errorf(fault.EINVALID, "group %s: unknown strategy %q", g.ID, g.Strategy))
		}
		if g.WrapUp < 0 || g.RingTimeout < 0 || g.MaxWait < 0 || g.MaxWaiting < 0 {
			return fmt.Errorf("sync groups: %w", fault.Errorf(fault.EINVALID, "group %s: negative limit", g.ID))
		}
		if err := validOverflow(g.NoOperators, true); err != nil {
			return fmt.Errorf("sync groups: %w", fault.Errorf(fault.EINVALID, "group %s: no operators: %v", g.ID, err))
		}
		if err := validOverflow(g.Overflow, false); err != nil {
			return fmt.Errorf("sync groups: %w", fault.Errorf(fault.EINVALID, "group %s: overflow: %v", g.ID, err))
		}
	}
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = g.ID
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		for _, g := range groups {
			_, err := tx.Exec(ctx, `INSERT INTO queue_groups (id, strategy, wrap_up_ms, ring_timeout_ms, max_wait_ms, max_waiting,
					no_operators_action, no_operators_group, overflow_action, overflow_group, active)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true)
				ON CONFLICT (id) DO UPDATE SET strategy = $2, wrap_up_ms = $3, ring_timeout_ms = $4, max_wait_ms = $5,
					max_waiting = $6, no_operators_action = $7, no_operators_group = $8, overflow_action = $9,
					overflow_group = $10, active = true`,
				g.ID, g.Strategy, ms(g.WrapUp), ms(g.RingTimeout), ms(g.MaxWait), g.MaxWaiting,
				g.NoOperators.Action, g.NoOperators.Group, g.Overflow.Action, g.Overflow.Group)
			if err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE queue_groups SET active = false WHERE active AND NOT id = ANY($1)`, ids)
		return err
	})
	if err == nil {
		s.membersChanged.Store(true)
	}
	return fault.FromDB("sync groups", err, "no such group")
}

// Group returns a group's configuration.
func (s *Service) Group(ctx context.Context, id string) (GroupConfig, error) {
	var g GroupConfig
	var wrap, ring, maxWait int64
	err := s.pool.QueryRow(ctx, `SELECT id, strategy, wrap_up_ms, ring_timeout_ms, max_wait_ms, max_waiting,
			no_operators_action, no_operators_group, overflow_action, overflow_group
		FROM queue_groups WHERE id = $1 AND active`, id).
		Scan(&g.ID, &g.Strategy, &wrap, &ring, &maxWait, &g.MaxWaiting,
			&g.NoOperators.Action, &g.NoOperators.Group, &g.Overflow.Action, &g.Overflow.Group)
	g.WrapUp, g.RingTimeout, g.MaxWait = fromMS(wrap), fromMS(ring), fromMS(maxWait)
	return g, fault.FromDB("find group", err, "no such group "+id)
}

// UpsertOperator creates or updates an operator and makes its groups
// exactly op.Groups. A new operator starts logged out; an existing one
// keeps its state.
func (s *Service) UpsertOperator(ctx context.Context, op Operator) error {
	if op.Login == "" || op.Endpoint == "" {
		return fmt.Errorf("upsert operator: %w", fault.Errorf(fault.EINVALID, "an operator needs a login and an endpoint"))
	}
	for g, p := range op.Groups {
		if p < 0 {
			return fmt.Errorf("upsert operator: %w", fault.Errorf(fault.EINVALID, "negative penalty in group %s", g))
		}
	}
	now := s.stampNow()
	groups := append([]string{}, slices.Sorted(maps.Keys(op.Groups))...) // never NULL: no groups removes all
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO queue_operators (login, name, endpoint, state_since, idle_since)
			VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (login) DO UPDATE SET name = $2, endpoint = $3`, op.Login, op.Name, op.Endpoint, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM queue_members WHERE login = $1 AND NOT group_id = ANY($2)`, op.Login, groups); err != nil {
			return err
		}
		for _, g := range groups {
			if _, err := tx.Exec(ctx, `INSERT INTO queue_members (group_id, login, penalty) VALUES ($1, $2, $3)
				ON CONFLICT (group_id, login) DO UPDATE SET penalty = $3`, g, op.Login, op.Groups[g]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fault.FromDB("upsert operator", err, "unknown group in "+fmt.Sprint(groups))
	}
	s.membersChanged.Store(true)
	// A new group or a lower penalty may give a waiting caller an operator.
	s.dispatchOperator(ctx, op.Login)
	return nil
}

// manualState checks a state set by hand (not by calls) and returns the
// reason it keeps: only a pause has one, and it must.
func manualState(state State, reason string) (string, error) {
	switch state {
	case Available, LoggedOut:
		return "", nil
	case Paused:
		if reason == "" {
			return "", fault.Errorf(fault.EINVALID, "a pause needs a reason")
		}
		return reason, nil
	}
	return "", fault.Errorf(fault.EINVALID, "state %s is set by calls, not by hand", state)
}

// SetState changes an operator's state from the panel or the API: log in
// (Available), pause with a reason, log out. An operator who is being
// offered a call or is on a call cannot be changed (fault.ErrConflict): the call
// decides; pause after CallEnded, during the wrap-up.
func (s *Service) SetState(ctx context.Context, login string, state State, reason string) error {
	reason, err := manualState(state, reason)
	if err != nil {
		return fmt.Errorf("set operator state: %w", err)
	}
	now := s.stampNow()
	var old State
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT state FROM queue_operators WHERE login = $1 FOR UPDATE`, login).Scan(&old); err != nil {
			return err
		}
		if old == Offered || old == OnCall {
			return fault.Errorf(fault.ECONFLICT, "operator %s is %s", login, old)
		}
		// Idle time counts from the moment an operator becomes free, and
		// a wrap-up ended early keeps its start.
		_, err := tx.Exec(ctx, `UPDATE queue_operators SET state = $2, reason = $3, state_since = $4, available_at = NULL,
				idle_since = CASE WHEN state = 'wrap_up' THEN LEAST(idle_since, $4)
					WHEN $2 = 'available' AND state <> 'available' THEN $4 ELSE idle_since END
			WHERE login = $1`, login, state, reason, now)
		return err
	})
	if err != nil {
		return fault.FromDB("set operator state", err, "no such operator "+login)
	}
	s.log.Info("queue_operator_state", "operator", login, "from", string(old), "to", string(state), "reason", reason)
	if state == Available {
		s.dispatchOperator(ctx, login)
	}
	return nil
}

// operatorColumns are an operator's columns for scanOperator, with $1 the
// time and $2 the day (see operatorColumnsAt).
var operatorColumns = operatorColumnsAt("$1", "$2")

// operatorColumnsAt are an operator's columns of queue_operators o for
// scanOperator, with now and day the placeholders of the time and the day.
func operatorColumnsAt(now, day string) string {
	return `o.login, o.name, o.endpoint, CASE WHEN o.state = 'wrap_up' AND o.available_at <= ` + now + ` THEN 'available' ELSE o.state END,
	o.reason, CASE WHEN o.state = 'wrap_up' AND o.available_at <= ` + now + ` THEN o.available_at ELSE o.state_since END,
	o.call_id, o.call_group, CASE WHEN o.calls_day = ` + day + ` THEN o.calls_today ELSE 0 END,
	COALESCE((SELECT jsonb_object_agg(m.group_id, m.penalty) FROM queue_members m WHERE m.login = o.login), '{}')`
}

func (s *Service) scanOperator(row pgx.Row) (Operator, error) {
	var op Operator
	err := row.Scan(&op.Login, &op.Name, &op.Endpoint, &op.State, &op.Reason, &op.Since,
		&op.CallID, &op.CallGroup, &op.CallsToday, &op.Groups)
	op.Since = op.Since.In(s.loc)
	return op, err
}

// Operator returns an operator and its current state.
func (s *Service) Operator(ctx context.Context, login string) (Operator, error) {
	now := s.stampNow()
	op, err := s.scanOperator(s.pool.QueryRow(ctx, `SELECT `+operatorColumns+` FROM queue_operators o WHERE o.login = $3`,
		now, s.day(now), login))
	return op, fault.FromDB("find operator", err, "no such operator "+login)
}

// Operators returns the operators of a group, or every operator when group
// is "", by login.
func (s *Service) Operators(ctx context.Context, group string) ([]Operator, error) {
	now := s.stampNow()
	rows, err := s.pool.Query(ctx, `SELECT `+operatorColumns+` FROM queue_operators o
		WHERE $3 = '' OR EXISTS (SELECT FROM queue_members m WHERE m.login = o.login AND m.group_id = $3)
		ORDER BY o.login`, now, s.day(now), group)
	if err != nil {
		return nil, fault.FromDB("list operators", err, "")
	}
	ops, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Operator, error) { return s.scanOperator(r) })
	return ops, fault.FromDB("list operators", err, "")
}
