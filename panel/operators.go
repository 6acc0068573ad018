package panel

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/queues"
)

// A supervisor may force an operator's state whatever it is (issue 15: an
// operator left on_call by a call whose end was never seen gets no more
// calls, and cannot change state from the console while on a call).

// mayForce reports whether the request's user may see and force an
// operator's state: administrators, and supervisors who watch one of the
// operator's groups (supervise.go); operators never, not even their own
// state (their console does that, and refuses during a call).
func (s *Server) mayForce(rq *request, op queues.Operator) bool {
	switch rq.user.Role {
	case RoleAdmin:
		return true
	case RoleSupervisor:
		return s.config().Supervisor(rq.user.Login) == nil || s.forceGroup(rq, op) != ""
	}
	return false
}

// forceGroup is the first of op's groups (by id) that the user
// supervises, "" if none: the group of the audit entry.
func (s *Server) forceGroup(rq *request, op queues.Operator) string {
	groups := slices.Sorted(maps.Keys(op.Groups))
	if op.CallGroup != "" {
		groups = append([]string{op.CallGroup}, groups...)
	}
	for _, g := range groups {
		if s.supervises(rq, g) {
			return g
		}
	}
	return ""
}

// opRow is an operator on the live page's list.
type opRow struct {
	queues.Operator
	Groups []string // sorted ids
	Busy   bool     // offered or on a call: forcing asks first
	Since  string   // when the state began: the time, or the date and time before today
}

// opsData is the live page's operator list, with a form per operator.
type opsData struct {
	L       lang
	CSRF    string
	Queues  bool
	Ops     []opRow
	Reasons []string
}

// opsData lists the operators rq may force, by name.
func (s *Server) opsData(rq *request, st *liveState) opsData {
	d := opsData{L: rq.lang, CSRF: rq.sess.CSRF, Queues: st.Queues, Reasons: pauseReasons}
	today := st.At.In(s.location()).Format(time.DateOnly)
	for _, op := range st.Operators {
		if !s.mayForce(rq, op) {
			continue
		}
		since := op.Since.In(s.location())
		row := opRow{Operator: op, Busy: op.State == queues.OnCall || op.State == queues.Offered, Since: rq.lang.Clock(since)}
		if since.Format(time.DateOnly) != today {
			row.Since = rq.lang.DateTime(since)
		}
		for g := range op.Groups {
			row.Groups = append(row.Groups, g)
		}
		slices.Sort(row.Groups)
		d.Ops = append(d.Ops, row)
	}
	slices.SortFunc(d.Ops, func(a, b opRow) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.Login, b.Login))
	})
	return d
}

// forceData is the page asking a supervisor to confirm forcing the state
// of an operator who is on a call (or whose phone rings).
type forceData struct {
	L      lang
	CSRF   string
	Op     queues.Operator
	State  queues.State
	Reason string
}

// forceState sets an operator's state for a supervisor. An operator on a
// call (or offered one) is changed only once confirmed: the call goes on,
// but the operator gets new calls (or the caller ringing them is offered
// to someone else).
func (s *Server) forceState(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if s.opts.Queues == nil {
		s.fail(w, r, errorKey(fault.ENOTFOUND, "queues.none"))
		return
	}
	login := chi.URLParam(r, "login")
	op, err := s.opts.Queues.Operator(r.Context(), login)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.mayForce(rq, op) {
		s.fail(w, r, fault.ErrNotFound) // as if it did not exist, like another group's ticket
		return
	}
	state, reason, err := stateForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Asked from the state read now, not from the page the form was on:
	// a call that began since is confirmed too.
	if (op.State == queues.OnCall || op.State == queues.Offered) && r.PostFormValue("confirm") != "1" {
		p := s.newPage(r, "live", "force.title", forceData{L: rq.lang, CSRF: rq.sess.CSRF, Op: op, State: state, Reason: reason})
		s.render(w, r, http.StatusOK, "force.html", p)
		return
	}
	if err := s.opts.Queues.ForceState(r.Context(), op.Login, state, reason, rq.user.Login); err != nil {
		s.fail(w, r, err)
		return
	}
	// The queues log the change and who made it (the state log), and so
	// does the audit log. Every live page and the operator's console show
	// the new state.
	s.auditedGroup(r, "operator.state", "operator:"+op.Login, "state="+string(state)+" reason="+reason, s.forceGroup(rq, op))
	s.hub.refresh()
	http.Redirect(w, r, "/live?msg=forced", http.StatusSeeOther)
}

// stateLogLimit is how many changes the log page shows.
const stateLogLimit = 200

// logRow is an entry of the operator state log.
type logRow struct {
	queues.StateChange
	Name string // the operator's, if still known
	Auto bool   // made by ivrd, not by a person
}

type stateLogData struct {
	L        lang
	Operator string // the filter, "" for everyone
	Rows     []logRow
	Limit    int
}

// stateLog shows who changed which operator's state, when, from what to
// what, and the call the operator was held by.
func (s *Server) stateLog(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if s.opts.Queues == nil {
		s.fail(w, r, errorKey(fault.ENOTFOUND, "queues.none"))
		return
	}
	login, err := text("oplog.operator", r.URL.Query().Get("operator"), maxValue, false, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ops := s.hub.current().Operators
	changes, err := s.opts.Queues.StateLog(r.Context(), login, stateLogLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := stateLogData{L: rq.lang, Operator: login, Limit: stateLogLimit}
	for _, c := range changes {
		op := ops[c.Login] // zero for an operator no longer configured
		if !s.mayForce(rq, op) {
			continue
		}
		d.Rows = append(d.Rows, logRow{StateChange: c, Name: op.Name, Auto: c.By == queues.ByReconcile})
	}
	s.render(w, r, http.StatusOK, "oplog.html", s.newPage(r, "live", "oplog.title", d))
}
