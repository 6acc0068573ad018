package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/connector"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/tickets"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

// ticketHooks composes the tickets.Hooks of the store: the
// notifications', the webhooks' and, when one is configured, the
// ticketing connector's (c, nil otherwise). Each decides within its Hook
// what the event calls for, so any may be called for an event only
// another wanted.
func ticketHooks(n *notify.Notifier, w *webhooks.Service, c *connector.Service) tickets.Options {
	return tickets.Options{
		Hook: func(ctx context.Context, tx pgx.Tx, ev tickets.TicketEvent) error {
			if err := n.Hook(ctx, tx, ev); err != nil {
				return err
			}
			if err := w.Hook(ctx, tx, ev); err != nil {
				return err
			}
			if c != nil {
				return c.Hook(ctx, tx, ev)
			}
			return nil
		},
		HookOnCreate: func(nc tickets.NewCall) bool {
			return n.WantsCreated(nc) || w.WantsCreated(nc) || (c != nil && c.WantsCreated(nc))
		},
		HookOnUpdate: func(ev tickets.TicketEvent) bool {
			return n.WantsUpdated(ev) || w.WantsUpdated(ev) || (c != nil && c.WantsUpdated(ev))
		},
		// The notifications send nothing for a message (yet).
		HookOnMessage: func(a tickets.Article) bool { return w.WantsMessage(a) || (c != nil && c.WantsMessage(a)) },
	}
}

// newConnector starts the ticketing connector the configuration asks for,
// or returns nil. Its configuration is read at start: a reload does not
// change it.
func newConnector(pool *pgxpool.Pool, cfg *menu.Config, now func() time.Time, log *slog.Logger,
	reg prometheus.Registerer) (*connector.Service, error) {
	if cfg.Connector == nil || cfg.Connector.Zammad == nil {
		return nil, nil
	}
	z := cfg.Connector.Zammad
	token, err := connector.Token(z, os.Getenv)
	if err != nil {
		return nil, err
	}
	c, err := connector.New(pool, connector.Options{Config: z, Token: token, Now: now, Logger: log, Registerer: reg})
	if err != nil {
		return nil, err
	}
	log.Info("connector_on", "system", "zammad", "url", z.URL)
	return c, nil
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

// externalTicket is the panel's view of the connector's links: nil when no
// connector runs.
func externalTicket(c *connector.Service) func(context.Context, int64) (panel.ExternalTicket, bool, error) {
	if c == nil {
		return nil
	}
	return func(ctx context.Context, id int64) (panel.ExternalTicket, bool, error) {
		l, ok, err := c.Link(ctx, id)
		if err != nil || !ok {
			return panel.ExternalTicket{}, false, err
		}
		return panel.ExternalTicket{System: l.System, Number: l.Number, URL: l.URL, State: l.State}, true, nil
	}
}
