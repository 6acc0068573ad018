package scripts

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A machine starts on its own Go and ignores go.mod's toolchain line
// (GOTOOLCHAIN=local), so every entry point names the release itself; the
// names must be the one go.mod asks for, or a build quietly runs on an
// older Go with known vulnerabilities in its standard library.
func TestEveryEntryPointSetsTheToolchainOfGoMod(t *testing.T) {
	t.Parallel()
	goMod := read(t, "../go.mod")
	m := regexp.MustCompile(`(?m)^toolchain (go\S+)$`).FindStringSubmatch(goMod)
	if m == nil {
		t.Fatal("go.mod has no toolchain line")
	}
	want := m[1]

	scripts, err := filepath.Glob("*.sh")
	if err != nil {
		t.Fatal(err)
	}
	files := append(scripts, "../.ci/run", "../Makefile", "../Dockerfile", "../README.md")
	sets := map[string]*regexp.Regexp{
		"../Makefile":   regexp.MustCompile(`(?m)^export GOTOOLCHAIN := (\S+)$`),
		"../Dockerfile": regexp.MustCompile(`(?m)^ENV GOTOOLCHAIN=(\S+)$`),
		"../README.md":  regexp.MustCompile(`(?m)^\s+export GOTOOLCHAIN=(\S+)$`),
	}
	shell := regexp.MustCompile(`(?m)^export GOTOOLCHAIN=(\S+)$`)
	anyValue := regexp.MustCompile(`GOTOOLCHAIN\s*:?=\s*([^\s"'` + "`" + `]+)`)
	runsGo := regexp.MustCompile(`(?m)(^|[\s;(&|])go (build|run|test|vet|mod|install|env|generate|list|tool)\b`)
	for _, f := range files {
		text := read(t, f)
		if strings.HasSuffix(f, ".sh") && !runsGo.MatchString(text) {
			continue // never runs the go command (install-asterisk.sh)
		}
		re := sets[f]
		if re == nil {
			re = shell
		}
		if m := re.FindStringSubmatch(text); m == nil {
			t.Errorf("%s does not set GOTOOLCHAIN (want a line matching %s)", f, re)
		} else if m[1] != want {
			t.Errorf("%s sets GOTOOLCHAIN=%s, go.mod says %s", f, m[1], want)
		}
		for _, v := range anyValue.FindAllStringSubmatch(text, -1) {
			if v[1] != want {
				t.Errorf("%s names GOTOOLCHAIN=%s too, go.mod says %s", f, v[1], want)
			}
		}
	}
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}
