package menu

import (
	"fmt"
	"math"
)

// PINOddsWarning is the chance of one wrong guess landing on somebody's
// PIN above which `ivrctl validate` warns.
const PINOddsWarning = 1.0 / 1000

// PINOdds is the chance that one guess from a number of no Administration
// lands on somebody's PIN.
type PINOdds struct {
	// PINs is how many PINs one guess is checked against: every PIN of the
	// file when the PIN alone identifies the Administration, or the most
	// any one Administration has when its code narrows the check.
	PINs int
	// Digits is the length taken for every PIN: ivr.pin.min_digits, since
	// the hashes hide the real lengths and shorter PINs are easier (the
	// worst case).
	Digits int
	// CodeRequired: callers on such numbers key an Administration code
	// first (ivr.pin.require_org_code_from_unknown_numbers).
	CodeRequired bool
}

// Chance is PINs / 10^Digits.
func (o PINOdds) Chance() float64 { return float64(o.PINs) / math.Pow10(o.Digits) }

// Warn reports whether the chance is above PINOddsWarning.
func (o PINOdds) Warn() bool { return o.Chance() > PINOddsWarning }

// String says the odds, for `ivrctl validate`.
func (o PINOdds) String() string {
	if o.PINs == 0 {
		return "no PINs"
	}
	against := fmt.Sprintf("all %d PINs of the file (the PIN alone identifies the Administration)", o.PINs)
	if o.CodeRequired {
		against = fmt.Sprintf("the %d PINs at most of the Administration whose code was keyed", o.PINs)
	}
	return fmt.Sprintf("one PIN guess from a number of no Administration is checked against %s: odds %s in %s (1 in %s), taking every PIN as %d digits",
		against, thousands(float64(o.PINs)), thousands(math.Pow10(o.Digits)), thousands(math.Round(1/o.Chance())), o.Digits)
}

// thousands writes a whole number with thousands separators: 10,000.
func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// UnknownNumberPINOdds are the odds of one guess from a number that
// belongs to no Administration. (A number of an Administration is checked
// against that Administration's PINs only.)
func (c *Config) UnknownNumberPINOdds() PINOdds {
	o := PINOdds{Digits: c.IVR.PIN.MinDigits, CodeRequired: c.IVR.PIN.RequireOrgCodeFromUnknownNumbers}
	if !o.CodeRequired {
		o.PINs = len(c.pins)
		return o
	}
	for _, org := range c.Organizations {
		if org != nil && len(org.PINs) > o.PINs {
			o.PINs = len(org.PINs)
		}
	}
	return o
}
