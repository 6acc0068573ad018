package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// callJSON is a call record. Durations are in seconds.
type callJSON struct {
	ID                 int64      `json:"id"`
	Caller             string     `json:"caller"`
	Called             string     `json:"called"`
	StartedAt          time.Time  `json:"started_at"`
	AnsweredAt         *time.Time `json:"answered_at"`
	QueuedAt           *time.Time `json:"queued_at"`
	OperatorAnsweredAt *time.Time `json:"operator_answered_at"`
	EndedAt            *time.Time `json:"ended_at"`
	Outcome            string     `json:"outcome"`
	HangupBy           string     `json:"hangup_by"`
	Group              string     `json:"group"`
	Operator           string     `json:"operator"`
	TicketID           *int64     `json:"ticket_id"`
	WaitSeconds        float64    `json:"wait_seconds"`
	TalkSeconds        float64    `json:"talk_seconds"`
}

func callOf(c tickets.Call) callJSON {
	j := callJSON{ID: c.ID, Caller: c.Caller, Called: c.Called, StartedAt: c.StartedAt, AnsweredAt: optTime(c.AnsweredAt),
		QueuedAt: optTime(c.QueuedAt), OperatorAnsweredAt: optTime(c.OperatorAnsweredAt), EndedAt: optTime(c.EndedAt),
		Outcome: string(c.Outcome), HangupBy: string(c.HangupBy), Group: c.Group, Operator: c.Operator,
		WaitSeconds: c.Wait().Seconds(), TalkSeconds: c.Talk().Seconds()}
	if c.TicketID != 0 {
		id := c.TicketID
		j.TicketID = &id
	}
	return j
}

// callColumns are the columns the store reads (tickets.callColumns), in
// the same order, for the list the store does not have.
const callColumns = `c.id, c.channel_id, c.asterisk_node, c.caller, c.called, c.started_at,
	c.answered_at, c.queued_at, c.operator_answered_at, c.ended_at,
	c.outcome, c.hangup_by, c.group_id, c.operator, c.ticket_id`

// callVisible is the rule for calls: the principal sees a call whose
// group, or whose ticket's group, it sees ($1 NULL: every group).
const callVisible = `($1::text[] IS NULL OR c.group_id = ANY($1) OR t.group_id = ANY($1))`

func scanCall(row pgx.Row, loc *time.Location) (tickets.Call, error) {
	var c tickets.Call
	var answered, queued, opAnswered, ended *time.Time
	var ticketID *int64
	err := row.Scan(&c.ID, &c.ChannelID, &c.AsteriskNode, &c.Caller, &c.Called, &c.StartedAt,
		&answered, &queued, &opAnswered, &ended, &c.Outcome, &c.HangupBy, &c.Group, &c.Operator, &ticketID)
	in := func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return t.In(loc)
	}
	c.StartedAt = c.StartedAt.In(loc)
	c.AnsweredAt, c.QueuedAt, c.OperatorAnsweredAt, c.EndedAt = in(answered), in(queued), in(opAnswered), in(ended)
	if ticketID != nil {
		c.TicketID = *ticketID
	}
	return c, err
}

// callCursor is a position in the list, newest first: the last call's
// start and id.
func callCursor(c tickets.Call) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d", c.StartedAt.UnixMicro(), c.ID)))
}

func parseCallCursor(s string) (time.Time, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	at, id, ok := strings.Cut(string(b), ".")
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err != nil || !ok || err1 != nil || err2 != nil {
		return time.Time{}, 0, fault.Errorf(fault.EINVALID, "after: not a cursor of this list")
	}
	return time.UnixMicro(us), n, nil
}

type callPage struct {
	Calls []callJSON `json:"calls"`
	Next  *string    `json:"next"`
}

// listCalls lists call records newest first: from and to (dates of the
// service time zone), group, outcome, caller; after and limit page it.
func (a *API) listCalls(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	q := r.URL.Query()
	loc := a.opts.Tickets.Location()
	conds := []string{callVisible}
	args := []any{p.groupFilter()}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	for _, d := range []struct {
		name, cond string
		next       int
	}{{"from", "c.started_at >= $%d", 0}, {"to", "c.started_at < $%d", 1}} {
		if v := q.Get(d.name); v != "" {
			t, err := time.ParseInLocation(time.DateOnly, v, loc)
			if err != nil {
				a.writeProblem(w, r, fault.Errorf(fault.EINVALID, "%s: not a date YYYY-MM-DD %q", d.name, shorten(v)))
				return
			}
			add(d.cond, t.AddDate(0, 0, d.next))
		}
	}
	if g := q.Get("group"); g != "" {
		if !p.mayGroup(g) || a.config().Group(g) == nil {
			a.writeProblem(w, r, fault.Errorf(fault.EINVALID, "group: unknown or not yours %q", shorten(g)))
			return
		}
		add("c.group_id = $%d", g)
	}
	for _, x := range []struct{ name, col string }{{"outcome", "c.outcome"}, {"caller", "c.caller"}} {
		if v := q.Get(x.name); v != "" {
			if _, err := text(x.name, v, maxFilter, false, false); err != nil {
				a.writeProblem(w, r, err)
				return
			}
			add(x.col+" = $%d", v)
		}
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			a.writeProblem(w, r, fault.Errorf(fault.EINVALID, "limit: 1 to %d", maxPageSize))
			return
		}
		limit = n
	}
	if v := q.Get("after"); v != "" {
		at, id, err := parseCallCursor(v)
		if err != nil {
			a.writeProblem(w, r, err)
			return
		}
		args = append(args, at, id)
		conds = append(conds, fmt.Sprintf("(c.started_at, c.id) < ($%d, $%d)", len(args)-1, len(args)))
	}
	args = append(args, limit+1)
	rows, err := a.opts.Pool.Query(r.Context(), `SELECT `+callColumns+` FROM calls c LEFT JOIN tickets t ON t.id = c.ticket_id
		WHERE `+strings.Join(conds, " AND ")+fmt.Sprintf(` ORDER BY c.started_at DESC, c.id DESC LIMIT $%d`, len(args)), args...)
	var calls []tickets.Call
	if err == nil {
		calls, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (tickets.Call, error) { return scanCall(row, loc) })
	}
	if err != nil {
		a.writeProblem(w, r, fmt.Errorf("list calls: %w", err))
		return
	}
	out := callPage{Calls: []callJSON{}}
	for i, c := range calls {
		if i == limit {
			next := callCursor(calls[i-1])
			out.Next = &next
			break
		}
		out.Calls = append(out.Calls, callOf(c))
	}
	writeJSON(w, http.StatusOK, out)
}

// callDetail is a call with its menu path, its timeline and the
// recordings of its ticket.
type callDetail struct {
	callJSON
	MenuPath   []tickets.MenuStep `json:"menu_path"`
	Events     []eventJSON        `json:"events"`
	Recordings []attachmentJSON   `json:"recordings"`
}

type eventJSON struct {
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	Node     string    `json:"node"`
	Key      string    `json:"key"`
	Label    string    `json:"label"`
	Group    string    `json:"group"`
	Operator string    `json:"operator"`
	Detail   string    `json:"detail"`
}

func (a *API) getCall(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalOf(r)
	id, err := pathID(r, "id")
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	c, err := scanCall(a.opts.Pool.QueryRow(ctx, `SELECT `+callColumns+` FROM calls c LEFT JOIN tickets t ON t.id = c.ticket_id
		WHERE c.id = $2 AND `+callVisible, p.groupFilter(), id), a.opts.Tickets.Location())
	if errors.Is(err, pgx.ErrNoRows) {
		err = fault.Errorf(fault.ENOTFOUND, "call %d not found", id) // or not visible: the same
	}
	var events []tickets.CallEvent
	if err == nil {
		events, err = a.opts.Tickets.CallEvents(ctx, id)
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	d := callDetail{callJSON: callOf(c), MenuPath: []tickets.MenuStep{}, Events: []eventJSON{}, Recordings: []attachmentJSON{}}
	for _, e := range events {
		if e.Kind == tickets.EventMenuSelection {
			d.MenuPath = append(d.MenuPath, tickets.MenuStep{Key: e.Key, Label: e.Label})
		}
		d.Events = append(d.Events, eventJSON{At: e.At, Kind: string(e.Kind), Node: e.Node, Key: e.Key, Label: e.Label,
			Group: e.Group, Operator: e.Operator, Detail: e.Detail})
	}
	if c.TicketID != 0 {
		// The ticket's recordings, if the principal sees the ticket too.
		atts, err := a.opts.Tickets.Attachments(ctx, c.TicketID, p.viewer())
		if err != nil && problemOf(err).Status != http.StatusNotFound {
			a.writeProblem(w, r, err)
			return
		}
		for _, x := range atts {
			if strings.HasPrefix(x.URI, recordingScheme) {
				d.Recordings = append(d.Recordings, a.attachmentOf(x))
			}
		}
	}
	writeJSON(w, http.StatusOK, d)
}
