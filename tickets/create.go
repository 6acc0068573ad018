package tickets

import (
	"context"
	"fmt"
	"strings"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
)

// NewTicket is a ticket opened by staff or another system (the REST API),
// not born of a call.
type NewTicket struct {
	Source                                                      Source // default SourcePanel
	Subject, Description, Group, Category, Caller, Organization string
	Priority                                                    Priority // default PriorityMedium
}

const createTicketSQL = `
	INSERT INTO tickets AS t (number, source, caller, organization, group_id, category,
		subject, description, priority, status, created_at, updated_at, search, search_public)
	VALUES (ticket_number($1::date, ticket_counter_next($1::date)), $2, $3, $4, $5, $6, $7, $8, $9, 'new', $10, $10,
		ticket_search_vector($7, $6, $8), ticket_search_vector($7, $6, $8))
	RETURNING ` + ticketColumns

// CreateTicket opens a ticket numbered as the calls' tickets are (the
// service time zone's day), and runs the Hook as OpenCall does (unless
// HookOnCreate, asked with the ticket's Administration, declines), so that
// its notices and webhooks go out as for a call's.
func (s *Store) CreateTicket(ctx context.Context, nt NewTicket, actor Actor) (Ticket, error) {
	const op = "create ticket"
	switch {
	case !actor.valid():
		return Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown actor kind %q", actor.Kind))
	case strings.TrimSpace(nt.Subject) == "":
		return Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "a ticket needs a subject"))
	}
	if nt.Source == "" {
		nt.Source = SourcePanel
	}
	if nt.Priority == "" {
		nt.Priority = PriorityMedium
	}
	now := s.stampNow()
	args := []any{now.In(s.loc).Format("2006-01-02"), nt.Source, nt.Caller, nt.Organization, nt.Group, nt.Category,
		nt.Subject, nt.Description, nt.Priority, now}
	var r ticketRow
	if s.hook == nil || (s.hookOnCreate != nil && !s.hookOnCreate(NewCall{Organization: nt.Organization, Group: nt.Group,
		Caller: nt.Caller, Subject: nt.Subject, Source: nt.Source})) {
		if err := s.pool.QueryRow(ctx, createTicketSQL, args...).Scan(r.dest()...); err != nil {
			return Ticket{}, fault.FromDB(op, err, "")
		}
		return s.ticket(&r), nil
	}
	var t Ticket
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, createTicketSQL, args...).Scan(r.dest()...); err != nil {
			return err
		}
		t = s.ticket(&r)
		return s.hook(ctx, tx, TicketEvent{Kind: TicketCreated, Ticket: t, Actor: actor, At: now.In(s.loc)})
	})
	if err != nil {
		return Ticket{}, fault.FromDB(op, err, "")
	}
	return t, nil
}
