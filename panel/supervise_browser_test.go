package panel

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
)

// liveControl is superviseControl that also moves the live view as the call
// controller does (its supervise events).
type liveControl struct {
	*superviseControl
	live *fakeLive
}

func (c liveControl) Act(ctx context.Context, callID string, a CallAction) error {
	if err := c.superviseControl.Act(ctx, callID, a); err != nil {
		return err
	}
	calls := c.live.Calls()
	for i := range calls {
		if calls[i].CallID == callID {
			calls[i].Supervisor, calls[i].SuperviseMode = a.By, a.Kind
			if a.Kind == "supervise_stop" {
				calls[i].Supervisor, calls[i].SuperviseMode = "", ""
			}
		}
	}
	c.live.set(calls...)
	return nil
}

// postFrom posts a form from the page's own script, as a forged form
// would: the answer's status.
func postFrom(path string, status *int) chromedp.Action {
	return chromedp.Evaluate(`(async () => {
		const csrf = document.querySelector('input[name="csrf"]')?.value ?? '';
		const r = await fetch(`+"`"+`${location.origin}`+path+"`"+`, {method: 'POST', redirect: 'manual',
			headers: {'Content-Type': 'application/x-www-form-urlencoded'},
			body: 'action=listen&csrf=' + encodeURIComponent(csrf)});
		return r.status;
	})()`, status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })
}

// TestBrowserSupervise: in real Chromium, the supervisor of lotto2 listens
// to lotto2's call from the live page, then barges in: each click reaches
// the call controller, the page and the operator's open console say who is
// on the call and how (no reload: their event streams). The operator gets
// no buttons and is refused a forged request; so is the supervisor on
// lotto3's call, which they do not watch.
func TestBrowserSupervise(t *testing.T) {
	t.Parallel()
	ctl := &superviseControl{}
	e, _, _ := superviseEnvWith(t, func(l *fakeLive) CallControl { return liveControl{ctl, l} })
	e.putOnCall("op2", "lotto2", "call-2")
	sup, op := browsertest.New(t), browsertest.New(t)
	browserLogin(t, sup, e.ts.URL, "sup", "/live")
	browserLogin(t, op, e.ts.URL, "op2", "/console")
	row := `[data-testid="live-call"][data-call="call-2"] `

	var forms int
	browsertest.Run(t, sup, "lotto2's call has the buttons, lotto3's none",
		chromedp.WaitVisible(row+`[data-testid="supervise-listen"]`),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="supervise-form"]').length`, &forms))
	if forms != 1 {
		t.Fatalf("%d supervision forms, want 1 (lotto2's call)", forms)
	}
	browsertest.Run(t, op, "op2's console on the call", chromedp.WaitVisible(`[data-testid="call-facts"]`))

	browsertest.Run(t, sup, "listen",
		chromedp.Click(row+`[data-testid="supervise-listen"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		chromedp.WaitVisible(row+`[data-testid="live-supervisor"][data-mode="listen"]`))
	browsertest.Screenshot(t, sup, "supervise-listen")
	browsertest.Run(t, op, "op2 sees the supervisor listening",
		chromedp.WaitVisible(`[data-testid="call-supervisor"][data-mode="listen"]`))

	var flash string
	browsertest.Run(t, sup, "barge in",
		chromedp.Click(row+`[data-testid="supervise-barge"]`),
		chromedp.WaitVisible(row+`[data-testid="live-supervisor"][data-mode="barge"]`),
		chromedp.Text(`[data-testid="flash"]`, &flash))
	if !strings.Contains(flash, "operatore e chiamante") {
		t.Errorf("after the barge the page says %q", flash)
	}
	browsertest.Run(t, op, "op2 sees the supervisor in the call",
		chromedp.WaitVisible(`[data-testid="call-supervisor"][data-mode="barge"]`))
	browsertest.Screenshot(t, op, "console-supervisor-barge")

	// Refused: the supervisor on the group they do not watch (as if the
	// call did not exist), the operator on any call.
	var status int
	browsertest.Run(t, sup, "forged listen on lotto3", postFrom("/live/calls/call-3", &status))
	if status != 404 {
		t.Errorf("supervisor of lotto2 on lotto3's call: %d, want 404", status)
	}
	var opForms int
	browsertest.Run(t, op, "the operator's live page",
		chromedp.Navigate(e.ts.URL+"/live"),
		chromedp.WaitVisible(`[data-testid="live-table"]`),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="supervise-form"]').length`, &opForms),
		postFrom("/live/calls/call-2", &status))
	if opForms != 0 || status != 403 {
		t.Errorf("operator: %d forms, forged listen %d (want 0, 403)", opForms, status)
	}
	if got, want := ctl.asked(), []string{"call-2 listen sup", "call-2 barge sup"}; !slices.Equal(got, want) {
		t.Errorf("the controller was asked %q, want %q", got, want)
	}
}
