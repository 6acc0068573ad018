package scripts

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestComposeSecrets: compose-secrets.sh turns the shipped configs/asterisk,
// which `ivrctl validate -asterisk` refuses, into one it accepts, with .env,
// ari.conf and the PIN secret consistent; it keeps what is set, and a second
// run changes nothing.
func TestComposeSecrets(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	ivrctl := filepath.Join(tmp, "ivrctl")
	if out, err := exec.Command("go", "build", "-o", ivrctl, filepath.Join(root, "cmd", "ivrctl")).CombinedOutput(); err != nil {
		t.Fatalf("go build ivrctl: %v\n%s", err, out)
	}
	validate := func(dir string) (bool, string) {
		out, err := exec.Command(ivrctl, "validate", "-asterisk", filepath.Join(dir, "configs", "asterisk"),
			"-kamailio", filepath.Join(dir, "configs", "kamailio")).CombinedOutput()
		return err == nil, string(out)
	}
	run := func(dir string) (string, error) {
		out, err := exec.Command("bash", filepath.Join(root, "scripts", "compose-secrets.sh"), dir).CombinedOutput()
		return string(out), err
	}
	checkout := func(name string) string {
		dir := filepath.Join(tmp, name)
		for _, c := range []string{"asterisk", "asterisk-kamailio", "kamailio"} {
			if err := os.CopyFS(filepath.Join(dir, "configs", c), os.DirFS(filepath.Join(root, "configs", c))); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}

	dir := checkout("fresh")
	if ok, out := validate(dir); ok {
		t.Fatalf("ivrctl validate accepts the shipped placeholders, so this test proves nothing:\n%s", out)
	}
	out, err := run(dir)
	if err != nil {
		t.Fatalf("compose-secrets.sh: %v\n%s", err, out)
	}
	if ok, vout := validate(dir); !ok {
		t.Fatalf("after compose-secrets.sh, ivrctl validate -asterisk still refuses:\n%s\n(script said:\n%s)", vout, out)
	}
	env := readEnv(t, filepath.Join(dir, ".env"))
	strong := regexp.MustCompile(`^[A-Za-z0-9]{24}$`)
	for _, k := range []string{"POSTGRES_PASSWORD", "ARI_PASSWORD", "GRAFANA_ADMIN_PASSWORD"} {
		v := env[k]
		if !strong.MatchString(v) || !regexp.MustCompile(`[0-9]`).MatchString(v) || !regexp.MustCompile(`[A-Za-z]`).MatchString(v) {
			t.Errorf(".env: %s = %q, want 24 random letters and digits", k, v)
		}
	}
	if got := confValue(t, filepath.Join(dir, "configs", "asterisk", "ari.conf"), "ivr", "password"); got != env["ARI_PASSWORD"] {
		t.Errorf("ari.conf's password %q is not .env's ARI_PASSWORD %q", got, env["ARI_PASSWORD"])
	}
	pjsip, err := os.ReadFile(filepath.Join(dir, "configs", "asterisk", "pjsip.conf"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^password = (.*)$`).FindAllStringSubmatch(string(pjsip), -1) {
		if seen[m[1]] {
			t.Errorf("pjsip.conf: the password %q is used twice", m[1])
		}
		seen[m[1]] = true
	}
	if len(seen) < 2 {
		t.Errorf("pjsip.conf: %d passwords", len(seen))
	}
	// Kamailio's phones have the passwords of pjsip.conf's operators.
	subscriber, err := os.ReadFile(filepath.Join(dir, "configs", "kamailio", "dbtext", "subscriber"))
	if err != nil {
		t.Fatal(err)
	}
	op201 := confValue(t, filepath.Join(dir, "configs", "asterisk", "pjsip.conf"), "op201", "password")
	if op201 == "" || !regexp.MustCompile(`(?m)^\d+:op201::`+regexp.QuoteMeta(op201)+`::$`).Match(subscriber) || strings.Contains(string(subscriber), "change-me") {
		t.Errorf("configs/kamailio/dbtext/subscriber has not op201's password of pjsip.conf:\n%s", subscriber)
	}
	// The cluster's nodes (the Kamailio overlay) have the same passwords,
	// placeholders none.
	overlay := filepath.Join(dir, "configs", "asterisk-kamailio", "pjsip.conf")
	for _, section := range []string{"op201", "carrier-auth"} {
		want := confValue(t, filepath.Join(dir, "configs", "asterisk", "pjsip.conf"), section, "password")
		if got := confValue(t, overlay, section, "password"); got != want || strings.Contains(got, "change-me") {
			t.Errorf("configs/asterisk-kamailio/pjsip.conf: [%s] password %q, want pjsip.conf's %q", section, got, want)
		}
	}
	if b, err := os.ReadFile(overlay); err != nil || regexp.MustCompile(`(?m)^password\s*=\s*change-?me`).Match(b) {
		t.Errorf("configs/asterisk-kamailio/pjsip.conf keeps a placeholder password (%v)", err)
	}
	if strings.Contains(out, env["ARI_PASSWORD"]) {
		t.Error("the script printed a secret")
	}
	fi, err := os.Stat(filepath.Join(dir, "secrets", "pin-secret"))
	if err != nil || fi.Mode().Perm() != 0o400 || fi.Size() < 40 {
		t.Errorf("secrets/pin-secret: %v %v, want 0400 and 32 random bytes in base64", fi, err)
	}
	for _, f := range []string{".env"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: readable by others: %v %v", f, fi, err)
		}
	}

	// A second run keeps everything as it is.
	before := snapshot(t, dir)
	if out, err := run(dir); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if after := snapshot(t, dir); !maps.Equal(before, after) {
		t.Error("a second run changed files")
	}

	// What the user set is kept: ARI_PASSWORD of .env goes to ari.conf,
	// even with characters sed would take for its own.
	dir = checkout("preset")
	preset := "POSTGRES_PASSWORD=mine0Postgres\nARI_PASSWORD=a/b&c\\d9Xyzw1234\n"
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(preset), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(dir); err != nil {
		t.Fatalf("preset .env: %v\n%s", err, out)
	}
	env = readEnv(t, filepath.Join(dir, ".env"))
	if env["POSTGRES_PASSWORD"] != "mine0Postgres" || env["ARI_PASSWORD"] != `a/b&c\d9Xyzw1234` || env["GRAFANA_ADMIN_PASSWORD"] == "" {
		t.Errorf("preset .env not kept or not completed: %q", env)
	}
	if got := confValue(t, filepath.Join(dir, "configs", "asterisk", "ari.conf"), "ivr", "password"); got != `a/b&c\d9Xyzw1234` {
		t.Errorf("ari.conf's password %q, want .env's", got)
	}

	// Two different ARI passwords: refused, nothing guessed.
	dir = checkout("conflict")
	ari := filepath.Join(dir, "configs", "asterisk", "ari.conf")
	b, err := os.ReadFile(ari)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ari, bytes.Replace(b, []byte("password = change-me-ari-password"), []byte("password = Own0AriPassword"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("ARI_PASSWORD=Other0Password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(dir); err == nil || !strings.Contains(out, "differs") {
		t.Errorf("ari.conf and .env disagree: want a refusal, got %v\n%s", err, out)
	}
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	return env
}

// confValue: key in [section] of an Asterisk config file.
func confValue(t *testing.T, path, section, key string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			in = strings.HasPrefix(l, "["+section+"]")
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok && in && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		m[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
