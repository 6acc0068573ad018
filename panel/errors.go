package panel

import (
	"errors"
	"unicode/utf8"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// errorKey is an error whose message is the catalog's key: shown in the
// user's language, in English in logs. Text values are cut short, so
// that an oversized input is never echoed back whole.
func errorKey(code, key string, args ...any) *fault.Error {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = shorten(s, 40)
		}
	}
	e := &fault.Error{Code: code, Key: key, Args: args}
	e.Message = lang("en").errorText(e)
	return e
}

// errorText is e's catalog message in l, the fields it names by their
// labels in l.
func (l lang) errorText(e *fault.Error) string {
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

// errorMessage is the user-safe text of err in l: never SQL or a stack,
// never English on an Italian page. Errors of the panel's own checks have
// their message in the catalogs; the few of package tickets the panel
// can meet are translated here; any other becomes "" (the caller shows
// the status's message).
func errorMessage(l lang, err error) string {
	if e, ok := errors.AsType[*fault.Error](err); ok && e.Key != "" && e.Code != fault.EINTERNAL {
		return l.errorText(e)
	}
	if te, ok := errors.AsType[*tickets.TransitionError](err); ok {
		return l.Tf("ticket.transition", l.T("status."+string(te.From)), l.T("status."+string(te.To)))
	}
	switch {
	case errors.Is(err, tickets.ErrBadCheckDigit), errors.Is(err, tickets.ErrMalformedNumber):
		return l.T("ticket.bad_number")
	case errors.Is(err, tickets.ErrStale):
		return l.T("ticket.conflict")
	}
	return ""
}
