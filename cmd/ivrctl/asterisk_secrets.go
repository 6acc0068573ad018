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
			who := name + " [" + section + "]"
			switch low := strings.ToLower(value); {
			case strings.Contains(low, "change-me") || strings.Contains(low, "changeme"):
				bad("%s: the shipped placeholder password: set a secret of your own (e.g. openssl rand -base64 18)", who)
			case len(value) < minSecret:
				bad("%s: a password of %d characters: use at least %d", who, len(value), minSecret)
			case strings.Contains(low, strings.ToLower(section)) || onlyOneClass(value):
				bad("%s: a guessable password (it holds the account's name, or only letters or only digits)", who)
			}
		}
	}
	return out
}

func isDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// onlyOneClass: all letters or all digits.
func onlyOneClass(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 || isDigits(s)
}
