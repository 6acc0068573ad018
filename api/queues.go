package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/queues"
)

// queueJSON is a group's live line, as on the wallboard.
type queueJSON struct {
	Group              string         `json:"group"`
	Name               string         `json:"name"`
	Waiting            int            `json:"waiting"`
	LongestWaitSeconds float64        `json:"longest_wait_seconds"`
	Operators          map[string]int `json:"operators"` // by state
	// Today, in the service time zone.
	Offered    int `json:"offered"`
	Answered   int `json:"answered"`
	Abandoned  int `json:"abandoned"`
	Overflowed int `json:"overflowed"`
}

func (a *API) noQueues() error { return fault.Errorf(fault.ENOTFOUND, "the queues are not configured") }

func (a *API) groupName(id string) string {
	if g := a.config().Group(id); g != nil && g.Name != "" {
		return g.Name
	}
	return id
}

// listQueues is every group the principal sees, live.
func (a *API) listQueues(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	if a.opts.Queues == nil {
		a.writeProblem(w, r, a.noQueues())
		return
	}
	stats, err := a.opts.Queues.Snapshot(r.Context())
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	out := []queueJSON{}
	for _, st := range stats {
		if !p.mayGroup(st.Group) {
			continue
		}
		ops := map[string]int{}
		for _, s := range []queues.State{queues.LoggedOut, queues.Available, queues.Offered, queues.OnCall, queues.WrapUp, queues.Paused} {
			ops[string(s)] = st.Operators[s]
		}
		out = append(out, queueJSON{Group: st.Group, Name: a.groupName(st.Group), Waiting: st.Waiting,
			LongestWaitSeconds: st.LongestWait.Seconds(), Operators: ops, Offered: st.Offered, Answered: st.Answered,
			Abandoned: st.Abandoned, Overflowed: st.Overflowed})
	}
	writeJSON(w, http.StatusOK, map[string]any{"queues": out})
}

// operatorJSON is an operator's live state.
type operatorJSON struct {
	Login      string         `json:"login"`
	Name       string         `json:"name"`
	Groups     map[string]int `json:"groups"` // group → penalty
	State      string         `json:"state"`
	Reason     string         `json:"reason"`
	Since      time.Time      `json:"since"`
	CallID     string         `json:"call_id"`
	CallGroup  string         `json:"call_group"`
	CallsToday int            `json:"calls_today"`
}

func operatorOf(op queues.Operator, loc *time.Location) operatorJSON {
	groups := op.Groups
	if groups == nil {
		groups = map[string]int{}
	}
	return operatorJSON{Login: op.Login, Name: op.Name, Groups: groups, State: string(op.State), Reason: op.Reason,
		Since: op.Since.In(loc), CallID: op.CallID, CallGroup: op.CallGroup, CallsToday: op.CallsToday}
}

// mayManage is the panel's rule for the operators' list and forced
// states (supervisors and administrators), narrowed to the token's groups:
// an operator of none of them does not exist for it.
func (p *principal) mayManage(op queues.Operator) bool {
	if !p.supervisor() {
		return false
	}
	if p.all {
		return true
	}
	for g := range op.Groups {
		if slices.Contains(p.groups, g) {
			return true
		}
	}
	return false
}

func (a *API) listOperators(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	if a.opts.Queues == nil {
		a.writeProblem(w, r, a.noQueues())
		return
	}
	if !p.supervisor() {
		a.writeProblem(w, r, fault.Errorf(fault.EFORBIDDEN, "the operators are for supervisors and administrators"))
		return
	}
	group := r.URL.Query().Get("group")
	if group != "" && (!p.mayGroup(group) || a.config().Group(group) == nil) {
		a.writeProblem(w, r, fault.Errorf(fault.EINVALID, "group: unknown or not yours %q", shorten(group)))
		return
	}
	ops, err := a.opts.Queues.Operators(r.Context(), group)
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	out := []operatorJSON{}
	for _, op := range ops {
		if p.mayManage(op) {
			out = append(out, operatorOf(op, a.opts.Tickets.Location()))
		}
	}
	slices.SortFunc(out, func(x, y operatorJSON) int { return strings.Compare(x.Login, y.Login) })
	writeJSON(w, http.StatusOK, map[string]any{"operators": out})
}

// stateJSON is the body of PUT /operators/{login}/state.
type stateJSON struct {
	State  string `json:"state"`  // available, paused or logged_out
	Reason string `json:"reason"` // for paused
	// Confirm must be true to change an operator who is on a call or
	// being offered one (the panel asks the same): the call goes on.
	Confirm bool `json:"confirm"`
}

// setOperatorState forces an operator's state, as a supervisor does from
// the live page; the queues log who did it.
func (a *API) setOperatorState(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalOf(r)
	if a.opts.Queues == nil {
		a.writeProblem(w, r, a.noQueues())
		return
	}
	var in stateJSON
	if err := decode(w, r, &in); err != nil {
		a.writeProblem(w, r, err)
		return
	}
	if !p.supervisor() {
		a.writeProblem(w, r, fault.Errorf(fault.EFORBIDDEN, "forcing a state is for supervisors and administrators"))
		return
	}
	op, err := a.opts.Queues.Operator(ctx, chi.URLParam(r, "login"))
	if err == nil && !p.mayManage(op) {
		err = fault.Errorf(fault.ENOTFOUND, "no such operator") // as if it did not exist, like another group's ticket
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	state := queues.State(in.State)
	reason, err := text("reason", in.Reason, 64, state == queues.Paused, false)
	if err == nil && state != queues.Available && state != queues.LoggedOut && state != queues.Paused {
		err = fault.Errorf(fault.EINVALID, "state: available, paused or logged_out")
	}
	if err == nil && (op.State == queues.OnCall || op.State == queues.Offered) && !in.Confirm {
		err = fault.Errorf(fault.ECONFLICT, "the operator is %s: send \"confirm\": true to change the state anyway (the call goes on)", op.State)
	}
	if err == nil {
		err = a.opts.Queues.ForceState(ctx, op.Login, state, reason, p.user.Login)
	}
	if err == nil {
		op, err = a.opts.Queues.Operator(ctx, op.Login)
	}
	if err != nil {
		a.writeProblem(w, r, err)
		return
	}
	a.audit(ctx, p, "operator.state", "operator:"+op.Login, "state="+string(state)+" reason="+reason)
	writeJSON(w, http.StatusOK, operatorOf(op, a.opts.Tickets.Location()))
}
