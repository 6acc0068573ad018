package main

import (
	"net/http"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
)

// In a real headless Chromium against the demo server: op201 answers a
// test-phone call in the console, puts the caller on hold and back (the
// console says so, the caller's transcript hears it), then transfers the
// caller to Lotto 3, whose operator's phone answers; op201 is free
// (wrap-up) and the call box is gone from their console. op202, another
// operator of the group, sees no buttons on op201's call.
func TestBrowserHoldAndTransfer(t *testing.T) {
	base := startDemoServer(t, monday10)
	logIn(t, base, "op202").pause() // Lotto 2's call is op201's
	sup, op := browsertest.New(t), browsertest.New(t)
	browserLogIn(t, sup, base, "supervisore")
	browserLogIn(t, op, base, "op201")
	browsertest.Run(t, op, "console", chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible(`[data-testid="no-call"]`), waitAttr(`[data-testid="operator-state"]`, "data-state", "available"))

	phoneCall(t, sup, base, "3331234567", "1", "2")
	browsertest.Run(t, op, "answer", waitAttr(`[data-testid="operator-state"]`, "data-state", "offered"),
		chromedp.Click(`[data-testid="phone-answer"]`), chromedp.WaitVisible(`[data-testid="phone-hangup"]`),
		chromedp.WaitVisible(`[data-testid="control-hold"]`))
	browsertest.Run(t, sup, "talking with op201", waitContains("#tp-transcript", "operator=op201"))

	browsertest.Run(t, op, "hold", chromedp.Click(`[data-testid="control-hold"]`),
		chromedp.WaitVisible(`[data-testid="call-held"]`), chromedp.WaitVisible(`[data-testid="control-resume"]`),
		waitContains(`[data-testid="flash"]`, "Il chiamante è in attesa."))
	browsertest.Run(t, sup, "the caller hears it", waitContains("#tp-transcript", "result=hold"))
	browsertest.Screenshot(t, op, "console-hold")
	browsertest.Run(t, op, "resume", chromedp.Click(`[data-testid="control-resume"]`),
		chromedp.WaitVisible(`[data-testid="control-hold"]`), chromedp.WaitNotPresent(`[data-testid="call-held"]`))

	// op202, another operator of the group, sees op201's call on the live
	// page without buttons, and a forged request from their page is refused.
	var action string
	browsertest.Run(t, op, "the call's control route", chromedp.Evaluate(
		`document.querySelector('form[action^="/calls/"]').getAttribute("action")`, &action))
	other := browsertest.New(t)
	browserLogIn(t, other, base, "op202")
	var forms, status int
	browsertest.Run(t, other, "op202's live page", chromedp.Navigate(base+"/live"),
		chromedp.WaitVisible(`[data-testid="live-call"]`),
		chromedp.Evaluate(`document.querySelectorAll('form[action^="/calls/"]').length`, &forms),
		chromedp.Evaluate(`(async () => {
			const csrf = document.querySelector('input[name="csrf"]')?.value ?? '';
			const r = await fetch(location.origin + `+js(action)+`, {method: 'POST', redirect: 'manual',
				headers: {'Content-Type': 'application/x-www-form-urlencoded'},
				body: 'action=hold&csrf=' + encodeURIComponent(csrf)});
			return r.status;
		})()`, &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if forms != 0 || status != http.StatusForbidden {
		t.Errorf("op202 on op201's call: %d control forms, a forged hold answered %d (want 0, 403)", forms, status)
	}
	browsertest.Run(t, op, "still talking, not on hold", chromedp.WaitVisible(`[data-testid="control-hold"]`))

	browsertest.Run(t, op, "transfer to Lotto 3", chromedp.SetValue(`[data-testid="transfer-to"]`, "group:lotto3"),
		chromedp.Click(`[data-testid="control-transfer"]`),
		chromedp.WaitVisible(`[data-testid="operator-state"][data-state="wrap_up"]`),
		chromedp.WaitVisible(`[data-testid="no-call"]`))
	browsertest.Screenshot(t, op, "console-transferred")
	browsertest.Run(t, sup, "queued in lotto3, then op301", waitContains("#tp-transcript", "result=transfer"),
		waitContains("#tp-transcript", "operator=op301"))
	browsertest.Screenshot(t, sup, "testphone-transferred")
}
