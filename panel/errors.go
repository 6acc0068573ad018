package panel

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Error codes: the same as package tickets' and queues', so that one table
// maps all three to HTTP statuses.
const (
	ECONFLICT  = tickets.ECONFLICT
	EFORBIDDEN = tickets.EFORBIDDEN
	EINTERNAL  = tickets.EINTERNAL
	EINVALID   = tickets.EINVALID
	ENOTFOUND  = tickets.ENOTFOUND
	// EUNAUTHORIZED: no valid session (the panel redirects to the login).
	EUNAUTHORIZED = "unauthorized"
)

// Error is the panel's domain error (users, sessions, requests): a code and
// a message safe to show.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return "panel: " + e.Code
}

// Is matches the code sentinels, as in package tickets.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Code sentinels, for errors.Is.
var (
	ErrConflict     = &Error{Code: ECONFLICT}
	ErrForbidden    = &Error{Code: EFORBIDDEN}
	ErrInvalid      = &Error{Code: EINVALID}
	ErrNotFound     = &Error{Code: ENOTFOUND}
	ErrUnauthorized = &Error{Code: EUNAUTHORIZED}
)

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// errorCode returns the code of the first domain error (panel, tickets or
// queues) in err's chain, EINTERNAL for any other error.
func errorCode(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	if _, ok := errors.AsType[*tickets.Error](err); ok {
		return tickets.ErrorCode(err)
	}
	if _, ok := errors.AsType[*queues.Error](err); ok {
		return queues.ErrorCode(err)
	}
	return EINTERNAL
}

// errorMessage is the user-safe text of err: never SQL or a stack.
func errorMessage(err error) string {
	if e, ok := errors.AsType[*Error](err); ok && e.Code != EINTERNAL {
		return e.Error()
	}
	if _, ok := errors.AsType[*tickets.Error](err); ok {
		return tickets.ErrorMessage(err)
	}
	if e, ok := errors.AsType[*queues.Error](err); ok && e.Code != queues.EINTERNAL {
		return e.Error()
	}
	return ""
}

// httpStatus is the one place where domain errors become HTTP statuses.
func httpStatus(err error) int {
	switch errorCode(err) {
	case ENOTFOUND:
		return http.StatusNotFound
	case ECONFLICT:
		return http.StatusConflict
	case EINVALID:
		return http.StatusBadRequest
	case EFORBIDDEN:
		return http.StatusForbidden
	case EUNAUTHORIZED:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}
