package tickets

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// The Administrations' portal (package panel) opens tickets for a person of
// the contacts directory and takes their messages.

// CreateContactTicket is CreateTicket for the person contactID of the
// contacts directory (the portal's user): the ticket's contact is set in
// the same transaction, so that a generic user, who sees only the tickets
// whose contact they are, sees it from the start. Numbering, history and
// the Hook are CreateTicket's.
func (s *Store) CreateContactTicket(ctx context.Context, nt NewTicket, contactID int64, actor Actor) (Ticket, error) {
	const op = "create ticket"
	switch {
	case !actor.valid():
		return Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "unknown actor kind %q", actor.Kind))
	case strings.TrimSpace(nt.Subject) == "":
		return Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "a ticket needs a subject"))
	case contactID <= 0:
		return Ticket{}, fmt.Errorf("%s: %w", op, fault.Errorf(fault.EINVALID, "no contact"))
	}
	nt.Source = cmpSource(nt.Source, SourcePortal)
	if nt.Priority == "" {
		nt.Priority = PriorityMedium
	}
	now := s.stampNow()
	args := []any{now.In(s.loc).Format("2006-01-02"), nt.Source, nt.Caller, nt.Organization, nt.Group, nt.Category,
		nt.Subject, nt.Description, nt.Priority, now, actor.Kind, actor.ID}
	hook := s.hook != nil && (s.hookOnCreate == nil || s.hookOnCreate(NewCall{Organization: nt.Organization, Group: nt.Group,
		Caller: nt.Caller, Subject: nt.Subject, Source: nt.Source}))
	var t Ticket
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var r ticketRow
		if err := tx.QueryRow(ctx, createTicketSQL, args...).Scan(r.dest()...); err != nil {
			return err
		}
		t = s.ticket(&r)
		if _, err := tx.Exec(ctx, `UPDATE tickets SET contact_id = $2 WHERE id = $1`, t.ID, contactID); err != nil {
			return err
		}
		// The hook (the contact's opening mail) and the caller see it.
		t.ContactID = contactID
		if !hook {
			return nil
		}
		return s.hook(ctx, tx, TicketEvent{Kind: TicketCreated, Ticket: t, Actor: actor, At: now.In(s.loc)})
	})
	if err != nil {
		return Ticket{}, fault.FromDB(op, err, "")
	}
	return t, nil
}

func cmpSource(s, def Source) Source {
	if s == "" {
		return def
	}
	return s
}

// Reopen takes a closed ticket back to new (its group's queue) and a
// waiting one (waiting on the caller, who answered) back in progress, as
// a caller's message does; other statuses stay. A ticket changed
// meanwhile is read again and decided again.
func (s *Store) Reopen(ctx context.Context, id int64, actor Actor) error {
	for range 3 {
		t, err := s.FindTicketByID(ctx, id, Viewer{Kind: ViewerSystem})
		if err != nil {
			return err
		}
		var to Status
		switch t.Status {
		case StatusClosed:
			to = StatusNew
		case StatusWaiting:
			to = StatusInProgress
		default:
			return nil
		}
		_, err = s.UpdateTicket(ctx, id, TicketUpdate{Version: t.Version, Status: &to}, actor)
		if !errors.Is(err, ErrStale) {
			return err
		}
	}
	return fmt.Errorf("reopen ticket %d: %w", id, fault.Errorf(fault.ECONFLICT, "changed too often"))
}
