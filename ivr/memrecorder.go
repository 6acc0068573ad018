package ivr

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// MemoryRecorder keeps call records and tickets in memory. `ivrctl
// simulate` and load tests use it when no database is given; it follows
// the store's rules (numbers, transitions, versions, visibility by caller)
// closely enough for a transcript, not for production.
type MemoryRecorder struct {
	mu       sync.Mutex
	loc      *time.Location
	calls    []tickets.Call
	events   map[int64][]tickets.CallEvent
	tickets  []tickets.Ticket
	attached map[int64][]tickets.Attachment
	counters map[string]int64
	surveys  map[int64]tickets.Survey // by call id
	changes  []tickets.Change
}

// NewMemoryRecorder returns an empty recorder numbering tickets by the
// date in loc.
func NewMemoryRecorder(loc *time.Location) *MemoryRecorder {
	if loc == nil {
		loc = time.UTC
	}
	return &MemoryRecorder{loc: loc, events: map[int64][]tickets.CallEvent{},
		attached: map[int64][]tickets.Attachment{}, counters: map[string]int64{}}
}

var _ tickets.CallRecorder = (*MemoryRecorder)(nil)

// OpenCall implements tickets.CallRecorder.
func (m *MemoryRecorder) OpenCall(_ context.Context, nc tickets.NewCall) (tickets.Call, tickets.Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	day := nc.StartedAt.In(m.loc)
	key := day.Format("20060102")
	m.counters[key]++
	t := tickets.Ticket{
		ID: int64(len(m.tickets) + 1), Number: tickets.NewNumber(day, m.counters[key]),
		Source: cmpStr(nc.Source, tickets.SourcePhone), Caller: nc.Caller, Organization: nc.Organization,
		CallerRole: cmpStr(nc.CallerRole, tickets.CallerUnknown), Group: nc.Group, Category: nc.Category,
		Subject: nc.Subject, Priority: cmpStr(nc.Priority, tickets.PriorityMedium), Status: tickets.StatusNew,
		CreatedAt: nc.StartedAt, UpdatedAt: nc.StartedAt, Version: 1, Language: nc.Language,
	}
	c := tickets.Call{ID: int64(len(m.calls) + 1), ChannelID: nc.ChannelID, AsteriskNode: nc.AsteriskNode,
		Caller: nc.Caller, Called: nc.Called, StartedAt: nc.StartedAt, TicketID: t.ID, AnsweredAt: nc.AnsweredAt}
	m.tickets = append(m.tickets, t)
	m.calls = append(m.calls, c)
	m.events[c.ID] = append(m.events[c.ID], nc.Events...)
	return c, t, nil
}

// AppendCallEvents implements tickets.CallRecorder.
func (m *MemoryRecorder) AppendCallEvents(_ context.Context, callID int64, events ...tickets.CallEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if callID < 1 || int(callID) > len(m.calls) {
		return fault.ErrNotFound
	}
	m.events[callID] = append(m.events[callID], events...)
	return nil
}

// UpdateCall implements tickets.CallRecorder.
func (m *MemoryRecorder) UpdateCall(_ context.Context, callID int64, u tickets.CallUpdate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if callID < 1 || int(callID) > len(m.calls) {
		return fault.ErrNotFound
	}
	c := &m.calls[callID-1]
	set := func(dst *time.Time, src *time.Time) {
		if src != nil {
			*dst = *src
		}
	}
	set(&c.AnsweredAt, u.AnsweredAt)
	set(&c.QueuedAt, u.QueuedAt)
	set(&c.OperatorAnsweredAt, u.OperatorAnsweredAt)
	if u.Group != nil {
		c.Group = *u.Group
	}
	if u.Operator != nil {
		c.Operator = *u.Operator
	}
	m.events[callID] = append(m.events[callID], u.Events...)
	return nil
}

// FinishCall implements tickets.CallRecorder.
func (m *MemoryRecorder) FinishCall(_ context.Context, callID int64, end tickets.CallEnd) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if callID < 1 || int(callID) > len(m.calls) {
		return fault.ErrNotFound
	}
	c := &m.calls[callID-1]
	if c.EndedAt.IsZero() {
		c.EndedAt, c.Outcome, c.HangupBy = end.EndedAt, end.Outcome, end.HangupBy
	}
	m.events[callID] = append(m.events[callID], end.Events...)
	return nil
}

// OpenCalls implements the store's query of unfinished calls.
func (m *MemoryRecorder) OpenCalls(_ context.Context, node string) ([]tickets.Call, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var open []tickets.Call
	for _, c := range m.calls {
		if c.EndedAt.IsZero() && c.AsteriskNode == node {
			open = append(open, c)
		}
	}
	return open, nil
}

// FindCallByChannel implements tickets.CallRecorder.
func (m *MemoryRecorder) FindCallByChannel(_ context.Context, channelID string) (tickets.Call, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.calls) - 1; i >= 0; i-- {
		if m.calls[i].ChannelID == channelID {
			return m.calls[i], nil
		}
	}
	return tickets.Call{}, fault.ErrNotFound
}

// FindTicketByNumber implements tickets.CallRecorder.
func (m *MemoryRecorder) FindTicketByNumber(_ context.Context, n tickets.Number, v tickets.Viewer) (tickets.Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tickets {
		if t.Number == n && v.Sees(t) {
			return t, nil
		}
	}
	return tickets.Ticket{}, fault.ErrNotFound
}

// FindTicketByID implements tickets.CallRecorder (the system view).
func (m *MemoryRecorder) FindTicketByID(_ context.Context, id int64, _ tickets.Viewer) (tickets.Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 1 || int(id) > len(m.tickets) {
		return tickets.Ticket{}, fault.ErrNotFound
	}
	return m.tickets[id-1], nil
}

// UpdateTicket implements tickets.CallRecorder.
func (m *MemoryRecorder) UpdateTicket(_ context.Context, id int64, u tickets.TicketUpdate, _ tickets.Actor) (tickets.Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 1 || int(id) > len(m.tickets) {
		return tickets.Ticket{}, fault.ErrNotFound
	}
	t := &m.tickets[id-1]
	if u.Version != t.Version {
		return tickets.Ticket{}, fault.ErrConflict
	}
	if u.Status != nil && *u.Status != t.Status {
		if !tickets.CanTransition(t.Status, *u.Status) {
			return tickets.Ticket{}, tickets.ErrInvalidTransition
		}
		t.Status = *u.Status
	}
	assign(&t.Priority, u.Priority)
	assign(&t.Source, u.Source)
	assign(&t.Group, u.Group)
	assign(&t.Assignee, u.Assignee)
	assign(&t.Category, u.Category)
	assign(&t.Subject, u.Subject)
	assign(&t.Description, u.Description)
	assign(&t.Organization, u.Organization)
	assign(&t.CallerRole, u.CallerRole)
	assign(&t.MenuPath, u.MenuPath)
	assign(&t.DueAt, u.DueAt)
	t.Version++
	return *t, nil
}

func assign[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// AddAttachment implements tickets.CallRecorder.
func (m *MemoryRecorder) AddAttachment(_ context.Context, ticketID int64, a tickets.Attachment, _ tickets.Actor) (tickets.Attachment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ticketID < 1 || int(ticketID) > len(m.tickets) {
		return tickets.Attachment{}, fault.ErrNotFound
	}
	a.TicketID = ticketID
	a.ID = int64(len(m.attached[ticketID]) + 1)
	m.attached[ticketID] = append(m.attached[ticketID], a)
	return a, nil
}

// Call returns a copy of a call record with its timeline, for tests and
// the simulate command.
func (m *MemoryRecorder) Call(channelID string) (tickets.Call, []tickets.CallEvent, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.calls) - 1; i >= 0; i-- {
		if m.calls[i].ChannelID == channelID {
			return m.calls[i], slices.Clone(m.events[m.calls[i].ID]), true
		}
	}
	return tickets.Call{}, nil, false
}

// Ticket returns a copy of a ticket and its attachments.
func (m *MemoryRecorder) Ticket(id int64) (tickets.Ticket, []tickets.Attachment, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 1 || int(id) > len(m.tickets) {
		return tickets.Ticket{}, nil, false
	}
	return m.tickets[id-1], slices.Clone(m.attached[id]), true
}

// SaveSurvey keeps a call's survey (as tickets.Store.SaveSurvey).
func (m *MemoryRecorder) SaveSurvey(_ context.Context, sv tickets.Survey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sv.CallID < 1 || int(sv.CallID) > len(m.calls) {
		return fault.ErrNotFound
	}
	if m.surveys == nil {
		m.surveys = map[int64]tickets.Survey{}
	}
	m.surveys[sv.CallID] = sv
	return nil
}

// Survey returns the survey of a call record, for tests.
func (m *MemoryRecorder) Survey(callID int64) (tickets.Survey, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sv, ok := m.surveys[callID]
	return sv, ok
}

// SetTicketLanguage implements languageStore.
func (m *MemoryRecorder) SetTicketLanguage(_ context.Context, ticketID int64, lang string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ticketID < 1 || int(ticketID) > len(m.tickets) {
		return fault.ErrNotFound
	}
	m.tickets[ticketID-1].Language = lang
	return nil
}

// AddChange keeps a ticket's history entry (those the controller writes
// itself: a recording paused, refused).
func (m *MemoryRecorder) AddChange(_ context.Context, ticketID int64, field, old, new string, actor tickets.Actor) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ticketID < 1 || int(ticketID) > len(m.tickets) {
		return fault.ErrNotFound
	}
	m.changes = append(m.changes, tickets.Change{TicketID: ticketID, Field: field, Old: old, New: new, Actor: actor})
	return nil
}

// Changes are the history entries AddChange kept for a ticket.
func (m *MemoryRecorder) Changes(ticketID int64) []tickets.Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []tickets.Change
	for _, c := range m.changes {
		if c.TicketID == ticketID {
			out = append(out, c)
		}
	}
	return out
}
