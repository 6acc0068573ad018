package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// An Asterisk on a public number is a target for toll fraud: a guessed SIP
// password is a free line abroad. secretProblems reads the secrets of an
// Asterisk configuration directory (configs/asterisk and its copies) and
// reports, as FILE:LINE: message, every one that is a placeholder of the
// shipped files, short, or guessable from its own section.
func secretProblems(dir string) ([]string, error) {
	var out []string
	for _, name := range []string{"pjsip.conf", "ari.conf", "manager.conf", "voicemail.conf"} {
		path := filepath.Join(dir, name)
		f, err := os.Open(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, scanSecrets(path, name, bufio.NewScanner(f))...)
		f.Close()
	}
	return out, nil
}

// minSecret is the shortest SIP, ARI or AMI password accepted: long
// enough that guessing it over the network is hopeless.
const minSecret = 12

// minMailboxPIN is the shortest voicemail password (digits only).
const minMailboxPIN = 6

func scanSecrets(path, name string, sc *bufio.Scanner) []string {
	var out []string
	section, crypt := "", false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section, _, _ = strings.Cut(strings.TrimPrefix(line, "["), "]")
			crypt = false
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key = strings.TrimSpace(key)
		value = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(value), ">")) // "800 => pw,..."
		bad := func(format string, args ...any) {
			out = append(out, fmt.Sprintf("%s:%d: %s", path, n, fmt.Sprintf(format, args...)))
		}
		switch {
		case key == "password_format" && name == "ari.conf":
			crypt = value == "crypt"
		case name == "voicemail.conf" && section != "general" && section != "zonemessages" && key != "" && isDigits(key):
			pin, _, _ := strings.Cut(value, ",")
			switch {
			case !isDigits(pin) || len(pin) < minMailboxPIN:
				bad("mailbox %s: its password must be at least %d digits", key, minMailboxPIN)
			case strings.HasPrefix(pin, key) || strings.HasPrefix(key, pin):
				bad("mailbox %s: its password is the mailbox number", key)
			}
		case key == "password" || (key == "secret" && name == "manager.conf"):
			if crypt {
				continue // a hash: its strength is not visible here
			}
			if p := passwordProblem(section, value); p != "" {
				bad("%s [%s]: %s", name, section, p)
			}
		}
	}
	return out
}

// passwordProblem says what is wrong with the password of account, or "".
func passwordProblem(account, value string) string {
	switch low := strings.ToLower(value); {
	case strings.Contains(low, "change-me") || strings.Contains(low, "changeme"):
		return "the shipped placeholder password: set a secret of your own (e.g. openssl rand -base64 18)"
	case len(value) < minSecret:
		return fmt.Sprintf("a password of %d characters: use at least %d", len(value), minSecret)
	case strings.Contains(low, strings.ToLower(account)) || onlyOneClass(value):
		return "a guessable password (it holds the account's name, or only letters or only digits)"
	}
	return ""
}

// kamailioSecretProblems checks the phones' passwords of a Kamailio
// configuration directory (configs/kamailio): its db_text table
// dbtext/subscriber, which scripts/compose-secrets.sh writes and git does
// not hold, must be there, and each password passes as a SIP one does.
func kamailioSecretProblems(dir string) ([]string, error) {
	path := filepath.Join(dir, "dbtext", "subscriber")
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return []string{path + ": missing: run scripts/compose-secrets.sh (the phones' passwords of pjsip.conf)"}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	users := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if n == 1 || line == "" {
			continue // the columns' header
		}
		// id:username:domain:password:ha1:ha1b
		cols := strings.Split(line, ":")
		if len(cols) != 6 {
			out = append(out, fmt.Sprintf("%s:%d: not id:username:domain:password:ha1:ha1b", path, n))
			continue
		}
		users++
		if p := passwordProblem(cols[1], cols[3]); p != "" {
			out = append(out, fmt.Sprintf("%s:%d: %s: %s", path, n, cols[1], p))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if users == 0 && len(out) == 0 {
		out = append(out, path+": no phone")
	}
	return out, nil
}

func isDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// onlyOneClass: all letters or all digits.
func onlyOneClass(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 || isDigits(s)
}
