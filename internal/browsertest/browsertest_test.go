package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// The harness drives a real page: a click changes the DOM through the
// page's own script, and the screenshot lands in the artifacts.
func TestChromiumRunsAPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/app.js" {
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `document.getElementById("b").addEventListener("click", () => { document.getElementById("out").textContent = "clicked " + location.pathname; });`)
			return
		}
		fmt.Fprint(w, `<!doctype html><title>t</title><button id="b">go</button><p id="out">idle</p><script src="/app.js"></script>`)
	}))
	defer srv.Close()
	t.Setenv("ARTIFACTS_DIR", t.TempDir())
	ctx := New(t)
	var got string
	Run(t, ctx, "click", chromedp.Navigate(srv.URL+"/page"), chromedp.Click("#b", chromedp.ByQuery),
		chromedp.WaitVisible("#out", chromedp.ByQuery), chromedp.Text("#out", &got, chromedp.ByQuery))
	if got != "clicked /page" {
		t.Fatalf("page says %q", got)
	}
	Screenshot(t, ctx, "harness page")
	info, err := os.Stat(filepath.Join(ArtifactsDir(), "screenshots", "harness_page.png"))
	if err != nil || info.Size() < 100 {
		t.Fatalf("screenshot: %v", err)
	}
}
