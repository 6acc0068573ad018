package tickets

import (
	"fmt"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// The tickets' own errors, finer than the codes of package fault; each
// also matches its code's sentinel (errors.Is(err, fault.ErrInvalid)).
var (
	// ErrBadCheckDigit: a ticket number whose check digit does not match,
	// almost always a digit mistyped or two digits swapped on the keypad.
	ErrBadCheckDigit = &fault.Error{Code: fault.EINVALID, Message: "ticket number: wrong check digit"}
	// ErrMalformedNumber: not a ticket number at all (length, letters, date).
	ErrMalformedNumber = &fault.Error{Code: fault.EINVALID, Message: "ticket number: malformed"}
	// ErrInvalidTransition is wrapped by every *TransitionError.
	ErrInvalidTransition = &fault.Error{Code: fault.EINVALID, Message: "invalid status transition"}
	// ErrStale is wrapped by every *StaleError.
	ErrStale = &fault.Error{Code: fault.ECONFLICT, Message: "ticket changed by someone else"}
)

// TransitionError reports a status change that the workflow does not allow.
type TransitionError struct {
	From, To Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("invalid status transition from %s to %s", e.From, e.To)
}

func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }

// SafeMessage tells fault.Message that this text, naming both statuses, is
// safe to show: better than the generic one it wraps.
func (e *TransitionError) SafeMessage() string { return e.Error() }

// StaleError reports an update made on an old version of a ticket: someone
// else changed it since the editor read it.
type StaleError struct {
	Number      Number
	Now, Edited int
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("ticket %s was changed by someone else (now version %d, edited version %d)", e.Number, e.Now, e.Edited)
}

func (e *StaleError) Unwrap() error { return ErrStale }

// SafeMessage: the text names only the ticket and versions.
func (e *StaleError) SafeMessage() string { return e.Error() }
