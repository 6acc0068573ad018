package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
)

// binDir holds what TestMain builds for the package's tests (ivrctl).
var binDir string

func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "interop-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// A database per test for ivrd (which migrates it itself).
	pgtest.Main(runThenClean{m})
}

// runThenClean runs the tests, then removes what TestMain built.
type runThenClean struct{ m *testing.M }

func (r runThenClean) Run() int {
	defer os.RemoveAll(binDir)
	return r.m.Run()
}

var prompts struct {
	once sync.Once
	dir  string
	err  error
}

// promptSounds returns a directory laid out as <lang>/helpdesk/*.wav with
// every prompt of configs/helpdesk.yaml, made by the project's own
// `ivrctl prompts` (espeak-ng and sox), once per test binary. The files
// are kept in the user's cache between runs: ivrctl's manifest remakes
// only the prompts whose text changed.
func promptSounds(t *testing.T) string {
	t.Helper()
	prompts.once.Do(func() { prompts.dir, prompts.err = generatePrompts() })
	if prompts.err != nil {
		t.Fatalf("generate the help desk's prompts: %v", prompts.err)
	}
	return prompts.dir
}

func generatePrompts() (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	bin := filepath.Join(binDir, "ivrctl")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ivrctl")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/ivrctl: %v\n%s", err, out)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "helpdesk-ivr", "interop-prompts")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	// Two test binaries at once share the cache: one writes at a time.
	lock, err := os.OpenFile(filepath.Join(out, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "prompts", "-config", filepath.Join(root, "configs", "helpdesk.yaml"), "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("ivrctl prompts: %v\n%s", err, b)
	}
	// The language menu's sentences (languagesConfig), into the same sounds.
	variant, err := writeLanguagesConfig(root, out)
	if err != nil {
		return "", err
	}
	cmd = exec.Command(bin, "prompts", "-config", variant, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("ivrctl prompts -config %s: %v\n%s", variant, err, b)
	}
	return filepath.Join(out, "sounds"), nil
}
