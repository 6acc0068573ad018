package panel

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
)

// TestBrowserLoginNext: in a real Chromium, a login link whose next hides
// another site behind a tab (the browser drops it, reading "/<tab>/host"
// as "//host") ends on the panel's own origin, not on the other site.
func TestBrowserLoginNext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`<!doctype html><title>evil</title><p id="evil">another site</p>`))
	}))
	t.Cleanup(evil.Close)
	evilHost := strings.TrimPrefix(evil.URL, "http://")
	for _, next := range []string{"/\t/" + evilHost + "/x", "/\\" + evilHost + "/x", "/%09/" + evilHost + "/x"} {
		b := browsertest.New(t) // no cookies yet
		var origin, path string
		browsertest.Run(t, b, "log in with next="+next,
			chromedp.Navigate(e.ts.URL+"/login?next="+url.QueryEscape(next)),
			chromedp.WaitVisible(`[data-testid="login-username"]`),
			chromedp.SendKeys(`[data-testid="login-username"]`, "sup"),
			chromedp.SendKeys(`[data-testid="login-password"]`, password),
			chromedp.Click(`[data-testid="login-submit"]`),
			// The wallboard, or the other site's page.
			chromedp.WaitVisible(`[data-testid="current-user"], #evil`),
			chromedp.Evaluate(`location.origin`, &origin),
			chromedp.Evaluate(`location.pathname`, &path))
		if origin != e.ts.URL {
			t.Fatalf("next %q: the browser ended on %s%s, not on the panel (%s)", next, origin, path, e.ts.URL)
		}
	}
}

// TestBrowserForceState: in real Chromium, a supervisor forces an operator
// left on a call to available from the live page, confirming first; the
// page shows the new state, so does the operator's open console (no
// reload: its event stream), and the log shows who did it and the call.
func TestBrowserForceState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const callID = "1795320990.701"
	e.putOnCall("op2", "lotto2", callID)
	sup, op := browsertest.New(t), browsertest.New(t)
	browserLogin(t, sup, e.ts.URL, "sup", "/live")
	browserLogin(t, op, e.ts.URL, "op2", "/console")
	row := `[data-testid="op-row"][data-login="op2"] `

	browsertest.Run(t, op, "op2's console on the call",
		chromedp.WaitVisible(`[data-testid="operator-state"][data-state="on_call"]`))
	var call string
	browsertest.Run(t, sup, "op2 on the call in the list",
		chromedp.WaitVisible(row+`[data-testid="op-state"][data-state="on_call"]`),
		chromedp.Text(row+`[data-testid="op-call"]`, &call))
	if want := callID + " · lotto2"; strings.TrimSpace(call) != want {
		t.Fatalf("op2's call in the list: %q, want %q", call, want)
	}
	browsertest.Screenshot(t, sup, "operators-on-call")

	var warning string
	browsertest.Run(t, sup, "force op2 to available",
		chromedp.SetValue(row+`[data-testid="force-state"]`, "available"),
		chromedp.Click(row+`[data-testid="force-submit"]`),
		chromedp.WaitVisible(`[data-testid="force-confirm"]`),
		chromedp.Text(`[data-testid="force-warning"]`, &warning))
	if !strings.Contains(warning, "La chiamata prosegue") || !strings.Contains(warning, callID) {
		t.Fatalf("the confirmation says %q", warning)
	}
	browsertest.Screenshot(t, sup, "force-confirm")
	browsertest.Run(t, sup, "confirm",
		chromedp.Click(`[data-testid="force-confirm"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		chromedp.WaitVisible(row+`[data-testid="op-state"][data-state="available"]`))
	browsertest.Screenshot(t, sup, "operators-forced")
	browsertest.Run(t, op, "op2's console shows available",
		chromedp.WaitVisible(`[data-testid="operator-state"][data-state="available"]`))

	var from, to, by, logCall string
	browsertest.Run(t, sup, "the log",
		chromedp.Click(row+`[data-testid="op-log"]`),
		chromedp.WaitVisible(`[data-testid="oplog-row"][data-login="op2"]`),
		chromedp.AttributeValue(`[data-testid="oplog-from"]`, "data-state", &from, nil),
		chromedp.AttributeValue(`[data-testid="oplog-to"]`, "data-state", &to, nil),
		chromedp.Text(`[data-testid="oplog-by"]`, &by),
		chromedp.Text(`[data-testid="oplog-call"]`, &logCall))
	if from != "on_call" || to != "available" || by != "sup" || logCall != callID {
		t.Fatalf("the log says %s → %s by %q, call %q", from, to, by, logCall)
	}
	browsertest.Screenshot(t, sup, "operator-state-log")
}

// browserLogin logs login in and opens next.
func browserLogin(t *testing.T, b context.Context, base, login, next string) {
	t.Helper()
	browsertest.Run(t, b, "log in as "+login,
		chromedp.Navigate(base+"/login?next="+url.QueryEscape(next)),
		chromedp.WaitVisible(`[data-testid="login-username"]`),
		chromedp.SendKeys(`[data-testid="login-username"]`, login),
		chromedp.SendKeys(`[data-testid="login-password"]`, password),
		chromedp.Click(`[data-testid="login-submit"]`),
		chromedp.WaitVisible(`[data-testid="current-user"]`))
}

// TestBrowserTokens: in real Chromium, an administrator creates an API
// token from the admin menu, sees its secret once, and revokes it; the
// list shows it revoked and the audit log both changes.
func TestBrowserTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := browsertest.New(t)
	browserLogin(t, b, e.ts.URL, "adm", "/wallboard")
	var secret, state string
	browsertest.Run(t, b, "create a token",
		chromedp.Click(`[data-testid="nav-tokens"]`),
		chromedp.WaitVisible(`[data-testid="token-add-form"]`),
		chromedp.SendKeys(`#t-name`, "Zammad"),
		chromedp.SetValue(`#t-login`, "op2"),
		chromedp.SetValue(`#t-scope`, "write"),
		chromedp.Click(`[data-testid="token-group"][value="lotto2"]`),
		chromedp.Click(`[data-testid="token-add"]`),
		chromedp.WaitVisible(`[data-testid="token-secret"]`),
		chromedp.Text(`[data-testid="token-secret"]`, &secret))
	browsertest.Screenshot(t, b, "token-created")
	tok, u, err := e.srv.Tokens().Authenticate(ctx, strings.TrimSpace(secret), "test")
	noErr(t, err)
	if u.Login != "op2" || tok.Scope != ScopeWrite || len(tok.Groups) != 1 || tok.Groups[0] != "lotto2" {
		t.Fatalf("the page made %+v for %s", tok, u.Login)
	}
	var shown bool
	browsertest.Run(t, b, "revoke it",
		chromedp.Navigate(e.ts.URL+"/admin/tokens"),
		chromedp.WaitVisible(`[data-testid="token-row"]`),
		chromedp.Evaluate(`!!document.querySelector('[data-testid="token-secret"]')`, &shown),
		chromedp.Click(`[data-testid="token-revoke"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		chromedp.AttributeValue(`[data-testid="token-row"]`, "data-state", &state, nil))
	if shown || state != "revoked" {
		t.Fatalf("after the creation: secret shown again %v, state %q", shown, state)
	}
	browsertest.Screenshot(t, b, "token-revoked")
	var actions []string
	browsertest.Run(t, b, "the audit log",
		chromedp.Click(`[data-testid="nav-audit"]`),
		chromedp.WaitVisible(`[data-testid="audit-row"]`),
		chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="audit-row"]')].map(r => r.dataset.action)`, &actions))
	if strings.Join(actions, " ") != "token.revoke token.create" {
		t.Fatalf("the audit log shows %v", actions)
	}
}
