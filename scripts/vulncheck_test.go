package scripts

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/vulndb"
)

// `make lint` must fail when the code calls a function with a known
// vulnerability in the running Go release, and only then: run
// vulncheck.sh, with the pinned govulncheck, on a database that
// internal/vulndb builds from made-up entries (strings.ToUpper vulnerable
// in every release, strings.ToTitle never called, strings.Repeat fixed in
// go1.27.3), so a database govulncheck misread would show here.
func TestVulncheckFailsOnlyWhenAVulnerableFunctionIsCalled(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "db")
	if _, err := vulndb.Build(os.DirFS("testdata/vulncheck/osv"), db, vulndb.Options{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prog     string
		wantExit int
		want     []string
		notWant  []string
	}{
		{"affected", 3, []string{"GO-9999-0001", "Your code is affected by 1 vulnerability from the Go standard library"}, []string{"GO-9999-0003"}},
		{"clean", 0, []string{"Your code is affected by 0 vulnerabilities"}, []string{"GO-9999-0001", "GO-9999-0003"}},
	}
	for _, tc := range tests {
		t.Run(tc.prog, func(t *testing.T) {
			t.Parallel()
			dir, err := filepath.Abs(filepath.Join("testdata/vulncheck", tc.prog))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "vulncheck.sh", "-C", dir, "./...")
			cmd.Env = append(os.Environ(), "VULNCHECK_DB="+db)
			out, err := cmd.CombinedOutput()
			exit := 0
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if exit != tc.wantExit {
				t.Errorf("exit status %d, want %d", exit, tc.wantExit)
			}
			for _, s := range tc.want {
				if !strings.Contains(string(out), s) {
					t.Errorf("output lacks %q", s)
				}
			}
			for _, s := range tc.notWant {
				if strings.Contains(string(out), s) {
					t.Errorf("output names %q", s)
				}
			}
			if t.Failed() {
				t.Logf("vulncheck.sh -C %s ./...:\n%s", dir, out)
			}
		})
	}
}
