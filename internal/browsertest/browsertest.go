// Package browsertest runs the panel's browser tests in a real headless
// Chromium (Debian's /usr/bin/chromium, installed by
// scripts/install-deps.sh --browser) driven by chromedp, and saves
// screenshots as test artifacts.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser finds Chromium: $CHROMIUM, then chromium or chromium-browser on
// the PATH.
func Browser() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// New starts a headless Chromium for the test and returns a tab's
// context, which every chromedp.Run of the test uses. The browser is
// closed at the end of the test. A missing Chromium fails the test: the
// test command installs it.
func New(t testing.TB) context.Context {
	t.Helper()
	path, err := Browser()
	if err != nil {
		t.Fatalf("browsertest: no Chromium (run scripts/install-deps.sh --browser): %v", err)
	}
	// The profile is not a t.TempDir: Chromium's helper processes may
	// still write in it for a moment after the browser is gone, which
	// makes the test's own cleanup fail; it is removed here, with retries.
	profile, err := os.MkdirTemp("", "browsertest-profile-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1366, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		for i := 0; os.RemoveAll(profile) != nil && i < 50; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	// Start the browser now, so a failure is reported here.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("browsertest: start Chromium: %v", err)
	}
	return ctx
}

// Run runs actions with a deadline, failing the test with what was being
// done.
func Run(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(rctx, actions...); err != nil {
		Screenshot(t, ctx, "failed-"+what)
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// ArtifactsDir is where screenshots go: $ARTIFACTS_DIR, else artifacts/
// at the module's root.
func ArtifactsDir() string {
	if d := os.Getenv("ARTIFACTS_DIR"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return "artifacts"
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "artifacts")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, "artifacts")
		}
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// Screenshot saves the whole page as artifacts/screenshots/NAME.png.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Logf("browsertest: screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join(ArtifactsDir(), "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("browsertest: %v", err)
		return
	}
	file := filepath.Join(dir, unsafeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Logf("browsertest: %v", err)
		return
	}
	t.Logf("screenshot: %s", file)
}
