package panel

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// The operator's actions on their conversation (the console's buttons)
// and the supervisor's move of a queued caller (the live page).
var operatorActions = []string{"hold", "resume", "transfer", "consult", "complete", "cancel", "threeway"}

// controlMsg prefixes the action in the flash message's key after it
// (msg.control_hold...).
const controlMsg = "control_"

// controlTimeout bounds the wait for the call's answer: it acts between
// two of its steps, a prompt at most.
const controlTimeout = 15 * time.Second

// transferData is what the console offers to transfer a call to.
type transferData struct {
	Groups    []option
	Operators []option
	Numbers   []string // the allow-list (empty: no outside numbers)
}

type option struct{ Value, Label string }

// transferTargets lists the groups, the other operators and the allowed
// outside numbers.
func (s *Server) transferTargets(self string) transferData {
	cfg := s.config()
	var d transferData
	for _, g := range cfg.Groups {
		if g != nil {
			d.Groups = append(d.Groups, option{g.ID, g.Name})
		}
	}
	for _, o := range cfg.Operators {
		if o != nil && o.Login != self {
			d.Operators = append(d.Operators, option{o.Login, o.Name + " (" + o.Login + ")"})
		}
	}
	if t := cfg.Transfers; t != nil {
		d.Numbers = slices.Clone(t.Numbers)
	}
	return d
}

// callControl is POST /calls/{id}/control: action and its target (to:
// "group:ID" or "operator:LOGIN", or number). Only the operator who has
// the call, or an administrator, acts on a conversation; a move is for
// supervisors within the groups they watch (both the caller's and the
// target) and administrators.
func (s *Server) callControl(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	id := chi.URLParam(r, "id")
	action := r.PostFormValue("action")
	back := "/console"
	if action == "move" {
		back = "/live"
	}
	if s.opts.Control == nil {
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	st := s.hub.current()
	i := slices.IndexFunc(st.Calls, func(c LiveCall) bool { return c.CallID == id })
	if i < 0 {
		s.controlFailed(w, r, back, errorKey(fault.ENOTFOUND, "control.call_over"))
		return
	}
	call := st.Calls[i]
	a := CallAction{Kind: action, By: rq.user.Login}
	switch {
	case action == "move":
		a.Group = r.PostFormValue("group")
		switch {
		case rq.user.Role == RoleOperator:
			s.fail(w, r, errorKey(fault.EFORBIDDEN, "control.not_yours"))
			return
		case !rq.mayGroup(call.Group) || !s.supervises(rq, call.Group):
			s.fail(w, r, fault.ErrNotFound) // as if it did not exist
			return
		case s.config().Group(a.Group) == nil:
			s.controlFailed(w, r, back, errorKey(fault.EINVALID, "control.bad_target"))
			return
		case !rq.mayGroup(a.Group) || !s.supervises(rq, a.Group):
			s.fail(w, r, errorKey(fault.EFORBIDDEN, "control.not_yours"))
			return
		}
	case slices.Contains(operatorActions, action):
		if rq.user.Role != RoleAdmin && (call.Operator == "" || call.Operator != rq.user.Login) {
			s.fail(w, r, errorKey(fault.EFORBIDDEN, "control.not_yours"))
			return
		}
		if action == "transfer" || action == "consult" {
			to := r.PostFormValue("to")
			switch kind, v, _ := strings.Cut(to, ":"); {
			case kind == "group" && action == "transfer":
				a.Group = v
			case kind == "operator":
				a.Operator = v
			case to == "number":
				a.Number = strings.TrimSpace(r.PostFormValue("number"))
			}
			if a.Group == "" && a.Operator == "" && a.Number == "" {
				s.controlFailed(w, r, back, errorKey(fault.EINVALID, "control.bad_target"))
				return
			}
		}
	default:
		s.fail(w, r, errorKey(fault.EINVALID, "control.bad_action"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	err := s.opts.Control.Act(ctx, id, a)
	if action == "move" || rq.user.Login != call.Operator {
		detail := "action=" + action
		if err != nil {
			detail += " refused: " + fault.Message(err)
		}
		s.audited(r, "call."+action, "call:"+id, strings.TrimSpace(detail+" "+a.Group+a.Operator+a.Number))
	}
	if err != nil {
		s.log.Info("panel_call_control_refused", "call_id", id, "action", action, "login", rq.user.Login, "error", err.Error())
		s.controlFailed(w, r, back, controlError(err, a))
		return
	}
	s.hub.refresh()
	http.Redirect(w, r, back+"?msg="+controlMsg+action, http.StatusSeeOther)
}

// controlError says why the call did not do it, in the user's terms
// (the controller's own words are English: they go to the log).
func controlError(err error, a CallAction) *fault.Error {
	switch fault.Code(err) {
	case fault.ENOTFOUND:
		return errorKey(fault.ENOTFOUND, "control.call_over")
	case fault.ECONFLICT:
		if a.Operator != "" && strings.Contains(fault.Message(err), "not available") {
			return errorKey(fault.ECONFLICT, "control.op_unavailable", a.Operator)
		}
		return errorKey(fault.ECONFLICT, "control.not_now")
	case fault.EFORBIDDEN:
		return errorKey(fault.EFORBIDDEN, "control.number_refused")
	case fault.EINVALID:
		return errorKey(fault.EINVALID, "control.bad_target")
	}
	return errorKey(fault.ECONFLICT, "control.not_now")
}

// controlFailed shows the page the action came from with the reason.
func (s *Server) controlFailed(w http.ResponseWriter, r *http.Request, back string, e *fault.Error) {
	status := fault.HTTPStatus(e)
	msg := errorMessage(reqOf(r).lang, e)
	if back == "/console" {
		s.renderConsole(w, r, status, msg)
		return
	}
	s.renderLive(w, r, status, msg)
}
