package panel

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestBrowserContacts: in real Chromium, a supervisor adds a contact and
// imports a CSV file (the dry run lists the wrong line, the right file is
// then confirmed); a call from the contact's number pops up on an
// operator's console with the contact, who changes it to an imported one
// and then adds a new person inline; the ticket's history names them, and
// the operator's directory is read-only.
func TestBrowserContacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sup := browsertest.New(t)
	browserLogin(t, sup, e.ts.URL, "sup", "/wallboard")
	var phones string
	browsertest.Run(t, sup, "add a contact",
		chromedp.Click(`[data-testid="nav-contacts"]`),
		chromedp.WaitVisible(`[data-testid="contacts-table"]`),
		chromedp.Click(`[data-testid="contact-new"]`),
		chromedp.WaitVisible(`[data-testid="contact-form"]`),
		chromedp.SetValue(`[data-testid="contact-org"]`, "tribunale-roma-demo"),
		chromedp.SendKeys(`[data-testid="contact-name-input"]`, "Anna Bianchi"),
		chromedp.SetValue(`[data-testid="contact-role"]`, "referent"),
		chromedp.SendKeys(`[data-testid="contact-email-input"]`, "anna@tribunale.example"),
		chromedp.SendKeys(`[data-testid="contact-phones-input"]`, "06 1234 5678"),
		chromedp.Click(`[data-testid="contact-submit"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		chromedp.Text(`[data-testid="contact-row"] [data-testid="contact-phones"]`, &phones))
	if strings.TrimSpace(phones) != "+390612345678" {
		t.Fatalf("the list shows phones %q", phones)
	}
	browsertest.Screenshot(t, sup, "contacts-list")

	bad := "organization,name,role,email,phones\n" +
		"tribunale-roma-demo,Carla Rossi,user,carla@tribunale.example,06 5555 0001\n" +
		"tribunale-roma-demo,Dario,capo,dario@tribunale.example,\n"
	var lines []string
	browsertest.Run(t, sup, "dry run of a wrong file",
		chromedp.Navigate(e.ts.URL+"/contacts"),
		chromedp.Click(`[data-testid="contact-import"]`),
		chromedp.WaitVisible(`[data-testid="import-form"]`),
		chromedp.SetValue(`[data-testid="import-text"]`, bad),
		chromedp.Click(`[data-testid="import-check"]`),
		chromedp.WaitVisible(`[data-testid="import-errors"]`),
		chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="import-error-line"]')].map(c => c.textContent)`, &lines))
	if strings.Join(lines, ",") != "3" {
		t.Fatalf("the dry run lists lines %v, want 3", lines)
	}
	browsertest.Screenshot(t, sup, "contacts-import-errors")
	good := strings.Replace(bad, "capo", "user", 1)
	var done string
	browsertest.Run(t, sup, "dry run of the right file, then confirm",
		chromedp.SetValue(`[data-testid="import-text"]`, good),
		chromedp.Click(`[data-testid="import-check"]`),
		chromedp.WaitVisible(`[data-testid="import-preview"]`),
		chromedp.Click(`[data-testid="import-confirm"]`),
		chromedp.WaitVisible(`[data-testid="import-done"]`),
		chromedp.Text(`[data-testid="import-done"]`, &done))
	if !strings.Contains(done, "2 contatti aggiunti") {
		t.Fatalf("the import says %q", done)
	}
	carla, err := e.store.FindContactByEmail(ctx, "carla@tribunale.example")
	noErr(t, err)

	// Anna calls; op2 answers.
	const callID = "1795320990.901"
	_, tk, err := e.store.OpenCall(ctx, tickets.NewCall{ChannelID: callID, Caller: "+390612345678",
		Organization: "tribunale-roma-demo", Group: "lotto2", Subject: "PEC"})
	noErr(t, err)
	e.putOnCall("op2", "lotto2", callID)
	op := browsertest.New(t)
	browserLogin(t, op, e.ts.URL, "op2", "/console")
	// The console's call box is replaced whenever the call or its ticket
	// changes (its event stream): read it and act on it in one script
	// each, never across a replacement.
	shows := func(name string) chromedp.Action {
		return chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector('[data-testid="ticket-contact-name"]');
			return !!e && e.textContent.trim() === %q; })()`, name), nil, chromedp.WithPollingTimeout(20*time.Second))
	}
	var email string
	browsertest.Run(t, op, "the console shows the caller's contact",
		shows("Anna Bianchi"),
		chromedp.Evaluate(`document.querySelector('[data-testid="ticket-contact-email"]').textContent.trim()`, &email))
	if email != "anna@tribunale.example" {
		t.Fatalf("the console shows Anna's address as %q", email)
	}
	browsertest.Screenshot(t, op, "console-contact")
	browsertest.Run(t, op, "pick another contact on the console",
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector('[data-testid="ticket-contact-select"]').value = "%d";
			document.querySelector('[data-testid="ticket-contact-set"]').click(); true`, carla.ID), nil),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		shows("Carla Rossi"))

	// On the ticket's page (no event stream), a new person typed in.
	var name string
	browsertest.Run(t, op, "add a new person inline",
		chromedp.Navigate(fmt.Sprintf("%s/tickets/%d", e.ts.URL, tk.ID)),
		chromedp.WaitVisible(`[data-testid="ticket-contact-name"]`),
		chromedp.Click(`[data-testid="ticket-contact-add"] summary`),
		chromedp.WaitVisible(`[data-testid="ticket-contact-new-name"]`),
		chromedp.SendKeys(`[data-testid="ticket-contact-new-name"]`, "Luca Verdi"),
		chromedp.SendKeys(`[data-testid="ticket-contact-new-email"]`, "luca@tribunale.example"),
		chromedp.Click(`[data-testid="ticket-contact-new-submit"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		chromedp.Text(`[data-testid="ticket-contact-name"]`, &name))
	if strings.TrimSpace(name) != "Luca Verdi" {
		t.Fatalf("after the addition the ticket shows %q", name)
	}
	browsertest.Screenshot(t, op, "ticket-contact")
	browsertest.Run(t, op, "the console follows", chromedp.Navigate(e.ts.URL+"/console"), shows("Luca Verdi"))
	var history []string
	var canAdd bool
	browsertest.Run(t, op, "the ticket's history, the read-only directory",
		chromedp.Navigate(fmt.Sprintf("%s/tickets/%d", e.ts.URL, tk.ID)),
		chromedp.WaitVisible(`[data-testid="history-row"]`),
		chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="history-row"]')].map(r => r.textContent).filter(t => t.includes('Contatto')).map(t => t.replace(/\s+/g, ' ').trim())`, &history),
		chromedp.Navigate(e.ts.URL+"/contacts"),
		chromedp.WaitVisible(`[data-testid="contacts-table"]`),
		chromedp.Evaluate(`!!document.querySelector('[data-testid="contact-new"], [data-testid="contact-edit"], [data-testid="contact-import"]')`, &canAdd))
	if len(history) != 2 || !strings.Contains(history[0], "Anna Bianchi") || !strings.Contains(history[0], "Carla Rossi") ||
		!strings.Contains(history[1], "Luca Verdi") || !strings.Contains(history[1], "op2") {
		t.Fatalf("history of the contact: %q", history)
	}
	if canAdd {
		t.Fatal("an operator's directory offers edits")
	}
}
