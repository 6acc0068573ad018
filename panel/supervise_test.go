package panel

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// superviseControl is the call controller's hands: it records what it is
// asked and answers err.
type superviseControl struct {
	mu   sync.Mutex
	acts []string // "callID kind by"
	err  error
}

func (f *superviseControl) Act(_ context.Context, callID string, a CallAction) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acts = append(f.acts, callID+" "+a.Kind+" "+a.By)
	return f.err
}

func (f *superviseControl) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.acts)
}

// superviseEnv is a panel whose supervisor "sup" watches lotto2 only,
// with a call of lotto2 (op2 talking) and one of lotto3 (op3) in progress.
func superviseEnv(t *testing.T) (*env, *superviseControl, tickets.Ticket, tickets.Ticket) {
	t.Helper()
	ctl := &superviseControl{}
	e, t2, t3 := superviseEnvWith(t, func(*fakeLive) CallControl { return ctl })
	return e, ctl, t2, t3
}

// superviseEnvWith is superviseEnv with the control control makes.
func superviseEnvWith(t *testing.T, control func(*fakeLive) CallControl) (*env, tickets.Ticket, tickets.Ticket) {
	t.Helper()
	base, err := helpdesk()
	noErr(t, err)
	cfg := *base
	cfg.Supervisors = []*menu.Supervisor{{Login: "sup", Name: "User sup", Endpoint: "PJSIP/sup", Groups: []string{"lotto2"}}}
	e := newEnv(t, func(o *Options) {
		o.Control = control(o.Live.(*fakeLive))
		o.Config = func() *menu.Config { return &cfg }
	})
	_, t2 := e.openTicket("lotto2", "+390612345678", "Stampante guasta")
	_, t3 := e.openTicket("lotto3", "+390699991234", "Rete assente")
	e.live.set(
		LiveCall{CallID: "call-2", Caller: "+390612345678", Phase: PhaseTalking, Group: "lotto2", Operator: "op2", Ticket: string(t2.Number), Started: t0, Since: t0},
		LiveCall{CallID: "call-3", Caller: "+390699991234", Phase: PhaseTalking, Group: "lotto3", Operator: "op3", Ticket: string(t3.Number), Started: t0, Since: t0},
	)
	e.srv.Notify()
	return e, t2, t3
}

// Who may act on which live call: a supervisor on the calls of the groups
// they watch, an administrator on every call, an operator on none; each
// action is in the audit log with its group (the supervision log shows
// supervisors their groups' only) and in the ticket's history.
func TestSuperviseRoles(t *testing.T) {
	t.Parallel()
	e, ctl, t2, t3 := superviseEnv(t)
	sup, adm, op := e.login("sup"), e.login("adm"), e.login("op2")

	// The buttons: the supervisor's on lotto2's call only, none for the operator.
	page := sup.get("/live")
	wantStatus(t, "supervisor's live page", page, http.StatusOK)
	if n := strings.Count(page.body, `data-testid="supervise-form"`); n != 1 || !strings.Contains(page.body, `action="/live/calls/call-2"`) {
		t.Errorf("supervisor's forms: %d, for call-2: %t", n, strings.Contains(page.body, `action="/live/calls/call-2"`))
	}
	if n := strings.Count(adm.get("/live").body, `data-testid="supervise-form"`); n != 2 {
		t.Errorf("administrator's forms: %d, want 2", n)
	}
	op.get("/live").hasNot(t, `data-testid="supervise-form"`, "/live/calls/")

	// Refused: the operator (403), the supervisor on another group's call
	// (404, as for a call that does not exist), an unknown action.
	wantStatus(t, "operator listens", op.post("/live/calls/call-2", url.Values{"action": {"listen"}}), http.StatusForbidden)
	wantStatus(t, "operator reads the supervision log", op.get("/live/supervision"), http.StatusForbidden)
	wantStatus(t, "supervisor of lotto2 listens to lotto3", sup.post("/live/calls/call-3", url.Values{"action": {"listen"}}), http.StatusNotFound)
	wantStatus(t, "supervisor ends lotto3's call", sup.post("/live/calls/call-3", url.Values{"action": {"end_call"}}), http.StatusNotFound)
	wantStatus(t, "a call over", sup.post("/live/calls/call-9", url.Values{"action": {"listen"}}), http.StatusNotFound)
	wantStatus(t, "unknown action", sup.post("/live/calls/call-2", url.Values{"action": {"eavesdrop"}}), http.StatusBadRequest)
	wantStatus(t, "no form token", sup.post("/live/calls/call-2", url.Values{"action": {"listen"}, "csrf": {""}}), http.StatusForbidden)
	if got := ctl.asked(); len(got) != 0 {
		t.Fatalf("the controller was asked %q", got)
	}

	// Allowed: the supervisor on lotto2, the administrator on lotto3.
	for _, a := range []struct {
		c      *client
		call   string
		action string
	}{{sup, "call-2", "listen"}, {sup, "call-2", "barge"}, {adm, "call-3", "whisper"}, {adm, "call-3", "end_call"}} {
		r := a.c.post("/live/calls/"+a.call, url.Values{"action": {a.action}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/live?msg=supervise_"+a.action {
			t.Fatalf("%s %s: %d %s", a.action, a.call, r.status, r.header.Get("Location"))
		}
	}
	want := []string{"call-2 listen sup", "call-2 barge sup", "call-3 whisper adm", "call-3 end_call adm"}
	if got := ctl.asked(); !slices.Equal(got, want) {
		t.Errorf("the controller was asked %q, want %q", got, want)
	}
	sup.get("/live?msg=supervise_listen").has(t, "Ascolto avviato")

	// The supervision log: the supervisor reads lotto2's, the administrator all.
	log := sup.get("/live/supervision")
	wantStatus(t, "supervision log", log, http.StatusOK)
	if n := strings.Count(log.body, `data-testid="supervision-row"`); n != 2 || strings.Contains(log.body, `data-group="lotto3"`) {
		t.Errorf("supervisor's log: %d rows, lotto3 shown: %t\n%s", n, strings.Contains(log.body, `data-group="lotto3"`), log.body)
	}
	if n := strings.Count(adm.get("/live/supervision").body, `data-testid="supervision-row"`); n != 4 {
		t.Errorf("administrator's log: %d rows, want 4", n)
	}
	entries, err := e.srv.audit.List(ctx, "sup", 10)
	noErr(t, err)
	if len(entries) != 2 || entries[0].Action != "call.barge" || entries[0].Target != "call:call-2" || entries[0].Group != "lotto2" ||
		!strings.Contains(entries[0].Detail, "operator=op2") {
		t.Errorf("audit of sup: %+v", entries)
	}

	// The tickets' histories.
	for _, c := range []struct {
		tk   tickets.Ticket
		want []string
	}{{t2, []string{"sup supervision listen", "sup supervision barge"}}, {t3, []string{"adm supervision whisper", "adm supervision end_call"}}} {
		hist, err := e.store.History(ctx, c.tk.ID, tickets.Viewer{Kind: tickets.ViewerStaffAll})
		noErr(t, err)
		var got []string
		for _, h := range hist {
			if h.Field == "supervision" {
				got = append(got, h.Actor.ID+" "+h.Field+" "+h.New)
				if h.Actor.Kind != tickets.ActorSupervisor {
					t.Errorf("history actor %+v", h.Actor)
				}
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("history of %s: %q, want %q", c.tk.Number, got, c.want)
		}
	}

	// The reports count the interventions by group and kind.
	rep := adm.get("/reports")
	wantStatus(t, "reports", rep, http.StatusOK)
	for _, k := range []string{`data-group="lotto2" data-kind="listen"`, `data-group="lotto2" data-kind="barge"`,
		`data-group="lotto3" data-kind="whisper"`, `data-group="lotto3" data-kind="end_call"`} {
		rep.has(t, `<tr data-testid="intervention-row" `+k+`><th scope="row">`)
	}
	if n := strings.Count(rep.body, `data-testid="intervention-row"`); n != 4 {
		t.Errorf("intervention rows: %d, want 4", n)
	}

	// What the controller refuses comes back as a message.
	ctl.mu.Lock()
	ctl.err = &fault.Error{Code: fault.ECONFLICT, Message: "another supervisor is on this call"}
	ctl.mu.Unlock()
	r := sup.post("/live/calls/call-2", url.Values{"action": {"whisper"}})
	wantStatus(t, "refused by the controller", r, http.StatusConflict)
	r.has(t, "un altro supervisore è già in linea")
}

// The operator's console says a supervisor is on the call, and how; the
// live page says so on the call's row.
func TestSupervisorShownOnTheConsole(t *testing.T) {
	t.Parallel()
	e, _, _, _ := superviseEnv(t)
	e.putOnCall("op2", "lotto2", "call-2")
	calls := e.live.Calls()
	calls[0].Supervisor, calls[0].SuperviseMode = "sup", "whisper"
	e.live.set(calls...)
	e.srv.Notify()
	c := e.login("op2").get("/console")
	c.has(t, `data-testid="call-supervisor" data-mode="whisper"`, "supervisore sup: parla all&#39;operatore")
	e.login("sup").get("/live").has(t, `data-testid="live-supervisor" data-mode="whisper"`)
}

// Pausing an operator: a supervisor only those of the groups they watch;
// the reason is on the wallboard and in the state log, and the audit log
// has the group.
func TestPauseWithReasonOnTheWallboard(t *testing.T) {
	t.Parallel()
	e, _, _, _ := superviseEnv(t)
	noErr(t, e.queues.SetState(ctx, "op3", queues.Available, ""))
	noErr(t, e.queues.SetState(ctx, "op2", queues.Available, ""))
	sup, adm := e.login("sup"), e.login("adm")
	wantStatus(t, "supervisor of lotto2 pauses op3 of lotto3",
		sup.post("/operators/op3/state", url.Values{"state": {"paused"}, "reason": {"other"}, "other": {"riunione"}}), http.StatusNotFound)
	if n := strings.Count(sup.get("/live").body, `data-testid="op-row"`); n != 1 {
		t.Errorf("supervisor's operators: %d, want only op2", n)
	}
	r := sup.post("/operators/op2/state", url.Values{"state": {"paused"}, "reason": {"other"}, "other": {"riunione"}})
	wantStatus(t, "pause op2", r, http.StatusSeeOther)
	r = adm.post("/operators/op3/state", url.Values{"state": {"paused"}, "reason": {queues.ReasonTraining}})
	wantStatus(t, "pause op3", r, http.StatusSeeOther)
	e.srv.Notify()
	wb := sup.get("/wallboard")
	wb.has(t, `data-testid="wb-pause-reason" data-reason="riunione"`)
	adm.get("/wallboard").has(t, `data-reason="`+queues.ReasonTraining+`"`)
	sup.get("/operators/log").has(t, "riunione")
	entries, err := e.srv.audit.ListGroups(ctx, []string{"lotto2"}, 10)
	noErr(t, err)
	if len(entries) != 1 || entries[0].Target != "operator:op2" || !strings.Contains(entries[0].Detail, "reason=riunione") {
		t.Errorf("lotto2's supervision log: %+v", entries)
	}
}
