package panel

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Supervisors act on live calls from the live page: listen, whisper to
// the operator, barge in, stop, or end a stuck call. Administrators may do
// so on any call; a supervisor on the calls of the groups they watch
// (menu.Supervisor; a supervisor the configuration does not list watches
// every group, as before the list existed); operators never. Each action
// goes into the audit log with its group, and into the ticket's history.

// superviseActions are the actions of the live page's buttons, as the
// call controller names them (ivr.ActListen...).
var superviseActions = []string{"listen", "whisper", "barge", "supervise_stop", "end_call"}

// superviseDone is where each action leads once done: the live page,
// saying so.
var superviseDone = map[string]string{
	"listen": "/live?msg=supervise_listen", "whisper": "/live?msg=supervise_whisper", "barge": "/live?msg=supervise_barge",
	"supervise_stop": "/live?msg=supervise_supervise_stop", "end_call": "/live?msg=supervise_end_call",
}

// supervises reports whether the request's user may act on the calls and
// operators of group.
func (s *Server) supervises(rq *request, group string) bool {
	switch rq.user.Role {
	case RoleAdmin:
		return true
	case RoleSupervisor:
		sup := s.config().Supervisor(rq.user.Login)
		return sup == nil || sup.Watches(group)
	}
	return false
}

// watchedGroups are the groups whose supervision log the user reads (nil:
// every group).
func (s *Server) watchedGroups(rq *request) []string {
	if rq.user.Role == RoleSupervisor {
		if sup := s.config().Supervisor(rq.user.Login); sup != nil {
			return append([]string{}, sup.Groups...)
		}
	}
	return nil
}

// liveCall finds a call in progress now (not from the cached state: it
// may have ended since the page was drawn).
func (s *Server) liveCall(callID string) (LiveCall, bool) {
	if s.opts.Live == nil {
		return LiveCall{}, false
	}
	calls := s.opts.Live.Calls()
	i := slices.IndexFunc(calls, func(c LiveCall) bool { return c.CallID == callID })
	if i < 0 {
		return LiveCall{}, false
	}
	return calls[i], true
}

// callAction runs a supervisor's action (form field action) on a live call.
func (s *Server) callAction(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	callID := chi.URLParam(r, "callID")
	action := r.PostFormValue("action")
	if !slices.Contains(superviseActions, action) {
		s.fail(w, r, errorKey(fault.EINVALID, "supervise.bad_action"))
		return
	}
	call, ok := s.liveCall(callID)
	if !ok || s.opts.Control == nil || !s.supervises(rq, call.Group) {
		// Another group's call is as unknown as one over.
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	err := s.opts.Control.Act(r.Context(), callID, CallAction{Kind: action, By: rq.user.Login, Group: call.Group, Operator: call.Operator})
	switch fault.Code(err) {
	case "":
	case fault.ENOTFOUND:
		s.fail(w, r, errorKey(fault.ECONFLICT, "supervise.gone"))
		return
	case fault.ECONFLICT:
		s.fail(w, r, errorKey(fault.ECONFLICT, "supervise.not_now"))
		return
	case fault.EINVALID:
		s.fail(w, r, errorKey(fault.EINVALID, "supervise.no_phone"))
		return
	default:
		s.fail(w, r, err)
		return
	}
	detail := "operator=" + call.Operator + " ticket=" + call.Ticket + " phase=" + call.Phase
	s.auditedGroup(r, "call."+action, "call:"+callID, detail, call.Group)
	if call.Ticket != "" {
		s.noteTicket(r, call.Ticket, "supervision", action)
	}
	s.hub.refresh()
	http.Redirect(w, r, superviseDone[action], http.StatusSeeOther)
}

// noteTicket writes a supervisor's action into the history of the ticket
// numbered n. The action is done by then: a failure is logged, not shown.
func (s *Server) noteTicket(r *http.Request, n, field, value string) {
	rq := reqOf(r)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	num, err := tickets.ParseNumber(n)
	if err == nil {
		var t tickets.Ticket
		if t, err = s.opts.Tickets.FindTicketByNumber(ctx, num, tickets.Viewer{Kind: tickets.ViewerStaffAll}); err == nil {
			kind := tickets.ActorSupervisor
			err = s.opts.Tickets.NoteHistory(ctx, t.ID, tickets.Actor{Kind: kind, ID: rq.user.Login}, field, value)
		}
	}
	if err != nil {
		s.log.Error("panel_ticket_note_failed", "ticket", n, "error", err.Error())
	}
}

// supervisionLogLimit is how many entries the supervision log shows.
const supervisionLogLimit = 200

type supervisionLogData struct {
	L       lang
	Entries []AuditEntry
	Groups  []string // nil: every group
	Limit   int
}

// supervisionLog shows supervisors the audit log of the actions on the
// calls and operators of the groups they watch.
func (s *Server) supervisionLog(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	groups := s.watchedGroups(rq)
	list, err := s.audit.ListGroups(r.Context(), groups, supervisionLogLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := supervisionLogData{L: rq.lang, Entries: list, Groups: groups, Limit: supervisionLogLimit}
	s.render(w, r, http.StatusOK, "supervision.html", s.newPage(r, "live", "supervision.title", d))
}
