package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The shipped configs/asterisk holds placeholders: every secret in it is
// refused, at its line; the same files with secrets of one's own pass.
func TestAsteriskSecrets(t *testing.T) {
	shipped := "../../configs/asterisk"
	code, _, errOut := runCmd(t, "", "validate", "-asterisk", shipped)
	if code != 1 {
		t.Fatalf("exit %d for the shipped placeholders:\n%s", code, errOut)
	}
	// Every password line of the shipped files is reported.
	for _, name := range []string{"pjsip.conf", "ari.conf"} {
		b, err := os.ReadFile(filepath.Join(shipped, name))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "password =") {
				want := filepath.Join(shipped, name) + ":" + strconv.Itoa(i+1) + ": "
				if !strings.Contains(errOut, want) {
					t.Errorf("no problem reported at %s (%s)", want, line)
				}
			}
		}
	}
	if !strings.Contains(errOut, "voicemail.conf:") {
		t.Errorf("the mailbox's short password is not reported:\n%s", errOut)
	}

	// Secrets of one's own pass.
	dir := copyDir(t, shipped)
	strong := regexp.MustCompile(`change-me-[a-z0-9-]+`)
	for _, name := range []string{"pjsip.conf", "ari.conf"} {
		rewrite(t, filepath.Join(dir, name), func(s string) string {
			n := 0
			return strong.ReplaceAllStringFunc(s, func(string) string { n++; return "Zq7-wP2x-" + strconv.Itoa(n) + "-Lk9vR" })
		})
	}
	rewrite(t, filepath.Join(dir, "voicemail.conf"), func(s string) string { return strings.Replace(s, "800 => 80074,", "800 => 731946,", 1) })
	if code, out, errOut := runCmd(t, "", "validate", "-asterisk", dir); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("exit %d with strong secrets:\n%s%s", code, out, errOut)
	}

	// Short, guessable and hashed.
	for _, tc := range []struct{ file, from, to, want string }{
		{"ari.conf", "password = Zq7-wP2x-1-Lk9vR", "password = short1", "6 characters"},
		{"ari.conf", "password = Zq7-wP2x-1-Lk9vR", "password = ivr-helpdesk-2026", "guessable"},
		{"ari.conf", "password = Zq7-wP2x-1-Lk9vR", "password = abcdefghijklmnop", "guessable"},
		{"voicemail.conf", "800 => 731946,", "800 => 800123,", "the mailbox number"},
	} {
		bad := copyDir(t, dir)
		rewrite(t, filepath.Join(bad, tc.file), func(s string) string { return strings.Replace(s, tc.from, tc.to, 1) })
		if code, _, errOut := runCmd(t, "", "validate", "-asterisk", bad); code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s → %s: exit %d, %q (want %q)", tc.from, tc.to, code, errOut, tc.want)
		}
	}
	hashed := copyDir(t, dir)
	rewrite(t, filepath.Join(hashed, "ari.conf"), func(s string) string {
		s = strings.Replace(s, "password_format = plain", "password_format = crypt", 1)
		return strings.Replace(s, "password = Zq7-wP2x-1-Lk9vR", "password = $6$abc$def", 1)
	})
	if code, _, errOut := runCmd(t, "", "validate", "-asterisk", hashed); code != 0 {
		t.Errorf("a crypt hash refused: %s", errOut)
	}
}

// Kamailio's phones' passwords (dbtext/subscriber, written by
// scripts/compose-secrets.sh): missing, a placeholder or a weak one is
// refused at its line; strong ones pass.
func TestKamailioSecrets(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCmd(t, "", "validate", "-kamailio", dir); code != 1 || !strings.Contains(errOut, "missing") {
		t.Fatalf("no dbtext/subscriber: exit %d, %q", code, errOut)
	}
	if err := os.MkdirAll(filepath.Join(dir, "dbtext"), 0o700); err != nil {
		t.Fatal(err)
	}
	const header = "id(int,auto) username(string) domain(string,null) password(string) ha1(string,null) ha1b(string,null)\n"
	write := func(rows string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "dbtext", "subscriber"), []byte(header+rows), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("1:op201::Zq7wP2x1Lk9vRt::\n2:op202::Hy3kQ8mN2pWs4d::\n")
	if code, out, errOut := runCmd(t, "", "validate", "-kamailio", dir); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("exit %d with strong passwords:\n%s%s", code, out, errOut)
	}
	for _, tc := range []struct{ rows, want string }{
		{"1:op201::change-me-op201::\n", "subscriber:2: op201: the shipped placeholder"},
		{"1:op201::Zq7wP2x1Lk9vRt::\n2:op202::short1::\n", "subscriber:3: op202: a password of 6 characters"},
		{"1:op201::op201-password-1::\n", "guessable"},
		{"1:op201:Zq7wP2x1Lk9vRt\n", "not id:username"},
		{"", "no phone"},
	} {
		write(tc.rows)
		if code, _, errOut := runCmd(t, "", "validate", "-kamailio", dir); code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, %q (want %q)", tc.rows, code, errOut, tc.want)
		}
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func rewrite(t *testing.T, path string, f func(string) string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(f(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
}
