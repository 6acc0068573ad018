package tickets

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
)

const callColumns = `c.id, c.channel_id, c.asterisk_node, c.caller, c.called, c.started_at,
	c.answered_at, c.queued_at, c.operator_answered_at, c.ended_at,
	c.outcome, c.hangup_by, c.group_id, c.operator, c.ticket_id`

// callRow receives a row of callColumns.
type callRow struct {
	c                                   Call
	answered, queued, opAnswered, ended *time.Time
	ticketID                            *int64
}

func (r *callRow) dest() []any {
	return []any{&r.c.ID, &r.c.ChannelID, &r.c.AsteriskNode, &r.c.Caller, &r.c.Called, &r.c.StartedAt,
		&r.answered, &r.queued, &r.opAnswered, &r.ended,
		&r.c.Outcome, &r.c.HangupBy, &r.c.Group, &r.c.Operator, &r.ticketID}
}

func (s *Store) call(r *callRow) Call {
	c := r.c
	c.StartedAt = c.StartedAt.In(s.loc)
	c.AnsweredAt = s.fromNull(r.answered)
	c.QueuedAt = s.fromNull(r.queued)
	c.OperatorAnsweredAt = s.fromNull(r.opAnswered)
	c.EndedAt = s.fromNull(r.ended)
	if r.ticketID != nil {
		c.TicketID = *r.ticketID
	}
	return c
}

// The call controller's hot path: ticket number, ticket and call record in
// one statement, so one round trip and one implicit transaction. (The
// ticket's creation is its CreatedAt and Source, not a history entry: a
// third insert here would cost about a fifth of the statement.)
var openCallSQL = `
WITH t AS (
	INSERT INTO tickets AS t (number, source, caller, organization, caller_role, group_id, category,
		subject, priority, status, created_at, updated_at, search, search_public, language, contact_id)
	VALUES (ticket_number($1::date, ticket_counter_next($1::date)), $2, $3, $4, $5, $6, $7,
		$8, $9, 'new', $10, $10, ticket_search_vector($8, $7, ''), ticket_search_vector($8, $7, ''), $16,
		` + openCallContact + `)
	RETURNING ` + ticketColumns + `
), c AS (
	INSERT INTO calls AS c (channel_id, asterisk_node, caller, called, started_at, answered_at, ticket_id)
	SELECT $11, $12, $3, $13, $14, $15, t.id FROM t
	RETURNING ` + callColumns + `
)`

// openCallContact is the caller's contact (phoneContactSQL), of the call's
// Administration when it is known: a sub-select in the insert on the GIN
// index of phones, so that a known caller costs no round trip.
var openCallContact = phoneContactSQL("$3::text", "$4::text")

// openCallSelect ends openCallSQL, after the CTE of the first events.
const openCallSelect = `
SELECT ` + ticketColumns + `, ` + callColumns + ` FROM t, c`

// OpenCall records a new call and opens its ticket (status new, priority
// medium unless given), in one transaction. The ticket is numbered in the
// service time zone's day of its creation.
func (s *Store) OpenCall(ctx context.Context, nc NewCall) (Call, Ticket, error) {
	const op = "open call"
	nc.Source = cmp.Or(nc.Source, SourcePhone)
	nc.Priority = cmp.Or(nc.Priority, PriorityMedium)
	nc.CallerRole = cmp.Or(nc.CallerRole, CallerUnknown)
	switch {
	case nc.ChannelID == "":
		return Call{}, Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "channel id required"))
	case !nc.Source.Valid():
		return Call{}, Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown source %q", nc.Source))
	case !nc.Priority.Valid():
		return Call{}, Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown priority %q", nc.Priority))
	case !nc.CallerRole.Valid():
		return Call{}, Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown caller role %q", nc.CallerRole))
	}
	now := s.stampNow()
	started := stamp(nc.StartedAt)
	if started.IsZero() {
		started = now
	}
	day := now.In(s.loc).Format(time.DateOnly)
	var events []any
	if len(nc.Events) > 0 {
		var err error
		if events, err = s.eventColumns(nc.Events); err != nil {
			return Call{}, Ticket{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	sql := openCallSQL + withEvents(nc.Events, "c", 17) + openCallSelect

	var tr ticketRow
	var cr callRow
	insert := func(q pgx.Tx) error {
		var row pgx.Row
		args := []any{day, nc.Source, nc.Caller, nc.Organization, nc.CallerRole, nc.Group, nc.Category,
			nc.Subject, nc.Priority, now,
			nc.ChannelID, nc.AsteriskNode, nc.Called, started, nullTime(nc.AnsweredAt), nc.Language}
		args = append(args, events...)
		if q == nil {
			row = s.pool.QueryRow(ctx, sql, args...)
		} else {
			row = q.QueryRow(ctx, sql, args...)
		}
		return row.Scan(append(tr.dest(), cr.dest()...)...)
	}
	var err error
	if s.hook == nil || (s.hookOnCreate != nil && !s.hookOnCreate(nc)) {
		err = insert(nil)
		if err == nil && tr.contact != nil && s.hook != nil {
			// Known only now: the caller is in the directory. Ask again
			// with the contact; the Hook then runs in a transaction of its
			// own, a round trip only calls of known people pay.
			nc.ContactID = *tr.contact
			if s.hookOnCreate(nc) {
				t := s.ticket(&tr)
				err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
					return s.hook(ctx, tx, TicketEvent{Kind: TicketCreated, Ticket: t, Actor: Actor{Kind: ActorSystem, ID: "ivr"}, At: now.In(s.loc)})
				})
				if err != nil {
					s.log.Error("ticket_hook_failed", "ticket", t.Number, "error", err.Error())
					err = nil // the call and its ticket are written
				}
			}
		}
	} else {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := insert(tx); err != nil {
				return err
			}
			return s.hook(ctx, tx, TicketEvent{Kind: TicketCreated, Ticket: s.ticket(&tr), Actor: Actor{Kind: ActorSystem, ID: "ivr"}, At: now.In(s.loc)})
		})
	}
	if err != nil {
		if fault.Code(fault.FromDB(op, err, "")) == fault.ECONFLICT {
			return Call{}, Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.ECONFLICT, "channel %s of node %q already has a call record", nc.ChannelID, nc.AsteriskNode))
		}
		return Call{}, Ticket{}, fault.FromDB(op, err, "")
	}
	c, t := s.call(&cr), s.ticket(&tr)
	s.log.Debug("call_opened", "call_id", c.ID, "channel_id", c.ChannelID, "ticket", t.Number)
	return c, t, nil
}

// AppendCallEvents adds events to a call's timeline in one statement.
// Events without a time get the current time. PIN events must not carry
// digits: there is no place for a PIN in the store, by design.
func (s *Store) AppendCallEvents(ctx context.Context, callID int64, events ...CallEvent) error {
	const op = "append call events"
	if len(events) == 0 {
		return nil
	}
	cols, err := s.eventColumns(events)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO call_events (call_id, at, kind, node, key, label, group_id, operator, detail, ms)
		SELECT $1, e.* FROM `+eventsFrom(2), append([]any{callID}, cols...)...)
	return fault.FromDB(op, err, fmt.Sprintf("call %d not found", callID))
}

// eventColumns checks events and returns their columns as the nine
// arrays eventsFrom unnests. Events without a time get the current time.
func (s *Store) eventColumns(events []CallEvent) ([]any, error) {
	n := len(events)
	var (
		at                                          = make([]time.Time, n)
		kind, node, key, label, group, oper, detail = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		ms                                          = make([]*int64, n)
	)
	now := s.stampNow()
	for i, e := range events {
		if err := validEvent(e); err != nil {
			return nil, err
		}
		at[i] = stamp(e.At)
		if at[i].IsZero() {
			at[i] = now
		}
		kind[i], node[i], key[i], label[i] = string(e.Kind), e.Node, e.Key, e.Label
		group[i], oper[i], detail[i] = e.Group, e.Operator, e.Detail
		if e.Duration > 0 {
			d := e.Duration.Milliseconds()
			ms[i] = &d
		}
	}
	return []any{at, kind, node, key, label, group, oper, detail, ms}, nil
}

// eventsFrom is the FROM item "e" of the events of eventColumns, bound
// from placeholder $first on.
func eventsFrom(first int) string {
	p := func(i int) string { return "$" + strconv.Itoa(first+i) }
	return `unnest(` + p(0) + `::timestamptz[], ` + p(1) + `::text[], ` + p(2) + `::text[], ` + p(3) + `::text[], ` +
		p(4) + `::text[], ` + p(5) + `::text[], ` + p(6) + `::text[], ` + p(7) + `::text[], ` + p(8) + `::bigint[]) AS e`
}

// withEvents is a data-modifying CTE "ev" adding the events bound from
// $first on to the call of the earlier CTE named call (its id column), or
// to call $1 when call is "". It is "" without events.
func withEvents(events []CallEvent, call string, first int) string {
	if len(events) == 0 {
		return ""
	}
	from := `SELECT $1::bigint, e.* FROM ` + eventsFrom(first)
	if call != "" {
		from = `SELECT ` + call + `.id, e.* FROM ` + call + `, ` + eventsFrom(first)
	}
	return `, ev AS (INSERT INTO call_events (call_id, at, kind, node, key, label, group_id, operator, detail, ms) ` + from + `)`
}

func validEvent(e CallEvent) error {
	if e.Kind == "" || strings.Trim(string(e.Kind), "abcdefghijklmnopqrstuvwxyz_") != "" {
		return fault.Errorf(fault.EINVALID, "bad event kind %q", e.Kind)
	}
	if strings.HasPrefix(string(e.Kind), "pin_") &&
		(e.Key != "" || strings.ContainsAny(e.Detail+e.Label, "0123456789")) {
		return fault.Errorf(fault.EINVALID, "a %s event must not carry digits", e.Kind)
	}
	return nil
}

// UpdateCall sets the fields of upd that are not nil.
func (s *Store) UpdateCall(ctx context.Context, callID int64, upd CallUpdate) error {
	const op = "update call"
	args, err := s.callUpdateArgs(callID, upd)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var found bool
	err = s.pool.QueryRow(ctx, `WITH `+callUpdateCTE(1, upd.Events, "")+` SELECT EXISTS (SELECT FROM uc)`, args...).Scan(&found)
	if err != nil {
		return fault.FromDB(op, err, fmt.Sprintf("call %d not found", callID))
	}
	if !found {
		return fmt.Errorf("%s: %w", op, fault.Errorf(fault.ENOTFOUND, "call %d not found", callID))
	}
	return nil
}

// callUpdateArgs returns the parameters of callUpdateCTE: the call's id,
// the five fields, then the events' columns.
func (s *Store) callUpdateArgs(callID int64, upd CallUpdate) ([]any, error) {
	stampPtr := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		return nullTime(*t)
	}
	args := []any{callID, stampPtr(upd.AnsweredAt), stampPtr(upd.QueuedAt), stampPtr(upd.OperatorAnsweredAt), upd.Group, upd.Operator}
	if len(upd.Events) > 0 {
		cols, err := s.eventColumns(upd.Events)
		if err != nil {
			return nil, err
		}
		args = append(args, cols...)
	}
	return args, nil
}

// callUpdateCTE is the data-modifying CTE "uc" of a call's update, and
// "ev" of its events, bound from $first on (see callUpdateArgs); cond is
// a further condition on the update.
func callUpdateCTE(first int, events []CallEvent, cond string) string {
	p := func(i int) string { return "$" + strconv.Itoa(first+i) }
	return `uc AS (
			UPDATE calls SET
				answered_at = coalesce(` + p(1) + `, answered_at),
				queued_at = coalesce(` + p(2) + `, queued_at),
				operator_answered_at = coalesce(` + p(3) + `, operator_answered_at),
				group_id = coalesce(` + p(4) + `, group_id),
				operator = coalesce(` + p(5) + `, operator)
			WHERE id = ` + p(0) + cond + `
			RETURNING id
		)` + withEvents(events, "uc", first+6)
}

// UpdateCallTicket is UpdateCall and UpdateTicket at one step of a call
// (the call routed, an operator answering): when the ticket's update
// changes something, both go in the same statement, two round trips in
// all (a transaction of four when the Hook wants the update) instead of
// five or more. The call's update is written whatever becomes of the
// ticket's: a stale ticket version is fault.ErrConflict as from UpdateTicket,
// with the call updated all the same.
func (s *Store) UpdateCallTicket(ctx context.Context, callID int64, cu CallUpdate, ticketID int64, tu TicketUpdate, actor Actor) (Ticket, error) {
	args, err := s.callUpdateArgs(callID, cu)
	if err != nil {
		return Ticket{}, fmt.Errorf("update call: %w", err)
	}
	call := &callWrite{args: args, events: cu.Events}
	t, terr := s.updateTicket(ctx, ticketID, tu, actor, call)
	if !call.written {
		// The ticket's update wrote nothing: the call's alone.
		if err := s.UpdateCall(ctx, callID, cu); err != nil {
			return Ticket{}, err
		}
	}
	return t, terr
}

// callWrite is a call's update written with its ticket's.
type callWrite struct {
	args    []any // callUpdateArgs
	events  []CallEvent
	written bool
}

// FinishCall records the end of a call. It is idempotent: a call already
// finished keeps its first end and the second finish returns nil, since
// hangup handling may run more than once (a hangup event and a context
// cancellation racing).
func (s *Store) FinishCall(ctx context.Context, callID int64, end CallEnd) error {
	const op = "finish call"
	if end.Outcome == "" {
		return fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "outcome required"))
	}
	switch end.HangupBy {
	case "", HangupCaller, HangupSystem, HangupOperator:
	default:
		return fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown hangup side %q", end.HangupBy))
	}
	ended := stamp(end.EndedAt)
	if ended.IsZero() {
		ended = s.stampNow()
	}
	args := []any{callID, ended, end.Outcome, end.HangupBy}
	if len(end.Events) > 0 {
		cols, err := s.eventColumns(end.Events)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		args = append(args, cols...)
	}
	var finished, exists bool
	err := s.pool.QueryRow(ctx, `
		WITH u AS (
			UPDATE calls SET ended_at = $2, outcome = $3, hangup_by = $4
			WHERE id = $1 AND ended_at IS NULL
			RETURNING id
		)`+withEvents(end.Events, "", 5)+`
		SELECT EXISTS (SELECT FROM u), EXISTS (SELECT FROM calls WHERE id = $1)`,
		args...).Scan(&finished, &exists)
	switch {
	case err != nil:
		return fault.FromDB(op, err, fmt.Sprintf("call %d not found", callID))
	case !exists:
		return fmt.Errorf("%s: %w", op, fault.Errorf(fault.ENOTFOUND, "call %d not found", callID))
	case !finished:
		s.log.Debug("call_already_finished", "call_id", callID)
	}
	return nil
}

// FindCallByChannel returns the most recent call on an Asterisk channel id.
func (s *Store) FindCallByChannel(ctx context.Context, channelID string) (Call, error) {
	var r callRow
	err := s.pool.QueryRow(ctx, `SELECT `+callColumns+` FROM calls c WHERE c.channel_id = $1
		ORDER BY c.started_at DESC, c.id DESC LIMIT 1`, channelID).Scan(r.dest()...)
	if err != nil {
		return Call{}, fault.FromDB("find call by channel", err, fmt.Sprintf("no call on channel %s", channelID))
	}
	return s.call(&r), nil
}

// OpenCalls returns the calls of an Asterisk node that have no end yet
// (oldest first, at most 1,000).
func (s *Store) OpenCalls(ctx context.Context, node string) ([]Call, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+callColumns+` FROM calls c
		WHERE c.ended_at IS NULL AND c.asterisk_node = $1
		ORDER BY c.started_at LIMIT 1000`, node)
	if err != nil {
		return nil, fault.FromDB("open calls", err, "")
	}
	defer rows.Close()
	var calls []Call
	for rows.Next() {
		var r callRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, fault.FromDB("open calls", err, "")
		}
		calls = append(calls, s.call(&r))
	}
	return calls, fault.FromDB("open calls", rows.Err(), "")
}

// FindCallByID returns a call record.
func (s *Store) FindCallByID(ctx context.Context, id int64) (Call, error) {
	var r callRow
	err := s.pool.QueryRow(ctx, `SELECT `+callColumns+` FROM calls c WHERE c.id = $1`, id).Scan(r.dest()...)
	if err != nil {
		return Call{}, fault.FromDB("find call", err, fmt.Sprintf("call %d not found", id))
	}
	return s.call(&r), nil
}

// CallEvents returns a call's timeline in order.
func (s *Store) CallEvents(ctx context.Context, callID int64) ([]CallEvent, error) {
	const op = "list call events"
	b := &pgx.Batch{}
	var exists bool
	b.Queue(`SELECT EXISTS (SELECT FROM calls WHERE id = $1)`, callID).QueryRow(func(row pgx.Row) error {
		return row.Scan(&exists)
	})
	var events []CallEvent
	b.Queue(`SELECT at, kind, node, key, label, group_id, operator, detail, COALESCE(ms, 0) FROM call_events
		WHERE call_id = $1 ORDER BY at, id`, callID).Query(func(rows pgx.Rows) error {
		var err error
		events, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (CallEvent, error) {
			var e CallEvent
			var ms int64
			err := row.Scan(&e.At, &e.Kind, &e.Node, &e.Key, &e.Label, &e.Group, &e.Operator, &e.Detail, &ms)
			e.At = e.At.In(s.loc)
			e.Duration = time.Duration(ms) * time.Millisecond
			return e, err
		})
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fault.FromDB(op, err, "")
	}
	if !exists {
		return nil, fmt.Errorf("%s: %w", op, fault.Errorf(fault.ENOTFOUND, "call %d not found", callID))
	}
	return events, nil
}

// CallsOfTicket returns the calls that belong to a ticket the viewer may see,
// oldest first.
func (s *Store) CallsOfTicket(ctx context.Context, ticketID int64, v Viewer) ([]Call, error) {
	const op = "list calls of ticket"
	var calls []Call
	err := s.withVisibleTicket(ctx, op, ticketID, v, func(b *pgx.Batch) {
		b.Queue(`SELECT `+callColumns+` FROM calls c WHERE c.ticket_id = $1 ORDER BY c.started_at, c.id`, ticketID).
			Query(func(rows pgx.Rows) error {
				var err error
				calls, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Call, error) {
					var r callRow
					err := row.Scan(r.dest()...)
					return s.call(&r), err
				})
				return err
			})
	})
	return calls, err
}

// SetTicketLanguage records the language a caller chose in the language
// menu. It is not an edit of the ticket (no version, no history line: the
// call's timeline says when and how it was chosen), so it never makes an
// operator's open form stale.
func (s *Store) SetTicketLanguage(ctx context.Context, ticketID int64, lang string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE tickets SET language = $2 WHERE id = $1 AND language <> $2`, ticketID, lang); err != nil {
		return fault.FromDB("set ticket language", err, "")
	}
	return nil
}
