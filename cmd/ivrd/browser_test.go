package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
)

// The panel in a real headless Chromium against the whole demo server
// (the ARI simulator in-process, PostgreSQL): a supervisor calls from the
// test phone, the call shows live on the wallboard and pops its ticket in
// the operator's console, where the operator answers it, edits the ticket
// and hangs up; a second
// caller leaves a message from the queue and the supervisor plays it;
// the language switches to English. Screenshots go to artifacts/.
func TestBrowser(t *testing.T) {
	base := startDemoServer(t, monday10)
	logIn(t, base, "op202").pause() // Lotto 2's first call is op201's
	logIn(t, base, "op401").pause() // Lotto 4's callers wait: nobody free

	// Three browsers (a background tab would be throttled): the
	// supervisor's desk, the wall display and op201's desk.
	sup, wall, op := browsertest.New(t), browsertest.New(t), browsertest.New(t)
	browserLogIn(t, sup, base, "supervisore")
	browserLogIn(t, wall, base, "supervisore")
	browserLogIn(t, op, base, "op201")

	browsertest.Run(t, op, "console", chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible(`[data-testid="no-call"]`), waitAttr(`[data-testid="operator-state"]`, "data-state", "available"))
	browsertest.Run(t, wall, "wallboard", chromedp.Navigate(base+"/wallboard"),
		chromedp.WaitVisible(`[data-testid="wb-row-lotto2"]`), waitText(`[data-testid="wb-row-lotto2"] [data-testid="wb-busy"]`, "0"))
	browsertest.Screenshot(t, wall, "wallboard-idle")

	// The first call, from the test phone page, to Lotto 2.
	ticket := phoneCall(t, sup, base, "3331234567", "1", "2")
	// op201 has the console open: the phone rings there until answered.
	browsertest.Run(t, op, "op201's phone rings", waitAttr(`[data-testid="operator-state"]`, "data-state", "offered"),
		chromedp.Click(`[data-testid="phone-answer"]`), chromedp.WaitVisible(`[data-testid="phone-hangup"]`))
	browsertest.Run(t, sup, "answered by op201", waitContains("#tp-transcript", "operator=op201"),
		waitContains("#tp-transcript", "answered"))
	browsertest.Screenshot(t, sup, "testphone-call")

	// Live on the wallboard (no reload: Server-Sent Events), and popped in
	// op201's console with its ticket.
	browsertest.Run(t, wall, "wallboard shows the call", waitText(`[data-testid="wb-row-lotto2"] [data-testid="wb-busy"]`, "1"))
	browsertest.Screenshot(t, wall, "wallboard-call")
	var ticketPath string
	var ok bool
	browsertest.Run(t, op, "console pops the ticket", waitText(`[data-testid="call-ticket-link"]`, ticket),
		chromedp.AttributeValue(`[data-testid="call-ticket-link"]`, "href", &ticketPath, &ok),
		waitText(`[data-testid="call-caller"]`, "+393331234567"),
		waitContains(`[data-testid="call-menu-path"]`, "Lotto 2"))
	browsertest.Screenshot(t, op, "console-call")

	// op201 edits the ticket in the console.
	browsertest.Run(t, op, "edit the ticket", chromedp.SetValue(`#console-call [data-testid="ticket-subject"]`, "Stampante di rete guasta"),
		chromedp.SetValue(`#console-call [data-testid="ticket-category"]`, "postazione"),
		chromedp.SetValue(`#console-call [data-testid="ticket-priority"]`, "high"),
		chromedp.Click(`#console-call [data-testid="ticket-save"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`))
	browsertest.Run(t, sup, "the edit in the ticket", chromedp.Navigate(base+ticketPath),
		waitValue(`[data-testid="ticket-subject"]`, "Stampante di rete guasta"),
		waitValue(`[data-testid="ticket-category"]`, "postazione"),
		waitValue(`[data-testid="ticket-priority"]`, "high"),
		waitContains(`[data-testid="history"]`, "op201"))
	browsertest.Screenshot(t, sup, "ticket-edited")
	// op201 ends the call from the console and goes into wrap-up.
	// (The click reloads the page: wait with a selector, which outlives
	// the navigation, not with a script.)
	browsertest.Run(t, op, "hang up", chromedp.Click(`[data-testid="phone-hangup"]`),
		chromedp.WaitVisible(`[data-testid="operator-state"][data-state="wrap_up"]`))

	// The second caller waits in Lotto 4 (op401 on a break), presses * and
	// leaves a message; the supervisor plays it in the ticket.
	browsertest.Run(t, sup, "back to the phone", chromedp.Navigate(base+"/testphone"), chromedp.WaitVisible("#tp-call"))
	ticket2 := phoneCall(t, sup, base, "3339876543", "1", "4")
	browsertest.Run(t, sup, "queued in lotto4", waitContains("#tp-transcript", "queued"))
	browsertest.Run(t, sup, "leave a message", chromedp.Click("#tp-key-star"), waitContains("#tp-transcript", "recording"))
	browsertest.Run(t, sup, "message saved", waitContains("#tp-transcript", "message group=lotto4"))
	browsertest.Screenshot(t, sup, "testphone-message")
	// The ticket number typed in the search box opens the ticket.
	browsertest.Run(t, sup, "find the ticket", chromedp.Navigate(base+"/tickets"),
		chromedp.WaitVisible(`[data-testid="filter-text"]`),
		chromedp.SendKeys(`[data-testid="filter-text"]`, ticket2), chromedp.Click(`[data-testid="filter-submit"]`),
		chromedp.WaitVisible(`[data-testid="recording-audio"]`),
		waitText(`[data-testid="ticket-number"]`, ticket2))
	var played string
	browsertest.Run(t, sup, "play the recording", chromedp.Evaluate(`(() => {
		const a = document.querySelector('[data-testid="recording-audio"]');
		a.muted = true;
		a.addEventListener("error", () => { a.dataset.failed = String(a.error && a.error.code); });
		a.play().catch(e => { a.dataset.failed = String(e); });
	})()`, nil), chromedp.Poll(`(() => {
		const a = document.querySelector('[data-testid="recording-audio"]');
		if (a.dataset.failed) return "failed: " + a.dataset.failed;
		return a.currentTime > 0 && a.duration > 0 ? "playing " + a.duration : false;
	})()`, &played, chromedp.WithPollingTimeout(20*time.Second)))
	if !strings.HasPrefix(played, "playing") {
		t.Fatalf("the recording did not play: %s", played)
	}
	if d, _ := strconv.ParseFloat(strings.TrimPrefix(played, "playing "), 64); d < 5 {
		t.Errorf("the recording lasts %.1f s; the caller spoke for 10 s", d)
	}
	browsertest.Screenshot(t, sup, "ticket-recording")

	// English, chosen by the user, on every page from now on.
	var lang, nav string
	// Choosing the language submits the form (panel.js); the button is for
	// browsers without JavaScript.
	browsertest.Run(t, sup, "switch to English", chromedp.SetValue(`#lang-select`, "en"),
		chromedp.WaitReady(`html[lang="en"]`), chromedp.WaitVisible(`[data-testid="ticket-number"]`))
	browsertest.Run(t, sup, "wallboard in English", chromedp.Navigate(base+"/wallboard"), chromedp.WaitVisible(`[data-testid="wb-row-lotto2"]`),
		chromedp.AttributeValue("html", "lang", &lang, &ok), chromedp.Text(`[data-testid="nav-tickets"]`, &nav))
	if lang != "en" || nav != "Tickets" {
		t.Errorf("after switching to English: lang %q, nav %q", lang, nav)
	}
	browsertest.Screenshot(t, sup, "wallboard-en")
	for _, page := range []string{"live", "after-hours", "reports", "tickets"} {
		browsertest.Run(t, sup, page, chromedp.Navigate(base+"/"+page), chromedp.WaitVisible("main"))
		browsertest.Screenshot(t, sup, page+"-en")
	}
}

// browserLogIn logs in through the login form.
func browserLogIn(t *testing.T, ctx context.Context, base, login string) {
	t.Helper()
	browsertest.Run(t, ctx, "log in as "+login, chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`[data-testid="login-username"]`),
		chromedp.SendKeys(`[data-testid="login-username"]`, login),
		chromedp.SendKeys(`[data-testid="login-password"]`, demoPassword),
		chromedp.Click(`[data-testid="login-submit"]`),
		chromedp.WaitVisible(`[data-testid="current-user"]`))
}

// phoneCall calls from the test phone page as caller, presses keys one by
// one as each is heard, and returns the call's ticket number.
func phoneCall(t *testing.T, ctx context.Context, base, caller string, keys ...string) string {
	t.Helper()
	browsertest.Run(t, ctx, "call", chromedp.Navigate(base+"/testphone"), chromedp.WaitVisible("#tp-call"),
		chromedp.SetValue("#tp-caller", caller), chromedp.Click("#tp-call"),
		waitContains("#tp-transcript", "prompt"))
	for _, k := range keys {
		browsertest.Run(t, ctx, "press "+k, chromedp.Click("#tp-key-"+k), waitContains("#tp-transcript", "keys="+k))
	}
	var ticket string
	browsertest.Run(t, ctx, "ticket number", chromedp.Poll(`document.querySelector("#tp-ticket").textContent.trim() || false`,
		&ticket, chromedp.WithPollingTimeout(20*time.Second)))
	return ticket
}

func js(s string) string { return strconv.Quote(s) }

// waitContains waits until the element's text contains s ("": exists).
func waitContains(sel, s string) chromedp.Action {
	return chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.textContent.includes(%s); })()`,
		js(sel), js(s)), nil, chromedp.WithPollingTimeout(25*time.Second))
}

// waitText waits until the element's trimmed text is s.
func waitText(sel, s string) chromedp.Action {
	return chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.textContent.trim() === %s; })()`,
		js(sel), js(s)), nil, chromedp.WithPollingTimeout(20*time.Second))
}

// waitValue waits until the form field's value is s.
func waitValue(sel, s string) chromedp.Action {
	return chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.value === %s; })()`,
		js(sel), js(s)), nil, chromedp.WithPollingTimeout(20*time.Second))
}

// waitAttr waits until the element's attribute is s.
func waitAttr(sel, attr, s string) chromedp.Action {
	return chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.getAttribute(%s) === %s; })()`,
		js(sel), js(attr), js(s)), nil, chromedp.WithPollingTimeout(20*time.Second))
}
