package panel

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestInputLimits: every field has a length and shape checked before the
// database; over a limit the answer is a 4xx with the form again and the
// message in the user's language. (A 200 KB subject was saved; a 1 MB one
// answered "form expired".)
func TestInputLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tk := e.openTicket("lotto2", "+390612345678", "Stampante guasta")
	op := e.login("op2")
	path := fmt.Sprintf("/tickets/%d", tk.ID)
	edit := func(field, value string) response {
		return op.post(path, url.Values{"version": {"1"}, field: {value}})
	}
	huge := strings.Repeat("x", 200<<10)

	r := edit("subject", huge)
	wantStatus(t, "200 KB subject", r, http.StatusBadRequest)
	r.has(t, "Oggetto: al massimo 200 caratteri (ne ha 204800).", `data-testid="ticket-edit-form"`)
	if len(r.body) > 100<<10 {
		t.Errorf("the refused subject came back in a %d-byte page", len(r.body))
	}
	r = edit("subject", strings.Repeat("x", 1<<20))
	wantStatus(t, "1 MB subject", r, http.StatusRequestEntityTooLarge)
	r.has(t, "Il modulo inviato è troppo grande (al massimo 256 KB)")
	r.hasNot(t, "Modulo scaduto")
	wantStatus(t, "control character", edit("subject", "Stampante\x00guasta"), http.StatusBadRequest)
	wantStatus(t, "empty subject", edit("subject", "   "), http.StatusBadRequest)
	r = edit("category", strings.Repeat("c", 65))
	wantStatus(t, "long category", r, http.StatusBadRequest)
	r.has(t, "Categoria: al massimo 64 caratteri")
	r = edit("status", strings.Repeat("s", 5000))
	wantStatus(t, "bad status", r, http.StatusBadRequest)
	if len(r.body) > 50<<10 || strings.Contains(r.body, strings.Repeat("s", 100)) {
		t.Errorf("the bad status echoed whole")
	}
	// The assignee works in the group that will hold the ticket.
	r = edit("assignee", "op3")
	wantStatus(t, "operator of another group", r, http.StatusBadRequest)
	r.has(t, "«op3» non lavora nel gruppo Lotto 2")
	wantStatus(t, "supervisor", edit("assignee", "sup"), http.StatusBadRequest)
	wantStatus(t, "nobody", edit("assignee", "nobody"), http.StatusBadRequest)
	wantStatus(t, "bad login", edit("assignee", "../../x"), http.StatusBadRequest)
	cur, err := e.store.FindTicketByID(ctx, tk.ID, system)
	noErr(t, err)
	if cur.Version != 1 {
		t.Fatalf("a refused edit wrote: %+v", cur)
	}
	wantStatus(t, "operator of the group", edit("assignee", "op2"), http.StatusSeeOther)

	// Messages and notes.
	r = op.post(path+"/articles", url.Values{"kind": {"internal"}, "body": {strings.Repeat("n", 10001)}})
	wantStatus(t, "long note", r, http.StatusBadRequest)
	r.has(t, "Testo: al massimo 10000 caratteri", `data-testid="article-form"`)
	wantStatus(t, "note with newlines", op.post(path+"/articles", url.Values{"kind": {"internal"},
		"body": {"Richiamare\r\ndopo le 15\tgrazie"}}), http.StatusSeeOther)
	wantStatus(t, "note with a control character", op.post(path+"/articles", url.Values{"kind": {"internal"},
		"body": {"bell\x07"}}), http.StatusBadRequest)
	arts, err := e.store.Articles(ctx, tk.ID, system)
	noErr(t, err)
	if len(arts) != 1 {
		t.Fatalf("%d articles, want 1", len(arts))
	}

	// A pause reason typed by the operator: the console again.
	r = op.post("/console/state", url.Values{"state": {"paused"}, "reason": {"other"}, "other": {strings.Repeat("r", 65)}})
	wantStatus(t, "long pause reason", r, http.StatusBadRequest)
	r.has(t, "Motivo: al massimo 64 caratteri", `data-testid="operator-state"`)
	r = op.post("/console/state", url.Values{"state": {"paused"}, "reason": {"other"}, "other": {" "}})
	wantStatus(t, "no pause reason", r, http.StatusBadRequest)
	r.has(t, "Una pausa richiede un motivo.")

	// Search and filters: the list form again, with the message.
	r = op.get("/tickets?q=" + strings.Repeat("q", 201))
	wantStatus(t, "long search", r, http.StatusBadRequest)
	r.has(t, "Cerca: al massimo 200 caratteri", `data-testid="ticket-filters"`)
	wantStatus(t, "unknown status filter", op.get("/tickets?status=zzz"), http.StatusBadRequest)
	wantStatus(t, "another group's filter", op.get("/tickets?group=lotto3"), http.StatusBadRequest)
	wantStatus(t, "long caller", op.get("/tickets?caller="+strings.Repeat("3", 65)), http.StatusBadRequest)
	r = op.get("/reports?bucket=" + strings.Repeat("b", 1000))
	wantStatus(t, "bad bucket", r, http.StatusBadRequest)
	r.has(t, "Il dettaglio è per ora, giorno, settimana o mese.", `data-testid="report-filters"`)

	// Users.
	adm := e.login("adm")
	r = adm.post("/admin/users", url.Values{"login": {"lungo"}, "name": {strings.Repeat("N", 101)}, "role": {"operator"},
		"password": {password}, "password2": {password}})
	wantStatus(t, "long name", r, http.StatusBadRequest)
	r.has(t, "Nome: al massimo 100 caratteri", `data-testid="user-add-form"`)
	r = adm.post("/admin/users", url.Values{"login": {strings.Repeat("l", 65)}, "name": {"Lungo"}, "role": {"operator"},
		"password": {password}, "password2": {password}})
	wantStatus(t, "long login", r, http.StatusBadRequest)
	// The login form.
	r = e.anon().postLogin(strings.Repeat("a", 1000), password)
	wantStatus(t, "long login at login", r, http.StatusBadRequest)
	r.has(t, "Utente: al massimo 64 caratteri")
	wantStatus(t, "long password at login", e.anon().postLogin("op2", strings.Repeat("p", 2000)), http.StatusBadRequest)
	r = e.anon().postLogin("op2", strings.Repeat("p", 1<<20))
	wantStatus(t, "1 MB password", r, http.StatusRequestEntityTooLarge)
	r.hasNot(t, "Modulo scaduto")

	// In English for an English user.
	wantStatus(t, "english", op.post("/lang", url.Values{"lang": {"en"}, "back": {"/"}}), http.StatusSeeOther)
	r = edit("category", strings.Repeat("c", 65))
	r.has(t, "Category: at most 64 characters (it has 65).")
	r = op.post(path, url.Values{"version": {"2"}, "subject": {strings.Repeat("x", 1<<20)}})
	wantStatus(t, "1 MB subject, English", r, http.StatusRequestEntityTooLarge)
	r.has(t, "The form sent is too large")
}

// TestTicketEditUntouched: a save changes only the fields the user
// changed. A ticket without a group shows it plainly and keeps it (the
// form had no empty choice and moved such a ticket to Lotto 2); a field
// someone else changed meanwhile is not put back by a later save of
// another field.
func TestTicketEditUntouched(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, orphan, err := e.store.OpenCall(ctx, tickets.NewCall{ChannelID: "1795320990.orphan", Caller: "+390612345678",
		Subject: "Messaggio fuori orario", Source: tickets.SourceAfterHours})
	noErr(t, err)
	sup := e.login("sup")
	path := fmt.Sprintf("/tickets/%d", orphan.ID)
	page := sup.get(path)
	page.has(t, `data-testid="ticket-current-group"><strong class="no-group">Nessun gruppo</strong>`,
		`<option value="" selected data-testid="ticket-group-none">Nessun gruppo</option>`)
	form := formValues(t, page.body)
	if form.Get("group") != "" || form.Get("was_group") != "" {
		t.Fatalf("the form would post group %q (was %q)", form.Get("group"), form.Get("was_group"))
	}
	form.Set("priority", "high")
	wantStatus(t, "save the priority", sup.post(path, form), http.StatusSeeOther)
	cur, err := e.store.FindTicketByID(ctx, orphan.ID, system)
	noErr(t, err)
	if cur.Group != "" || cur.Priority != tickets.PriorityHigh || cur.Version != 2 {
		t.Fatalf("after saving the priority: group %q priority %s version %d", cur.Group, cur.Priority, cur.Version)
	}
	hist, err := e.store.History(ctx, orphan.ID, system)
	noErr(t, err)
	if len(hist) != 1 || hist[0].Field != "priority" {
		t.Fatalf("history %+v, want the priority only", hist)
	}
	// Nothing changed: nothing written.
	page = sup.get(path)
	wantStatus(t, "save nothing", sup.post(path, formValues(t, page.body)), http.StatusSeeOther)
	sup.get(path+"?msg=unchanged").has(t, "Nessuna modifica da salvare.")
	// Choosing no group for a ticket that has one is refused.
	_, tk := e.openTicket("lotto2", "+390612345678", "Stampante")
	tpath := fmt.Sprintf("/tickets/%d", tk.ID)
	f := formValues(t, sup.get(tpath).body)
	f.Set("group", "")
	wantStatus(t, "no group", sup.post(tpath, f), http.StatusBadRequest)

	// The supervisor reads the form; the operator then changes the
	// category; the supervisor saves a new status: a conflict, and the
	// form again holds the supervisor's status and the operator's
	// category; saving it keeps the operator's category.
	stale := formValues(t, sup.get(tpath).body)
	op := e.login("op2")
	of := formValues(t, op.get(tpath).body)
	of.Set("category", "postazione")
	wantStatus(t, "operator's category", op.post(tpath, of), http.StatusSeeOther)
	stale.Set("status", "in_progress")
	r := sup.post(tpath, stale)
	wantStatus(t, "stale save", r, http.StatusConflict)
	again := formValues(t, r.body)
	if again.Get("status") != "in_progress" || again.Get("category") != "postazione" || again.Get("version") != "2" {
		t.Fatalf("the form after the conflict: %v", again)
	}
	wantStatus(t, "save again", sup.post(tpath, again), http.StatusSeeOther)
	cur, err = e.store.FindTicketByID(ctx, tk.ID, system)
	noErr(t, err)
	if cur.Status != tickets.StatusInProgress || cur.Category != "postazione" || cur.Group != "lotto2" {
		t.Fatalf("after saving again: %+v", cur)
	}
}

var (
	editFormPattern = regexp.MustCompile(`(?s)<form[^>]*data-testid="ticket-edit-form">(.*?)</form>`)
	inputPattern    = regexp.MustCompile(`<input[^>]*\bname="([^"]*)"[^>]*\bvalue="([^"]*)"`)
	selectPattern   = regexp.MustCompile(`(?s)<select[^>]*\bname="([^"]*)"[^>]*>(.*?)</select>`)
	optionPattern   = regexp.MustCompile(`<option value="([^"]*)"([^>]*)>`)
)

// formValues is what a browser would post from the page's ticket edit
// form, untouched: every input's value and every select's chosen option.
func formValues(t *testing.T, page string) url.Values {
	t.Helper()
	m := editFormPattern.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no ticket edit form in:\n%s", page)
	}
	v := url.Values{}
	for _, in := range inputPattern.FindAllStringSubmatch(m[1], -1) {
		v.Set(in[1], html.UnescapeString(in[2]))
	}
	for _, sel := range selectPattern.FindAllStringSubmatch(m[1], -1) {
		opts := optionPattern.FindAllStringSubmatch(sel[2], -1)
		if len(opts) == 0 {
			t.Fatalf("select %s has no options", sel[1])
		}
		chosen := opts[0][1]
		for _, o := range opts {
			if strings.Contains(o[2], "selected") {
				chosen = o[1]
			}
		}
		v.Set(sel[1], html.UnescapeString(chosen))
	}
	return v
}
