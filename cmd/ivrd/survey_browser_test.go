package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
)

// The demo's test phone rates a call, in real headless Chromium against the
// whole demo server: a caller reaches Lotto 6 (whose survey is on), op601
// answers and ends the conversation from the console, the caller stays on
// the line, is asked to rate the service and presses 4; the reports show
// it in Lotto 6's satisfaction.
func TestBrowserSurvey(t *testing.T) {
	base := startDemoServer(t, monday10)
	sup, op := browsertest.New(t), browsertest.New(t)
	browserLogIn(t, sup, base, "supervisore")
	browserLogIn(t, op, base, "op601")
	// op601's console is open: the phone rings there until answered.
	browsertest.Run(t, op, "console", chromedp.Navigate(base+"/console"),
		waitAttr(`[data-testid="operator-state"]`, "data-state", "available"))

	ticket := phoneCall(t, sup, base, "3335550101", "1", "6")
	browsertest.Run(t, op, "op601 answers", chromedp.WaitVisible(`[data-testid="operator-state"][data-state="offered"]`),
		chromedp.Click(`[data-testid="phone-answer"]`), chromedp.WaitVisible(`[data-testid="phone-hangup"]`))
	browsertest.Run(t, sup, "talking", waitContains("#tp-transcript", "answered group=lotto6 operator=op601 ticket="+ticket))
	browsertest.Run(t, op, "op601 ends the conversation", chromedp.Click(`[data-testid="phone-hangup"]`),
		chromedp.WaitVisible(`[data-testid="operator-state"][data-state="wrap_up"]`))

	// The caller is still on the line and is asked for a rating.
	browsertest.Run(t, sup, "asked to rate", waitContains("#tp-transcript", "survey result=asked"))
	browsertest.Run(t, sup, "rate 4", chromedp.Click("#tp-key-4"), waitContains("#tp-transcript", "survey result=rated"))
	browsertest.Screenshot(t, sup, "testphone-survey")
	browsertest.Run(t, sup, "hang up", chromedp.Click("#tp-hangup"), waitText("#tp-status", "Chiamata terminata"))

	var row string
	browsertest.Run(t, sup, "the reports", chromedp.Navigate(base+"/reports"),
		chromedp.WaitVisible(`[data-testid="csat-group"] [data-testid="csat-row"][data-key="lotto6"]`),
		chromedp.Text(`[data-testid="csat-group"] [data-testid="csat-row"][data-key="lotto6"]`, &row))
	// CSAT 100% (4 is satisfied), average 4.0, 1 rated of 1 asked.
	if f := strings.Fields(row); !strings.Contains(row, "100") || !strings.Contains(row, "4.0") || f[len(f)-1] != "1" || f[len(f)-2] != "1" {
		t.Errorf("Lotto 6's satisfaction row: %q", row)
	}
}
