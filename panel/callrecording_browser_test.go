package panel

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
)

// TestBrowserConsoleRecording: in real Chromium, the operator on a
// recorded call pauses the recording from the console (the form and its
// token as the page has them), sees it paused, and resumes it; another
// operator's console shows no such button, and a request of theirs for
// that call, from their own page, gets 404.
func TestBrowserConsoleRecording(t *testing.T) {
	t.Parallel()
	ctl := &recordingControl{}
	e := newEnv(t, func(o *Options) { o.Control = ctl })
	ctl.live = e.live
	const callID = "1795320990.801"
	e.putOnCall("op2", "lotto2", callID)
	e.live.set(LiveCall{CallID: callID, Phase: PhaseTalking, Group: "lotto2", Operator: "op2", Recording: "recording", Started: t0, Since: t0})
	e.srv.Notify()
	op := browsertest.New(t)
	browserLogin(t, op, e.ts.URL, "op2", "/console")
	browsertest.Run(t, op, "the recorded call on op2's console",
		chromedp.WaitVisible(`[data-testid="recording-state"][data-state="recording"]`),
		chromedp.Click(`[data-testid="recording-pause"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		chromedp.WaitVisible(`[data-testid="recording-state"][data-state="paused"]`))
	browsertest.Screenshot(t, op, "console-recording-paused")
	browsertest.Run(t, op, "resume",
		chromedp.Click(`[data-testid="recording-resume"]`),
		chromedp.WaitVisible(`[data-testid="recording-state"][data-state="recording"]`))

	other := browsertest.New(t)
	browserLogin(t, other, e.ts.URL, "op3", "/console")
	var buttons int
	var status float64
	browsertest.Run(t, other, "op3 tries",
		chromedp.WaitVisible(`[data-testid="operator-state"], [data-testid="not-operator"]`),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="recording-pause"]').length`, &buttons),
		chromedp.Evaluate(`(async () => {
			const f = new FormData();
			f.set('csrf', document.querySelector('input[name="csrf"]').value);
			f.set('call', '`+callID+`');
			f.set('action', 'pause');
			const r = await fetch('/console/recording', {method: 'POST', body: new URLSearchParams(f), redirect: 'manual'});
			return r.status;
		})()`, &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if buttons != 0 || status != 404 {
		t.Fatalf("op3: %d pause buttons, their request answered %v", buttons, status)
	}
	ctl.mu.Lock()
	asked := strings.Join(ctl.asked, " ")
	ctl.mu.Unlock()
	if asked != callID+":recording_pause:op2 "+callID+":recording_resume:op2" {
		t.Fatalf("the controller was asked %s", asked)
	}
}
