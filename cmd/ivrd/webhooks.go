package main

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

// ticketHooks composes the two tickets.Hooks of the store: the
// notifications' and the webhooks'. Each decides within its Hook what the
// event calls for, so either may be called for an event only the other
// wanted.
func ticketHooks(n *notify.Notifier, w *webhooks.Service) tickets.Options {
	return tickets.Options{
		Hook: func(ctx context.Context, tx pgx.Tx, ev tickets.TicketEvent) error {
			if err := n.Hook(ctx, tx, ev); err != nil {
				return err
			}
			return w.Hook(ctx, tx, ev)
		},
		HookOnCreate: func(nc tickets.NewCall) bool { return n.WantsCreated(nc) || w.WantsCreated(nc) },
		HookOnUpdate: func(ev tickets.TicketEvent) bool { return n.WantsUpdated(ev) || w.WantsUpdated(ev) },
		// The notifications mail public messages to the ticket's contact.
		HookOnMessage: func(a tickets.Article) bool { return n.WantsMessage(a) || w.WantsMessage(a) },
	}
}

// callData is the data of the call.* webhooks.
type callData struct {
	CallID       string   `json:"call_id"`
	Caller       string   `json:"caller,omitempty"`
	Organization string   `json:"organization,omitempty"`
	Role         string   `json:"caller_role,omitempty"`
	Group        string   `json:"group,omitempty"`
	TicketNumber string   `json:"ticket_number,omitempty"`
	Outcome      string   `json:"outcome,omitempty"`
	Seconds      float64  `json:"seconds,omitempty"`
	MenuPath     []string `json:"menu_path,omitempty"`
}

// callWebhooks turns the controller's steps into call.started (a call
// arrived), call.routed (handed to a group) and call.ended (its final
// line), written by a.
func callWebhooks(a *webhooks.Async) func(ivr.Event) {
	return func(e ivr.Event) {
		var typ string
		switch e.Kind {
		case ivr.EvCall:
			typ = webhooks.CallStarted
		case ivr.EvRoute:
			typ = webhooks.CallRouted
		case ivr.EvOutcome:
			typ = webhooks.CallEnded
		default:
			return
		}
		a.Emit(webhooks.Event{Type: typ, OrderKey: "call:" + e.CallID, At: e.Time, Data: callData{
			CallID: e.CallID, Caller: e.Caller, Organization: e.Org, Role: e.Role, Group: e.Group, TicketNumber: e.Ticket,
			Outcome: e.Outcome, Seconds: e.Seconds, MenuPath: e.Path}})
	}
}
