package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
)

// liveRow is a call's row on /live.
var liveRow = regexp.MustCompile(`(?s)<tr data-testid="live-call" data-call="[^"]*">(.*?)</tr>`)

// The demo's test phone asks for a callback and is called back, in real
// headless Chromium against the whole demo server: the caller waits in
// Lotto 4 (op401 on a break), presses 2 and 1 (this number), hangs up;
// op401 comes back, the console shows the callback with its ticket and
// op401 takes it; the test phone rings, the caller answers and talks to
// op401, then hangs up. The ticket's history has the callback.
func TestBrowserCallback(t *testing.T) {
	base := startDemoServer(t, monday10)
	logIn(t, base, "op401").pause()

	sup, op := browsertest.New(t), browsertest.New(t)
	browserLogIn(t, sup, base, "supervisore")
	browserLogIn(t, op, base, "op401")
	// op401's console is open: the phone rings there until answered.
	browsertest.Run(t, op, "console", chromedp.Navigate(base+"/console"),
		waitAttr(`[data-testid="operator-state"]`, "data-state", "paused"))

	ticket := phoneCall(t, sup, base, "3339876543", "1", "4")
	browsertest.Run(t, sup, "queued in lotto4, callback offered", waitContains("#tp-transcript", "queued"),
		waitContains("#tp-transcript", "system:callback_offer"))
	browsertest.Run(t, sup, "ask for a callback", chromedp.Click("#tp-key-2"),
		waitContains("#tp-transcript", "system:callback_choose"))
	browsertest.Run(t, sup, "on this number", chromedp.Click("#tp-key-1"),
		waitContains("#tp-transcript", "result=requested"),
		waitContains("#tp-transcript", "outcome=callback_requested"))
	// The call is over, the page waits for the phone to ring.
	browsertest.Run(t, sup, "waiting for the callback", waitText("#tp-status", "Richiamata prenotata: resta su questa pagina, il telefono squillerà al tuo turno."))
	var disabled bool
	browsertest.Run(t, sup, "keys off while waiting", chromedp.Evaluate(`document.querySelector("#tp-key-1").disabled`, &disabled))
	if !disabled {
		t.Error("the keypad is live while the caller waits to be called back")
	}

	// op401 comes back: the callback is theirs, shown before anything rings
	// the caller.
	// (The click reloads the page: wait with selectors, which outlive the
	// navigation, not with a script.)
	browsertest.Run(t, op, "back from the break", chromedp.Click(`[data-testid="state-available"]`),
		chromedp.WaitVisible(`[data-testid="operator-state"][data-state="offered"]`),
		chromedp.WaitVisible(`[data-testid="call-callback"]`),
		waitText(`[data-testid="call-ticket-link"]`, ticket))
	browsertest.Screenshot(t, op, "console-callback")
	browsertest.Run(t, op, "take the callback", chromedp.Click(`[data-testid="phone-answer"]`),
		chromedp.WaitVisible(`[data-testid="phone-hangup"]`))

	// The test phone rings: the caller answers and meets op401.
	browsertest.Run(t, sup, "the phone rings", waitContains("#tp-transcript", "result=calling"),
		chromedp.WaitVisible("#tp-answer"), waitText("#tp-status", "Il servizio di assistenza ti sta richiamando…"))
	browsertest.Screenshot(t, sup, "testphone-callback-ringing")
	browsertest.Run(t, sup, "answer", chromedp.Click("#tp-answer"),
		waitContains("#tp-transcript", "result=answered"),
		// (the controller's answered event, with the ticket: the caller
		// heard who calls and is in the bridge with op401)
		waitContains("#tp-transcript", "answered group=lotto4 operator=op401 ticket="+ticket))
	browsertest.Run(t, sup, "keys on in the conversation", chromedp.Evaluate(`document.querySelector("#tp-key-1").disabled`, &disabled))
	if disabled {
		t.Error("the keypad is off during the callback's conversation")
	}
	// On /live the callback's conversation is the test call's: marked so.
	admin := logIn(t, base, "admin")
	eventually(t, 20*time.Second, func() string {
		_, live := admin.get("/live")
		for _, m := range liveRow.FindAllStringSubmatch(live, -1) {
			if strings.Contains(m[1], "op401") {
				if !strings.Contains(m[1], `data-testid="live-test"`) {
					return "the callback's conversation on /live is not marked as a test call: " + m[1]
				}
				return ""
			}
		}
		return "the callback's conversation with op401 is not on /live"
	})
	browsertest.Run(t, sup, "hang up", chromedp.Click("#tp-hangup"), waitText("#tp-status", "Chiamata terminata"))

	// The ticket, found by its number, is op401's now.
	var history string
	browsertest.Run(t, sup, "find the ticket", chromedp.Navigate(base+"/tickets"),
		chromedp.WaitVisible(`[data-testid="filter-text"]`),
		chromedp.SendKeys(`[data-testid="filter-text"]`, ticket), chromedp.Click(`[data-testid="filter-submit"]`),
		chromedp.WaitVisible(`[data-testid="ticket-number"]`))
	browsertest.Run(t, sup, "its history", waitText(`[data-testid="ticket-number"]`, ticket),
		chromedp.Text(`[data-testid="history"]`, &history))
	browsertest.Screenshot(t, sup, "ticket-callback")
	if !strings.Contains(history, "op401") {
		t.Errorf("the ticket's history does not name op401:\n%s", history)
	}
}
