package notify_test

import (
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// With no sender configured (no From, no mail server), tickets open,
// change and close all the same; their notices wait in the outbox and go
// out, with the sender's From, once a sender runs.
func TestNoticesWithoutASender(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *notify.Config) { c.From = "" })
	tk := e.open(t, tickets.NewCall{Organization: "giustizia", Subject: "Casella PEC bloccata"})
	org := "giustizia"
	tk = e.update(t, tk, tickets.TicketUpdate{Organization: &org, Group: ptr("lotto6"), Source: ptr(tickets.SourceAfterHours)}, operator)
	e.update(t, tk, tickets.TicketUpdate{Status: ptr(tickets.StatusClosed)}, operator)
	var waiting int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM notify_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND length(message) > 0`).Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	if waiting != 3 { // opening, after-hours request to the group, closing
		t.Fatalf("%d notices waiting, want 3", waiting)
	}
	// A mail server is configured later.
	e.cfg.From = "Help desk <helpdesk@helpdesk.test>"
	sendAll(t, e.sender(t, nil), 3)
	for _, m := range e.server.messages() {
		if got := m.Msg.Header.Get("From"); got != `"Help desk" <helpdesk@helpdesk.test>` {
			t.Errorf("From %q", got)
		}
		if len(m.Msg.Header["From"]) != 1 {
			t.Errorf("From headers %q", m.Msg.Header["From"])
		}
	}
}

// A notice that cannot be built (a malformed address in the directory)
// is kept as failed with its reason; the ticket change commits; a failed
// delivery can be retried, a notice never built cannot.
func TestUnbuildableNoticeNeverBlocksTheTicket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	n, err := notify.NewNotifier(e.cfg, directory{orgs: map[string][]string{"giustizia": {"not an address"}}}, rome, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := tickets.New(e.pool, tickets.Options{Location: rome, Now: e.clk.Now, Hook: n.Hook, HookOnCreate: n.WantsCreated})
	_, tk, err := store.OpenCall(ctx, tickets.NewCall{ChannelID: "unbuildable.1", Organization: "giustizia"})
	if err != nil {
		t.Fatalf("the ticket did not open: %v", err)
	}
	var id int64
	var reason string
	var failed *time.Time
	if err := e.pool.QueryRow(ctx, `SELECT id, last_error, failed_at FROM notify_outbox WHERE ticket_id = $1`, tk.ID).Scan(&id, &reason, &failed); err != nil {
		t.Fatal(err)
	}
	if failed == nil || reason == "" {
		t.Errorf("notice failed_at %v, reason %q", failed, reason)
	}
	if err := notify.Retry(ctx, e.pool, id, e.clk.Now()); err != notify.ErrNotRetryable {
		t.Errorf("retry of a notice never built: %v", err)
	}
	// A delivery given up on can be retried.
	if _, err := e.pool.Exec(ctx, `UPDATE notify_outbox SET message = 'x', attempts = 48 WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := notify.Retry(ctx, e.pool, id, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	var attempts int
	if err := e.pool.QueryRow(ctx, `SELECT attempts FROM notify_outbox WHERE id = $1 AND failed_at IS NULL`, id).Scan(&attempts); err != nil || attempts != 0 {
		t.Errorf("after retry: attempts %d, %v", attempts, err)
	}
}
