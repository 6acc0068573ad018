package tickets

import "time"

// PINTarget is who tries a PIN and, when known, which Administration's PIN
// it must be. Only these two are ever stored: never the digits.
type PINTarget struct {
	// Caller is the caller's E.164 number; "" when withheld (all withheld
	// callers share one count, so withholding the number gains nothing).
	Caller string
	// Organization is the Administration targeted: the one the caller id
	// or the keyed Administration code named. "" when the PIN alone was to
	// identify it: a wrong PIN then targets nobody in particular, and only
	// the caller's count and the alarm see it.
	Organization string
}

// LockoutPolicy says how many wrong PINs lock whom, for how long.
type LockoutPolicy struct {
	// Window is both the time wrong PINs are counted over and the length
	// of a lock.
	Window time.Duration
	// MaxPerNumber wrong PINs from one number within Window lock it.
	MaxPerNumber int
	// MaxPerOrganization wrong PINs against one Administration, from any
	// numbers, within Window lock the Administration's PINs for numbers it
	// does not trust (see TrustFor).
	MaxPerOrganization int
	// AlarmFailures wrong PINs across all numbers within AlarmWindow raise
	// the alarm (someone rotating caller ids); 0 disables it.
	AlarmFailures int
	AlarmWindow   time.Duration
	// TrustFor is how long a number that keyed a right PIN of an
	// Administration keeps trying that Administration's PINs while the
	// Administration is locked: its rightful callers are not locked out
	// by an attacker.
	TrustFor time.Duration
}

// DefaultPINTrust is how long a right PIN makes a number trusted by its
// Administration.
const DefaultPINTrust = 90 * 24 * time.Hour

// PINLock says why a caller may not try a PIN now.
type PINLock struct {
	// Number: the caller's number (or, withheld, every withheld number)
	// had too many wrong PINs.
	Number bool
	// Organization: the Administration targeted had too many wrong PINs
	// and does not trust the caller's number.
	Organization bool
}

// Locked reports whether the caller may not try.
func (l PINLock) Locked() bool { return l.Number || l.Organization }

// LockoutVerdict is what counting one wrong PIN led to.
type LockoutVerdict struct {
	NumberLocked       bool // this failure locked the caller's number
	OrganizationLocked bool // this failure locked the Administration
	// Alarm: this failure raised the alarm (once per AlarmWindow at most,
	// across every instance sharing the store).
	Alarm bool
	// Recent counts wrong PINs across all numbers within AlarmWindow.
	Recent int
}
