package scripts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeApt is a directory of fake apt-get, pg_lsclusters and pg_ctlcluster
// commands, put first on PATH for install-deps.sh's functions. apt-get logs
// its arguments, fails on a lock the first `locked` times, and an install
// of postgresql does what Debian's package does: brings pg_lsclusters and
// creates a cluster, started. pg_ctlcluster logs what it is asked.
// An install of prometheus starts its service as Debian's package does,
// under systemd or, when the file "init" says sysv, as a process that
// pgrep sees; systemctl, service and update-rc.d log what they are asked
// into services.log.
type fakeApt struct{ dir string }

// cluster is a line of `pg_lsclusters -h`.
func cluster(version, name, status string) string {
	return fmt.Sprintf("%s %s 5432 %s postgres /var/lib/postgresql/%[1]s/%[2]s /var/log/postgresql/postgresql-%[1]s-%[2]s.log\n",
		version, name, status)
}

// newFakeApt makes the commands; clusters nil means no postgresql-common
// (no pg_lsclusters) before an install.
func newFakeApt(t *testing.T, clusters []string, locked int) fakeApt {
	t.Helper()
	f := fakeApt{dir: t.TempDir()}
	f.write(t, "bin/apt-get", `#!/bin/bash
echo "$*" >> "$FAKE/apt.log"
n=$(cat "$FAKE/locked")
if ((n > 0)); then
  echo $((n - 1)) > "$FAKE/locked"
  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
  echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
  exit 100
fi
for a in "$@"; do
  case $a in
    no-such-package) echo "E: Unable to locate package no-such-package" >&2; exit 100 ;;
    postgresql)
      cp "$FAKE/pg_lsclusters" "$FAKE/bin/pg_lsclusters"
      echo "`+strings.TrimSuffix(cluster("16", "main", "online"), "\n")+`" >> "$FAKE/clusters" ;;
    prometheus) echo "$(cat "$FAKE/init")" > "$FAKE/prometheus" ;;
  esac
done
`)
	f.write(t, "bin/systemctl", `#!/bin/bash
[[ $1 == is-active ]] || echo "systemctl $*" >> "$FAKE/services.log"
case $1 in
  is-active) [[ $(cat "$FAKE/prometheus" 2>/dev/null) == systemd ]] ;;
  disable) rm -f "$FAKE/prometheus" ;;
esac
`)
	f.write(t, "bin/pgrep", `#!/bin/bash
[[ "$*" == "-x prometheus" && -s "$FAKE/prometheus" ]]
`)
	f.write(t, "bin/service", `#!/bin/bash
echo "service $*" >> "$FAKE/services.log"
rm -f "$FAKE/prometheus"
`)
	f.write(t, "bin/update-rc.d", `#!/bin/bash
echo "update-rc.d $*" >> "$FAKE/services.log"
`)
	f.write(t, "init", "systemd\n")
	f.write(t, "pg_lsclusters", "#!/bin/bash\n[[ $1 == -h ]] || exit 2\ncat \"$FAKE/clusters\"\n")
	if clusters != nil {
		f.write(t, "bin/pg_lsclusters", f.read(t, "pg_lsclusters"))
	}
	f.write(t, "bin/pg_ctlcluster", "#!/bin/bash\necho \"$*\" >> \"$FAKE/ctl.log\"\n")
	f.write(t, "locked", strconv.Itoa(locked)+"\n")
	f.write(t, "clusters", strings.Join(clusters, ""))
	return f
}

func (f fakeApt) write(t *testing.T, name, text string) {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

func (f fakeApt) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// run calls one of install-deps.sh's functions with the fake commands.
func (f fakeApt) run(t *testing.T, lockWait, fn string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"-c", `source ./install-deps.sh && "$@"`, "bash", fn}, args...)...)
	cmd.Env = append(os.Environ(),
		"FAKE="+f.dir,
		"PATH="+filepath.Join(f.dir, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"APT_LOCK_WAIT="+lockWait)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The script used to stop every cluster of the machine whenever it
// installed anything; it may stop only the one its install started.
func TestInstallStopsOnlyTheClusterItsInstallStarted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		clusters  []string
		packages  []string
		wantStops string
	}{
		{"first PostgreSQL on the machine", nil, []string{"postgresql", "sox"}, "16 main stop\n"},
		{"beside clusters of others", []string{cluster("15", "main", "online"), cluster("16", "other", "online"), cluster("17", "main", "down")},
			[]string{"postgresql"}, "16 main stop\n"},
		{"no PostgreSQL installed", []string{cluster("15", "main", "online"), cluster("16", "other", "online")},
			[]string{"espeak-ng", "chromium"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeApt(t, tc.clusters, 0)
			out, err := f.run(t, "600", "install_packages", tc.packages...)
			if err != nil {
				t.Fatalf("install_packages: %v\n%s", err, out)
			}
			if got := f.read(t, "ctl.log"); got != tc.wantStops {
				t.Errorf("pg_ctlcluster calls %q, want %q", got, tc.wantStops)
			}
			wantApt := "-o DPkg::Lock::Timeout=600 update -qq\n" +
				"-o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends " + strings.Join(tc.packages, " ") + "\n"
			if got := f.read(t, "apt.log"); got != wantApt {
				t.Errorf("apt-get calls:\n%s\nwant:\n%s", got, wantApt)
			}
		})
	}
}

// Debian's prometheus package starts a server (on :9090, the port
// docker-compose's Prometheus publishes); the tests need only its
// promtool. The script stops the server its install started, and no other.
func TestInstallStopsOnlyThePrometheusItsInstallStarted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		init     string // how services start: systemd or sysv
		running  bool   // a Prometheus ran before the install
		packages []string
		want     string
	}{
		{"systemd", "systemd", false, []string{"prometheus", "chromium"}, "systemctl disable --now prometheus\n"},
		{"sysvinit", "sysv", false, []string{"prometheus"}, "service prometheus stop\nupdate-rc.d prometheus disable\n"},
		{"one of the user's ran before", "systemd", true, []string{"prometheus"}, ""},
		{"no prometheus installed", "systemd", false, []string{"sox"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeApt(t, nil, 0)
			f.write(t, "init", tc.init+"\n")
			if tc.running {
				f.write(t, "prometheus", tc.init+"\n")
			}
			out, err := f.run(t, "600", "install_packages", tc.packages...)
			if err != nil {
				t.Fatalf("install_packages: %v\n%s", err, out)
			}
			if got := f.read(t, "services.log"); got != tc.want {
				t.Errorf("service commands %q, want %q", got, tc.want)
			}
			if running := f.read(t, "prometheus") != ""; running != tc.running {
				t.Errorf("a Prometheus runs after the install: %v, want %v", running, tc.running)
			}
		})
	}
}

// Another apt running made the script fail with "Could not get lock";
// it must wait for the lock, for a while.
func TestAptGetWaitsForTheLock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		locked    int
		lockWait  string
		packages  []string
		wantErr   bool
		wantCalls int
		wantOut   string
	}{
		{"lock released", 2, "600", []string{"sox"}, false, 3, "waiting"},
		{"lock held past the wait", 5, "0", []string{"sox"}, true, 1, "Could not get lock"},
		{"another error", 0, "600", []string{"no-such-package"}, true, 1, "Unable to locate package"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeApt(t, nil, tc.locked)
			out, err := f.run(t, tc.lockWait, "apt_get", append([]string{"install", "-y"}, tc.packages...)...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("apt_get: error %v, want error %v\n%s", err, tc.wantErr, out)
			}
			if calls := strings.Count(f.read(t, "apt.log"), "\n"); calls != tc.wantCalls {
				t.Errorf("apt-get ran %d times, want %d", calls, tc.wantCalls)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out)
			}
		})
	}
}
