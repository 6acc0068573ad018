package panel

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/queues"
)

// fakeControl records the actions that reach the call controller and
// answers err.
type fakeControl struct {
	mu   sync.Mutex
	acts []string // "callID kind by group operator number"
	err  error
}

func (f *fakeControl) Act(_ context.Context, callID string, a CallAction) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acts = append(f.acts, strings.Join([]string{callID, a.Kind, a.By, a.Group, a.Operator, a.Number}, " "))
	return f.err
}

// take returns the actions so far and forgets them.
func (f *fakeControl) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.acts
	f.acts = nil
	return out
}

func (f *fakeControl) answer(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// TestCallControl: only the operator who has the call (or an
// administrator) acts on it from the console; moving a queued caller is
// for supervisors and administrators; what the call cannot do is said
// clearly; the console and the live page show the buttons to those who
// may use them only.
func TestCallControl(t *testing.T) {
	t.Parallel()
	ctl := &fakeControl{}
	e := newEnv(t, func(o *Options) { o.Control = ctl })
	op2, op3, sup, adm := e.login("op2"), e.login("op3"), e.login("sup"), e.login("adm")
	// op2 answers call c-talk of lotto2; c-queue waits in lotto2.
	noErr(t, e.queues.SetState(ctx, "op2", queues.Available, ""))
	_, err := e.queues.Enqueue(ctx, queues.Entry{CallID: "c-talk", Group: "lotto2", Caller: "+390612345678"})
	noErr(t, err)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = e.queues.WaitOffer(wctx, "c-talk")
	cancel()
	noErr(t, err)
	_, err = e.queues.Answer(ctx, "c-talk", "op2")
	noErr(t, err)
	e.live.set(LiveCall{CallID: "c-talk", Phase: PhaseTalking, Group: "lotto2", Operator: "op2", Started: t0, Since: t0},
		LiveCall{CallID: "c-queue", Phase: PhaseQueue, Group: "lotto2", Position: 1, Started: t0, Since: t0})
	e.srv.Notify()
	waitUntil(t, "the live calls", func() bool { return strings.Contains(sup.get("/live").body, `data-call="c-talk"`) })

	post := func(c *client, call string, form url.Values) response {
		t.Helper()
		return c.post("/calls/"+call+"/control", form)
	}
	want := func(what string, r response, status int, location string) {
		t.Helper()
		wantStatus(t, what, r, status)
		if location != "" && r.header.Get("Location") != location {
			t.Fatalf("%s: to %q, want %q", what, r.header.Get("Location"), location)
		}
	}
	acts := func(what string, want ...string) {
		t.Helper()
		got := ctl.take()
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("%s: the controller got %q, want %q", what, got, want)
		}
	}

	// The call's operator.
	want("hold", post(op2, "c-talk", url.Values{"action": {"hold"}}), http.StatusSeeOther, "/console?msg=control_hold")
	acts("hold", "c-talk hold op2   ")
	want("transfer to a group", post(op2, "c-talk", url.Values{"action": {"transfer"}, "to": {"group:lotto3"}}), http.StatusSeeOther, "")
	want("consult a colleague", post(op2, "c-talk", url.Values{"action": {"consult"}, "to": {"operator:op3"}}), http.StatusSeeOther, "")
	want("transfer to a number", post(op2, "c-talk", url.Values{"action": {"transfer"}, "to": {"number"}, "number": {" 0668851 "}}),
		http.StatusSeeOther, "")
	acts("transfers", "c-talk transfer op2 lotto3  ", "c-talk consult op2  op3 ", "c-talk transfer op2   0668851")
	r := post(op2, "c-talk", url.Values{"action": {"transfer"}})
	want("transfer nowhere", r, http.StatusBadRequest, "")
	r.has(t, "Scegli dove: un gruppo, un collega o un numero consentito.")
	want("unknown action", post(op2, "c-talk", url.Values{"action": {"explode"}}), http.StatusBadRequest, "")
	want("move by an operator", post(op2, "c-queue", url.Values{"action": {"move"}, "group": {"lotto3"}}), http.StatusForbidden, "")
	want("no form token", post(op2, "c-talk", url.Values{"action": {"hold"}, "csrf": {""}}), http.StatusForbidden, "")
	acts("refused before the controller")

	// Others: another operator, a supervisor; an administrator may.
	for _, c := range []*client{op3, sup} {
		want("someone else's call", post(c, "c-talk", url.Values{"action": {"hold"}}), http.StatusForbidden, "")
	}
	want("a queued caller is no one's call", post(op3, "c-queue", url.Values{"action": {"hold"}}), http.StatusForbidden, "")
	acts("refused: not their call")
	want("admin", post(adm, "c-talk", url.Values{"action": {"resume"}}), http.StatusSeeOther, "/console?msg=control_resume")
	acts("admin", "c-talk resume adm   ")

	// Supervisors and administrators move queued callers.
	want("move", post(sup, "c-queue", url.Values{"action": {"move"}, "group": {"lotto3"}}), http.StatusSeeOther, "/live?msg=control_move")
	want("move to nowhere", post(sup, "c-queue", url.Values{"action": {"move"}, "group": {"nowhere"}}), http.StatusBadRequest, "")
	want("admin move", post(adm, "c-queue", url.Values{"action": {"move"}, "group": {"lotto2"}}), http.StatusSeeOther, "")
	acts("moves", "c-queue move sup lotto3  ", "c-queue move adm lotto2  ")
	adm.get("/admin/audit").has(t, "call.move", "call:c-queue")

	// What the call says, in the user's words.
	r = post(op2, "no-such-call", url.Values{"action": {"hold"}})
	want("a call that is over", r, http.StatusNotFound, "")
	r.has(t, "La chiamata è terminata (o non è più qui).")
	ctl.answer(&fault.Error{Code: fault.ENOTFOUND, Message: "no such call in progress here"})
	post(op2, "c-talk", url.Values{"action": {"hold"}}).has(t, "La chiamata è terminata")
	ctl.answer(&fault.Error{Code: fault.ECONFLICT, Message: "the call cannot do that now"})
	r = post(op2, "c-talk", url.Values{"action": {"complete"}})
	want("not now", r, http.StatusConflict, "")
	r.has(t, "Ora la chiamata non può farlo.")
	ctl.answer(fault.Errorf(fault.ECONFLICT, "operator op3 is paused, not available"))
	post(op2, "c-talk", url.Values{"action": {"transfer"}, "to": {"operator:op3"}}).has(t, "op3 non è disponibile: il chiamante resta con te.")
	ctl.answer(&fault.Error{Code: fault.EFORBIDDEN, Message: "that number is not among those"})
	post(op2, "c-talk", url.Values{"action": {"transfer"}, "to": {"number"}, "number": {"899123"}}).
		has(t, "Quel numero non è tra quelli a cui si possono trasferire le chiamate.")
	ctl.answer(nil)
	ctl.take()

	// The buttons: on op2's console; not on op3's; the move forms on the
	// live page of supervisors only.
	op2.get("/console").has(t, `data-testid="call-control"`, `data-testid="control-hold"`, `data-testid="transfer-form"`,
		`value="group:lotto3"`, `value="operator:op301"`)
	op3.get("/console").hasNot(t, `data-testid="call-control"`)
	sup.get("/live").has(t, `data-testid="move-form"`, `action="/calls/c-queue/control"`)
	op2.get("/live").hasNot(t, `data-testid="move-form"`)
	e.live.set(LiveCall{CallID: "c-talk", Phase: PhaseTalking, Group: "lotto2", Operator: "op2", Held: true, Consult: "op3",
		ConsultAnswered: true, Started: t0, Since: t0})
	e.srv.Notify()
	waitUntil(t, "the consultation on the console", func() bool {
		return strings.Contains(op2.get("/console").body, `data-testid="control-complete"`)
	})
	op2.get("/console").has(t, `data-testid="control-threeway"`, `data-testid="control-cancel"`, `data-testid="call-held"`)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
