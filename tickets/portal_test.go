package tickets_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestContactTickets: a ticket opened for a contact has that contact from
// its creation, in the Hook's transaction, with source portal and the
// history of any opening; the contact's viewer sees it and no other, and
// no internal note; Reopen sends a closed ticket back to new and a
// waiting one in progress.
func TestContactTickets(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	clk := newClock(t0)
	var hooked []tickets.TicketEvent
	var contactInHook int64
	s := tickets.New(pool, tickets.Options{Location: rome, Now: clk.Now,
		Hook: func(ctx context.Context, tx pgx.Tx, ev tickets.TicketEvent) error {
			if ev.Kind == tickets.TicketCreated && ev.Ticket.Subject == "PEC" {
				if err := tx.QueryRow(ctx, `SELECT contact_id FROM tickets WHERE id = $1`, ev.Ticket.ID).Scan(&contactInHook); err != nil {
					return err
				}
			}
			hooked = append(hooked, ev)
			return nil
		}})
	var ugo, ada int64
	for _, c := range []struct {
		name string
		id   *int64
	}{{"Ugo", &ugo}, {"Ada", &ada}} {
		noErr(t, pool.QueryRow(ctx, `INSERT INTO contacts (organization, name, role, created_at, updated_at)
			VALUES ('trib', $1, 'user', $2, $2) RETURNING id`, c.name, t0).Scan(c.id))
	}
	me := tickets.Actor{Kind: tickets.ActorCaller, ID: "portal:1"}
	_, err := s.CreateContactTicket(ctx, tickets.NewTicket{Subject: "x"}, 0, me)
	wantErr(t, err, fault.ErrInvalid)
	mine := must[tickets.Ticket](t)(s.CreateContactTicket(ctx, tickets.NewTicket{Subject: "PEC", Organization: "trib", Group: "g"}, ugo, me))
	if mine.Source != tickets.SourcePortal || mine.Priority != tickets.PriorityMedium || mine.Status != tickets.StatusNew ||
		mine.ContactID != ugo || len(hooked) != 1 || hooked[0].Ticket.ContactID != ugo {
		t.Fatalf("opened %+v", mine)
	}
	if len(hooked) != 1 || contactInHook != ugo {
		t.Fatalf("the hook saw %d events, contact %d", len(hooked), contactInHook)
	}
	hist := must[[]tickets.Change](t)(s.History(ctx, mine.ID, system))
	if len(hist) != 1 || hist[0].Field != "opened_by" || hist[0].New != "portal" || hist[0].Actor != me {
		t.Fatalf("history %+v", hist)
	}
	theirs := must[tickets.Ticket](t)(s.CreateContactTicket(ctx, tickets.NewTicket{Subject: "Firma", Organization: "trib"}, ada, me))
	_, phone := open(t, s, tickets.NewCall{ChannelID: "c-1", Caller: "+390611", Organization: "trib", CallerRole: tickets.CallerUser})

	v := tickets.Viewer{Kind: tickets.ViewerContact, Contact: ugo}
	if !v.CallerSide() {
		t.Fatal("a contact's view is not caller side")
	}
	page := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{}, v))
	if len(page.Tickets) != 1 || page.Tickets[0].ID != mine.ID {
		t.Fatalf("Ugo lists %+v", page.Tickets)
	}
	for _, other := range []tickets.Ticket{theirs, phone} {
		_, err := s.FindTicketByID(ctx, other.ID, v)
		wantErr(t, err, fault.ErrNotFound)
	}
	// Stores kept in memory apply the same rule.
	if stored := must[tickets.Ticket](t)(s.FindTicketByID(ctx, mine.ID, system)); !v.Sees(stored) || v.Sees(theirs) || v.Sees(phone) ||
		(tickets.Viewer{Kind: tickets.ViewerContact}).Sees(stored) {
		t.Fatal("Viewer.Sees disagrees with the store")
	}
	_, err = s.FindTicketByID(ctx, mine.ID, tickets.Viewer{Kind: tickets.ViewerContact})
	wantErr(t, err, fault.ErrNotFound)
	_, err = s.AddArticle(ctx, mine.ID, tickets.Article{Internal: true, Body: "nota"}, operator)
	noErr(t, err)
	_, err = s.AddArticle(ctx, mine.ID, tickets.Article{Body: "risposta"}, operator)
	noErr(t, err)
	arts := must[[]tickets.Article](t)(s.Articles(ctx, mine.ID, v))
	if len(arts) != 1 || arts[0].Body != "risposta" {
		t.Fatalf("Ugo reads %+v", arts)
	}

	for _, c := range []struct{ from, to tickets.Status }{
		{tickets.StatusClosed, tickets.StatusNew}, {tickets.StatusWaiting, tickets.StatusInProgress},
		{tickets.StatusInProgress, tickets.StatusInProgress},
	} {
		cur := must[tickets.Ticket](t)(s.FindTicketByID(ctx, mine.ID, system))
		if cur.Status != c.from {
			if c.from == tickets.StatusWaiting && cur.Status != tickets.StatusInProgress {
				_, err = s.UpdateTicket(ctx, mine.ID, tickets.TicketUpdate{Version: cur.Version, Status: ptr(tickets.StatusInProgress)}, operator)
				noErr(t, err)
				cur = must[tickets.Ticket](t)(s.FindTicketByID(ctx, mine.ID, system))
			}
			_, err = s.UpdateTicket(ctx, mine.ID, tickets.TicketUpdate{Version: cur.Version, Status: &c.from}, operator)
			noErr(t, err)
		}
		noErr(t, s.Reopen(ctx, mine.ID, me))
		if got := must[tickets.Ticket](t)(s.FindTicketByID(ctx, mine.ID, system)); got.Status != c.to {
			t.Errorf("reopen from %s: %s, want %s", c.from, got.Status, c.to)
		}
	}
}
