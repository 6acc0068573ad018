package webhooks

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/tickets"
)

// body is a delivery's JSON body.
type body struct {
	ID        string    `json:"id"` // also the Webhook-Id header
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      any       `json:"data"`
}

func envelope(ev Event) (string, []byte, error) {
	id := newEventID()
	b, err := json.Marshal(body{ID: id, Type: ev.Type, CreatedAt: ev.At, Data: ev.Data})
	return id, b, err
}

// Ticket is a ticket as deliveries show it.
type Ticket struct {
	ID           int64      `json:"id"`
	Number       string     `json:"number"`
	Source       string     `json:"source"`
	Caller       string     `json:"caller"`
	Organization string     `json:"organization"`
	CallerRole   string     `json:"caller_role"`
	Group        string     `json:"group"`
	Category     string     `json:"category"`
	Subject      string     `json:"subject"`
	Priority     string     `json:"priority"`
	Status       string     `json:"status"`
	Assignee     string     `json:"assignee"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	ClosedAt     *time.Time `json:"closed_at"`
	Version      int        `json:"version"`
}

// Change is one field an update changed.
type Change struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// TicketData is the data of ticket.created and ticket.updated.
type TicketData struct {
	Ticket  Ticket   `json:"ticket"`
	Changes []Change `json:"changes,omitempty"`
	Actor   string   `json:"actor"` // kind:id, e.g. "operator:op2"
	// Message is the article of a ticket.message: a public message or an
	// internal note (internal true), which a ticketing system mirrors too.
	Message *Message `json:"message,omitempty"`
}

// Message is an article added to a ticket.
type Message struct {
	ID        int64     `json:"id"`
	Internal  bool      `json:"internal"`
	Body      string    `json:"body"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
}

func ticketOf(t tickets.Ticket) Ticket {
	out := Ticket{ID: t.ID, Number: string(t.Number), Source: string(t.Source), Caller: t.Caller,
		Organization: t.Organization, CallerRole: string(t.CallerRole), Group: t.Group, Category: t.Category,
		Subject: t.Subject, Priority: string(t.Priority), Status: string(t.Status), Assignee: t.Assignee,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Version: t.Version}
	if !t.ClosedAt.IsZero() {
		c := t.ClosedAt
		out.ClosedAt = &c
	}
	return out
}

// TicketOrderKey is the order key of a ticket's events.
func TicketOrderKey(id int64) string { return "ticket:" + strconv.FormatInt(id, 10) }

// WantsCreated is for tickets.Options.HookOnCreate: whether Hook must see
// new tickets (some subscription wants ticket.created).
func (s *Service) WantsCreated(tickets.NewCall) bool { return s.Wants(TicketCreated) }

// WantsUpdated is for tickets.Options.HookOnUpdate.
func (s *Service) WantsUpdated(tickets.TicketEvent) bool { return s.Wants(TicketUpdated) }

// WantsMessage is for tickets.Options.HookOnMessage.
func (s *Service) WantsMessage(tickets.Article) bool { return s.Wants(TicketMessage) }

// Hook is the tickets.Hook that emits ticket.created and ticket.updated
// in the ticket change's transaction. Its write runs in a savepoint and a
// failure is logged, not returned: a webhook never stands in the way of a
// ticket.
func (s *Service) Hook(ctx context.Context, tx pgx.Tx, ev tickets.TicketEvent) error {
	typ := TicketCreated
	data := TicketData{Ticket: ticketOf(ev.Ticket), Actor: string(ev.Actor.Kind) + ":" + ev.Actor.ID}
	switch ev.Kind {
	case tickets.TicketUpdated:
		typ = TicketUpdated
	case tickets.TicketMessage:
		typ = TicketMessage
		if a := ev.Article; a != nil {
			data.Message = &Message{ID: a.ID, Internal: a.Internal, Body: a.Body, Author: a.Author, CreatedAt: a.CreatedAt}
		}
	}
	for _, c := range ev.Changes {
		data.Changes = append(data.Changes, Change{Field: c.Field, Old: c.Old, New: c.New})
	}
	err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
		return s.Emit(ctx, sp, Event{Type: typ, OrderKey: TicketOrderKey(ev.Ticket.ID), At: ev.At, Data: data})
	})
	if err != nil {
		s.log.Error("webhook_emit_failed", "event", typ, "ticket", string(ev.Ticket.Number), "error", err.Error())
	}
	return nil
}
