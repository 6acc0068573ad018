package tickets

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
)

const ticketColumns = `t.id, t.number, t.source, t.caller, t.organization, t.caller_role, t.menu_path,
	t.group_id, t.category, t.subject, t.description, t.priority, t.status, t.assignee,
	t.due_at, t.created_at, t.updated_at, t.closed_at, t.version, t.language, t.contact_id`

// ticketRow receives a row of ticketColumns.
type ticketRow struct {
	t           Ticket
	due, closed *time.Time
	contact     *int64
}

func (r *ticketRow) dest() []any {
	return []any{&r.t.ID, &r.t.Number, &r.t.Source, &r.t.Caller, &r.t.Organization, &r.t.CallerRole, &r.t.MenuPath,
		&r.t.Group, &r.t.Category, &r.t.Subject, &r.t.Description, &r.t.Priority, &r.t.Status, &r.t.Assignee,
		&r.due, &r.t.CreatedAt, &r.t.UpdatedAt, &r.closed, &r.t.Version, &r.t.Language, &r.contact}
}

func (s *Store) ticket(r *ticketRow) Ticket {
	t := r.t
	t.DueAt = s.fromNull(r.due)
	t.ClosedAt = s.fromNull(r.closed)
	if r.contact != nil {
		t.ContactID = *r.contact
	}
	t.CreatedAt = t.CreatedAt.In(s.loc)
	t.UpdatedAt = t.UpdatedAt.In(s.loc)
	if t.MenuPath == nil {
		t.MenuPath = []MenuStep{}
	}
	return t
}

func (s *Store) collectTickets(rows pgx.Rows) ([]Ticket, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Ticket, error) {
		var r ticketRow
		err := row.Scan(r.dest()...)
		return s.ticket(&r), err
	})
}

// FindTicketByID returns a ticket the viewer may see; any other id, existing
// or not, is fault.ErrNotFound.
func (s *Store) FindTicketByID(ctx context.Context, id int64, v Viewer) (Ticket, error) {
	const op = "find ticket"
	a := args{id}
	vis, err := visibility(v, &a)
	if err != nil {
		return Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	var r ticketRow
	err = s.pool.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets t WHERE t.id = $1 AND `+vis, a...).Scan(r.dest()...)
	if err != nil {
		return Ticket{}, fault.FromDB(op, err, fmt.Sprintf("ticket %d not found", id))
	}
	return s.ticket(&r), nil
}

// FindTicketByNumber returns a ticket the viewer may see by its number.
// Parse typed numbers with ParseNumber first, which rejects bad check digits.
func (s *Store) FindTicketByNumber(ctx context.Context, n Number, v Viewer) (Ticket, error) {
	const op = "find ticket by number"
	a := args{string(n)}
	vis, err := visibility(v, &a)
	if err != nil {
		return Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	var r ticketRow
	err = s.pool.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets t WHERE t.number = $1 AND `+vis, a...).Scan(r.dest()...)
	if err != nil {
		return Ticket{}, fault.FromDB(op, err, fmt.Sprintf("ticket %s not found", n))
	}
	return s.ticket(&r), nil
}

const (
	defaultPageSize   = 50
	maxPageSize       = 500
	defaultCountLimit = 10000
	// textWindow is how many of the newest tickets a text search looks at
	// before it treats its words as rare (see FindTickets).
	textWindow = 3000
)

// FindTickets lists the tickets the viewer may see that match f, newest
// first, a page at a time (keyset pagination on created_at, id), with their
// count. The page and the count travel in one round trip.
//
// A text search takes one or two, because the planner cannot know how many
// tickets a word matches, and guessing wrong costs either a walk over the
// whole table in date order (a rare word) or fetching and sorting hundreds of
// thousands of matches (a common word). The first round trip looks for the
// page among the newest tickets passing the other filters (textWindow of
// them), and measures how many tickets pass those filters at all:
//   - the page filled up there: the word is common, that is the answer, and
//     Total is a lower bound (TotalCapped);
//   - the other filters pass no more tickets than the window holds (a
//     caller's tickets, say): the page is complete, and the count, when the
//     page alone does not give it, reads only those tickets;
//   - otherwise the word is rare among many tickets: the second round trip
//     takes its matches from the text index, then filters, sorts and counts
//     them.
func (s *Store) FindTickets(ctx context.Context, f TicketFilter, v Viewer) (TicketPage, error) {
	const op = "find tickets"
	q, err := s.newTicketQuery(f, v)
	if err != nil {
		return TicketPage{}, fmt.Errorf("%s: %w", op, err)
	}
	var page TicketPage
	collect := func(rows pgx.Rows) error {
		var err error
		page.Tickets, err = s.collectTickets(rows)
		return err
	}

	if q.text == "" {
		b := &pgx.Batch{}
		sql, a := q.pageSQL()
		b.Queue(sql, a...).Query(collect)
		if q.countLimit >= 0 {
			sql, a := q.countSQL(fromTable)
			b.Queue(sql, a...).QueryRow(func(row pgx.Row) error { return row.Scan(&page.Total) })
		}
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			return TicketPage{}, fault.FromDB(op, err, "")
		}
		return q.finish(page), nil
	}

	// Round trip 1: the page from the window, and how many tickets pass
	// the other filters (up to the window's size).
	var passing int
	b := &pgx.Batch{}
	sql, a := q.windowPageSQL()
	b.Queue(sql, a...).Query(collect)
	sql, a = q.passingSQL()
	b.Queue(sql, a...).QueryRow(func(row pgx.Row) error { return row.Scan(&passing) })
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return TicketPage{}, fault.FromDB(op, err, "")
	}
	few := passing <= q.window
	switch {
	case len(page.Tickets) > q.limit:
		if q.countLimit >= 0 {
			page.Total, page.TotalCapped = min(q.limit+1, q.countLimit), true
		}
		return q.finish(page), nil
	case few && q.cursor == nil:
		page.Total = len(page.Tickets)
		return q.finish(page), nil
	case few:
		if q.countLimit >= 0 {
			sql, a := q.countSQL(fromFiltered)
			if err := s.pool.QueryRow(ctx, sql, a...).Scan(&page.Total); err != nil {
				return TicketPage{}, fault.FromDB(op, err, "")
			}
		}
		return q.finish(page), nil
	}
	// Round trip 2: a rare word among many tickets; one pass over its
	// matches gives both the page and the count.
	page = TicketPage{}
	sql, a = q.matchesSQL()
	rows, err := s.pool.Query(ctx, sql, a...)
	if err != nil {
		return TicketPage{}, fault.FromDB(op, err, "")
	}
	page.Tickets, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Ticket, error) {
		var r ticketRow
		err := row.Scan(append(r.dest(), &page.Total)...)
		return s.ticket(&r), err
	})
	if err != nil {
		return TicketPage{}, fault.FromDB(op, err, "")
	}
	return q.finish(page), nil
}

// ticketQuery builds the SQL of one FindTickets call.
type ticketQuery struct {
	f          TicketFilter
	v          Viewer
	limit      int
	countLimit int
	window     int
	text       string // the tsquery; "" for none
	cursor     *pageCursor
}

type pageCursor struct {
	at time.Time
	id int64
}

func (s *Store) newTicketQuery(f TicketFilter, v Viewer) (*ticketQuery, error) {
	q := &ticketQuery{
		f: f, v: v,
		limit:      f.Limit,
		countLimit: cmp.Or(f.CountLimit, defaultCountLimit),
		window:     s.textWindow,
		text:       textQuery(f.Text),
	}
	switch {
	case q.limit <= 0:
		q.limit = defaultPageSize
	case q.limit > maxPageSize:
		q.limit = maxPageSize
	}
	if f.After != "" {
		at, id, ok := decodeCursor(f.After)
		if !ok {
			return nil, fault.Errorf(fault.EINVALID, "bad page cursor")
		}
		q.cursor = &pageCursor{at, id}
	}
	// Validate the filter and the viewer once, here.
	if _, err := ticketConditions(f, v, &args{}); err != nil {
		return nil, err
	}
	return q, nil
}

// where returns the conditions of the filter but for the text, and the
// cursor's if paged.
func (q *ticketQuery) where(a *args, paged bool) string {
	conds, _ := ticketConditions(q.f, q.v, a) // validated by newTicketQuery
	if paged && q.cursor != nil {
		conds = append(conds, "(t.created_at, t.id) < ("+a.add(q.cursor.at)+"::timestamptz, "+a.add(q.cursor.id)+"::bigint)")
	}
	return strings.Join(conds, " AND ")
}

// fromKind is the order in which a query applies the text and the other
// conditions.
type fromKind int

const (
	fromTable    fromKind = iota // no text: the planner's choice
	fromFiltered                 // the other conditions first (few tickets pass them), then the text
	fromMatches                  // the text index first (a rare word), then the other conditions
)

// source returns the FROM clause and the conditions left for the WHERE
// clause. The subqueries end in OFFSET 0, an optimisation fence, so that the
// planner keeps the order chosen here: left to itself it would, for one,
// AND a rare word's few matches with the bitmap of a group index holding a
// quarter of the table, a hundred times slower than checking the group of
// each match.
func (q *ticketQuery) source(a *args, kind fromKind, paged bool) (from, where string) {
	switch kind {
	case fromFiltered:
		return "(SELECT t.* FROM tickets t WHERE " + q.where(a, paged) + " OFFSET 0) t", textCondition(q.text, q.v, a)
	case fromMatches:
		return "(SELECT t.* FROM tickets t WHERE " + textCondition(q.text, q.v, a) + " OFFSET 0) t", q.where(a, paged)
	}
	return "tickets t", q.where(a, paged)
}

// pageSQL returns the page of a filter without text.
func (q *ticketQuery) pageSQL() (string, args) {
	var a args
	where := q.where(&a, true)
	return `SELECT ` + ticketColumns + ` FROM tickets t WHERE ` + where +
		` ORDER BY t.created_at DESC, t.id DESC LIMIT ` + a.add(q.limit+1), a
}

// countSQL counts the tickets of the filter, up to one more than the count
// limit.
func (q *ticketQuery) countSQL(kind fromKind) (string, args) {
	var a args
	from, where := q.source(&a, kind, false)
	return `SELECT count(*) FROM (SELECT FROM ` + from + ` WHERE ` + where + ` LIMIT ` + a.add(q.countLimit+1) + `) x`, a
}

// matchesSQL returns the page of a rare word with the number of its
// matches that pass the other conditions (in every row).
func (q *ticketQuery) matchesSQL() (string, args) {
	var a args
	from, all := q.source(&a, fromMatches, false)
	paged := "true"
	if q.cursor != nil {
		paged = "(t.created_at, t.id) < (" + a.add(q.cursor.at) + "::timestamptz, " + a.add(q.cursor.id) + "::bigint)"
	}
	return `SELECT ` + ticketColumns + `, m.total FROM tickets t JOIN (
			SELECT m.id, m.created_at, m.total FROM (
				SELECT t.id, t.created_at, ` + paged + ` AS on_page, count(*) OVER () AS total
				FROM ` + from + ` WHERE ` + all + `
			) m WHERE m.on_page
			ORDER BY m.created_at DESC, m.id DESC LIMIT ` + a.add(q.limit+1) + `
		) m ON m.id = t.id
		ORDER BY t.created_at DESC, t.id DESC`, a
}

// windowPageSQL looks for the page among the newest tickets that pass the
// other conditions; it stops reading as soon as the page is full. The
// window carries only what the search needs (reading whole rows costs half
// as much again), and the page's rows are read at the end.
func (q *ticketQuery) windowPageSQL() (string, args) {
	var a args
	where := q.where(&a, true)
	return `SELECT ` + ticketColumns + ` FROM tickets t JOIN (
			SELECT w.id FROM (
				SELECT t.id, t.created_at, t.` + searchColumn(q.v) + ` AS doc FROM tickets t WHERE ` + where + `
				ORDER BY t.created_at DESC, t.id DESC LIMIT ` + a.add(q.window) + `
			) w WHERE ` + textMatch("w.doc", q.text, &a) + `
			ORDER BY w.created_at DESC, w.id DESC LIMIT ` + a.add(q.limit+1) + `
		) m ON m.id = t.id
		ORDER BY t.created_at DESC, t.id DESC`, a
}

// passingSQL counts the tickets passing the other conditions, up to one
// more than the window.
func (q *ticketQuery) passingSQL() (string, args) {
	var a args
	where := q.where(&a, false)
	return `SELECT count(*) FROM (SELECT FROM tickets t WHERE ` + where + ` LIMIT ` + a.add(q.window+1) + `) x`, a
}

// finish caps the count and cuts the page, setting the next cursor.
func (q *ticketQuery) finish(page TicketPage) TicketPage {
	if q.countLimit < 0 {
		page.Total, page.TotalCapped = 0, false
	} else if page.Total > q.countLimit {
		page.Total, page.TotalCapped = q.countLimit, true
	}
	if len(page.Tickets) > q.limit {
		page.Tickets = page.Tickets[:q.limit]
		last := page.Tickets[q.limit-1]
		page.Next = encodeCursor(last.CreatedAt, last.ID)
	}
	if page.Tickets == nil {
		page.Tickets = []Ticket{}
	}
	return page
}

// ticketConditions returns the WHERE conditions of f for viewer v, but for
// the text (see FindTickets).
func ticketConditions(f TicketFilter, v Viewer, a *args) ([]string, error) {
	vis, err := visibility(v, a)
	if err != nil {
		return nil, err
	}
	where := []string{vis}
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, x := range f.Statuses {
			if !x.Valid() {
				return nil, fault.Errorf(fault.EINVALID, "unknown status %q", x)
			}
			st[i] = string(x)
		}
		where = append(where, "t.status = ANY("+a.add(st)+"::text[])")
		if !slices.Contains(f.Statuses, StatusClosed) {
			// Spelled out so that the partial index of open tickets applies
			// whatever plan the parameters get.
			where = append(where, "t.status <> 'closed'")
		}
	}
	if len(f.Priorities) > 0 {
		pr := make([]string, len(f.Priorities))
		for i, x := range f.Priorities {
			if !x.Valid() {
				return nil, fault.Errorf(fault.EINVALID, "unknown priority %q", x)
			}
			pr[i] = string(x)
		}
		where = append(where, "t.priority = ANY("+a.add(pr)+"::text[])")
	}
	if len(f.Groups) > 0 {
		where = append(where, "t.group_id = ANY("+a.add(f.Groups)+"::text[])")
	}
	if f.Organization != "" {
		where = append(where, "t.organization = "+a.add(f.Organization))
	}
	if f.Caller != "" {
		where = append(where, "t.caller = "+a.add(f.Caller))
	}
	if f.Assignee != "" {
		where = append(where, "t.assignee = "+a.add(f.Assignee))
	}
	if !f.CreatedFrom.IsZero() {
		where = append(where, "t.created_at >= "+a.add(f.CreatedFrom)+"::timestamptz")
	}
	if !f.CreatedTo.IsZero() {
		where = append(where, "t.created_at < "+a.add(f.CreatedTo)+"::timestamptz")
	}
	return where, nil
}

// textCondition matches the search text q against what viewer v may
// search (see textMatch).
func textCondition(q string, v Viewer, a *args) string {
	return textMatch("t."+searchColumn(v), q, a)
}

// searchColumn is the words viewer v may search: staff search internal
// notes too, caller-side views only what they may read.
func searchColumn(v Viewer) string {
	if v.CallerSide() {
		return "search_public"
	}
	return "search"
}

// textMatch matches the search text q against the tsvector doc. The text
// goes through the same parser as the documents (so an e-mail address or a
// hyphenated word is read the same way on both sides), and every word it
// yields must start a word of the document. The tsquery is built once per
// statement, in an InitPlan, not once per row.
func textMatch(doc, q string, a *args) string {
	return doc + ` @@ (SELECT coalesce(string_agg(quote_literal(w.lexeme) || ':*', ' & '), '')::tsquery
		FROM unnest(to_tsvector('simple', ` + a.add(q) + `::text)) w)`
}

// textQuery returns the search text to use, "" when there is nothing to
// search for. Whatever the text holds is data for the parser, never tsquery
// syntax.
func textQuery(text string) string {
	const maxRunes = 200
	if !strings.ContainsFunc(text, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return ""
	}
	if r := []rune(text); len(r) > maxRunes {
		text = string(r[:maxRunes])
	}
	return text
}

func encodeCursor(at time.Time, id int64) Cursor {
	s := strconv.FormatInt(at.UnixMicro(), 10) + "." + strconv.FormatInt(id, 10)
	return Cursor(base64.RawURLEncoding.EncodeToString([]byte(s)))
}

func decodeCursor(c Cursor) (time.Time, int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(string(c))
	if err != nil {
		return time.Time{}, 0, false
	}
	us, ids, ok := strings.Cut(string(b), ".")
	if !ok {
		return time.Time{}, 0, false
	}
	micro, err1 := strconv.ParseInt(us, 10, 64)
	id, err2 := strconv.ParseInt(ids, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, false
	}
	return time.UnixMicro(micro), id, true
}

// UpdateTicket changes a ticket's fields. upd.Version must be the version
// the editor read: if someone else changed the ticket since, nothing is
// written and the error is fault.ErrConflict. Status changes must follow the
// workflow (*TransitionError otherwise); closing stamps ClosedAt, reopening
// clears it. Every changed field goes to the history with the actor; fields
// set to their current value are not changes. An update that changes
// nothing returns the ticket as it is, version unchanged.
//
// Writes take an Actor, not a Viewer: whoever edits must have read the
// ticket with their Viewer first (that read gives the Version), which is
// where an operator's access to other groups' tickets is refused.
func (s *Store) UpdateTicket(ctx context.Context, id int64, upd TicketUpdate, actor Actor) (Ticket, error) {
	return s.updateTicket(ctx, id, upd, actor, nil)
}

// updateTicket is UpdateTicket, with call's update in the same statement
// when call is not nil (call.written says whether it was written).
func (s *Store) updateTicket(ctx context.Context, id int64, upd TicketUpdate, actor Actor, call *callWrite) (Ticket, error) {
	const op = "update ticket"
	if !actor.valid() {
		return Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown actor kind %q", actor.Kind))
	}
	now := s.stampNow()
	var out Ticket
	var err error
	done := false
	if s.hook == nil || s.hookOnUpdate != nil {
		out, done, err = s.updateTicketAtOnce(ctx, id, upd, actor, now, call)
	}
	if !done {
		out, err = s.updateTicketLocked(ctx, id, upd, actor, now, call)
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("%s %d: %w", op, id, err)
	}
	if out.Version != upd.Version {
		s.log.Debug("ticket_updated", "ticket", out.Number, "version", out.Version, "actor", actor.ID)
	}
	return out, nil
}

// updateTicketLocked updates a ticket in a transaction that locks its row
// first, then runs the Hook if it wants the update. The lock orders the update after concurrent
// article additions, so the search vector rebuilt sees every article.
func (s *Store) updateTicketLocked(ctx context.Context, id int64, upd TicketUpdate, actor Actor, now time.Time, call *callWrite) (Ticket, error) {
	var out Ticket
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var r ticketRow
		var cc contactCheck
		a := args{id}
		err := tx.QueryRow(ctx, `SELECT `+ticketColumns+contactCheckSQL(upd, &a)+` FROM tickets t WHERE t.id = $1 FOR UPDATE OF t`,
			a...).Scan(append(r.dest(), cc.dest()...)...)
		if err != nil {
			return fault.FromDB("read", err, fmt.Sprintf("ticket %d not found", id))
		}
		cur := s.ticket(&r)
		next, changes, err := s.checkUpdate(cur, upd, now, cc)
		if err != nil || len(changes) == 0 {
			out = cur
			return err
		}
		if out, err = s.writeTicket(ctx, tx, cur, next, changes, actor, now, nil, call); err != nil {
			return fault.FromDB("write", err, fmt.Sprintf("ticket %d not found", id))
		}
		ev := TicketEvent{Kind: TicketUpdated, Ticket: out, Previous: cur, Changes: changes, Actor: actor, At: now.In(s.loc)}
		if s.hook != nil && (s.hookOnUpdate == nil || s.hookOnUpdate(ev)) {
			return s.hook(ctx, tx, ev)
		}
		return nil
	})
	if err != nil && call != nil {
		call.written = false // rolled back
	}
	return out, err
}

// updateTicketAtOnce updates a ticket without a transaction: it reads the
// ticket, then writes it in one statement on condition that the row is
// still the version read (its xmin: any writer, an article's addition
// too, makes a new one). When the row changed meanwhile, or the Hook
// wants to see the update, it does nothing and reports !done: the locked
// way then decides. Without the lock the search vector is still right: an
// article committed before the write is in the write's snapshot, and one
// added after waits for the write's row and adds itself to it.
func (s *Store) updateTicketAtOnce(ctx context.Context, id int64, upd TicketUpdate, actor Actor, now time.Time, call *callWrite) (Ticket, bool, error) {
	var r ticketRow
	var xmin uint32
	var cc contactCheck
	a := args{id}
	err := s.pool.QueryRow(ctx, `SELECT `+ticketColumns+`, t.xmin`+contactCheckSQL(upd, &a)+` FROM tickets t WHERE t.id = $1`,
		a...).Scan(append(append(r.dest(), &xmin), cc.dest()...)...)
	if err != nil {
		return Ticket{}, true, fault.FromDB("read", err, fmt.Sprintf("ticket %d not found", id))
	}
	cur := s.ticket(&r)
	next, changes, err := s.checkUpdate(cur, upd, now, cc)
	if err != nil || len(changes) == 0 {
		return cur, true, err
	}
	if s.hook != nil {
		will := next
		will.Version, will.UpdatedAt = cur.Version+1, now.In(s.loc)
		if s.hookOnUpdate(TicketEvent{Kind: TicketUpdated, Ticket: will, Previous: cur, Changes: changes, Actor: actor, At: now.In(s.loc)}) {
			return Ticket{}, false, nil
		}
	}
	out, err := s.writeTicket(ctx, s.pool, cur, next, changes, actor, now, &xmin, call)
	if errors.Is(err, pgx.ErrNoRows) {
		return Ticket{}, false, nil
	}
	if err != nil {
		return Ticket{}, true, fault.FromDB("write", err, fmt.Sprintf("ticket %d not found", id))
	}
	return out, true, nil
}

// checkUpdate checks upd against the current ticket and returns the
// ticket after it and the changes it makes.
func (s *Store) checkUpdate(cur Ticket, upd TicketUpdate, now time.Time, cc contactCheck) (Ticket, []Change, error) {
	if cur.Version != upd.Version {
		return cur, nil, &StaleError{Number: cur.Number, Now: cur.Version, Edited: upd.Version}
	}
	next, changes, err := s.apply(cur, upd, now)
	if err != nil {
		return next, nil, err
	}
	if err := applyContact(cur, &next, upd, cc); err != nil {
		return cur, nil, err
	}
	if next.ContactID != cur.ContactID {
		changes = append(changes, Change{Field: "contact", Old: contactIDText(cur.ContactID), New: contactIDText(next.ContactID)})
	}
	return next, changes, nil
}

// queryRower is a pool or a transaction.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// writeTicket writes next over cur and the changes to the history, in one
// statement; with xmin, only if the row is still that version
// (pgx.ErrNoRows otherwise); with call, the call's update too.
func (s *Store) writeTicket(ctx context.Context, q queryRower, cur, next Ticket, changes []Change, actor Actor, now time.Time, xmin *uint32, call *callWrite) (Ticket, error) {
	textChanged := next.Subject != cur.Subject || next.Category != cur.Category || next.Description != cur.Description
	fields, olds, news := make([]string, len(changes)), make([]string, len(changes)), make([]string, len(changes))
	for i, c := range changes {
		fields[i], olds[i], news[i] = c.Field, c.Old, c.New
	}
	menu := next.MenuPath
	if menu == nil {
		menu = []MenuStep{}
	}
	args := []any{cur.ID, cur.Version,
		next.Status, next.Priority, next.Source, next.Group, next.Assignee,
		next.Category, next.Subject, next.Description, next.Organization,
		next.CallerRole, menu, nullTime(next.DueAt), nullTime(next.ClosedAt),
		now, textChanged, actor.Kind, actor.ID, fields, olds, news, nullContact(next.ContactID)}
	sameRow := ""
	if xmin != nil {
		sameRow, args = " AND t.xmin = $24::xid", append(args, *xmin)
	}
	withCall, callWritten := "", ""
	var written bool
	dest := []any{}
	if call != nil {
		withCall = ", " + callUpdateCTE(len(args)+1, call.events, " AND EXISTS (SELECT FROM u)")
		callWritten = ", EXISTS (SELECT FROM uc)"
		args = append(args, call.args...)
		dest = append(dest, &written)
	}
	var nr ticketRow
	err := q.QueryRow(ctx, `
		WITH u AS (
			UPDATE tickets t SET
				status = $3, priority = $4, source = $5, group_id = $6, assignee = $7,
				category = $8, subject = $9, description = $10, organization = $11,
				caller_role = $12, menu_path = $13, due_at = $14, closed_at = $15,
				updated_at = $16, version = t.version + 1, contact_id = $23,
				search = CASE WHEN $17 THEN ticket_search_vector($9, $8, $10) || coalesce(
					(SELECT to_tsvector('simple', string_agg(a.body, ' ')) FROM ticket_articles a WHERE a.ticket_id = t.id),
					''::tsvector) ELSE t.search END,
				search_public = CASE WHEN $17 THEN ticket_search_vector($9, $8, $10) || coalesce(
					(SELECT to_tsvector('simple', string_agg(a.body, ' ')) FROM ticket_articles a WHERE a.ticket_id = t.id AND NOT a.internal),
					''::tsvector) ELSE t.search_public END
			WHERE t.id = $1 AND t.version = $2`+sameRow+`
			RETURNING `+ticketColumns+`
		), h AS (
			INSERT INTO ticket_history (ticket_id, at, actor_kind, actor_id, field, old_value, new_value)
			SELECT u.id, $16, $18, $19, f.field, f.old_value, f.new_value
			FROM u, unnest($20::text[], $21::text[], $22::text[]) WITH ORDINALITY AS f(field, old_value, new_value, n)
			ORDER BY f.n
		)`+withCall+`
		SELECT u.*`+callWritten+` FROM u`, args...).Scan(append(nr.dest(), dest...)...)
	if err != nil {
		return Ticket{}, err
	}
	if call != nil {
		call.written = written
	}
	return s.ticket(&nr), nil
}

// apply computes the ticket after upd and the changes that makes.
func (s *Store) apply(cur Ticket, upd TicketUpdate, now time.Time) (Ticket, []Change, error) {
	next := cur
	var changes []Change
	change := func(field, old, new string) {
		if old != new {
			changes = append(changes, Change{Field: field, Old: old, New: new})
		}
	}
	if upd.Status != nil && *upd.Status != cur.Status {
		to := *upd.Status
		if !to.Valid() {
			return next, nil, fault.Errorf(fault.EINVALID, "unknown status %q", to)
		}
		if !CanTransition(cur.Status, to) {
			return next, nil, &TransitionError{From: cur.Status, To: to}
		}
		next.Status = to
		change("status", string(cur.Status), string(to))
		if to == StatusClosed {
			next.ClosedAt = now
		} else {
			next.ClosedAt = time.Time{}
		}
		change("closed_at", s.formatTime(cur.ClosedAt), s.formatTime(next.ClosedAt))
	}
	if upd.Priority != nil {
		if !upd.Priority.Valid() {
			return next, nil, fault.Errorf(fault.EINVALID, "unknown priority %q", *upd.Priority)
		}
		next.Priority = *upd.Priority
		change("priority", string(cur.Priority), string(next.Priority))
	}
	if upd.Source != nil {
		if !upd.Source.Valid() {
			return next, nil, fault.Errorf(fault.EINVALID, "unknown source %q", *upd.Source)
		}
		next.Source = *upd.Source
		change("source", string(cur.Source), string(next.Source))
	}
	if upd.CallerRole != nil {
		if !upd.CallerRole.Valid() {
			return next, nil, fault.Errorf(fault.EINVALID, "unknown caller role %q", *upd.CallerRole)
		}
		next.CallerRole = *upd.CallerRole
		change("caller_role", string(cur.CallerRole), string(next.CallerRole))
	}
	for _, f := range []struct {
		name string
		upd  *string
		dst  *string
	}{
		{"group", upd.Group, &next.Group},
		{"assignee", upd.Assignee, &next.Assignee},
		{"category", upd.Category, &next.Category},
		{"subject", upd.Subject, &next.Subject},
		{"description", upd.Description, &next.Description},
		{"organization", upd.Organization, &next.Organization},
	} {
		if f.upd != nil {
			old := *f.dst
			*f.dst = *f.upd
			change(f.name, old, *f.upd)
		}
	}
	if upd.MenuPath != nil {
		next.MenuPath = *upd.MenuPath
		if next.MenuPath == nil {
			next.MenuPath = []MenuStep{}
		}
		change("menu_path", menuJSON(cur.MenuPath), menuJSON(next.MenuPath))
	}
	if upd.DueAt != nil {
		next.DueAt = time.Time{}
		if !upd.DueAt.IsZero() {
			next.DueAt = stamp(*upd.DueAt).In(s.loc)
		}
		change("due_at", s.formatTime(cur.DueAt), s.formatTime(next.DueAt))
	}
	return next, changes, nil
}

func menuJSON(m []MenuStep) string {
	if m == nil {
		m = []MenuStep{}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// formatTime is how times appear in the history: RFC 3339 in the service
// zone, "" for none.
func (s *Store) formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.loc).Format(time.RFC3339Nano)
}

// AddArticle adds a public message or an internal note to a ticket. Callers
// may only add public messages. It does not change the ticket's version: a
// note written while someone edits the ticket is no conflict.
func (s *Store) AddArticle(ctx context.Context, ticketID int64, art Article, actor Actor) (Article, error) {
	const op = "add article"
	switch {
	case !actor.valid():
		return Article{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown actor kind %q", actor.Kind))
	case strings.TrimSpace(art.Body) == "":
		return Article{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "empty article"))
	case art.Internal && actor.Kind == ActorCaller:
		return Article{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EFORBIDDEN, "callers cannot write internal notes"))
	}
	now := s.stampNow()
	art.TicketID = ticketID
	if art.Author == "" {
		art.Author = actor.ID
	}
	art.CreatedAt = stamp(art.CreatedAt)
	if art.CreatedAt.IsZero() {
		art.CreatedAt = now
	}
	args := []any{ticketID, art.Internal, art.Body, art.Author, now, art.CreatedAt, actor.Kind, actor.ID}
	if s.hook != nil && (s.hookOnMessage == nil || s.hookOnMessage(art)) {
		// The Hook sees the message in its transaction, with the ticket.
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, addArticleSQL, args...).Scan(&art.ID); err != nil {
				return err
			}
			var r ticketRow
			if err := tx.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets t WHERE t.id = $1`, ticketID).Scan(r.dest()...); err != nil {
				return err
			}
			art.CreatedAt = art.CreatedAt.In(s.loc)
			return s.hook(ctx, tx, TicketEvent{Kind: TicketMessage, Ticket: s.ticket(&r), Actor: actor, At: now.In(s.loc), Article: &art})
		})
		if err != nil {
			return Article{}, fault.FromDB(op, err, fmt.Sprintf("ticket %d not found", ticketID))
		}
		return art, nil
	}
	err := s.pool.QueryRow(ctx, addArticleSQL, args...).Scan(&art.ID)
	if err != nil {
		return Article{}, fault.FromDB(op, err, fmt.Sprintf("ticket %d not found", ticketID))
	}
	art.CreatedAt = art.CreatedAt.In(s.loc)
	return art, nil
}

// addArticleSQL adds an article ($1 ticket, $2 internal, $3 body,
// $4 author, $5 now, $6 its time, $7 $8 the actor) with its history line
// and search terms, and returns its id.
const addArticleSQL = `
		WITH t AS (
			UPDATE tickets SET
				search = search || to_tsvector('simple', $3),
				search_public = CASE WHEN $2 THEN search_public ELSE search_public || to_tsvector('simple', $3) END,
				updated_at = $5
			WHERE id = $1
			RETURNING id
		), a AS (
			INSERT INTO ticket_articles (ticket_id, internal, body, author, created_at)
			SELECT t.id, $2, $3, $4, $6 FROM t
			RETURNING id, ticket_id, internal
		), h AS (
			INSERT INTO ticket_history (ticket_id, at, actor_kind, actor_id, field, new_value)
			SELECT a.ticket_id, $5, $7, $8, CASE WHEN a.internal THEN 'internal_note' ELSE 'article' END, a.id::text FROM a
		)
		SELECT id FROM a`

// AddAttachment records a file attached to a ticket.
func (s *Store) AddAttachment(ctx context.Context, ticketID int64, att Attachment, actor Actor) (Attachment, error) {
	const op = "add attachment"
	switch {
	case !actor.valid():
		return Attachment{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown actor kind %q", actor.Kind))
	case att.Name == "" || att.URI == "":
		return Attachment{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "attachment needs a name and a URI"))
	case att.Size < 0 || att.Duration < 0:
		return Attachment{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "negative size or duration"))
	}
	now := s.stampNow()
	att.TicketID = ticketID
	att.CreatedBy = actor.ID
	att.CreatedAt = stamp(att.CreatedAt)
	if att.CreatedAt.IsZero() {
		att.CreatedAt = now
	}
	att.Duration = att.Duration.Truncate(time.Millisecond)
	err := s.pool.QueryRow(ctx, `
		WITH t AS (
			UPDATE tickets SET updated_at = $8 WHERE id = $1 RETURNING id
		), a AS (
			INSERT INTO ticket_attachments (ticket_id, name, uri, content_type, size_bytes, duration_ms, created_at, created_by)
			SELECT t.id, $2, $3, $4, $5, $6, $7, $9 FROM t
			RETURNING id, ticket_id, name
		), h AS (
			INSERT INTO ticket_history (ticket_id, at, actor_kind, actor_id, field, new_value)
			SELECT a.ticket_id, $8, $10, $9, 'attachment', a.id::text FROM a
		)
		SELECT id FROM a`,
		ticketID, att.Name, att.URI, att.ContentType, att.Size, att.Duration.Milliseconds(), att.CreatedAt,
		now, att.CreatedBy, actor.Kind,
	).Scan(&att.ID)
	if err != nil {
		return Attachment{}, fault.FromDB(op, err, fmt.Sprintf("ticket %d not found", ticketID))
	}
	att.CreatedAt = att.CreatedAt.In(s.loc)
	return att, nil
}

// withVisibleTicket runs the queries queue adds in one batch after checking
// the viewer may see the ticket; fault.ErrNotFound otherwise.
func (s *Store) withVisibleTicket(ctx context.Context, op string, ticketID int64, v Viewer, queue func(*pgx.Batch)) error {
	a := args{ticketID}
	vis, err := visibility(v, &a)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	b := &pgx.Batch{}
	var visible bool
	b.Queue(`SELECT EXISTS (SELECT FROM tickets t WHERE t.id = $1 AND `+vis+`)`, a...).QueryRow(func(row pgx.Row) error {
		return row.Scan(&visible)
	})
	queue(b)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fault.FromDB(op, err, "")
	}
	if !visible {
		return fmt.Errorf("%s: %w", op, fault.Errorf(fault.ENOTFOUND, "ticket %d not found", ticketID))
	}
	return nil
}

// Articles returns a ticket's articles, oldest first; caller-side viewers
// never get internal notes.
func (s *Store) Articles(ctx context.Context, ticketID int64, v Viewer) ([]Article, error) {
	var list []Article
	err := s.withVisibleTicket(ctx, "list articles", ticketID, v, func(b *pgx.Batch) {
		b.Queue(`SELECT id, ticket_id, internal, author, body, created_at FROM ticket_articles
			WHERE ticket_id = $1 AND (NOT internal OR NOT $2) ORDER BY created_at, id`, ticketID, v.CallerSide()).
			Query(func(rows pgx.Rows) error {
				var err error
				list, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Article, error) {
					var a Article
					err := row.Scan(&a.ID, &a.TicketID, &a.Internal, &a.Author, &a.Body, &a.CreatedAt)
					a.CreatedAt = a.CreatedAt.In(s.loc)
					return a, err
				})
				return err
			})
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// Attachments returns a ticket's attachments, oldest first.
func (s *Store) Attachments(ctx context.Context, ticketID int64, v Viewer) ([]Attachment, error) {
	var list []Attachment
	err := s.withVisibleTicket(ctx, "list attachments", ticketID, v, func(b *pgx.Batch) {
		b.Queue(`SELECT id, ticket_id, name, uri, content_type, size_bytes, duration_ms, created_at, created_by
			FROM ticket_attachments WHERE ticket_id = $1 ORDER BY id`, ticketID).
			Query(func(rows pgx.Rows) error {
				var err error
				list, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Attachment, error) {
					var a Attachment
					var ms int64
					err := row.Scan(&a.ID, &a.TicketID, &a.Name, &a.URI, &a.ContentType, &a.Size, &ms, &a.CreatedAt, &a.CreatedBy)
					a.Duration = time.Duration(ms) * time.Millisecond
					a.CreatedAt = a.CreatedAt.In(s.loc)
					return a, err
				})
				return err
			})
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// callerHistoryFields are the history entries a caller-side view shows:
// the ticket's progress, not who works on it or staff-only notes.
var callerHistoryFields = []string{"status", "priority", "subject", "description", "category",
	"due_at", "closed_at", "article", "attachment"}

// History returns every change of a ticket, oldest first. Caller-side
// viewers see only callerHistoryFields.
func (s *Store) History(ctx context.Context, ticketID int64, v Viewer) ([]Change, error) {
	var fields []string // nil: all
	if v.CallerSide() {
		fields = callerHistoryFields
	}
	var list []Change
	err := s.withVisibleTicket(ctx, "list history", ticketID, v, func(b *pgx.Batch) {
		b.Queue(`SELECT id, ticket_id, at, actor_kind, actor_id, field, old_value, new_value FROM ticket_history
			WHERE ticket_id = $1 AND ($2::text[] IS NULL OR field = ANY($2)) ORDER BY id`, ticketID, fields).
			Query(func(rows pgx.Rows) error {
				var err error
				list, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Change, error) {
					var c Change
					err := row.Scan(&c.ID, &c.TicketID, &c.At, &c.Actor.Kind, &c.Actor.ID, &c.Field, &c.Old, &c.New)
					c.At = c.At.In(s.loc)
					return c, err
				})
				return err
			})
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}
