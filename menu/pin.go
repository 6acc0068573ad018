package menu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

const pinHashPrefix = "hmac-sha256:"

// ErrPINFormat is returned for a PIN that is not 4 to 16 digits.
var ErrPINFormat = errors.New("a PIN is 4 to 16 digits")

// HashPIN returns the keyed hash of a PIN as the configuration stores it.
// The key (the PIN secret) is kept apart from the configuration, so the
// file alone says nothing about the PINs, and a PIN is found by its hash
// directly without trying every Administration.
func HashPIN(secret []byte, pin string) (string, error) {
	if len(pin) < 4 || len(pin) > 16 || !isDigits(pin) {
		return "", ErrPINFormat
	}
	if len(secret) == 0 {
		return "", errors.New("the PIN secret is empty")
	}
	return pinHashPrefix + hex.EncodeToString(pinMAC(secret, pin)), nil
}

func pinMAC(secret []byte, pin string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("helpdesk-pin-v1\x00"))
	m.Write([]byte(pin))
	return m.Sum(nil)
}

func validPINHash(h string) bool {
	rest, ok := strings.CutPrefix(h, pinHashPrefix)
	if !ok || len(rest) != 64 {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil
}

type pinOwner struct {
	org  string
	role Role
}

// PINStatus is the verdict on a PIN.
type PINStatus string

// The PIN verdicts. The digits themselves never leave VerifyPIN.
const (
	PINAccepted PINStatus = "accepted"
	PINWrong    PINStatus = "wrong"
	// PINLocked means the caller may not try now (too many failures);
	// the controller decides it, the navigator reacts to it.
	PINLocked PINStatus = "locked"
	// PINNoInput means the caller keyed nothing before the timeout.
	PINNoInput PINStatus = "no_input"
)

// PINResult is what the controller feeds the navigator after a PIN entry.
type PINResult struct {
	Status       PINStatus
	Organization string
	Role         Role
}

// VerifyPIN checks a keyed PIN. When the caller id already identified an
// Administration (callerOrg), the PIN must be one of that Administration's;
// otherwise the PIN alone identifies it.
func (c *Config) VerifyPIN(secret []byte, pin, callerOrg string) PINResult {
	if pin == "" {
		return PINResult{Status: PINNoInput}
	}
	h, err := HashPIN(secret, pin)
	if err != nil {
		return PINResult{Status: PINWrong}
	}
	owner, ok := c.pins[h]
	if !ok || (callerOrg != "" && owner.org != callerOrg) {
		return PINResult{Status: PINWrong}
	}
	return PINResult{Status: PINAccepted, Organization: owner.org, Role: owner.role}
}

// HasPINs reports whether any Administration has a PIN, i.e. whether the
// server needs a PIN secret.
func (c *Config) HasPINs() bool { return len(c.pins) > 0 }
