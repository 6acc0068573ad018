package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const example = "../../configs/helpdesk.yaml"

func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(env{ctx: context.Background(), stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut}, args)
	return code, out.String(), errOut.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestMenuGolden(t *testing.T) {
	code, out, errOut := runCmd(t, "", "menu", "-config", example)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "menu.golden", out)
	code, out, _ = runCmd(t, "", "menu", "-config", example, "-lang", "it")
	if code != 0 {
		t.Fatal(code)
	}
	golden(t, "menu-it.golden", out)
}

func TestValidate(t *testing.T) {
	code, out, errOut := runCmd(t, "", "validate", "-config", example)
	if code != 0 || !strings.Contains(out, "ok:") || errOut != "" {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, ": PINs: one PIN guess from a number of no Administration is checked against all 4 PINs") ||
		!strings.Contains(out, "odds 4 in 10,000 (1 in 2,500)") {
		t.Errorf("want a one-line summary and the PIN odds, got %q", out)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	data, _ := os.ReadFile(example)
	broken := strings.Replace(string(data), "group: lotto3\n    emails", "group: lotto33\n    emails", 1)
	broken = strings.Replace(broken, "max_retries: 3", "max_retries: three", 1)
	broken = strings.Replace(broken, `"3": {label: "Lotto 3 (Area Centro)", group: lotto3}`, `"3": {label: "Lotto 3 (Area Centro)", grup: lotto3}`, 1)
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd(t, "", "validate", "-config", bad)
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) < 2 {
		t.Fatalf("want every problem, got:\n%s", errOut)
	}
	pos := regexp.MustCompile(`^` + regexp.QuoteMeta(bad) + `:\d+:\d+: \S`)
	for _, l := range lines {
		if !pos.MatchString(l) {
			t.Errorf("not FILE:LINE:COL: message: %q", l)
		}
	}
	for _, want := range []string{`"three" is not a whole number`, `unknown field "grup"`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in:\n%s", want, errOut)
		}
	}
}

func TestValidateNeverPanics(t *testing.T) {
	dir := t.TempDir()
	inputs := []string{"", "\x00\x01", "menu: [", "service: {languages: 5}", strings.Repeat("a: [", 200),
		"menu:\n  options:\n    \"1\": {options: {\"1\": {options: {\"1\": {options: {\"1\": {options: {\"1\": {options: {\"1\": {options: {\"1\": {group: x}}}}}}}}}}}}}\n"}
	for i, in := range inputs {
		f := filepath.Join(dir, "in.yaml")
		os.WriteFile(f, []byte(in), 0o644)
		code, _, errOut := runCmd(t, "", "validate", "-config", f)
		if code != 1 || strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "internal error") {
			t.Errorf("input %d: exit %d, stderr:\n%s", i, code, errOut)
		}
	}
	code, _, errOut := runCmd(t, "", "validate", "-config", filepath.Join(dir, "missing.yaml"))
	if code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: exit %d, %s", code, errOut)
	}
}

func TestHours(t *testing.T) {
	cases := []struct {
		at, group string
		want      hoursAnswer
	}{
		{"2026-11-23T08:00:00+01:00", "", hoursAnswer{Open: true, Reason: "open", NextWorkingDay: "2026-11-24"}},
		{"2026-11-23T07:59:59+01:00", "", hoursAnswer{Open: false, Reason: "outside hours", NextOpen: "2026-11-23T08:00:00+01:00", NextWorkingDay: "2026-11-23"}},
		{"2026-11-21T12:00:00Z", "", hoursAnswer{Open: false, Reason: "outside hours", NextOpen: "2026-11-23T08:00:00+01:00", NextWorkingDay: "2026-11-23"}},
		{"2026-11-21T10:00:00+01:00", "", hoursAnswer{Open: true, Reason: "open", NextWorkingDay: "2026-11-23"}},
		{"2026-11-21T10:00:00+01:00", "lotto6", hoursAnswer{Open: false, Reason: "outside hours", NextOpen: "2026-11-23T08:00:00+01:00", NextWorkingDay: "2026-11-23"}},
		{"2026-12-25T10:00:00+01:00", "", hoursAnswer{Open: false, Reason: "holiday: Natale", NextOpen: "2026-12-28T08:00:00+01:00", NextWorkingDay: "2026-12-28"}},
		{"2026-06-29T10:00:00+02:00", "", hoursAnswer{Open: false, Reason: "holiday: Santi Pietro e Paolo (festa patronale di Roma)", NextOpen: "2026-06-30T08:00:00+02:00", NextWorkingDay: "2026-06-30"}},
	}
	for _, c := range cases {
		args := []string{"hours", "-config", example, "-at", c.at}
		if c.group != "" {
			args = append(args, "-group", c.group)
		}
		code, out, errOut := runCmd(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, errOut)
		}
		var got hoursAnswer
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%q is not JSON: %v", out, err)
		}
		if got != c.want {
			t.Errorf("at %s %s: got %+v, want %+v", c.at, c.group, got, c.want)
		}
	}
	if code, _, errOut := runCmd(t, "", "hours", "-config", example, "-at", "tomorrow"); code == 0 || !strings.Contains(errOut, "RFC 3339") {
		t.Errorf("a bad -at must be refused clearly: %d %s", code, errOut)
	}
}

func TestPINHash(t *testing.T) {
	t.Setenv("IVR_PIN_SECRET", "demo-pin-secret-not-for-production")
	code, out, errOut := runCmd(t, "5035\n", "pin", "hash")
	if code != 0 || strings.TrimSpace(out) != "hmac-sha256:d94e65fccf9afc78c1014b89c267f2ec58f8470a663998424971e69a12502f38" {
		t.Fatalf("exit %d out %q err %q", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "50x5\n", "pin", "hash")
	if code == 0 || strings.Contains(out+errOut, "50x5") {
		t.Errorf("a bad PIN must fail without echoing it: %d %q %q", code, out, errOut)
	}
	t.Setenv("IVR_PIN_SECRET", "")
	t.Setenv("IVR_PIN_SECRET_FILE", "")
	if code, _, errOut := runCmd(t, "5035\n", "pin", "hash"); code == 0 || !strings.Contains(errOut, "no PIN secret") {
		t.Errorf("no secret: %d %s", code, errOut)
	}
}
