package tickets_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
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

// TestHookOnUpdate: with HookOnUpdate, the hook sees exactly the updates it
// asks for, told as the update is written; the others are written all the
// same, history included. Its question comes between the read and the
// write: an article added right then (the row changed meanwhile) is in the
// search vector of an update written without a transaction too.
func TestHookOnUpdate(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	clk := newClock(t0)
	var seen, asked []tickets.TicketEvent
	var s *tickets.Store
	hook := func(_ context.Context, _ pgx.Tx, ev tickets.TicketEvent) error {
		seen = append(seen, ev)
		return nil
	}
	var meanwhile func(tickets.TicketEvent)
	wants := func(ev tickets.TicketEvent) bool {
		asked = append(asked, ev)
		if meanwhile != nil {
			meanwhile(ev)
		}
		_, ok := ev.Changed("status")
		return ok
	}
	s = tickets.New(pool, tickets.Options{Location: rome, Now: clk.Now, Hook: hook, HookOnUpdate: wants,
		HookOnCreate: func(tickets.NewCall) bool { return false }, HookOnMessage: func(tickets.Article) bool { return false }})
	_, tk := open(t, s, tickets.NewCall{Subject: "stampante"})
	group := "lotto3"
	tk = must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Group: &group}, sysActor))
	if len(seen) != 0 || len(asked) != 1 || tk.Group != group || tk.Version != 2 {
		t.Fatalf("a group change: hook saw %d, asked %d, ticket %+v", len(seen), len(asked), tk)
	}
	if !reflect.DeepEqual(asked[0].Ticket, tk) || asked[0].Previous.Group != "" || asked[0].Actor != sysActor {
		t.Fatalf("asked about %+v, wrote %+v", asked[0], tk)
	}
	progress := tickets.StatusInProgress
	clk.Advance(time.Second)
	tk = must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Status: &progress}, sysActor))
	if len(seen) != 1 || !reflect.DeepEqual(seen[0].Ticket, tk) || !reflect.DeepEqual(asked[1].Ticket, tk) {
		t.Fatalf("a status change: hook saw %+v, asked %+v, wrote %+v", seen, asked[1:], tk)
	}
	hist := must[[]tickets.Change](t)(s.History(ctx, tk.ID, everyone))
	var fields []string
	for _, c := range hist {
		fields = append(fields, c.Field)
	}
	equal(t, "history", fields, []string{"group", "status"})

	meanwhile = func(tickets.TicketEvent) {
		meanwhile = nil
		must[tickets.Article](t)(s.AddArticle(ctx, tk.ID, tickets.Article{Body: "toner esaurito"}, operator))
	}
	tk = must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Subject: ptr("scanner")}, sysActor))
	if tk.Subject != "scanner" || tk.Version != 4 || len(seen) != 1 {
		t.Fatalf("after an article meanwhile: %+v, hook saw %d", tk, len(seen))
	}
	for text, want := range map[string]bool{"toner": true, "scanner": true, "stampante": false} {
		page := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: text}, everyone))
		if got := len(page.Tickets) == 1; got != want {
			t.Errorf("search %q: match %v, want %v", text, got, want)
		}
	}
	_, err := s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: 3, Subject: ptr("stale")}, sysActor)
	wantErr(t, err, fault.ErrConflict)
}

// TestUpdateAfterConcurrentArticle: an update written without a transaction
// that meets an article's addition still in progress on the ticket's row
// (it waits for it, and its snapshot does not have the article) starts
// again the locked way, so the rebuilt search vector keeps the article.
func TestUpdateAfterConcurrentArticle(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	var adding pgx.Tx
	committed := make(chan error, 1)
	wants := func(ev tickets.TicketEvent) bool {
		if adding != nil {
			return false
		}
		// An article's addition, begun and not committed, as AddArticle writes it.
		var err error
		if adding, err = pool.Begin(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = adding.Exec(ctx, `UPDATE tickets SET search = search || to_tsvector('simple', 'toner'),
			search_public = search_public || to_tsvector('simple', 'toner'), updated_at = now() WHERE id = $1`, ev.Ticket.ID)
		if err == nil {
			_, err = adding.Exec(ctx, `INSERT INTO ticket_articles (ticket_id, internal, body, author, created_at)
				VALUES ($1, false, 'toner', 'mrossi', now())`, ev.Ticket.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
		// It commits once the update waits for its row.
		go func() {
			for {
				var waiting bool
				if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity
					WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE tickets t SET%' AND datname = current_database())`).
					Scan(&waiting); err != nil {
					committed <- err
					return
				}
				if waiting {
					committed <- adding.Commit(ctx)
					return
				}
			}
		}()
		return false
	}
	s := tickets.New(pool, tickets.Options{Location: rome, Hook: func(context.Context, pgx.Tx, tickets.TicketEvent) error { return nil },
		HookOnUpdate: wants, HookOnCreate: func(tickets.NewCall) bool { return false }})
	_, tk := open(t, s, tickets.NewCall{Subject: "stampante"})
	done := make(chan error, 1)
	go func() {
		_, err := s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Subject: ptr("scanner")}, sysActor)
		done <- err
	}()
	select {
	case err := <-committed:
		noErr(t, err)
	case <-time.After(time.Minute):
		t.Fatal("the update never waited for the article")
	}
	noErr(t, <-done)
	for text, want := range map[string]bool{"toner": true, "scanner": true, "stampante": false} {
		page := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: text}, everyone))
		if got := len(page.Tickets) == 1; got != want {
			t.Errorf("search %q: match %v, want %v", text, got, want)
		}
	}
}

// TestHookSeesMessages: an article added runs the Hook in its transaction
// (the message and the ticket told), unless HookOnMessage declines it; a
// failing Hook loses nothing but that article.
func TestHookSeesMessages(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	var seen []tickets.TicketEvent
	fail := false
	hook := func(ctx context.Context, tx pgx.Tx, ev tickets.TicketEvent) error {
		if fail {
			return errors.New("hook refused")
		}
		if ev.Kind == tickets.TicketMessage {
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM ticket_articles WHERE id = $1", ev.Article.ID).Scan(&n); err != nil || n != 1 {
				t.Errorf("the article is not visible to the hook: %v %d", err, n)
			}
		}
		seen = append(seen, ev)
		return nil
	}
	s := tickets.New(pool, tickets.Options{Location: rome, Now: newClock(t0).Now, Hook: hook,
		HookOnMessage: func(a tickets.Article) bool { return !a.Internal }})
	_, tk := open(t, s, tickets.NewCall{Organization: "giustizia"})
	seen = nil
	public := must[tickets.Article](t)(s.AddArticle(ctx, tk.ID, tickets.Article{Body: "Richiamato il referente"}, operator))
	must[tickets.Article](t)(s.AddArticle(ctx, tk.ID, tickets.Article{Body: "nota interna", Internal: true}, operator))
	if len(seen) != 1 || seen[0].Kind != tickets.TicketMessage || seen[0].Article == nil || seen[0].Article.ID != public.ID ||
		seen[0].Article.Body != "Richiamato il referente" || seen[0].Ticket.ID != tk.ID || seen[0].Actor != operator {
		t.Fatalf("hook events %+v", seen)
	}
	fail = true
	if _, err := s.AddArticle(ctx, tk.ID, tickets.Article{Body: "persa"}, operator); err == nil {
		t.Fatal("AddArticle succeeded although the hook failed")
	}
	if _, err := s.AddArticle(ctx, 999999, tickets.Article{Body: "x"}, operator); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("article on a missing ticket: %v", err)
	}
	var n int
	noErr(t, pool.QueryRow(ctx, "SELECT count(*) FROM ticket_articles WHERE ticket_id = $1", tk.ID).Scan(&n))
	if n != 2 {
		t.Fatalf("%d articles, want 2 (the refused one rolled back)", n)
	}
}

// TestCreateTicketRunsHook: a ticket opened without a call (the REST API)
// is numbered as the calls' are and told to the Hook as an opening, unless
// HookOnCreate declines; a refusing Hook leaves no ticket.
func TestCreateTicketRunsHook(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	var seen []tickets.TicketEvent
	fail := false
	hook := func(_ context.Context, _ pgx.Tx, ev tickets.TicketEvent) error {
		if fail {
			return errors.New("hook refused")
		}
		seen = append(seen, ev)
		return nil
	}
	s := tickets.New(pool, tickets.Options{Location: rome, Now: newClock(t0).Now, Hook: hook,
		HookOnCreate: func(nc tickets.NewCall) bool { return nc.Organization != "" }})
	tk := must[tickets.Ticket](t)(s.CreateTicket(ctx, tickets.NewTicket{Subject: "Casella piena", Organization: "giustizia",
		Group: "lotto3", Description: "dal sistema dell'ente"}, operator))
	if tk.Source != tickets.SourcePanel || tk.Status != tickets.StatusNew || tk.Priority != tickets.PriorityMedium ||
		!strings.HasPrefix(string(tk.Number), "20251124") || tk.Group != "lotto3" {
		t.Fatalf("ticket %+v", tk)
	}
	if len(seen) != 1 || seen[0].Kind != tickets.TicketCreated || seen[0].Ticket.ID != tk.ID || seen[0].Actor != operator {
		t.Fatalf("hook events %+v", seen)
	}
	must[tickets.Ticket](t)(s.CreateTicket(ctx, tickets.NewTicket{Subject: "Senza ente"}, operator))
	if len(seen) != 1 {
		t.Fatalf("HookOnCreate declined, the hook saw %d", len(seen))
	}
	if _, err := s.CreateTicket(ctx, tickets.NewTicket{Subject: " "}, operator); !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("no subject: %v", err)
	}
	fail = true
	if _, err := s.CreateTicket(ctx, tickets.NewTicket{Subject: "Rifiutato", Organization: "giustizia"}, operator); err == nil {
		t.Fatal("CreateTicket succeeded although the hook failed")
	}
	var n int
	noErr(t, pool.QueryRow(ctx, "SELECT count(*) FROM tickets").Scan(&n))
	if n != 2 {
		t.Fatalf("%d tickets, want 2", n)
	}
}
