package panel

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// Limits of what the panel's forms may carry, checked before anything
// reaches the database; in characters (runes) unless said otherwise.
const (
	maxSubject  = 200
	maxCategory = 64
	maxBody     = 10000 // a public message or an internal note
	maxSearch   = 200
	maxFilter   = 64 // Administration, caller, assignee filters
	maxName     = 100
	maxLoginLen = 64      // as panel_users.login's CHECK
	maxPassword = 1024    // bytes, at login (a new password stops at bcrypt's 72)
	maxReason   = 64      // a pause reason typed by the operator
	maxCursor   = 200     // a ticket list page cursor
	maxValue    = 64      // a choice: a status, a group, a role…
	maxForm     = 1 << 18 // bytes of a whole posted form
)

// field names a form field by its label's catalog key: messages show it
// in the user's language.
type field string

// text is a form value to check: trimmed; at most max characters; no
// control characters, except line breaks and tabs where multiline; and
// not empty when required. The error names the field.
func text(f field, s string, max int, required, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t'))
	}) {
		return s, errorKey(fault.EINVALID, "input.control", f)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return shorten(s, max), errorKey(fault.EINVALID, "input.too_long", f, max, n)
	}
	if required && s == "" {
		return s, errorKey(fault.EINVALID, "input.required", f)
	}
	return s, nil
}
