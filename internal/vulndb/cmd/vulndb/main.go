// Command vulndb builds the offline vulnerability database that
// scripts/vulncheck.sh gives govulncheck:
//
//	vulndb -module golang.org/x/vulndb@VERSION -out DIR
//
// fetches the module through the Go module proxy (go mod download), and
// writes the database of its data/osv entries to DIR, which must not exist.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/helpdesk-ivr/ivr/internal/vulndb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func run() error {
	module := flag.String("module", "", "the vulndb module at an exact version: golang.org/x/vulndb@v0.0.0-...")
	out := flag.String("out", "", "directory to write the database to (must not exist)")
	flag.Parse()
	if *module == "" || *out == "" || flag.NArg() != 0 {
		flag.Usage()
		return fmt.Errorf("-module and -out are required")
	}
	_, version, ok := strings.Cut(*module, "@")
	if !ok || version == "" || version == "latest" {
		return fmt.Errorf("-module %q: name an exact version", *module)
	}
	dir, err := download(*module)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	var opts vulndb.Options
	opts.Modified, _ = vulndb.VersionTime(version)
	st, err := vulndb.Build(os.DirFS(filepath.Join(dir, vulndb.OSVDir)), *out, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "vulndb: %d entries for %d modules from %s in %s\n", st.Entries, st.Modules, *module, *out)
	return nil
}

// download fetches module into the module cache and returns its directory.
// It runs outside any module, so that no go.mod is read or changed.
func download(module string) (string, error) {
	empty, err := os.MkdirTemp("", "vulndb-")
	if err != nil {
		return "", err
	}
	defer os.Remove(empty)
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = empty
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	runErr := cmd.Run()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil && runErr == nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", module, info.Error)
	}
	if runErr != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, runErr)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory", module)
	}
	return info.Dir, nil
}
