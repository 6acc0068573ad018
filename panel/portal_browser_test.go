package panel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
	"github.com/helpdesk-ivr/ivr/internal/smtptest"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestBrowserPortal: in real Chromium, an administrator invites a contact
// from the panel; the invited person follows the mailed link, sets a
// password and is in; opens a ticket with a file, writes a message with
// another, logs out and in again, finds the ticket in the list, and reads
// the help desk's public answer but never its internal note.
func TestBrowserPortal(t *testing.T) {
	t.Parallel()
	e := newPortalEnv(t)
	e.addContact(orgA, "Nina Nuova", PortalUser, "nina@tribunale.example")
	sink := smtptest.Start(t)
	cfg := notify.Config{From: "Help desk <helpdesk@example.org>", SMTP: notify.SMTPConfig{Host: sink.Host(), Port: sink.Port(), TLS: notify.TLSNone}}
	sender, err := notify.NewSender(e.pool, cfg, notify.NewSMTP(cfg.SMTP, nil), notify.SenderOptions{Now: e.clk.Now})
	noErr(t, err)

	adm := browsertest.New(t)
	browserLogin(t, adm, e.ts.URL, "adm", "/wallboard")
	browsertest.Run(t, adm, "invite",
		chromedp.Click(`[data-testid="nav-invitations"]`),
		chromedp.WaitVisible(`[data-testid="invite-form"]`),
		chromedp.SendKeys(`[data-testid="invite-contact"]`, "nina@tribunale.example"),
		chromedp.Click(`[data-testid="invite-submit"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		chromedp.WaitVisible(`[data-testid="invitation-row"][data-state="pending"]`))
	browsertest.Screenshot(t, adm, "portal-invited")
	if n, err := sender.SendPending(ctx); err != nil || n != 1 {
		t.Fatalf("sent %d, %v", n, err)
	}
	link := regexpFind(t, sink.Messages()[0].Body, `(http://\S+/portal/accept\?token=\S+)`)

	dir := t.TempDir()
	pdf, png := filepath.Join(dir, "modulo.pdf"), filepath.Join(dir, "schermata.png")
	noErr(t, os.WriteFile(pdf, []byte("%PDF-1.4 modulo"), 0o644))
	noErr(t, os.WriteFile(png, []byte("\x89PNG\r\n\x1a\nschermata"), 0o644))

	b := browsertest.New(t)
	var who string
	browsertest.Run(t, b, "accept the invitation",
		chromedp.Navigate(link),
		chromedp.WaitVisible(`[data-testid="portal-accept-form"]`),
		chromedp.SendKeys(`[data-testid="portal-accept-password"]`, "la mia password"),
		chromedp.SendKeys(`[data-testid="portal-accept-password2"]`, "la mia password"),
		chromedp.Click(`[data-testid="portal-accept-submit"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		chromedp.Text(`[data-testid="portal-user"]`, &who))
	if !strings.Contains(who, "Nina Nuova") {
		t.Fatalf("logged in as %q", who)
	}
	browsertest.Screenshot(t, b, "portal-welcome")

	var number, status string
	browsertest.Run(t, b, "open a ticket",
		chromedp.Click(`[data-testid="portal-nav-new"]`),
		chromedp.WaitVisible(`[data-testid="portal-new-form"]`),
		chromedp.SendKeys(`[data-testid="portal-new-subject"]`, "Modulo non si apre"),
		chromedp.SendKeys(`[data-testid="portal-new-description"]`, "Il modulo allegato dà errore."),
		chromedp.SetUploadFiles(`[data-testid="portal-new-form"] [data-testid="portal-files"]`, []string{pdf}),
		chromedp.Click(`[data-testid="portal-new-submit"]`),
		chromedp.WaitVisible(`[data-testid="portal-ticket"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		chromedp.Text(`[data-testid="ticket-number"]`, &number),
		chromedp.AttributeValue(`[data-testid="ticket-current-status"]`, "data-status", &status, nil),
		chromedp.WaitVisible(`//a[@data-testid="portal-attachment-download"][text()="modulo.pdf"]`))
	if _, err := tickets.ParseNumber(strings.TrimSpace(number)); err != nil || status != "new" {
		t.Fatalf("opened %q in status %q", number, status)
	}
	browsertest.Screenshot(t, b, "portal-ticket-opened")
	tk, err := e.store.FindTicketByNumber(ctx, tickets.Number(strings.TrimSpace(number)), tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	staff := tickets.Actor{Kind: tickets.ActorOperator, ID: "op3"}
	_, err = e.store.AddArticle(ctx, tk.ID, tickets.Article{Internal: true, Body: "NOTA INTERNA: utente insistente"}, staff)
	noErr(t, err)
	_, err = e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "Provi con il modulo aggiornato."}, staff)
	noErr(t, err)

	var messages []string
	browsertest.Run(t, b, "write a message with a file",
		chromedp.Reload(),
		chromedp.WaitVisible(`[data-testid="portal-message-form"]`),
		chromedp.SendKeys(`[data-testid="portal-message-body"]`, "Anche il nuovo modulo dà errore."),
		chromedp.SetUploadFiles(`[data-testid="portal-message-form"] [data-testid="portal-files"]`, []string{png}),
		chromedp.Click(`[data-testid="portal-message-submit"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		chromedp.WaitVisible(`//a[@data-testid="portal-attachment-download"][text()="schermata.png"]`),
		chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="article-public-message"]')].map(a => a.innerText)`, &messages))
	text := strings.Join(messages, "\n")
	if len(messages) != 2 || !strings.Contains(messages[0], "Provi con il modulo aggiornato.") ||
		!strings.Contains(messages[0], "Help desk") /* the browser's language, English, at the acceptance */ || !strings.Contains(messages[1], "Anche il nuovo modulo dà errore.") ||
		!strings.Contains(messages[1], "Nina Nuova") {
		t.Fatalf("the messages read %q", messages)
	}
	var internal int
	var body string
	browsertest.Run(t, b, "no internal note",
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="article-internal-note"]').length`, &internal),
		chromedp.Evaluate(`document.body.innerText`, &body))
	if internal != 0 || strings.Contains(body, "NOTA INTERNA") || strings.Contains(text, "op3") {
		t.Fatalf("the portal shows the internal note or a staff login:\n%s", body)
	}
	browsertest.Screenshot(t, b, "portal-ticket-message")

	var rows []string
	browsertest.Run(t, b, "log out and in, the list",
		chromedp.Click(`[data-testid="portal-logout"]`),
		chromedp.WaitVisible(`[data-testid="portal-login-form"]`),
		chromedp.SendKeys(`[data-testid="portal-login-email"]`, "nina@tribunale.example"),
		chromedp.SendKeys(`[data-testid="portal-login-password"]`, "la mia password"),
		chromedp.Click(`[data-testid="portal-login-submit"]`),
		chromedp.WaitVisible(`[data-testid="portal-tickets"]`),
		chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="portal-ticket-row"]')].map(r => r.dataset.number)`, &rows))
	if len(rows) != 1 || rows[0] != strings.TrimSpace(number) {
		t.Fatalf("the list shows %v, want %s", rows, number)
	}
	browsertest.Screenshot(t, b, "portal-list")
	browsertest.Run(t, b, "open it from the list",
		chromedp.Click(`[data-testid="portal-ticket-link"]`),
		chromedp.WaitVisible(`[data-testid="portal-ticket"]`))
}
