package tickets

import (
	"errors"
	"fmt"
)

// Error codes. The panel maps them to HTTP statuses in one place; the call
// controller only needs ErrorCode to decide whether to retry.
const (
	ECONFLICT  = "conflict"  // stale version, duplicate, already in that state
	EFORBIDDEN = "forbidden" // the actor may not do this (never used to hide existence)
	EINTERNAL  = "internal"  // a bug or the database failing
	EINVALID   = "invalid"   // bad input, bad check digit, invalid transition
	ENOTFOUND  = "not_found" // missing, or not visible to the viewer
)

// Error is the tickets domain error: a code for programs and a message that
// is safe to show to a user.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return "tickets: " + e.Code
}

// Is makes errors.Is(err, ErrNotFound) and friends match any *Error of the
// same code: the code sentinels carry no message, so they match by code,
// while sentinels with a message (ErrBadCheckDigit) match only themselves.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Code sentinels, for errors.Is.
var (
	ErrConflict  = &Error{Code: ECONFLICT}
	ErrForbidden = &Error{Code: EFORBIDDEN}
	ErrInternal  = &Error{Code: EINTERNAL}
	ErrInvalid   = &Error{Code: EINVALID}
	ErrNotFound  = &Error{Code: ENOTFOUND}
)

// Finer sentinels; each also matches its code sentinel.
var (
	// ErrBadCheckDigit: a ticket number whose check digit does not match,
	// almost always a digit mistyped or two digits swapped on the keypad.
	ErrBadCheckDigit = &Error{Code: EINVALID, Message: "ticket number: wrong check digit"}
	// ErrMalformedNumber: not a ticket number at all (length, letters, date).
	ErrMalformedNumber = &Error{Code: EINVALID, Message: "ticket number: malformed"}
	// ErrInvalidTransition is wrapped by every *TransitionError.
	ErrInvalidTransition = &Error{Code: EINVALID, Message: "invalid status transition"}
)

// TransitionError reports a status change that the workflow does not allow.
type TransitionError struct {
	From, To Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("invalid status transition from %s to %s", e.From, e.To)
}

func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of the first *Error in err's
// chain, or a generic message for internal errors (whose text may carry SQL).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if te, ok := errors.AsType[*TransitionError](err); ok {
		return te.Error()
	}
	if e, ok := errors.AsType[*Error](err); ok && e.Code != EINTERNAL {
		return e.Error()
	}
	return "internal error"
}

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
