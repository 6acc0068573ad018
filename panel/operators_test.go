package panel

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/queues"
)

// putOnCall makes login answer a call of group, as the controller does.
func (e *env) putOnCall(login, group, callID string) {
	e.t.Helper()
	noErr(e.t, e.queues.SetState(ctx, login, queues.Available, ""))
	_, err := e.queues.Enqueue(ctx, queues.Entry{CallID: callID, Group: group, Caller: "+390612345678"})
	noErr(e.t, err)
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	offer, err := e.queues.WaitOffer(wctx, callID)
	noErr(e.t, err)
	if len(offer.Operators) != 1 || offer.Operators[0].Login != login {
		e.t.Fatalf("call %s offered to %+v, not to %s", callID, offer.Operators, login)
	}
	_, err = e.queues.Answer(ctx, callID, login)
	noErr(e.t, err)
	e.srv.Notify()
}

// operatorState reads an operator's state from the queues.
func (e *env) operatorState(login string) queues.Operator {
	e.t.Helper()
	op, err := e.queues.Operator(ctx, login)
	noErr(e.t, err)
	return op
}

// TestForceStateRoles: only supervisors and administrators see the
// operators' forms and force a state; operators get 403 and no form; a
// POST without the session's token, an unknown operator, a state set by
// calls or a pause without a valid reason change nothing.
func TestForceStateRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.putOnCall("op2", "lotto2", "1795320990.601")

	op := e.login("op2")
	r := op.get("/live")
	wantStatus(t, "operator's live page", r, http.StatusOK)
	r.hasNot(t, `data-testid="force-form"`, `data-testid="ops-table"`, `/operators/`)
	for _, target := range []string{"op3", "op2"} { // a colleague, and their own state
		wantStatus(t, "operator forces "+target, op.post("/operators/"+target+"/state",
			url.Values{"state": {"available"}, "confirm": {"1"}}), http.StatusForbidden)
	}
	wantStatus(t, "operator reads the log", op.get("/operators/log"), http.StatusForbidden)
	if o := e.operatorState("op2"); o.State != queues.OnCall {
		t.Fatalf("op2 after the operator's tries: %s", o.State)
	}

	sup := e.login("sup")
	r = sup.get("/live")
	r.has(t, `data-testid="ops-table"`, `action="/operators/op2/state"`, `action="/operators/op3/state"`,
		`data-state="on_call"`, "1795320990.601 · lotto2", "Forza stato (in chiamata)")
	for _, c := range []struct {
		what   string
		login  string
		form   url.Values
		status int
	}{
		{"no token", "op3", url.Values{"csrf": {""}, "state": {"available"}}, http.StatusForbidden},
		{"another session's token", "op3", url.Values{"csrf": {op.csrf}, "state": {"available"}}, http.StatusForbidden},
		{"unknown operator", "nobody", url.Values{"state": {"available"}}, http.StatusNotFound},
		{"state set by calls", "op3", url.Values{"state": {"on_call"}}, http.StatusBadRequest},
		{"unknown state", "op3", url.Values{"state": {"asleep"}}, http.StatusBadRequest},
		{"no state", "op3", url.Values{}, http.StatusBadRequest},
		{"pause without a reason", "op3", url.Values{"state": {"paused"}, "reason": {"other"}, "other": {" "}}, http.StatusBadRequest},
		{"pause with a long reason", "op3", url.Values{"state": {"paused"}, "reason": {strings.Repeat("x", maxReason+1)}}, http.StatusBadRequest},
		{"pause with a control character", "op3", url.Values{"state": {"paused"}, "reason": {"other"}, "other": {"a\x07b"}}, http.StatusBadRequest},
	} {
		wantStatus(t, c.what, sup.post("/operators/"+c.login+"/state", c.form), c.status)
	}
	if o := e.operatorState("op3"); o.State != queues.LoggedOut {
		t.Fatalf("op3 after refused requests: %s", o.State)
	}
	log, err := e.queues.StateLog(ctx, "", 10)
	noErr(t, err)
	if len(log) != 0 {
		t.Fatalf("refused requests logged: %+v", log)
	}

	// An operator not on a call: changed at once.
	r = sup.post("/operators/op3/state", url.Values{"state": {"paused"}, "reason": {"other"}, "other": {"riunione"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/live?msg=forced" {
		t.Fatalf("force op3: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if o := e.operatorState("op3"); o.State != queues.Paused || o.Reason != "riunione" {
		t.Fatalf("op3 after the force: %s %q", o.State, o.Reason)
	}
	sup.get("/live?msg=forced").has(t, "Stato dell&#39;operatore forzato.")

	// An administrator too.
	adm := e.login("adm")
	wantStatus(t, "admin forces op3", adm.post("/operators/op3/state",
		url.Values{"state": {"paused"}, "reason": {queues.ReasonTraining}}), http.StatusSeeOther)
	if o := e.operatorState("op3"); o.State != queues.Paused || o.Reason != queues.ReasonTraining {
		t.Fatalf("op3 after the admin's force: %s %q", o.State, o.Reason)
	}
	wantStatus(t, "admin logs op3 out", adm.post("/operators/op3/state", url.Values{"state": {"logged_out"}}), http.StatusSeeOther)
	if o := e.operatorState("op3"); o.State != queues.LoggedOut {
		t.Fatalf("op3 after the admin's log out: %s", o.State)
	}
	if o := e.operatorState("op2"); o.State != queues.OnCall {
		t.Fatalf("op2 changed by forcing op3: %s", o.State)
	}

	// The log, newest first, by person; one operator's.
	r = sup.get("/operators/log")
	wantStatus(t, "log", r, http.StatusOK)
	if n := strings.Count(r.body, `data-testid="oplog-row"`); n != 3 {
		t.Fatalf("%d log rows, want 3:\n%s", n, r.body)
	}
	r.has(t, "riunione", ">adm<", ">sup<", "Bruno Operatore (op3)")
	if strings.Index(r.body, `data-state="logged_out"`) > strings.Index(r.body, "riunione") {
		t.Fatal("the log is not newest first")
	}
	adm.get("/operators/log?operator=op2").has(t, "Nessun cambio di stato registrato.")
	wantStatus(t, "a control character in the filter", sup.get("/operators/log?operator=a%07"), http.StatusBadRequest)

	// What ivrd changes itself (a call's end it missed) is in the log too.
	e.putOnCall("op3", "lotto3", "1795320990.604")
	released, err := e.queues.ReleaseCall(ctx, "op3", "1795320990.604")
	noErr(t, err)
	if !released {
		t.Fatal("op3 not released")
	}
	sup.get("/operators/log?operator=op3").has(t, `data-testid="oplog-by">ivrd (chiamata finita senza segnalazione)<`,
		`data-testid="oplog-call">1795320990.604<`)
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// TestForceStateOnCall: forcing an operator on a call asks first (the
// call goes on; the operator will get new calls); once confirmed, the
// operator is available, the operator's console and the supervisor's
// live page show it without a reload, and the log says who did it and
// which call the operator was on.
func TestForceStateOnCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.putOnCall("op2", "lotto2", "1795320990.602")
	console := e.login("op2").subscribe("/console/events")
	console.waitEvent(t, "state", matches(`data-state="on_call"`))
	sup := e.login("sup")
	live := sup.subscribe("/live/events")
	live.waitEvent(t, "operators", matches(`(?s)data-login="op2".*?data-state="on_call"`))

	r := sup.post("/operators/op2/state", url.Values{"state": {"available"}})
	wantStatus(t, "force without confirming", r, http.StatusOK)
	r.has(t, `data-testid="force-confirm"`, "La chiamata prosegue; l&#39;operatore riceverà nuove chiamate.",
		"1795320990.602", `name="confirm" value="1"`)
	if o := e.operatorState("op2"); o.State != queues.OnCall {
		t.Fatalf("op2 changed before confirming: %s", o.State)
	}

	// The confirmation page's own form.
	_, confirmForm, _ := strings.Cut(r.body, `action="/operators/op2/state"`)
	confirmForm, _, _ = strings.Cut(confirmForm, "</form>")
	form := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(confirmForm, -1) {
		form.Set(m[1], m[2])
	}
	r = sup.post("/operators/op2/state", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/live?msg=forced" {
		t.Fatalf("confirmed force: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if o := e.operatorState("op2"); o.State != queues.Available || o.CallID != "" {
		t.Fatalf("op2 after the force: %s %q", o.State, o.CallID)
	}
	console.waitEvent(t, "state", matches(`data-state="available"`))
	live.waitEvent(t, "operators", matches(`(?s)data-login="op2".*?data-state="available"`))

	log, err := e.queues.StateLog(ctx, "op2", 10)
	noErr(t, err)
	if len(log) != 1 || log[0].From != queues.OnCall || log[0].To != queues.Available || log[0].By != "sup" ||
		log[0].CallID != "1795320990.602" {
		t.Fatalf("log %+v", log)
	}
	r = sup.get("/operators/log?operator=op2")
	r.has(t, `data-testid="oplog-from" data-state="on_call"`, `data-testid="oplog-to" data-state="available"`,
		`data-testid="oplog-by">sup<`, `data-testid="oplog-call">1795320990.602<`, "Anna Operatrice (op2)")

	// Offered: confirmed too, and the caller goes back to waiting.
	noErr(t, e.queues.SetState(ctx, "op2", queues.Available, ""))
	_, err = e.queues.Enqueue(ctx, queues.Entry{CallID: "1795320990.603", Group: "lotto2", Caller: "+390612345678"})
	noErr(t, err)
	if o := e.operatorState("op2"); o.State != queues.Offered {
		t.Fatalf("op2 not offered the call: %s", o.State)
	}
	sup.post("/operators/op2/state", url.Values{"state": {"logged_out"}}).has(t, `data-testid="force-confirm"`,
		"sarà offerta a un altro operatore")
	wantStatus(t, "confirmed force of an offered operator", sup.post("/operators/op2/state",
		url.Values{"state": {"logged_out"}, "confirm": {"1"}}), http.StatusSeeOther)
	if o := e.operatorState("op2"); o.State != queues.LoggedOut {
		t.Fatalf("op2 after the force: %s", o.State)
	}
}
