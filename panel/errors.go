package panel

import (
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

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
	// ETOOLARGE: a form bigger than the panel reads (maxForm).
	ETOOLARGE = "too_large"
)

// Error is the panel's domain error (users, sessions, requests): a code and
// a message safe to show. Key and Args, when set, name the message in the
// catalogs, which the panel shows in the user's language; Message is then
// the English text, for logs and the command line (ivrctl).
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

// errorKey is an error whose message is the catalog's key: shown in the
// user's language, in English in logs. Text values are cut short, so
// that an oversized input is never echoed back whole.
func errorKey(code, key string, args ...any) *Error {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = shorten(s, 40)
		}
	}
	e := &Error{Code: code, Key: key, Args: args}
	e.Message = lang("en").errorText(e)
	return e
}

// errorText is e's catalog message in l, the fields it names by their
// labels in l.
func (l lang) errorText(e *Error) string {
	args := make([]any, len(e.Args))
	for i, a := range e.Args {
		if f, ok := a.(field); ok {
			a = l.T(string(f))
		}
		args[i] = a
	}
	return l.Tf(e.Key, args...)
}

// shorten cuts s to at most n runes, with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
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

// errorMessage is the user-safe text of err in l: never SQL or a stack,
// never English on an Italian page. Errors of the panel's own checks have
// their message in the catalogs; the few of package tickets the panel
// can meet are translated here; any other becomes "" (the caller shows
// the status's message).
func errorMessage(l lang, err error) string {
	if e, ok := errors.AsType[*Error](err); ok && e.Code != EINTERNAL {
		if e.Key != "" {
			return l.errorText(e)
		}
		return ""
	}
	if te, ok := errors.AsType[*tickets.TransitionError](err); ok {
		return l.Tf("ticket.transition", l.T("status."+string(te.From)), l.T("status."+string(te.To)))
	}
	switch {
	case errors.Is(err, tickets.ErrBadCheckDigit), errors.Is(err, tickets.ErrMalformedNumber):
		return l.T("ticket.bad_number")
	case errors.Is(err, tickets.ErrConflict):
		return l.T("ticket.conflict")
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
	case ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}
