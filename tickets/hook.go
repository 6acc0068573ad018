package tickets

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Hook runs inside the transaction of a ticket change, after the change is
// written and before it commits, so that whatever it writes with tx (an
// e-mail in an outbox, say) commits or rolls back with the change. An error
// rolls the change back and is returned to the writer. Set it with
// Options.Hook.
type Hook func(ctx context.Context, tx pgx.Tx, ev TicketEvent) error

// TicketEventKind says what happened to a ticket.
type TicketEventKind string

const (
	TicketCreated TicketEventKind = "created" // OpenCall
	TicketUpdated TicketEventKind = "updated" // UpdateTicket that changed something
	TicketMessage TicketEventKind = "message" // AddArticle: a public message or an internal note
)

// TicketEvent is what a Hook is told.
type TicketEvent struct {
	Kind     TicketEventKind
	Ticket   Ticket   // as written
	Previous Ticket   // before an update; zero for a creation
	Changes  []Change // the history entries of an update (without ids)
	Actor    Actor    // the system actor "ivr" for OpenCall
	At       time.Time
	Article  *Article // the message added (TicketMessage)
}

// Changed returns the change of field, if the event has one.
func (ev TicketEvent) Changed(field string) (Change, bool) {
	for _, c := range ev.Changes {
		if c.Field == field {
			return c, true
		}
	}
	return Change{}, false
}
