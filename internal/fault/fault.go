// Package fault is the one error type of the help desk's domain: tickets,
// queues, the panel's users and sessions, the API and webhooks all return
// *Error with one of the codes below, and HTTPStatus is the one place where
// a code becomes an HTTP status, for the panel and the API alike.
package fault

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes.
const (
	ECONFLICT     = "conflict"     // stale version, duplicate, not in a state that allows it
	EFORBIDDEN    = "forbidden"    // the actor may not do this (never used to hide existence)
	EINTERNAL     = "internal"     // a bug or the database failing
	EINVALID      = "invalid"      // bad input, bad check digit, invalid transition
	ENOTFOUND     = "not_found"    // missing, or not visible to the viewer
	EUNAUTHORIZED = "unauthorized" // no valid session or token
	ETOOLARGE     = "too_large"    // a body bigger than the server reads
	ERATELIMITED  = "rate_limited" // too many requests from one client
	// The HTTP layer's own refusals, before any domain code runs.
	EMETHOD      = "method_not_allowed"
	EMEDIATYPE   = "unsupported_media_type"
	ENOTACCEPTED = "not_acceptable"
)

// Error is a domain error: a code for programs and a message safe to show
// to a user (never SQL). Key and Args, when set, name the message in the
// panel's catalogs, which show it in the user's language; Message is then
// the English text, for logs, the API and the command line.
type Error struct {
	Code    string
	Message string
	Key     string
	Args    []any
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Code
}

// Is makes errors.Is(err, ErrNotFound) and friends match any *Error of the
// same code: the code sentinels carry no message, so they match by code,
// while sentinels with a message (tickets.ErrBadCheckDigit) match only
// themselves.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Key == "" && t.Code == e.Code
}

// Code sentinels, for errors.Is.
var (
	ErrConflict     = &Error{Code: ECONFLICT}
	ErrForbidden    = &Error{Code: EFORBIDDEN}
	ErrInternal     = &Error{Code: EINTERNAL}
	ErrInvalid      = &Error{Code: EINVALID}
	ErrNotFound     = &Error{Code: ENOTFOUND}
	ErrUnauthorized = &Error{Code: EUNAUTHORIZED}
)

// Errorf is an *Error of code whose message is formatted.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Code returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func Code(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// Message returns the user-safe message of the first *Error in err's
// chain ("" for a bare code sentinel), or "internal error" for anything
// else (whose text may carry SQL).
// An error that knows a better safe text than the *Error it wraps
// (tickets.TransitionError names both statuses) says so with SafeMessage.
func Message(err error) string {
	if err == nil {
		return ""
	}
	if s, ok := errors.AsType[safeMessager](err); ok {
		return s.SafeMessage()
	}
	if e, ok := errors.AsType[*Error](err); ok && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}

// safeMessager is an error whose own text is safe to show.
type safeMessager interface {
	error
	SafeMessage() string
}

// statuses maps each code to its HTTP status.
var statuses = map[string]int{
	ECONFLICT:     http.StatusConflict,
	EFORBIDDEN:    http.StatusForbidden,
	EINTERNAL:     http.StatusInternalServerError,
	EINVALID:      http.StatusBadRequest,
	ENOTFOUND:     http.StatusNotFound,
	EUNAUTHORIZED: http.StatusUnauthorized,
	ETOOLARGE:     http.StatusRequestEntityTooLarge,
	ERATELIMITED:  http.StatusTooManyRequests,
	EMETHOD:       http.StatusMethodNotAllowed,
	EMEDIATYPE:    http.StatusUnsupportedMediaType,
	ENOTACCEPTED:  http.StatusNotAcceptable,
}

// HTTPStatus is the one place where a domain error becomes an HTTP status:
// that of the code of err's first *Error, 500 for anything else.
func HTTPStatus(err error) int {
	if s, ok := statuses[Code(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}
