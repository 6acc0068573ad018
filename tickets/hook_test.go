package tickets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestHook: the hook sees creations and updates inside their transaction,
// what it writes commits with them, and its error rolls the change back.
func TestHook(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	clk := newClock(t0)
	var events []tickets.TicketEvent
	fail := false
	hook := func(ctx context.Context, tx pgx.Tx, ev tickets.TicketEvent) error {
		if fail {
			return errors.New("hook refused")
		}
		events = append(events, ev)
		// Visible inside the transaction: the ticket as written.
		var status string
		if err := tx.QueryRow(ctx, "SELECT status FROM tickets WHERE id = $1", ev.Ticket.ID).Scan(&status); err != nil {
			return err
		}
		if status != string(ev.Ticket.Status) {
			t.Errorf("hook sees status %s, event says %s", status, ev.Ticket.Status)
		}
		_, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS hook_log (kind text)")
		if err == nil {
			_, err = tx.Exec(ctx, "INSERT INTO hook_log VALUES ($1)", string(ev.Kind))
		}
		return err
	}
	s := tickets.New(pool, tickets.Options{Location: rome, Now: clk.Now, Hook: hook})
	_, tk := open(t, s, tickets.NewCall{Organization: "giustizia"})
	closed := tickets.StatusClosed
	tk = must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Status: &closed}, operator))
	if len(events) != 2 || events[0].Kind != tickets.TicketCreated || events[1].Kind != tickets.TicketUpdated {
		t.Fatalf("events %+v", events)
	}
	if c, ok := events[1].Changed("status"); !ok || c.Old != "new" || c.New != "closed" || events[1].Actor != operator {
		t.Fatalf("update event %+v", events[1])
	}
	if events[0].Ticket.Organization != "giustizia" || events[1].Previous.Status != tickets.StatusNew {
		t.Fatalf("event tickets %+v", events)
	}

	fail = true
	if _, _, err := s.OpenCall(ctx, tickets.NewCall{ChannelID: "hook.fail"}); err == nil {
		t.Fatal("OpenCall succeeded although the hook failed")
	}
	reopen := tickets.StatusNew
	if _, err := s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Status: &reopen}, operator); err == nil {
		t.Fatal("UpdateTicket succeeded although the hook failed")
	}
	var nTickets, nLog int
	noErr(t, pool.QueryRow(ctx, "SELECT count(*) FROM tickets").Scan(&nTickets))
	noErr(t, pool.QueryRow(ctx, "SELECT count(*) FROM hook_log").Scan(&nLog))
	got := must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, system))
	if nTickets != 1 || nLog != 2 || got.Status != tickets.StatusClosed {
		t.Fatalf("after failing hooks: %d tickets, %d hook rows, status %s; want 1, 2, closed", nTickets, nLog, got.Status)
	}
}
