package panel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/tickets"
)

var (
	system   = tickets.Viewer{Kind: tickets.ViewerSystem}
	ivrActor = tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"}
)

func ptr[T any](v T) *T { return &v }

func editForm(version int, subject, status string) url.Values {
	return url.Values{"version": {fmt.Sprint(version)}, "subject": {subject}, "status": {status}, "priority": {"high"},
		"category": {"stampa"}, "group": {"lotto2"}, "assignee": {"op2"}}
}

// TestTicketEdit: saving changes the ticket and its history; a save over
// someone else's change is refused with a clear message, keeps what the
// user typed, and saving again applies it.
func TestTicketEdit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tk := e.openTicket("lotto2", "+390612345678", "Stampante guasta")
	op, sup := e.login("op2"), e.login("sup")
	path := fmt.Sprintf("/tickets/%d", tk.ID)
	page := op.get(path)
	page.has(t, `data-testid="ticket-edit-form"`, `name="version" value="1"`, "Stampante guasta")

	// The supervisor saves first.
	r := sup.post(path, editForm(1, "Stampante guasta al secondo piano", "in_progress"))
	wantStatus(t, "supervisor saves", r, http.StatusSeeOther)
	if loc := r.header.Get("Location"); loc != path+"?msg=saved" {
		t.Fatalf("redirect to %q", loc)
	}
	sup.get(path+"?msg=saved").has(t, `data-testid="flash"`, "Ticket salvato.")

	// The operator saves the form read before: a conflict.
	r = op.post(path, editForm(1, "Toner finito", "waiting"))
	wantStatus(t, "stale save", r, http.StatusConflict)
	r.has(t, `data-testid="ticket-conflict"`, "modificato da un altro utente",
		`value="Toner finito"`,              // what the operator typed is still there
		`name="version" value="2"`,          // ready to be applied over the current version
		"Stampante guasta al secondo piano") // and the current ticket is shown
	cur, err := e.store.FindTicketByID(ctx, tk.ID, system)
	noErr(t, err)
	if cur.Subject != "Stampante guasta al secondo piano" || cur.Version != 2 {
		t.Fatalf("the stale save wrote: %+v", cur)
	}
	// Saving again applies the operator's values.
	wantStatus(t, "save again", op.post(path, editForm(2, "Toner finito", "waiting")), http.StatusSeeOther)
	cur, err = e.store.FindTicketByID(ctx, tk.ID, system)
	noErr(t, err)
	if cur.Subject != "Toner finito" || cur.Status != tickets.StatusWaiting || cur.Assignee != "op2" || cur.Version != 3 {
		t.Fatalf("after saving again: %+v", cur)
	}
	hist := op.get(path)
	hist.has(t, `data-testid="history-row"`, "Toner finito", ">op2<", ">sup<")

	// Invalid input comes back as a 400 on the same page, nothing lost.
	bad := editForm(3, "Nuovo oggetto", "closed")
	bad.Set("priority", "urgentissimo")
	r = op.post(path, bad)
	wantStatus(t, "bad priority", r, http.StatusBadRequest)
	r.has(t, `value="Nuovo oggetto"`, "urgentissimo")
	bad = editForm(3, "x", "new") // waiting → new is not a transition
	r = op.post(path, bad)
	wantStatus(t, "bad transition", r, http.StatusBadRequest)
	r.has(t, "Un ticket non può passare da «In attesa» a «Nuovo».")
	bad = editForm(3, "x", "closed")
	bad.Set("group", "nowhere")
	wantStatus(t, "unknown group", op.post(path, bad), http.StatusBadRequest)
	wantStatus(t, "no version", op.post(path, url.Values{"subject": {"x"}}), http.StatusBadRequest)
	wantStatus(t, "not a ticket id", op.get("/tickets/abc"), http.StatusNotFound)
}

// TestTicketArticles: public messages and internal notes are told apart
// everywhere they show.
func TestTicketArticles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tk := e.openTicket("lotto2", "+390612345678", "PEC")
	op := e.login("op2")
	path := fmt.Sprintf("/tickets/%d/articles", tk.ID)
	wantStatus(t, "note", op.post(path, url.Values{"kind": {"internal"}, "body": {"Richiamare dopo le 15"}}), http.StatusSeeOther)
	wantStatus(t, "message", op.post(path, url.Values{"kind": {"public"}, "body": {"Abbiamo riavviato il servizio"}}), http.StatusSeeOther)
	wantStatus(t, "no kind", op.post(path, url.Values{"body": {"?"}}), http.StatusBadRequest)
	wantStatus(t, "empty", op.post(path, url.Values{"kind": {"public"}, "body": {"  "}}), http.StatusBadRequest)
	r := op.get(fmt.Sprintf("/tickets/%d", tk.ID))
	note := regexp.MustCompile(`(?s)data-testid="article-internal-note">.*?Nota interna.*?Richiamare dopo le 15`)
	msg := regexp.MustCompile(`(?s)data-testid="article-public-message">.*?Messaggio pubblico.*?Abbiamo riavviato il servizio`)
	if !note.MatchString(r.body) || !msg.MatchString(r.body) {
		t.Fatalf("articles not told apart:\n%s", r.body)
	}
	arts, err := e.store.Articles(ctx, tk.ID, tickets.Viewer{Kind: tickets.ViewerCallerOwn, Caller: "+390612345678"})
	noErr(t, err)
	if len(arts) != 1 || arts[0].Internal {
		t.Fatalf("the caller sees %+v", arts)
	}
}

// TestTicketList: filters, search, counts and pages.
func TestTicketList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 55 {
		e.clk.Advance(time.Minute)
		_, tk := e.openTicket("lotto2", fmt.Sprintf("+39061234%04d", i), fmt.Sprintf("Richiesta numero %d", i))
		if i%5 == 0 {
			_, err := e.store.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: 1, Status: ptr(tickets.StatusInProgress),
				Priority: ptr(tickets.PriorityCritical), Assignee: ptr("op2")}, ivrActor)
			noErr(t, err)
		}
	}
	_, other := e.openTicket("lotto3", "+390699990001", "Scanner rotto")
	op, sup := e.login("op2"), e.login("sup")

	r := op.get("/tickets")
	r.has(t, `ticket-count">55 ticket<`)
	if n := strings.Count(r.body, `data-testid="ticket-row"`); n != 50 {
		t.Fatalf("%d rows on the first page, want 50", n)
	}
	next := regexp.MustCompile(`href="(/tickets\?[^"]*after=[^"]+)"`).FindStringSubmatch(r.body)
	if next == nil {
		t.Fatal("no next page link")
	}
	r2 := op.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	if n := strings.Count(r2.body, `data-testid="ticket-row"`); n != 5 {
		t.Fatalf("%d rows on the second page, want 5", n)
	}
	r2.has(t, "Richiesta numero 0<", `data-testid="page-first"`)
	r2.hasNot(t, `data-testid="page-next"`)

	r = op.get("/tickets?status=in_progress&priority=critical")
	r.has(t, `ticket-count">11 ticket<`)
	r = op.get("/tickets?assignee=me&status=in_progress")
	r.has(t, `ticket-count">11 ticket<`)
	r = op.get("/tickets?q=numero+42")
	r.has(t, `ticket-count">1 ticket<`, "Richiesta numero 42")
	r = op.get("/tickets?caller=%2B390612340007")
	r.has(t, `ticket-count">1 ticket<`, "Richiesta numero 7")
	// The operator's search never reaches another group.
	op.get("/tickets?q=scanner").has(t, `ticket-count">0 ticket<`)
	op.get("/tickets?group=lotto3").has(t, `ticket-count">0 ticket<`)
	sup.get("/tickets?q=scanner").has(t, `ticket-count">1 ticket<`, string(other.Number))
	sup.get("/tickets?from=2025-11-24&to=2025-11-24").has(t, `ticket-count">56 ticket<`)
	sup.get("/tickets?from=2025-11-25").has(t, `ticket-count">0 ticket<`)
	// A ticket number in the search box opens the ticket, for whoever
	// may see it; to the others it is a text search finding nothing.
	r = sup.get("/tickets?q=" + url.QueryEscape(string(other.Number)))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != fmt.Sprintf("/tickets/%d", other.ID) {
		t.Fatalf("search by number: %d %s", r.status, r.header.Get("Location"))
	}
	op.get("/tickets?q="+url.QueryEscape(string(other.Number))).has(t, `ticket-count">0 ticket<`)
	wantStatus(t, "bad date", sup.get("/tickets?from=24/11/2025"), http.StatusBadRequest)
	wantStatus(t, "bad status", sup.get("/tickets?status=lost"), http.StatusBadRequest)
	wantStatus(t, "bad cursor", sup.get("/tickets?after=zzz"), http.StatusBadRequest)
}

// TestRecording: an after-hours recording plays through the controller
// after the authorization check; nothing else is served.
func TestRecording(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tk := e.openTicket("lotto2", "+390612345678", "Messaggio fuori orario")
	rec, err := e.store.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: "richiesta.wav", URI: "ari:recording:after-hours-42",
		ContentType: "audio/wav", Duration: 42 * time.Second}, ivrActor)
	noErr(t, err)
	file, err := e.store.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: "screenshot.png", URI: "https://files.example/x.png",
		ContentType: "image/png"}, ivrActor)
	noErr(t, err)
	gone, err := e.store.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: "lost.wav", URI: "ari:recording:missing"}, ivrActor)
	noErr(t, err)
	op := e.login("op2")
	page := op.get(fmt.Sprintf("/tickets/%d", tk.ID))
	page.has(t, fmt.Sprintf(`<audio controls preload="none" src="/recordings/%d/%d" data-testid="recording-audio">`, tk.ID, rec.ID))
	r := op.get(fmt.Sprintf("/recordings/%d/%d", tk.ID, rec.ID))
	wantStatus(t, "recording", r, http.StatusOK)
	if r.body != "RIFFafter-hours-42" || r.header.Get("Content-Type") != "audio/wav" || !strings.Contains(r.header.Get("Cache-Control"), "no-store") {
		t.Fatalf("recording answer: %q %v", r.body, r.header)
	}
	wantStatus(t, "not a recording", op.get(fmt.Sprintf("/recordings/%d/%d", tk.ID, file.ID)), http.StatusNotFound)
	wantStatus(t, "gone from Asterisk", op.get(fmt.Sprintf("/recordings/%d/%d", tk.ID, gone.ID)), http.StatusNotFound)
	wantStatus(t, "another group", e.login("op3").get(fmt.Sprintf("/recordings/%d/%d", tk.ID, rec.ID)), http.StatusNotFound)
	e.rec.mu.Lock()
	opened := append([]string(nil), e.rec.opened...)
	e.rec.mu.Unlock()
	if strings.Join(opened, ",") != "after-hours-42,missing" {
		t.Fatalf("recordings opened: %v (another group's must not be)", opened)
	}

	// Without a recordings source, nothing plays and the page says so.
	n := newEnv(t, func(o *Options) { o.Recordings = nil })
	_, tk = n.openTicket("lotto2", "+390612345678", "Messaggio")
	rec, err = n.store.AddAttachment(ctx, tk.ID, tickets.Attachment{Name: "r.wav", URI: "ari:recording:r1"}, ivrActor)
	noErr(t, err)
	c := n.login("op2")
	c.get(fmt.Sprintf("/tickets/%d", tk.ID)).has(t, "Registrazione non disponibile")
	wantStatus(t, "no recordings", c.get(fmt.Sprintf("/recordings/%d/%d", tk.ID, rec.ID)), http.StatusNotFound)
}

// TestAfterHours: the open requests left while closed, due soonest first,
// in the user's groups, with their recordings.
func TestAfterHours(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	open := func(group, subject string, due time.Time) tickets.Ticket {
		_, tk, err := e.store.OpenCall(ctx, tickets.NewCall{ChannelID: fmt.Sprintf("ah.%d", channels.Add(1)),
			Caller: "+390612345678", Source: tickets.SourceAfterHours, Group: group, Subject: subject})
		noErr(t, err)
		tk, err = e.store.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, DueAt: &due}, ivrActor)
		noErr(t, err)
		return tk
	}
	late := open("lotto2", "Richiesta di ieri", t0.Add(-time.Hour))
	soon := open("lotto2", "Richiesta di stanotte", t0.Add(3*time.Hour))
	_ = open("lotto3", "Richiesta del lotto 3", t0.Add(time.Hour))
	done := open("lotto2", "Richiesta già chiusa", t0)
	_, err := e.store.UpdateTicket(ctx, done.ID, tickets.TicketUpdate{Version: done.Version, Status: ptr(tickets.StatusClosed)}, ivrActor)
	noErr(t, err)
	e.openTicket("lotto2", "+390612345678", "Chiamata normale")
	_, err = e.store.AddAttachment(ctx, soon.ID, tickets.Attachment{Name: "m.wav", URI: "ari:recording:m1"}, ivrActor)
	noErr(t, err)

	r := e.login("op2").get("/after-hours")
	wantStatus(t, "after hours", r, http.StatusOK)
	if n := strings.Count(r.body, `data-testid="afterhours-row"`); n != 2 {
		t.Fatalf("%d rows, want 2 (open, after hours, lotto2)", n)
	}
	first, second := strings.Index(r.body, string(late.Number)), strings.Index(r.body, string(soon.Number))
	if first < 0 || second < first {
		t.Fatal("not ordered by due time")
	}
	r.has(t, `class="overdue"`, "scaduta", fmt.Sprintf(`src="/recordings/%d/`, soon.ID))
	r.hasNot(t, "Richiesta già chiusa", "Richiesta del lotto 3", "Chiamata normale")
	r = e.login("sup").get("/after-hours")
	if n := strings.Count(r.body, `data-testid="afterhours-row"`); n != 3 {
		t.Fatalf("the supervisor sees %d rows, want 3", n)
	}
}

// TestTicketExternalLink: a ticket linked to an outside system's (the
// Zammad connector) shows its number, state and a link; a ticket without
// one, or whose link cannot be read, shows the page without it.
func TestTicketExternalLink(t *testing.T) {
	t.Parallel()
	var linked atomic.Int64
	e := newEnv(t, func(o *Options) {
		o.ExternalTicket = func(_ context.Context, id int64) (ExternalTicket, bool, error) {
			switch id {
			case linked.Load():
				return ExternalTicket{System: "zammad", Number: "31001", URL: "https://zammad.example/#ticket/zoom/7", State: "open"}, true, nil
			case linked.Load() + 1:
				return ExternalTicket{}, false, errors.New("connection refused")
			}
			return ExternalTicket{}, false, nil
		}
	})
	_, tk := e.openTicket("lotto2", "+390612345678", "Collegato")
	linked.Store(tk.ID)
	_, broken := e.openTicket("lotto2", "+390612345678", "Illeggibile")
	_, plain := e.openTicket("lotto2", "+390612345678", "Da solo")
	if broken.ID != tk.ID+1 {
		t.Fatalf("ticket ids %d, %d: not consecutive", tk.ID, broken.ID)
	}
	op := e.login("op2")
	op.get("/tickets/"+itoa(tk.ID)).has(t, `data-testid="ticket-external"`, `href="https://zammad.example/#ticket/zoom/7"`,
		"zammad 31001", "(open)", `rel="noopener noreferrer"`)
	for _, id := range []int64{broken.ID, plain.ID} {
		r := op.get("/tickets/" + itoa(id))
		wantStatus(t, "ticket page", r, http.StatusOK)
		r.hasNot(t, `data-testid="ticket-external"`)
	}
}

// TestTicketCategoryList: with categories in the configuration, the form
// offers the list in the user's language, a value outside it is refused,
// a ticket's category from before the list stays selectable and is kept
// by a save that does not touch it, and the page names the category.
func TestTicketCategoryList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tk := e.openTicket("lotto2", "+390612345678", "PCT lento")
	path := fmt.Sprintf("/tickets/%d", tk.ID)
	op := e.login("op2")
	page := op.get(path)
	page.has(t, `<select id="t`+itoa(tk.ID)+`-category" name="category"`, `<option value="applicativi/pct">Applicativi › Processo civile telematico</option>`)
	f := formValues(t, page.body)
	f.Set("category", "Stampante del secondo piano")
	r := op.post(path, f)
	wantStatus(t, "free text", r, http.StatusBadRequest)
	r.has(t, "Categoria sconosciuta")
	f.Set("category", "applicativi/pct")
	wantStatus(t, "from the list", op.post(path, f), http.StatusSeeOther)
	op.get(path).has(t, `data-testid="ticket-current-category">Applicativi › Processo civile telematico<`,
		`<option value="applicativi/pct" selected>`)
	cur, err := e.store.FindTicketByID(ctx, tk.ID, system)
	noErr(t, err)
	if cur.Category != "applicativi/pct" {
		t.Fatalf("stored %q", cur.Category)
	}

	// A category from before the list: shown as it is, kept by a save of
	// another field.
	_, old := e.openTicket("lotto2", "+390612345678", "Vecchio")
	legacy := "Stampa (vecchio elenco)"
	old, err = e.store.UpdateTicket(ctx, old.ID, tickets.TicketUpdate{Version: old.Version, Category: &legacy}, ivrActor)
	noErr(t, err)
	opath := fmt.Sprintf("/tickets/%d", old.ID)
	page = op.get(opath)
	page.has(t, `<option value="Stampa (vecchio elenco)" selected>`, `data-testid="ticket-current-category">Stampa (vecchio elenco)<`)
	f = formValues(t, page.body)
	f.Set("priority", "high")
	wantStatus(t, "save keeping the old category", op.post(opath, f), http.StatusSeeOther)
	cur, err = e.store.FindTicketByID(ctx, old.ID, system)
	noErr(t, err)
	if cur.Category != legacy || cur.Priority != tickets.PriorityHigh {
		t.Fatalf("after the save: %q %s", cur.Category, cur.Priority)
	}
	// In English, the English names.
	en := e.login("sup")
	en.post("/lang", url.Values{"lang": {"en"}})
	en.get(path).has(t, "Applications › Electronic civil trial")
}

// TestTicketLanguage: the language the caller was served in is on the
// ticket page, named in the user's language; a ticket without one shows
// no such line.
func TestTicketLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tk := e.openTicket("lotto2", "+441612345678", "Printer")
	noErr(t, e.store.SetTicketLanguage(ctx, tk.ID, "en"))
	op := e.login("op2")
	op.get(fmt.Sprintf("/tickets/%d", tk.ID)).has(t, `data-testid="ticket-language">Inglese<`)
	_, plain := e.openTicket("lotto2", "+390612345678", "Stampante")
	if strings.Contains(op.get(fmt.Sprintf("/tickets/%d", plain.ID)).body, `data-testid="ticket-language"`) {
		t.Fatal("a ticket without a language shows one")
	}
}
