package panel

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestNewTicket: an operator opens a ticket for a request that came in on
// another line; it is numbered as a call's, in the operator's group, with
// the Administration, the caller's number in E.164 and a category from the
// list, and its history names the operator.
func TestNewTicket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	op := e.login("op2")
	page := op.get("/tickets/new")
	page.has(t, `data-testid="new-ticket-form"`, `<option value="lotto2"`, `<option value="applicativi/pct">`)
	page.hasNot(t, `<option value="lotto3"`) // not one of op2's groups
	r := op.post("/tickets/new", url.Values{"subject": {"Firma digitale scaduta"}, "description": {"Chiamata\nsul numero interno"},
		"group": {"lotto2"}, "priority": {"high"}, "category": {"applicativi/pct"}, "organization": {"tribunale-roma-demo"},
		"caller": {"06 1234 5678"}})
	wantStatus(t, "create", r, http.StatusSeeOther)
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, "/tickets/") || !strings.HasSuffix(loc, "?msg=created") {
		t.Fatalf("redirect to %q", loc)
	}
	op.get(loc).has(t, "Ticket aperto.", "Firma digitale scaduta", "Pannello")
	list, err := e.store.FindTickets(ctx, tickets.TicketFilter{Text: "Firma"}, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if len(list.Tickets) != 1 {
		t.Fatalf("found %d tickets", len(list.Tickets))
	}
	tk := list.Tickets[0]
	if tk.Source != tickets.SourcePanel || tk.Group != "lotto2" || tk.Priority != tickets.PriorityHigh || tk.Category != "applicativi/pct" ||
		tk.Organization != "tribunale-roma-demo" || tk.Caller != "+390612345678" || tk.Description != "Chiamata\nsul numero interno" ||
		tk.Status != tickets.StatusNew || len(tk.Number) == 0 {
		t.Fatalf("ticket %+v", tk)
	}
	h, err := e.store.History(ctx, tk.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if len(h) != 1 || h[0].Field != "opened_by" || h[0].Actor.ID != "op2" || h[0].Actor.Kind != tickets.ActorOperator {
		t.Fatalf("history %+v", h)
	}
	op.get(loc).has(t, "Aperto da")
}

// TestNewTicketRefused: what the form refuses, shown on the form with what
// was typed; another group's ticket is refused to an operator.
func TestNewTicketRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	op := e.login("op2")
	ok := url.Values{"subject": {"Rete lenta"}, "group": {"lotto2"}, "priority": {"medium"}}
	for _, c := range []struct {
		field, value, want string
	}{
		{"subject", "", "Oggetto"},
		{"group", "lotto3", "Gruppo sconosciuto"},
		{"group", "nessuno", "Gruppo sconosciuto"},
		{"priority", "urgentissima", "urgentissima"},
		{"organization", "comune-fantasma", "Amministrazione sconosciuta"},
		{"category", "Rete", "Categoria sconosciuta"},
		{"caller", "chiamami", "non è un numero di telefono"},
		{"subject", "Rete\x00lenta", "Oggetto"},
	} {
		f := cloneValues(ok)
		f.Set(c.field, c.value)
		r := op.post("/tickets/new", f)
		wantStatus(t, c.field+"="+c.value, r, http.StatusBadRequest)
		r.has(t, c.want, `data-testid="new-ticket-form"`)
	}
	list, err := e.store.FindTickets(ctx, tickets.TicketFilter{}, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if len(list.Tickets) != 0 {
		t.Fatalf("%d tickets made by refused forms", len(list.Tickets))
	}
	// A supervisor may open one in any group; a form from elsewhere is refused.
	sup := e.login("sup")
	f := cloneValues(ok)
	f.Set("group", "lotto3")
	wantStatus(t, "supervisor, lotto3", sup.post("/tickets/new", f), http.StatusSeeOther)
	f.Set("csrf", "")
	wantStatus(t, "no token", sup.post("/tickets/new", f), http.StatusForbidden)
	wantStatus(t, "anonymous", e.anon().get("/tickets/new"), http.StatusSeeOther)
}

// TestBrowserNewTicket: the form in Chromium, from the ticket list.
func TestBrowserNewTicket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := browsertest.New(t)
	browserLogin(t, b, e.ts.URL, "sup", "/tickets")
	var number string
	browsertest.Run(t, b, "open a ticket",
		chromedp.Click(`[data-testid="new-ticket"]`),
		chromedp.WaitVisible(`[data-testid="new-ticket-form"]`),
		chromedp.SendKeys(`#n-org`, "tribunale-roma-demo"),
		chromedp.SetValue(`#n-group`, "lotto3"),
		chromedp.SetValue(`#n-category`, "stampa"),
		chromedp.SendKeys(`#n-subject`, "Stampante allo sportello"),
		chromedp.SendKeys(`#n-description`, "Segnalata di persona."),
		chromedp.Click(`[data-testid="new-submit"]`),
		chromedp.WaitVisible(`[data-testid="ticket-number"]`),
		chromedp.Text(`[data-testid="ticket-number"]`, &number))
	browsertest.Screenshot(t, b, "ticket-opened-by-staff")
	n, err := tickets.ParseNumber(strings.TrimSpace(number))
	noErr(t, err)
	tk, err := e.store.FindTicketByNumber(ctx, n, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if tk.Group != "lotto3" || tk.Category != "stampa" || tk.Organization != "tribunale-roma-demo" || tk.Subject != "Stampante allo sportello" {
		t.Fatalf("ticket %+v", tk)
	}
}
