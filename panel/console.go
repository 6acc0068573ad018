package panel

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

type wallData struct {
	L      lang
	Rows   []wallRow
	Queues bool
	Failed bool
	At     time.Time
}

func (s *Server) wallData(rq *request, st *liveState) wallData {
	return wallData{L: rq.lang, Rows: st.rowsFor(rq), Queues: st.Queues, Failed: st.Failed, At: st.At}
}

func (s *Server) wallboard(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	p := s.newPage(r, "wallboard", "nav.wallboard", s.wallData(rq, s.hub.current()))
	p.SSE, p.Wide, p.Kiosk = "/wallboard/events", true, r.URL.Query().Get("kiosk") == "1"
	s.render(w, r, http.StatusOK, "wallboard.html", p)
}

func (s *Server) wallboardEvents(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	key := viewKey("wallboard", rq)
	s.serveEvents(w, r, func(_ context.Context, st *liveState) ([]sseEvent, error) {
		b, err := st.render(key, func() ([]byte, error) {
			return s.fragment("wallboard.html", "wallboard_body", s.wallData(rq, st))
		})
		return []sseEvent{{"wallboard", b}}, err
	})
}

type liveData struct {
	L     lang
	Calls []LiveCall
	Live  bool // live calls are available
	At    time.Time
	// Acts are the calls whose supervision buttons the user gets (with
	// the session's CSRF token): those of the groups they supervise.
	Acts map[string]bool
	// Move: the user may move queued callers (supervisors, administrators,
	// with the controller at hand) to one of Groups (those they supervise).
	Move   bool
	Groups []option
	CSRF   string
}

func (s *Server) liveData(rq *request, st *liveState) liveData {
	d := liveData{L: rq.lang, Calls: st.callsFor(rq), Live: s.opts.Live != nil, At: st.At}
	if s.actsOnCalls(rq) {
		d.Acts, d.CSRF = map[string]bool{}, rq.sess.CSRF
		for _, c := range d.Calls {
			if c.Group != "" && !c.Remote && s.supervises(rq, c.Group) {
				d.Acts[c.CallID] = true
			}
		}
		d.Move = true
		for _, g := range s.transferTargets("").Groups {
			if rq.mayGroup(g.Value) && s.supervises(rq, g.Value) {
				d.Groups = append(d.Groups, g)
			}
		}
	}
	return d
}

// actsOnCalls reports whether the user gets the live calls' buttons.
func (s *Server) actsOnCalls(rq *request) bool {
	return s.opts.Control != nil && (rq.user.Role == RoleSupervisor || rq.user.Role == RoleAdmin)
}

// livePageData is the live page: the calls and, for supervisors and
// administrators, the operators with their forms.
type livePageData struct {
	Calls liveData
	Ops   *opsData
}

func (s *Server) livePage(w http.ResponseWriter, r *http.Request) {
	s.renderLive(w, r, http.StatusOK, "")
}

// renderLive shows the live page, with an error message if msg is set.
func (s *Server) renderLive(w http.ResponseWriter, r *http.Request, status int, msg string) {
	rq := reqOf(r)
	st := s.hub.current()
	d := livePageData{Calls: s.liveData(rq, st)}
	if rq.user.Role != RoleOperator {
		ops := s.opsData(rq, st)
		d.Ops = &ops
	}
	p := s.newPage(r, "live", "nav.live", d)
	p.SSE = "/live/events"
	p.Error = msg
	s.render(w, r, status, "live.html", p)
}

func (s *Server) liveEvents(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	key := viewKey("live", rq)
	if s.liveData(rq, s.hub.current()).Move {
		// The move forms carry the session's token: not shared.
		key += "|" + rq.sess.CSRF
	}
	s.serveEvents(w, r, func(_ context.Context, st *liveState) ([]sseEvent, error) {
		render := func() ([]byte, error) { return s.fragment("live.html", "live_body", s.liveData(rq, st)) }
		var b []byte
		var err error
		if s.actsOnCalls(rq) {
			b, err = render() // its buttons carry the session's token
		} else {
			b, err = st.render(key, render)
		}
		if err != nil || rq.user.Role == RoleOperator {
			return []sseEvent{{"live", b}}, err
		}
		// The operators' forms carry the session's token: rendered for
		// this stream, not shared.
		ops, err := s.fragment("live.html", "live_operators", s.opsData(rq, st))
		return []sseEvent{{"live", b}, {"operators", ops}}, err
	})
}

// pauseReasons are offered in the console; any other text is accepted.
var pauseReasons = []string{queues.ReasonBreak, queues.ReasonBackOffice, queues.ReasonTraining}

// stateData is the console's "my state" box.
type stateData struct {
	L       lang
	CSRF    string
	Queues  bool
	Known   bool // the user is a queue operator
	Op      queues.Operator
	Reasons []string
	At      time.Time
	Phone   bool // answer and hang up from here (Options.DeskPhone)
}

// callData is the console's call box: the call the operator is offered or
// on, with its ticket popped up.
type callData struct {
	L        lang
	CallID   string
	Found    bool // the call record is known
	Call     tickets.Call
	Live     *LiveCall
	Ticket   bool // the ticket is visible
	Form     ticketFormData
	Wait     time.Duration
	ByCaller []tickets.Ticket
	ByOrg    []tickets.Ticket
	OrgName  string
	CSRF     string
	// Control: the user may act on the conversation (its operator, or an
	// administrator), to Transfer's targets.
	Control  bool
	Transfer transferData
}

type consoleData struct {
	State stateData
	Call  callData
}

func (s *Server) stateData(rq *request, st *liveState) stateData {
	d := stateData{L: rq.lang, CSRF: rq.sess.CSRF, Queues: st.Queues, Reasons: pauseReasons, At: st.At,
		Phone: s.opts.DeskPhone != nil}
	d.Op, d.Known = st.Operators[rq.user.Login]
	return d
}

// callData reads the call an operator is on and its ticket.
func (s *Server) callData(ctx context.Context, rq *request, st *liveState, callID string) (callData, error) {
	d := callData{L: rq.lang, CallID: callID, CSRF: rq.sess.CSRF}
	if callID == "" {
		return d, nil
	}
	if i := slices.IndexFunc(st.Calls, func(c LiveCall) bool { return c.CallID == callID }); i >= 0 {
		c := st.Calls[i]
		d.Live = &c
		if s.opts.Control != nil && c.Phase == PhaseTalking && !c.Callback &&
			(c.Operator == rq.user.Login || rq.user.Role == RoleAdmin) {
			d.Control, d.Transfer = true, s.transferTargets(rq.user.Login)
		}
	}
	call, err := s.opts.Tickets.FindCallByChannel(ctx, callID)
	if fault.Code(err) == fault.ENOTFOUND {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	d.Found, d.Call = true, call
	switch {
	case call.QueuedAt.IsZero():
	case !call.OperatorAnsweredAt.IsZero():
		d.Wait = call.OperatorAnsweredAt.Sub(call.QueuedAt)
	default:
		d.Wait = st.At.Sub(call.QueuedAt)
	}
	if call.TicketID == 0 {
		return d, nil
	}
	v := rq.viewer()
	t, err := s.opts.Tickets.FindTicketByID(ctx, call.TicketID, v)
	if fault.Code(err) == fault.ENOTFOUND {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	d.Ticket = true
	d.Form = s.formData(rq, t, formOf(t), "console")
	if err := s.fillContactBox(ctx, &d.Form, nil); err != nil {
		return d, err
	}
	if org := s.config().Organization(t.Organization); org != nil {
		d.OrgName = org.Name
	}
	others := func(f tickets.TicketFilter) ([]tickets.Ticket, error) {
		f.Limit, f.CountLimit = 6, -1
		page, err := s.opts.Tickets.FindTickets(ctx, f, v)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(page.Tickets, func(x tickets.Ticket) bool { return x.ID == t.ID }), nil
	}
	if t.Caller != "" {
		if d.ByCaller, err = others(tickets.TicketFilter{Caller: t.Caller}); err != nil {
			return d, err
		}
	}
	if t.Organization != "" {
		if d.ByOrg, err = others(tickets.TicketFilter{Organization: t.Organization}); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (s *Server) console(w http.ResponseWriter, r *http.Request) {
	s.renderConsole(w, r, http.StatusOK, "")
}

// renderConsole shows the console, with an error message if msg is set.
func (s *Server) renderConsole(w http.ResponseWriter, r *http.Request, status int, msg string) {
	rq := reqOf(r)
	st := s.hub.current()
	d := consoleData{State: s.stateData(rq, st)}
	var err error
	if d.Call, err = s.callData(r.Context(), rq, st, d.State.Op.CallID); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.newPage(r, "console", "nav.console", d)
	p.SSE = "/console/events"
	p.Error = msg
	s.render(w, r, status, "console.html", p)
}

// consoleEvents streams the operator's state at every change, and the call
// box when the call, its phase or its ticket changes (the controller
// assigns the ticket when the operator answers: a form popped up while
// ringing would otherwise hold a stale version). The page does not
// replace a form the operator has started typing in (panel.js).
func (s *Server) consoleEvents(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if p := s.opts.DeskPhone; p != nil && rq.user.Role == RoleOperator {
		p.Attend(rq.user.Login, true)
		defer p.Attend(rq.user.Login, false)
	}
	first := true
	var lastKey string
	s.serveEvents(w, r, func(ctx context.Context, st *liveState) ([]sseEvent, error) {
		sd := s.stateData(rq, st)
		b, err := s.fragment("console.html", "console_state", sd)
		if err != nil {
			return nil, err
		}
		evs := []sseEvent{{"state", b}}
		key, err := s.callKey(ctx, rq, st, sd.Op.CallID)
		if err != nil {
			return nil, err
		}
		if first || key != lastKey {
			cd, err := s.callData(ctx, rq, st, sd.Op.CallID)
			if err != nil {
				return nil, err
			}
			b, err := s.fragment("console.html", "console_call", cd)
			if err != nil {
				return nil, err
			}
			first, lastKey = false, key
			evs = append(evs, sseEvent{"call", b})
		}
		return evs, nil
	})
}

// callKey changes whenever the console's call box would: another call,
// another phase, another version of its ticket. Two indexed reads, only
// while the operator has a call.
func (s *Server) callKey(ctx context.Context, rq *request, st *liveState, callID string) (string, error) {
	if callID == "" {
		return "", nil
	}
	key := callID
	if i := slices.IndexFunc(st.Calls, func(c LiveCall) bool { return c.CallID == callID }); i >= 0 {
		c := st.Calls[i]
		key += fmt.Sprintf("/%s/%s/%t/%s/%t/%s/%s/%s/%s", c.Phase, c.Operator, c.Held, c.Consult, c.ConsultAnswered, c.ThreeWay,
			c.Supervisor, c.SuperviseMode, c.Recording)
	}
	call, err := s.opts.Tickets.FindCallByChannel(ctx, callID)
	if fault.Code(err) == fault.ENOTFOUND {
		return key, nil
	}
	if err != nil {
		return "", err
	}
	key += fmt.Sprintf("/%d/%t", call.TicketID, call.OperatorAnsweredAt.IsZero())
	if call.TicketID == 0 {
		return key, nil
	}
	t, err := s.opts.Tickets.FindTicketByID(ctx, call.TicketID, rq.viewer())
	if fault.Code(err) == fault.ENOTFOUND {
		return key, nil
	}
	if err != nil {
		return "", err
	}
	return key + "/v" + strconv.Itoa(t.Version), nil
}

// consoleState sets the operator's own state.
func (s *Server) consoleState(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	if s.opts.Queues == nil {
		s.fail(w, r, errorKey(fault.ENOTFOUND, "queues.none"))
		return
	}
	state, reason, err := stateForm(r)
	if err != nil {
		s.renderConsole(w, r, http.StatusBadRequest, errorMessage(rq.lang, err))
		return
	}
	err = s.opts.Queues.SetState(r.Context(), rq.user.Login, state, reason)
	if fault.Code(err) == fault.ECONFLICT {
		http.Redirect(w, r, "/console?msg=busy", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.hub.refresh() // the console this redirects to shows the new state
	http.Redirect(w, r, "/console?msg=state", http.StatusSeeOther)
}

// stateForm reads a state change from a posted form, the console's or a
// supervisor's: available, logged out, or paused with a reason (one of
// pauseReasons, or "other" and the text typed in field other).
func stateForm(r *http.Request) (queues.State, string, error) {
	state := queues.State(r.PostFormValue("state"))
	switch state {
	case queues.Available, queues.LoggedOut:
		return state, "", nil
	case queues.Paused:
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		if reason == "other" {
			reason = strings.TrimSpace(r.PostFormValue("other"))
		}
		if reason == "" {
			return "", "", errorKey(fault.EINVALID, "console.reason_needed")
		}
		if _, err := text("console.reason", reason, maxReason, true, false); err != nil {
			return "", "", err
		}
		return state, reason, nil
	}
	return "", "", errorKey(fault.EINVALID, "console.bad_state", string(state))
}

// consolePhone answers or hangs up the operator's own phone (DeskPhone).
func (s *Server) consolePhone(w http.ResponseWriter, r *http.Request) {
	rq := reqOf(r)
	p := s.opts.DeskPhone
	if p == nil {
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	var err error
	switch r.PostFormValue("action") {
	case "answer":
		err = p.Answer(rq.user.Login)
	case "hangup":
		err = p.Hangup(rq.user.Login)
	default:
		err = errorKey(fault.EINVALID, "console.bad_phone_action")
	}
	if err != nil {
		s.log.Info("panel_phone_refused", "login", rq.user.Login, "error", err.Error())
		http.Redirect(w, r, "/console?msg=phone", http.StatusSeeOther)
		return
	}
	s.hub.notify()
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}
