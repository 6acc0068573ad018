package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Problem is an RFC 9457 problem detail. Type stays "about:blank" (the
// status says what happened); Code is the domain error's code, for
// programs, and Detail a message safe to show.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`
}

// The API's own error codes, besides those of tickets, queues and panel.
const (
	codeRateLimited      = "rate_limited"
	codeMethodNotAllowed = "method_not_allowed"
	codeUnsupportedMedia = "unsupported_media_type"
	codeNotAcceptable    = "not_acceptable"
)

// apiError is an error of the API's own checks (a request it refuses
// before the domain sees it).
type apiError struct {
	code, message string
}

func (e *apiError) Error() string { return e.message }

func errorf(code, message string) error { return &apiError{code: code, message: message} }

// statuses is the one table from a domain error's code to an HTTP status,
// whichever package the error comes from: tickets, queues and panel
// (users, tokens) use the same strings for the same codes
// (TestErrorCodesAgree keeps them so), and this package adds its own.
var statuses = map[string]int{
	tickets.ENOTFOUND:    http.StatusNotFound,
	tickets.ECONFLICT:    http.StatusConflict,
	tickets.EINVALID:     http.StatusBadRequest,
	tickets.EFORBIDDEN:   http.StatusForbidden,
	tickets.EINTERNAL:    http.StatusInternalServerError,
	panel.EUNAUTHORIZED:  http.StatusUnauthorized,
	panel.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	codeRateLimited:      http.StatusTooManyRequests,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
	codeUnsupportedMedia: http.StatusUnsupportedMediaType,
	codeNotAcceptable:    http.StatusNotAcceptable,
}

// problemOf is err as a problem: the code of the first domain error in its
// chain and that error's own message, never the wrapping (which may name
// SQL); anything else is an internal error without detail.
func problemOf(err error) Problem {
	code, detail := tickets.EINTERNAL, ""
	if e, ok := errors.AsType[*apiError](err); ok {
		code, detail = e.code, e.message
	} else if e, ok := errors.AsType[*panel.Error](err); ok {
		code, detail = e.Code, e.Message
	} else if e, ok := errors.AsType[*tickets.TransitionError](err); ok {
		code, detail = tickets.EINVALID, e.Error()
	} else if e, ok := errors.AsType[*tickets.Error](err); ok {
		code, detail = e.Code, e.Error()
	} else if e, ok := errors.AsType[*queues.Error](err); ok {
		code, detail = e.Code, e.Error()
	}
	status, ok := statuses[code]
	if !ok || code == tickets.EINTERNAL {
		code, status, detail = tickets.EINTERNAL, http.StatusInternalServerError, ""
	}
	return Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

// writeProblem answers with err as application/problem+json.
func (a *API) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(err)
	p.Instance = r.URL.Path
	if p.Status == http.StatusInternalServerError {
		a.log.Error("api_error", "method", r.Method, "path", r.URL.Path, "error", err.Error())
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ivr"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Invalid is a refusal of what the client sent, for the functions the API
// is given (Options.Publish): a 400 with message as its detail.
func Invalid(message string) error { return &apiError{code: tickets.EINVALID, message: message} }
