package panel

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestPortalVisibility: a referent lists and opens every ticket of their
// Administration, a generic user only those whose contact they are;
// nobody reads another Administration's tickets, internal notes, or staff
// fields (the assignee's login).
func TestPortalVisibility(t *testing.T) {
	t.Parallel()
	e := newPortalEnv(t)
	w := e.portalWorld()
	assignee := "op3"
	_, err := e.store.UpdateTicket(ctx, w.phoneA.ID, tickets.TicketUpdate{Version: w.phoneA.Version, Assignee: &assignee,
		Status: ptr(tickets.StatusInProgress)}, tickets.Actor{Kind: tickets.ActorOperator, ID: "op3"})
	noErr(t, err)
	all := []tickets.Ticket{w.phoneA, w.ownA, w.ownA2, w.ownB}
	for _, c := range []struct {
		email string
		sees  []tickets.Ticket
	}{
		{"rita@tribunale.example", []tickets.Ticket{w.phoneA, w.ownA, w.ownA2}},
		{"ugo@tribunale.example", []tickets.Ticket{w.ownA}},
		{"ADA@tribunale.example", []tickets.Ticket{w.ownA2}}, // the address in any case
		{"bice@milano.example", []tickets.Ticket{w.ownB}},
		{"bruno@milano.example", []tickets.Ticket{w.ownB}},
	} {
		cl := e.portalLogin(c.email)
		list := cl.get("/portal")
		wantStatus(t, c.email+" list", list, http.StatusOK)
		for _, tk := range all {
			visible := false
			for _, s := range c.sees {
				visible = visible || s.ID == tk.ID
			}
			page := cl.get(fmt.Sprintf("/portal/tickets/%d", tk.ID))
			if visible {
				list.has(t, string(tk.Number), tk.Subject)
				wantStatus(t, c.email+" "+tk.Subject, page, http.StatusOK)
				page.has(t, tk.Subject, "PUBLIC-REPLY-"+tk.Subject)
				page.hasNot(t, w.internal, `data-testid="article-internal-note"`, ">"+assignee+"<", "op3")
				continue
			}
			wantStatus(t, c.email+" another's "+tk.Subject, page, http.StatusNotFound)
			if leak := contains(list.body+page.body, secretsOf(tk)); leak != "" {
				t.Errorf("%s reads %q of a ticket not theirs", c.email, leak)
			}
		}
		list.hasNot(t, w.internal)
	}
	// The status change is in the history, the assignment is not.
	page := e.portalLogin("rita@tribunale.example").get(fmt.Sprintf("/portal/tickets/%d", w.phoneA.ID))
	page.has(t, `data-field="status"`, "In lavorazione")
	page.hasNot(t, `data-field="assignee"`)
}

// TestPortalMessage: a user writes to their ticket with a file, which the
// staff then read as a public message and download; the user downloads
// it too; a file of a refused type or over the limit is refused with the
// text kept; a closed ticket goes back to the help desk.
func TestPortalMessage(t *testing.T) {
	t.Parallel()
	e := newPortalEnv(t)
	w := e.portalWorld()
	closed := tickets.StatusClosed
	_, err := e.store.UpdateTicket(ctx, w.ownA.ID, tickets.TicketUpdate{Version: w.ownA.Version, Status: &closed},
		tickets.Actor{Kind: tickets.ActorOperator, ID: "op3"})
	noErr(t, err)
	ugo := e.portalLogin("ugo@tribunale.example")
	path := fmt.Sprintf("/portal/tickets/%d/messages", w.ownA.ID)

	bad := ugo.postFiles(path, url.Values{"body": {"Ecco il virus"}}, file{"setup.exe", "application/pdf", "MZ"})
	wantStatus(t, "an .exe", bad, http.StatusBadRequest)
	bad.has(t, "setup.exe", "Ecco il virus")
	big := strings.Repeat("x", int(e.srv.fileRules.MaxBytes)+1)
	bad = ugo.postFiles(path, url.Values{"body": {"Troppo"}}, file{"big.txt", "text/plain", big})
	wantStatus(t, "a big file", bad, http.StatusBadRequest)
	bad.has(t, "big.txt")
	wantStatus(t, "no token", ugo.postFiles(path, url.Values{"body": {"x"}, "csrf": {"wrong"}}), http.StatusForbidden)
	wantStatus(t, "another's ticket", ugo.postFiles(fmt.Sprintf("/portal/tickets/%d/messages", w.ownA2.ID),
		url.Values{"body": {"x"}}), http.StatusNotFound)

	res := ugo.postFiles(path, url.Values{"body": {"La PEC non parte ancora."}}, file{"errore.pdf", "application/pdf", "%PDF-1.4 errore"})
	wantStatus(t, "message", res, http.StatusSeeOther)
	page := ugo.get(fmt.Sprintf("/portal/tickets/%d", w.ownA.ID))
	page.has(t, "La PEC non parte ancora.", "errore.pdf", "Ugo Utente", `data-status="new"`)
	m := regexpFind(t, page.body, `href="(/portal/attachments/\d+/\d+)"`)
	file := ugo.get(m)
	wantStatus(t, "download", file, http.StatusOK)
	if file.body != "%PDF-1.4 errore" || file.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("downloaded %q as %s", file.body, file.header.Get("Content-Type"))
	}
	// Another Administration's user cannot download it by its address.
	wantStatus(t, "B downloads A's file", e.portalLogin("bruno@milano.example").get(m), http.StatusNotFound)

	arts, err := e.store.Articles(ctx, w.ownA.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	last := arts[len(arts)-1]
	if last.Internal || last.Body != "La PEC non parte ancora." || last.Author != "Ugo Utente" {
		t.Fatalf("the staff read %+v", last)
	}
	tk, err := e.store.FindTicketByID(ctx, w.ownA.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if tk.Status != tickets.StatusNew {
		t.Fatalf("the closed ticket is %s after the user's message, want new (back to the help desk)", tk.Status)
	}
	staff := e.login("op3")
	sp := staff.get(fmt.Sprintf("/tickets/%d", w.ownA.ID))
	sp.has(t, "La PEC non parte ancora.", "errore.pdf")
	dl := regexpFind(t, sp.body, `href="(/attachments/\d+/\d+)"`)
	if got := staff.get(dl); got.body != "%PDF-1.4 errore" {
		t.Fatalf("staff downloaded %q", got.body)
	}
}

// TestPortalNewTicket: a generic user opens a ticket: numbered as any,
// source portal, their Administration and its group, they its contact;
// they and their referent see it, another user of theirs does not.
func TestPortalNewTicket(t *testing.T) {
	t.Parallel()
	e := newPortalEnv(t)
	w := e.portalWorld()
	ugo := e.portalLogin("ugo@tribunale.example")
	wantStatus(t, "new page", ugo.get("/portal/tickets/new"), http.StatusOK)
	bad := ugo.postFiles("/portal/tickets/new", url.Values{"subject": {""}, "description": {"senza oggetto"}})
	wantStatus(t, "no subject", bad, http.StatusBadRequest)
	bad.has(t, "senza oggetto")
	res := ugo.postFiles("/portal/tickets/new", url.Values{"subject": {"Scanner guasto"}, "description": {"Non scansiona."}},
		file{"foto.png", "image/png", "\x89PNG fake"})
	wantStatus(t, "open", res, http.StatusSeeOther)
	var id int64
	if _, err := fmt.Sscanf(res.header.Get("Location"), "/portal/tickets/%d?msg=portal_created", &id); err != nil {
		t.Fatalf("redirected to %q", res.header.Get("Location"))
	}
	tk, err := e.store.FindTicketByID(ctx, id, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if _, err := tickets.ParseNumber(string(tk.Number)); err != nil || tk.Source != tickets.SourcePortal ||
		tk.Organization != orgA || tk.Group != "lotto3" || tk.Status != tickets.StatusNew || tk.Subject != "Scanner guasto" {
		t.Fatalf("opened %+v", tk)
	}
	var contact int64
	noErr(t, e.pool.QueryRow(ctx, `SELECT contact_id FROM tickets WHERE id = $1`, id).Scan(&contact))
	if contact != w.userA {
		t.Fatalf("contact %d, want %d", contact, w.userA)
	}
	hist, err := e.store.History(ctx, id, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if len(hist) < 1 || hist[0].Field != "opened_by" || hist[0].New != "portal" || hist[0].Actor.ID != fmt.Sprintf("portal:%d", w.userA) {
		t.Fatalf("history %+v", hist)
	}
	page := ugo.get(res.header.Get("Location"))
	page.has(t, "Scanner guasto", "foto.png", `data-testid="flash"`)
	e.portalLogin("rita@tribunale.example").get("/portal").has(t, "Scanner guasto")
	if r := e.portalLogin("ada@tribunale.example").get("/portal"); strings.Contains(r.body, "Scanner guasto") {
		t.Fatal("another user of the Administration sees the ticket")
	}
	wantStatus(t, "another user opens it", e.portalLogin("ada@tribunale.example").get(fmt.Sprintf("/portal/tickets/%d", id)), http.StatusNotFound)
	e.login("op3").get(fmt.Sprintf("/tickets/%d", id)).has(t, "Scanner guasto", "Portale")
}

// TestPortalSessions: portal and staff sessions are not interchangeable,
// a disabled contact is let in nowhere (its open session ends), portal
// logins are throttled as the staff's, and the portal's forms need their
// token.
func TestPortalSessions(t *testing.T) {
	t.Parallel()
	e := newPortalEnv(t)
	w := e.portalWorld()
	ugo := e.portalLogin("ugo@tribunale.example")
	staff := e.login("sup")
	u, _ := url.Parse(e.ts.URL)
	cookie := func(c *client, name string) string {
		for _, ck := range c.http.Jar.Cookies(u) {
			if ck.Name == name {
				return ck.Value
			}
		}
		t.Fatalf("no cookie %s", name)
		return ""
	}
	// A portal token as a staff session, a staff token as a portal one.
	swapped := e.anon()
	swapped.http.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: cookie(ugo, portalCookie)},
		{Name: portalCookie, Value: cookie(staff, sessionCookie)}})
	r := swapped.get("/tickets")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Fatalf("a portal token on a staff page: %d %s", r.status, r.header.Get("Location"))
	}
	r = swapped.get("/portal")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/portal/login") {
		t.Fatalf("a staff token on the portal: %d %s", r.status, r.header.Get("Location"))
	}
	// The portal user on staff pages, the staff on the portal.
	r = ugo.get("/wallboard")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Fatalf("a portal user on the wallboard: %d", r.status)
	}
	r = staff.get("/portal")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/portal/login") {
		t.Fatalf("staff on the portal: %d", r.status)
	}
	// No token, no change.
	wantStatus(t, "lang without token", ugo.post("/portal/lang", url.Values{"lang": {"en"}, "csrf": {""}}), http.StatusForbidden)
	wantStatus(t, "lang with the staff's token", ugo.post("/portal/lang", url.Values{"lang": {"en"}, "csrf": {staff.csrf}}), http.StatusForbidden)
	wantStatus(t, "lang", ugo.post("/portal/lang", url.Values{"lang": {"en"}, "back": {"/portal"}}), http.StatusSeeOther)
	ugo.get("/portal").has(t, "Requests")

	// Disabled: the open session ends, no new login.
	e.setContactDisabled(w.userA, true)
	r = ugo.get("/portal")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/portal/login") {
		t.Fatalf("a disabled contact's session: %d", r.status)
	}
	wantStatus(t, "disabled login", e.anon().postPortalLogin("ugo@tribunale.example", password), http.StatusUnauthorized)
	e.setContactDisabled(w.userA, false)

	// Wrong passwords: three free, then the same wait as the staff's.
	guesser := e.anonFrom("203.0.113.9")
	for i := range 3 {
		wantStatus(t, fmt.Sprintf("guess %d", i), guesser.postPortalLogin("rita@tribunale.example", "wrong password"), http.StatusUnauthorized)
	}
	wantStatus(t, "guess 4", guesser.postPortalLogin("rita@tribunale.example", "wrong password"), http.StatusUnauthorized)
	r = guesser.postPortalLogin("rita@tribunale.example", password)
	wantStatus(t, "the right password, too soon", r, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	e.clk.Advance(time.Minute)
	wantStatus(t, "after the wait", guesser.postPortalLogin("rita@tribunale.example", password), http.StatusSeeOther)
	// A user invited but without a password yet, and an unknown address.
	e.addContact(orgA, "Nuovo", PortalUser, "nuovo@tribunale.example")
	wantStatus(t, "no account", e.anon().postPortalLogin("nuovo@tribunale.example", password), http.StatusUnauthorized)
	wantStatus(t, "unknown", e.anon().postPortalLogin("nessuno@tribunale.example", password), http.StatusUnauthorized)
}

// TestPortalPagesTranslated renders every portal page in both languages
// and looks for untranslated keys and formatting mistakes.
func TestPortalPagesTranslated(t *testing.T) {
	t.Parallel()
	e := newPortalEnv(t)
	w := e.portalWorld()
	_, err := e.store.UpdateTicket(ctx, w.ownA.ID, tickets.TicketUpdate{Version: w.ownA.Version, Status: ptr(tickets.StatusClosed)},
		tickets.Actor{Kind: tickets.ActorOperator, ID: "op3"})
	noErr(t, err)
	for _, l := range Languages {
		for _, email := range []string{"rita@tribunale.example", "ugo@tribunale.example"} {
			c := e.portalLogin(email)
			wantStatus(t, "lang", c.post("/portal/lang", url.Values{"lang": {l}}), http.StatusSeeOther)
			for _, path := range []string{"/portal", fmt.Sprintf("/portal/tickets/%d", w.ownA.ID), "/portal/tickets/new",
				"/portal/tickets/0", "/portal?msg=portal_welcome", fmt.Sprintf("/portal/tickets/%d?msg=portal_sent", w.ownA.ID)} {
				r := c.get(path)
				if m := untranslated.FindString(r.body); m != "" {
					t.Errorf("%s %s as %s: %q", l, path, email, m)
				}
			}
		}
		anon := e.anon()
		for _, path := range []string{"/portal/login?lang=" + l, "/portal/accept?token=x&lang=" + l} {
			if m := untranslated.FindString(anon.get(path).body); m != "" {
				t.Errorf("%s %s: %q", l, path, m)
			}
		}
		adm := e.login("adm")
		adm.post("/lang", url.Values{"lang": {l}})
		adm.post("/portal/invitations", url.Values{"contact": {"ugo@tribunale.example"}})
		if m := untranslated.FindString(adm.get("/portal/invitations").body); m != "" {
			t.Errorf("%s invitations: %q", l, m)
		}
	}
}
