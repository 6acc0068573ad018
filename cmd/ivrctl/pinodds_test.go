package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdesk-ivr/ivr/menu"
)

// validateWith runs `ivrctl validate` on the example with extra
// Administrations (two PINs each, with codes) and texts replaced.
func validateWith(t *testing.T, extraOrgs int, pairs ...string) (int, string, string) {
	t.Helper()
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var orgs strings.Builder
	secret := []byte("demo-pin-secret-not-for-production")
	for i := range extraOrgs {
		ref, _ := menu.HashPIN(secret, fmt.Sprintf("%04d", 7000+2*i))
		user, _ := menu.HashPIN(secret, fmt.Sprintf("%04d", 7001+2*i))
		fmt.Fprintf(&orgs, "  - {id: extra-%d, name: \"Extra %d\", code: \"%d\", pins: {referent: %q, user: %q}}\n", i, i, 3000+i, ref, user)
	}
	text := strings.Replace(string(data), "\nivr:\n", orgs.String()+"\nivr:\n", 1)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("%q is not in the example", pairs[i])
		}
		text = strings.Replace(text, pairs[i], pairs[i+1], 1)
	}
	f := filepath.Join(t.TempDir(), "helpdesk.yaml")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return runCmd(t, "", "validate", "-config", f)
}

// validate prints the odds of a PIN guess on a number of no Administration
// and warns above 1 in 1000; requiring the Administration's code narrows
// them to its own PINs.
func TestValidatePINOdds(t *testing.T) {
	code, out, errOut := validateWith(t, 4)
	if code != 0 || !strings.Contains(out, "all 12 PINs of the file") || !strings.Contains(out, "odds 12 in 10,000 (1 in 833)") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "helpdesk.yaml: warning: a PIN guess has better odds than 1 in 1000; set ivr.pin.require_org_code_from_unknown_numbers") {
		t.Errorf("no warning above 1 in 1000:\n%s", errOut)
	}
	code, out, errOut = validateWith(t, 4, "    lockout: 15m\n", "    lockout: 15m\n    require_org_code_from_unknown_numbers: true\n")
	if code != 0 || errOut != "" || !strings.Contains(out, "the 2 PINs at most of the Administration whose code was keyed: odds 2 in 10,000 (1 in 5,000)") {
		t.Fatalf("codes required: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	// The option without codes is a problem at the Administration's line.
	code, _, errOut = validateWith(t, 0, "    lockout: 15m\n", "    lockout: 15m\n    require_org_code_from_unknown_numbers: true\n", "    code: \"1002\"\n", "")
	if code != 1 || !strings.Contains(errOut, `organization "corte-appello-milano-demo" has PINs but no code`) {
		t.Errorf("codes missing: exit %d\n%s", code, errOut)
	}
}
