package api

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/tickets"
)

// newTicket is a ticket opened through the API (source "panel": typed in
// by staff, not born of a call).
type newTicket struct {
	Subject, Description, Group, Category, Caller, Organization string
	Priority                                                    tickets.Priority
}

// insertTicket opens a ticket numbered like the call controller's (the
// same SQL functions, in the service time zone's day) and returns its id.
//
// It belongs in tickets.Store as CreateTicket, next to OpenCall; it is
// here because package tickets was being changed by someone else when the
// API was written. It bypasses the store's hook: no notification goes out
// for a ticket opened through the API.
func insertTicket(ctx context.Context, pool *pgxpool.Pool, loc *time.Location, now time.Time, nt newTicket) (int64, error) {
	now = now.Truncate(time.Microsecond)
	day := now.In(loc).Format(time.DateOnly)
	var id int64
	err := pool.QueryRow(ctx, `INSERT INTO tickets (number, source, caller, organization, group_id, category,
			subject, description, priority, status, created_at, updated_at, search, search_public)
		VALUES (ticket_number($1::date, ticket_counter_next($1::date)), $2, $3, $4, $5, $6, $7, $8, $9, 'new', $10, $10,
			ticket_search_vector($7, $6, $8), ticket_search_vector($7, $6, $8))
		RETURNING id`, day, tickets.SourcePanel, nt.Caller, nt.Organization, nt.Group, nt.Category,
		nt.Subject, nt.Description, nt.Priority, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create ticket: %w", err)
	}
	return id, nil
}
