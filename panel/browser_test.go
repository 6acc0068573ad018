package panel

import (
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
