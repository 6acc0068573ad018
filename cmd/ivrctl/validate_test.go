package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 19: a two-group overflow cycle (modifiche ↔ accoglienza) passed
// validation and only the controller's hop limit stopped it.
func TestValidateOverflowCycle(t *testing.T) {
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, r := range [][2]string{
		{`queue: {strategy: round_robin}`, `queue: {strategy: round_robin, max_wait: 5m, overflow: "group:accoglienza"}`},
		{`queue: {strategy: ring_all, max_waiting: 30, max_wait: 15m}`, `queue: {strategy: ring_all, max_waiting: 30, max_wait: 15m, overflow: "group:modifiche"}`},
	} {
		if !strings.Contains(text, r[0]) {
			t.Fatalf("%q is not in %s", r[0], example)
		}
		text = strings.Replace(text, r[0], r[1], 1)
	}
	line := strings.Count(text[:strings.Index(text, `overflow: "group:accoglienza"`)], "\n") + 1
	bad := filepath.Join(t.TempDir(), "cycle.yaml")
	if err := os.WriteFile(bad, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "", "validate", "-config", bad)
	want := fmt.Sprintf("%s:%d:12: group %q: queue overflow cycle modifiche → accoglienza → modifiche", bad, line, "modifiche")
	if code != 1 || out != "" || !strings.Contains(errOut, want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant the one problem %q", code, out, errOut, want)
	}
}
