package api

import (
	"encoding/json"
	"net/http"

	"github.com/helpdesk-ivr/ivr/internal/fault"
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

// problemOf is err as a problem: the code of the first domain error in its
// chain, its status from fault.HTTPStatus (the panel's too), and that
// error's own safe message, never the wrapping (which may name SQL); an
// internal error has no detail.
func problemOf(err error) Problem {
	code, status, detail := fault.Code(err), fault.HTTPStatus(err), fault.Message(err)
	if status == http.StatusInternalServerError {
		code, detail = fault.EINTERNAL, ""
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
func Invalid(message string) error { return &fault.Error{Code: fault.EINVALID, Message: message} }
