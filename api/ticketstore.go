package api

import "github.com/helpdesk-ivr/ivr/tickets"

// newTicket is a ticket opened through the API (source "panel": typed in
// by staff, not born of a call), as checked; tickets.Store.CreateTicket
// writes it, with the store's Hook (notices, webhooks).
type newTicket struct {
	Subject, Description, Group, Category, Caller, Organization string
	Priority                                                    tickets.Priority
}
