package panel

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestTicketLinksPage: an operator links two tickets of their group by
// number and unlinks them; a wrong number, a ticket of another group and
// the ticket itself are refused on the page; merging sends the operator to
// the ticket that carries on, with both tickets' calls, and the merged one
// says where it went and offers no more links.
func TestTicketLinksPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, a := e.openTicket("lotto2", "+390612345678", "Stampante piano 1")
	_, b := e.openTicket("lotto2", "+390612345679", "Stampante piano 2")
	_, other := e.openTicket("lotto3", "+390612345670", "Altro gruppo")
	op := e.login("op2")
	pa, pb := fmt.Sprintf("/tickets/%d", a.ID), fmt.Sprintf("/tickets/%d", b.ID)

	r := op.post(pa+"/links", url.Values{"number": {string(b.Number)}})
	wantStatus(t, "link", r, http.StatusSeeOther)
	op.get(pb).has(t, `data-testid="linked-ticket" data-id="`+itoa(a.ID)+`"`, "Stampante piano 1", "Collegamento")
	for _, c := range []struct{ number, want string }{
		{string(b.Number), "already linked"},
		{string(tickets.NewNumber(t0, 999)), "Nessun ticket"},
		{string(other.Number), "Nessun ticket"}, // another group's: as if it did not exist
		{"12345", "Numero di ticket"},
		{string(a.Number), "itself"},
	} {
		r := op.post(pa+"/links", url.Values{"number": {c.number}})
		if r.status != http.StatusBadRequest && r.status != http.StatusConflict {
			t.Fatalf("link %s: status %d", c.number, r.status)
		}
		r.has(t, c.want)
	}
	wantStatus(t, "unlink", op.post(pa+"/links/"+itoa(b.ID)+"/delete", nil), http.StatusSeeOther)
	op.get(pa).has(t, "Nessun ticket collegato.")

	r = op.post(pb+"/merge", url.Values{"number": {string(a.Number)}})
	wantStatus(t, "merge", r, http.StatusSeeOther)
	if loc := r.header.Get("Location"); loc != pa+"?msg=merged#links" {
		t.Fatalf("after the merge: %q", loc)
	}
	kept := op.get(pa + "?msg=merged")
	kept.has(t, "Ticket unito:", "Ticket unito</td>", string(b.Number))
	calls, err := e.store.CallsOfTicket(ctx, a.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if len(calls) != 2 {
		t.Fatalf("%d calls on the kept ticket", len(calls))
	}
	gone := op.get(pb)
	gone.has(t, `data-testid="merged-into"`, `href="/tickets/`+itoa(a.ID)+`"`, "Chiuso")
	gone.hasNot(t, `data-testid="merge-form"`, `data-testid="link-form"`)
	r = op.post(pb+"/merge", url.Values{"number": {string(a.Number)}})
	wantStatus(t, "merge twice", r, http.StatusConflict)
	// Another group's operator sees neither.
	wantStatus(t, "other group", e.login("op3").post(pa+"/links", url.Values{"number": {string(other.Number)}}), http.StatusNotFound)
}
