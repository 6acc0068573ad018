package panel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// transport is a mail server that refuses (permanently) or accepts.
type transport struct{ refuse bool }

func (t *transport) Send(context.Context, string, []string, []byte) error {
	if t.refuse {
		return &notify.PermanentError{Err: errors.New("550 5.1.1 mailbox unavailable")}
	}
	return nil
}

// TestOutbox: the administrators' outbox page lists the notices with
// their state, kind, ticket, recipients, attempts and last error; a
// failed one is retried from there and then sent; the ticket's page shows
// its notices and their state. A notice that was never built cannot be
// retried as it is.
func TestOutbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg, err := helpdesk()
	noErr(t, err)
	ncfg := notify.Config{From: "Help Desk <helpdesk@example.org>"}
	n, err := notify.NewNotifier(ncfg, notify.MenuDirectory(func() *menu.Config { return cfg }), rome, slog.New(slog.DiscardHandler))
	noErr(t, err)
	// The ticket is opened through a store with the notifier's hook, as
	// in ivrd: the "created" notice to the Administration is in the outbox.
	hooked := tickets.New(e.pool, tickets.Options{Location: rome, Now: e.clk.Now, Hook: n.Hook, HookOnCreate: n.WantsCreated})
	_, tk, err := hooked.OpenCall(ctx, tickets.NewCall{ChannelID: "1795320990.outbox", Caller: "+390612345678",
		Subject: "PEC bloccata", Group: "lotto3", Organization: "tribunale-roma-demo", CallerRole: tickets.CallerReferent})
	noErr(t, err)
	// Another notice that could not be built, stored as failed with its
	// reason (as package notify stores them).
	_, err = e.pool.Exec(ctx, `INSERT INTO notify_outbox (message_id, kind, ticket_id, recipients, message, created_at,
		next_attempt_at, attempts, last_error, failed_at) VALUES ('<unbuilt@example.org>', 'status', $1, '{}', '', $2, $2, 0,
		'build status notice: from: mail: no address', $2)`, tk.ID, e.clk.Now())
	noErr(t, err)

	mailer := &transport{refuse: true}
	sender, err := notify.NewSender(e.pool, ncfg, mailer, notify.SenderOptions{Now: e.clk.Now})
	noErr(t, err)
	if _, err := sender.SendPending(ctx); err != nil {
		t.Fatal(err)
	}

	adm := e.login("adm")
	page := adm.get("/admin/outbox")
	wantStatus(t, "outbox", page, http.StatusOK)
	page.has(t, `data-testid="outbox-table"`, "Apertura del ticket", "referente.it@tribunale-roma.example",
		"550 5.1.1 mailbox unavailable", "Non inviato", "build status notice: from: mail: no address",
		fmt.Sprintf(`href="/tickets/%d"`, tk.ID))
	rows := regexp.MustCompile(`data-testid="outbox-row" data-id="(\d+)" data-status="failed"`).FindAllStringSubmatch(page.body, -1)
	if len(rows) != 2 {
		t.Fatalf("%d failed rows, want 2:\n%s", len(rows), page.body)
	}
	// Only the built one has a retry button.
	if c := regexp.MustCompile(`data-testid="outbox-retry"`).FindAllString(page.body, -1); len(c) != 1 {
		t.Fatalf("%d retry buttons, want 1", len(c))
	}
	var created, unbuilt string
	noErr(t, e.pool.QueryRow(ctx, `SELECT (SELECT id::text FROM notify_outbox WHERE kind = 'created'),
		(SELECT id::text FROM notify_outbox WHERE kind = 'status')`).Scan(&created, &unbuilt))
	adm.get("/admin/outbox?status=sent").hasNot(t, `data-testid="outbox-row"`)
	wantStatus(t, "bad filter", adm.get("/admin/outbox?status=zzz"), http.StatusBadRequest)

	// The ticket's page shows its notices and their state, to whoever may
	// see the ticket.
	sup := e.login("sup")
	tp := sup.get(fmt.Sprintf("/tickets/%d", tk.ID))
	tp.has(t, `data-testid="ticket-notices"`, "Apertura del ticket", `data-status="failed"`, "550 5.1.1 mailbox unavailable")

	// Only administrators see the outbox and retry.
	wantStatus(t, "supervisor's outbox", sup.get("/admin/outbox"), http.StatusForbidden)
	sup.refreshToken()
	wantStatus(t, "supervisor's retry", sup.post("/admin/outbox/"+created+"/retry", nil), http.StatusForbidden)
	// Never built: not retried as it is.
	wantStatus(t, "retry unbuilt", adm.post("/admin/outbox/"+unbuilt+"/retry", nil), http.StatusConflict)
	wantStatus(t, "retry nothing", adm.post("/admin/outbox/999999/retry", nil), http.StatusNotFound)

	r := adm.post("/admin/outbox/"+created+"/retry", url.Values{})
	wantStatus(t, "retry", r, http.StatusSeeOther)
	if loc := r.header.Get("Location"); loc != "/admin/outbox?msg=retried" {
		t.Fatalf("retry went to %q", loc)
	}
	adm.get("/admin/outbox?msg=retried").has(t, "Il messaggio sarà inviato di nuovo.",
		`data-id="`+created+`" data-status="pending"`)
	wantStatus(t, "retry again", adm.post("/admin/outbox/"+created+"/retry", nil), http.StatusNotFound)
	mailer.refuse = false
	if sent, err := sender.SendPending(ctx); err != nil || sent != 1 {
		t.Fatalf("send after the retry: %d sent, %v", sent, err)
	}
	adm.get("/admin/outbox").has(t, `data-id="`+created+`" data-status="sent"`)
	sup.get(fmt.Sprintf("/tickets/%d", tk.ID)).has(t, `data-status="sent"`, "Inviato")
}
