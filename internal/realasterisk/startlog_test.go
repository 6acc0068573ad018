package realasterisk

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Asterisk starts on the shipped configs/asterisk without a single warning
// or error: maxsilence ≥ minsecs in voicemail.conf left empty messages in
// the fallback mailbox, and Asterisk only said so in its log; and with
// autoload some 25 modules the service does not configure logged errors at
// every start ("Unable to load config file 'confbridge.conf'", "res_parking
// declined to load" ...), lines that hide the ones that matter. Every module
// of scripts/install-asterisk.sh's REQUIRED_MODULES is running.
func TestShippedConfigsLoadCleanly(t *testing.T) {
	t.Parallel()
	a := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := a.CLI(ctx, "core waitfullybooted"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(a.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	noise := regexp.MustCompile(`(WARNING|ERROR)\[\d+\]|declined to load|Unable to load config|Missing config file`)
	for _, line := range strings.Split(string(b), "\n") {
		if noise.MatchString(line) {
			t.Errorf("start on the shipped config: %s", line)
		}
	}

	script, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "install-asterisk.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\nREQUIRED_MODULES=\(([^)]*)\)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/install-asterisk.sh: no REQUIRED_MODULES=(...)")
	}
	out, err := a.CLI(ctx, "module show")
	if err != nil {
		t.Fatal(err)
	}
	for _, mod := range strings.Fields(string(m[1])) {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(mod) + `\.so\s.*\sRunning\s`).MatchString(out) {
			t.Errorf("%s.so is not running (modules.conf must load it)", mod)
		}
	}
}
