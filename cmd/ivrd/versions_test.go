package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/helpdesk-ivr/ivr/internal/browsertest"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
)

// Two ivrd on one database, the configuration's source of truth
// (-config-source database), each with a file of its own: an
// administrator, in a real headless Chromium on the first, makes a
// draft, sees the validator's problem beside its line, fixes it, tries
// another draft on the test phone (the draft's routing, not the one in
// force), publishes; both instances put the version in force without a
// restart (the second learns it by NOTIFY) and rewrite their file with it;
// the rollback to the first version reaches both again. A supervisor
// neither sees nor posts versions.
func TestBrowserConfigVersions(t *testing.T) {
	src, err := os.ReadFile("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.DatabaseURL(t)
	var bases, files [2]string
	for i := range bases {
		files[i] = filepath.Join(t.TempDir(), "helpdesk.yaml")
		if err := os.WriteFile(files[i], src, 0o644); err != nil {
			t.Fatal(err)
		}
		bases[i] = startDemoServerOn(t, flags{config: files[i], demo: true, demoClock: monday10, dataDir: t.TempDir(),
			drainTimeout: 5 * time.Second, configSource: sourceDatabase}, dbURL)
	}
	a, b := bases[0], bases[1]

	// The supervisor is refused the pages and their forms.
	sup := logIn(t, b, "supervisore")
	if code, _ := sup.get("/config/versions"); code != http.StatusForbidden {
		t.Errorf("a supervisor's GET /config/versions: %d", code)
	}
	if code, _ := sup.postForm("/config/versions", map[string][]string{"source": {string(src)}}); code != http.StatusForbidden {
		t.Errorf("a supervisor's POST /config/versions: %d", code)
	}

	adm := browsertest.New(t)
	browserLogIn(t, adm, a, "admin")
	// Both started on version 1: the first brought its file in, the
	// second found it.
	inForce := func(base, version string) {
		t.Helper()
		// Reloaded until the version shows: the page is not live.
		var got string
		deadline := time.Now().Add(30 * time.Second)
		for {
			browsertest.Run(t, adm, "versions on "+base, chromedp.Navigate(base+"/config/versions"),
				chromedp.WaitVisible(`[data-testid="version-in-force"]`),
				chromedp.AttributeValue(`[data-testid="version-in-force"]`, "data-version", &got, nil))
			if got == version {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: version %s in force, want %s", base, got, version)
			}
			time.Sleep(200 * time.Millisecond) // the next look, not a wait for an event
		}
	}
	groupName := func(base, name string) {
		t.Helper()
		browsertest.Run(t, adm, "lotto2 on "+base, chromedp.Navigate(base+"/config"),
			waitContains(`[data-group="lotto2"] th`, name))
	}
	inForce(a, "1")
	inForce(b, "1")

	// A new draft, a copy of the version in force.
	browsertest.Run(t, adm, "new draft", chromedp.Navigate(a+"/config/versions"),
		chromedp.SendKeys(`[data-testid="draft-new-note"]`, "lotto 2 renamed"),
		chromedp.Click(`[data-testid="draft-new"]`), chromedp.WaitVisible(`[data-testid="draft-source"]`))
	var draftPath string
	browsertest.Run(t, adm, "draft address", chromedp.Location(&draftPath))
	draftPath = draftPath[strings.Index(draftPath, "/config/versions/"):]
	draftPath, _, _ = strings.Cut(draftPath, "?")

	// A mistake, shown beside its line.
	renamed := bytes.Replace(src, []byte(`"Lotto 2 – Area Nord"`), []byte(`"Lotto 2 – Nord"`), 1)
	bad := bytes.Replace(renamed, []byte("  schedule: "), []byte("  schedul: "), 1)
	line := bytes.Count(bad[:bytes.Index(bad, []byte("  schedul: "))], []byte("\n")) + 1
	marked := fmt.Sprintf(`[data-testid="problem-line"][data-line="%d"]`, line)
	browsertest.Run(t, adm, "validate a mistake", chromedp.SetValue(`[data-testid="draft-source"]`, string(bad)),
		chromedp.Click(`[data-testid="draft-validate"]`), chromedp.WaitVisible(marked),
		waitContains(marked+` [data-testid="problem-msg"]`, "schedul"),
		waitContains(`[data-testid="validation-problems"]`, fmt.Sprintf("helpdesk.yaml:%d:", line)))
	browsertest.Screenshot(t, adm, "version-problem")
	var markedLines int
	browsertest.Run(t, adm, "one line marked", chromedp.Evaluate(`document.querySelectorAll('[data-testid="problem-line"]').length`, &markedLines))
	if markedLines != 1 {
		t.Errorf("%d lines marked, want 1", markedLines)
	}
	browsertest.Run(t, adm, "publish refused", chromedp.Click(`[data-testid="draft-publish"]`), chromedp.WaitVisible(marked))

	// Fixed, validated and saved: a draft, not in force anywhere.
	browsertest.Run(t, adm, "fix", chromedp.SetValue(`[data-testid="draft-source"]`, string(renamed)),
		chromedp.Click(`[data-testid="draft-validate"]`), chromedp.WaitVisible(`[data-testid="validation-ok"]`),
		chromedp.Click(`[data-testid="draft-save"]`), chromedp.WaitVisible(`[data-testid="flash"]`),
		waitAttr(`[data-testid="version-facts"]`, "data-state", "draft"))
	inForce(a, "1")
	inForce(b, "1")
	groupName(b, "Lotto 2 – Area Nord")

	// Another draft sends key 3 to Lotto 4: tried on the test phone, it
	// routes there, while the configuration in force does not.
	moved := bytes.Replace(src, []byte(`"3": {label: "Lotto 3 (Area Centro)", group: lotto3}`), []byte(`"3": {label: "Lotto 3 (Area Centro)", group: lotto4}`), 1)
	browsertest.Run(t, adm, "a draft to try", chromedp.Navigate(a+"/config/versions"),
		chromedp.SetValue(`[data-testid="draft-new-source"]`, string(moved)),
		chromedp.Click(`[data-testid="draft-new"]`), chromedp.WaitVisible(`[data-testid="draft-phone"]`),
		chromedp.Click(`[data-testid="draft-phone"]`), chromedp.WaitVisible(`[data-testid="tp-draft"]`),
		chromedp.SetValue("#tp-caller", "3331234567"), chromedp.Click("#tp-call"),
		waitContains("#tp-transcript", "prompt"),
		chromedp.Click("#tp-key-1"), waitContains("#tp-transcript", "keys=1"),
		chromedp.Click("#tp-key-3"), waitContains("#tp-transcript", "group=lotto4"))
	browsertest.Screenshot(t, adm, "version-testphone")
	browsertest.Run(t, adm, "hang up the draft call", chromedp.Click("#tp-hangup"), waitContains("#tp-transcript", "outcome"))
	browsertest.Run(t, adm, "the same keys in force", chromedp.Navigate(a+"/testphone"), chromedp.WaitVisible("#tp-call"),
		chromedp.SetValue("#tp-caller", "3331234567"), chromedp.Click("#tp-call"),
		waitContains("#tp-transcript", "prompt"),
		chromedp.Click("#tp-key-1"), waitContains("#tp-transcript", "keys=1"),
		chromedp.Click("#tp-key-3"), waitContains("#tp-transcript", "group=lotto3"),
		chromedp.Click("#tp-hangup"), waitContains("#tp-transcript", "outcome"))

	// Published: in force on both, each file rewritten with it.
	browsertest.Run(t, adm, "publish", chromedp.Navigate(a+draftPath), chromedp.WaitVisible(`[data-testid="draft-publish"]`),
		chromedp.Click(`[data-testid="draft-publish"]`), chromedp.WaitVisible(`[data-testid="history-table"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`))
	published := strings.TrimPrefix(draftPath, "/config/versions/")
	inForce(a, published)
	inForce(b, published)
	browsertest.Screenshot(t, adm, "versions-published")
	groupName(a, "Lotto 2 – Nord")
	groupName(b, "Lotto 2 – Nord")
	for _, f := range files {
		if on, _ := os.ReadFile(f); !bytes.Equal(on, renamed) {
			t.Errorf("%s is not the published version", f)
		}
	}

	// Rolled back to version 1 in one action: a new version, on both.
	browsertest.Run(t, adm, "roll back", chromedp.Navigate(a+"/config/versions"),
		chromedp.Click(`[data-testid="history-row"][data-id="1"] [data-testid="rollback"]`),
		chromedp.WaitVisible(`[data-testid="flash"]`),
		waitContains(`[data-testid="history-row"] [data-testid="newest"]`, ""))
	var newest string
	browsertest.Run(t, adm, "the rollback's version", chromedp.AttributeValue(`[data-testid="history-row"]`, "data-id", &newest, nil),
		waitContains(`[data-testid="history-row"]`, "1"))
	if newest == "1" || newest == published {
		t.Fatalf("the rollback is version %s", newest)
	}
	inForce(a, newest)
	inForce(b, newest)
	browsertest.Screenshot(t, adm, "versions-rolled-back")
	groupName(b, "Lotto 2 – Area Nord")
	for _, f := range files {
		if on, _ := os.ReadFile(f); !bytes.Equal(on, src) {
			t.Errorf("%s is not version 1's text after the rollback", f)
		}
	}
}
