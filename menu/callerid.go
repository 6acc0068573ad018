package menu

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoCallerNumber means the caller withheld the number or sent none.
var ErrNoCallerNumber = errors.New("no caller number")

// NormalizeNumber turns a caller number as a switch sends it into E.164:
// "+39..." stays, "0039..." becomes "+39...", and an Italian national
// number without prefix (landlines start with 0, mobiles with 3, toll-free
// and shared-cost numbers with 8) becomes "+39...".
func NormalizeNumber(raw string) (string, error) {
	s := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')', '/':
			return -1
		}
		return r
	}, strings.TrimSpace(raw))
	switch strings.ToLower(s) {
	case "", "anonymous", "unknown", "restricted", "private", "unavailable":
		return "", ErrNoCallerNumber
	}
	plus := strings.HasPrefix(s, "+")
	digits := strings.TrimPrefix(s, "+")
	if !isDigits(digits) {
		return "", fmt.Errorf("caller number %q has characters other than digits", raw)
	}
	switch {
	case plus:
	case strings.HasPrefix(digits, "00"):
		digits = digits[2:]
	case strings.HasPrefix(digits, "0"), strings.HasPrefix(digits, "3"), strings.HasPrefix(digits, "8"):
		digits = "39" + digits
	default:
		return "", fmt.Errorf("caller number %q has no country code", raw)
	}
	if len(digits) < 6 || len(digits) > 15 || digits[0] == '0' {
		return "", fmt.Errorf("caller number %q is not a valid international number", raw)
	}
	return "+" + digits, nil
}

// normalizePattern normalises a caller-id pattern: a number, or a prefix
// ending in "*".
func normalizePattern(p string) (string, error) {
	prefix, isPrefix := strings.CutSuffix(strings.TrimSpace(p), "*")
	n, err := NormalizeNumber(prefix)
	if isPrefix && err != nil {
		// A short prefix such as "+39063" fails the length check only.
		if d := strings.TrimPrefix(prefix, "+"); strings.HasPrefix(prefix, "+") && isDigits(d) && len(d) >= 2 && len(d) <= 15 && d[0] != '0' {
			return prefix + "*", nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("%q: %v", p, err)
	}
	if isPrefix {
		return n + "*", nil
	}
	return n, nil
}

// OrganizationByCaller finds the Administration a normalised caller number
// belongs to: an exact number wins over a prefix, and a longer prefix over
// a shorter one.
func (c *Config) OrganizationByCaller(number string) *Organization {
	if number == "" {
		return nil
	}
	var best *Organization
	bestLen := -1
	for _, o := range c.Organizations {
		for _, p := range o.CallerIDs {
			prefix, isPrefix := strings.CutSuffix(p, "*")
			switch {
			case !isPrefix && p == number:
				return o
			case isPrefix && strings.HasPrefix(number, prefix) && len(prefix) > bestLen:
				best, bestLen = o, len(prefix)
			}
		}
	}
	return best
}
