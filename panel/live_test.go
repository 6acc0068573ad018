package panel

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func matches(pattern string) func(string) bool {
	re := regexp.MustCompile(pattern)
	return re.MatchString
}

// TestWallboardStream: a change reaches a subscribed wallboard soon after
// Notify, each user seeing only their groups.
func TestWallboardStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sup := e.login("sup").subscribe("/wallboard/events")
	op := e.login("op2").subscribe("/wallboard/events")
	sup.waitEvent(t, "wallboard", matches(`(?s)wb-row-lotto3".*?wb-available">0<`))
	first := op.waitEvent(t, "wallboard", matches(`wb-row-lotto2"`))
	if strings.Contains(first, "lotto3") {
		t.Fatal("an operator's wallboard shows another group")
	}

	noErr(t, e.queues.SetState(ctx, "op3", queues.Available, ""))
	e.srv.Notify()
	sup.waitEvent(t, "wallboard", matches(`(?s)wb-row-lotto3".*?wb-available">1<`))

	noErr(t, e.queues.SetState(ctx, "op2", queues.Paused, queues.ReasonBreak))
	e.srv.Notify()
	ev := op.waitEvent(t, "wallboard", matches(`(?s)wb-row-lotto2".*?wb-paused">1<`))
	if strings.Contains(ev, "lotto3") {
		t.Fatal("an operator's wallboard shows another group")
	}

	// A caller waiting shows with the longest wait.
	noErr(t, e.queues.SetState(ctx, "op3", queues.LoggedOut, ""))
	noErr(t, e.queues.SyncGroups(ctx, []queues.GroupConfig{{ID: "lotto2"}, {ID: "lotto3", NoOperators: queues.OverflowPolicy{Action: queues.OverflowWait}}}))
	_, err := e.queues.Enqueue(ctx, queues.Entry{CallID: "wait-1", Group: "lotto3", Caller: "+390699990001"})
	noErr(t, err)
	e.clk.Advance(75 * time.Second)
	e.srv.Notify()
	sup.waitEvent(t, "wallboard", matches(`(?s)wb-row-lotto3".*?wb-waiting">1<.*?wb-longest">1:15<`))

	// A callback is no caller waiting on the line: it has its own figures.
	_, err = e.queues.Enqueue(ctx, queues.Entry{CallID: "wait-2", Group: "lotto3", Caller: "+390699990002"})
	noErr(t, err)
	_, err = e.queues.RequestCallback(ctx, "wait-2", "+390699990002", time.Time{})
	noErr(t, err)
	e.srv.Notify()
	sup.waitEvent(t, "wallboard", matches(`(?s)wb-row-lotto3".*?wb-waiting">1<.*?wb-cb-waiting">1<.*?wb-cb-answered">0</span>/<span data-testid="wb-cb-made">0<.*?wb-cb-failed">0<`))

	// The wall display's kiosk mode has no navigation.
	e.login("sup").get("/wallboard?kiosk=1").hasNot(t, `data-testid="nav-tickets"`)

	// Close ends the streams.
	e.srv.Close()
	for range sup.events {
	}
}

// TestLiveCalls: the live calls page and its stream; operators see the
// calls of their groups only.
func TestLiveCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sup, op := e.login("sup"), e.login("op2")
	sup.get("/live").has(t, "Nessuna chiamata in corso.")
	ss, os := sup.subscribe("/live/events"), op.subscribe("/live/events")
	ss.waitEvent(t, "live", matches("Nessuna chiamata"))
	e.live.set(
		LiveCall{CallID: "c1", Caller: "+390612345678", Organization: "tribunale-roma-demo", Role: "referent", Phase: PhaseQueue,
			Group: "lotto2", Position: 2, Started: t0.Add(-2 * time.Minute), Since: t0.Add(-time.Minute)},
		LiveCall{CallID: "c2", Caller: "+390299990001", Phase: PhaseMenu, Node: "1", Started: t0.Add(-30 * time.Second), Since: t0},
		LiveCall{CallID: "c3", Caller: "", Phase: PhaseTalking, Group: "lotto3", Operator: "op3", Started: t0.Add(-5 * time.Minute), Since: t0},
	)
	e.srv.Notify()
	ev := ss.waitEvent(t, "live", matches(`data-call="c1"`))
	for _, want := range []string{`data-call="c2"`, `data-call="c3"`, "In coda · posizione 2", "Menu · 1", "numero riservato", "2:00", "5:00"} {
		if !strings.Contains(ev, want) {
			t.Fatalf("live event lacks %q:\n%s", want, ev)
		}
	}
	ev = os.waitEvent(t, "live", matches(`data-call="c1"`))
	if strings.Contains(ev, `data-call="c2"`) || strings.Contains(ev, `data-call="c3"`) {
		t.Fatalf("an operator sees calls outside their groups:\n%s", ev)
	}
	op.get("/live").hasNot(t, `data-call="c3"`)

	n := newEnv(t, func(o *Options) { o.Live, o.Queues = nil, nil })
	c := n.login("sup")
	c.get("/live").has(t, `data-testid="live-none"`)
	c.get("/wallboard").has(t, `data-testid="queues-none"`, `wb-row-lotto2`)
	c.get("/console").has(t, `data-testid="queues-none"`)
	wantStatus(t, "state without queues", c.post("/console/state", url.Values{"state": {"available"}}), http.StatusNotFound)
	// Without queues an operator belongs to no group and sees no ticket.
	n.openTicket("lotto2", "+390612345678", "Senza code")
	n.login("op2").get("/tickets").has(t, `ticket-count">0 ticket<`)
}

// TestConsole: the operator's state, and the call they are offered popping
// up at once with its ticket, the caller's and the Administration's
// previous tickets, editable there.
func TestConsole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	op := e.login("op2")
	op.get("/console").has(t, `data-state="logged_out"`, "Disconnesso")
	wantStatus(t, "available", op.post("/console/state", url.Values{"state": {"available"}}), http.StatusSeeOther)
	op.get("/console?msg=state").has(t, `data-state="available"`, "Stato aggiornato.", `data-testid="no-call"`)
	wantStatus(t, "pause without reason", op.post("/console/state", url.Values{"state": {"paused"}, "reason": {""}}), http.StatusBadRequest)
	wantStatus(t, "pause", op.post("/console/state", url.Values{"state": {"paused"}, "reason": {"other"}, "other": {"riunione"}}), http.StatusSeeOther)
	o, err := e.queues.Operator(ctx, "op2")
	noErr(t, err)
	if o.State != queues.Paused || o.Reason != "riunione" {
		t.Fatalf("operator %s (%s)", o.State, o.Reason)
	}
	wantStatus(t, "on call state", op.post("/console/state", url.Values{"state": {"on_call"}}), http.StatusBadRequest)
	wantStatus(t, "available again", op.post("/console/state", url.Values{"state": {"available"}}), http.StatusSeeOther)

	// Earlier tickets of the caller and of the Administration.
	_, prevCaller := e.openTicket("lotto2", "+390612345678", "Problema di ieri")
	_, prevOrg := e.openTicket("lotto2", "+390699991234", "Problema di un collega")
	_, hidden := e.openTicket("lotto3", "+390612345678", "Ticket di un altro lotto")

	events := op.subscribe("/console/events")
	events.waitEvent(t, "state", matches(`data-state="available"`))
	events.waitEvent(t, "call", matches(`data-testid="no-call"`))

	// A call comes in and is offered to op2.
	e.clk.Advance(time.Minute)
	call, tk, err := e.store.OpenCall(ctx, tickets.NewCall{ChannelID: "1795320990.777", Caller: "+390612345678",
		Organization: "tribunale-roma-demo", CallerRole: tickets.CallerReferent, Group: "lotto2", Subject: "Firma digitale"})
	noErr(t, err)
	tk, err = e.store.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version,
		MenuPath: &[]tickets.MenuStep{{Key: "1", Label: "Uffici territoriali"}, {Key: "3", Label: "Lotto 3"}}}, ivrActor)
	noErr(t, err)
	queued := e.clk.Now()
	noErr(t, e.store.UpdateCall(ctx, call.ID, tickets.CallUpdate{QueuedAt: &queued, Group: ptr("lotto2")}))
	e.clk.Advance(40 * time.Second)
	_, err = e.queues.Enqueue(ctx, queues.Entry{CallID: "1795320990.777", Group: "lotto2", Caller: "+390612345678", TicketID: tk.ID})
	noErr(t, err)
	e.srv.Notify()
	// The state comes first in the stream, then the call box.
	events.waitEvent(t, "state", matches(`data-state="offered"`))
	ev := events.waitEvent(t, "call", matches(string(tk.Number)))
	for _, want := range []string{`data-call="1795320990.777"`, "&#43;390612345678", "Tribunale di Roma (demo)", "Referente tecnico",
		"1 Uffici territoriali › 3 Lotto 3", `data-testid="call-wait">0:40<`, `data-testid="ticket-edit-form"`,
		`name="return" value="console"`, string(prevCaller.Number), string(prevOrg.Number)} {
		if !strings.Contains(ev, want) {
			t.Fatalf("call box lacks %q:\n%s", want, ev)
		}
	}
	if strings.Contains(ev, string(hidden.Number)) {
		t.Fatal("the call box shows a ticket of another group")
	}

	// The state cannot change during the offer.
	r := op.post("/console/state", url.Values{"state": {"paused"}, "reason": {"break"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console?msg=busy" {
		t.Fatalf("pause during an offer: %d %s", r.status, r.header.Get("Location"))
	}
	// The ticket is edited from the console, which comes back to it.
	form := editForm(tk.Version, "Firma digitale scaduta", "in_progress")
	form.Set("return", "console")
	r = op.post(fmt.Sprintf("/tickets/%d", tk.ID), form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console?msg=saved" {
		t.Fatalf("save from the console: %d %s", r.status, r.header.Get("Location"))
	}
	op.get("/console").has(t, "Firma digitale scaduta", string(tk.Number))
	// A new version of the ticket (here the save; on a real call also the
	// controller assigning it at answer) sends the call box again: its
	// form never holds a stale version.
	events.waitEvent(t, "call", matches(fmt.Sprintf(`name="version" value="%d"`, tk.Version+1)))
}

// TestReports: per group and period, SVG chart, CSV, the operator's groups
// only.
func TestReports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	call := func(group string, wait time.Duration, answered bool, talk time.Duration) {
		c, _ := e.openTicket(group, "+390612345678", "Chiamata")
		q := e.clk.Now()
		noErr(t, e.store.UpdateCall(ctx, c.ID, tickets.CallUpdate{QueuedAt: &q, Group: &group}))
		end := tickets.CallEnd{EndedAt: q.Add(wait), Outcome: tickets.OutcomeAbandoned, HangupBy: tickets.HangupCaller}
		if answered {
			a := q.Add(wait)
			noErr(t, e.store.UpdateCall(ctx, c.ID, tickets.CallUpdate{OperatorAnsweredAt: &a, Operator: ptr("op2")}))
			end = tickets.CallEnd{EndedAt: a.Add(talk), Outcome: tickets.OutcomeAnswered, HangupBy: tickets.HangupCaller}
		}
		noErr(t, e.store.FinishCall(ctx, c.ID, end))
	}
	call("lotto2", 10*time.Second, true, 3*time.Minute)
	call("lotto2", 50*time.Second, true, 5*time.Minute)
	call("lotto2", 90*time.Second, false, 0)
	e.clk.Advance(time.Hour)
	call("lotto3", 5*time.Second, true, time.Minute)

	sup := e.login("sup")
	r := sup.get("/reports")
	wantStatus(t, "reports", r, http.StatusOK)
	r.has(t, `data-testid="report-chart"`, "<svg", `class="sl-point"`,
		`<tr data-testid="report-row" data-group="lotto2">`, `<tr data-testid="report-row" data-group="lotto3">`)
	row := regexp.MustCompile(`(?s)data-group="lotto2">\s*<td>2025-11-24</td><td>[^<]*</td><td data-testid="report-threshold">30 s</td><td>3</td><td>2</td><td>1</td>\s*<td>33%</td><td>0:30</td><td>4:00</td>`)
	if !row.MatchString(r.body) {
		t.Fatalf("lotto2 row wrong:\n%s", r.body)
	}
	total := regexp.MustCompile(`(?s)data-testid="report-total">.*?<td>4</td><td>3</td><td>1</td>\s*<td>50%</td>`)
	if !total.MatchString(r.body) {
		t.Fatalf("total wrong:\n%s", r.body)
	}
	hourly := sup.get("/reports?bucket=hour&from=2025-11-24&to=2025-11-24")
	hourly.has(t, "2025-11-24 10:00", "2025-11-24 11:00", `class="sl-line"`)

	csv := sup.get("/reports.csv?from=2025-11-24&to=2025-11-24&group=lotto2")
	wantStatus(t, "csv", csv, http.StatusOK)
	if ct := csv.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("csv type %q", ct)
	}
	lines := strings.Split(strings.TrimSpace(csv.body), "\n")
	if len(lines) != 2 || lines[1] != "2025-11-24T00:00:00+01:00,lotto2,3,2,1,1,33.3,30.0,240.0,30,0,0,0,0,0,0,0.0" {
		t.Fatalf("csv:\n%s", csv.body)
	}

	op := e.login("op2")
	r = op.get("/reports")
	r.has(t, `data-group="lotto2"`)
	r.hasNot(t, `data-group="lotto3"`)
	if csv := op.get("/reports.csv"); strings.Contains(csv.body, "lotto3") {
		t.Fatalf("an operator's CSV has another group:\n%s", csv.body)
	}
	wantStatus(t, "bad bucket", sup.get("/reports?bucket=year"), http.StatusBadRequest)
	wantStatus(t, "too long", sup.get("/reports?bucket=hour&from=2025-01-01&to=2025-11-24"), http.StatusBadRequest)
	wantStatus(t, "inverted", sup.get("/reports?from=2025-11-24&to=2025-11-01"), http.StatusBadRequest)

	// The wallboard's figures of today agree with the report.
	sup.get("/wallboard").has(t, `data-testid="wb-offered">3<`, `data-testid="wb-abandoned">1<`, `data-testid="wb-sl">33%<`)

	// An operator of no group sees no figures at all, never everyone's.
	noErr(t, e.queues.UpsertOperator(ctx, queues.Operator{Login: "op3", Name: "x", Endpoint: "PJSIP/op301", Groups: map[string]int{}}))
	r = e.login("op3").get("/reports")
	r.has(t, "Nessuna chiamata nel periodo.")
	r.hasNot(t, `data-testid="report-row"`)
}

// fakePhone records what the console asks of a desk phone.
type fakePhone struct {
	mu       sync.Mutex
	attended map[string]int
	did      []string
}

func (f *fakePhone) Attend(login string, present bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if present {
		f.attended[login]++
	} else {
		f.attended[login]--
	}
}

func (f *fakePhone) act(what, login string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if login != "op2" {
		return errors.New("no call on this phone")
	}
	f.did = append(f.did, what+" "+login)
	return nil
}

func (f *fakePhone) Answer(login string) error { return f.act("answer", login) }
func (f *fakePhone) Hangup(login string) error { return f.act("hangup", login) }

func (f *fakePhone) attendedBy(login string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attended[login]
}

// TestConsolePhone: with a desk phone (the demo's), an operator whose
// console is open attends their phone, answers it when offered and hangs
// up from the console; a phone refusing says so; without one, 404.
func TestConsolePhone(t *testing.T) {
	t.Parallel()
	phone := &fakePhone{attended: map[string]int{}}
	e := newEnv(t, func(o *Options) { o.DeskPhone = phone })
	op := e.login("op2")
	wantStatus(t, "available", op.post("/console/state", url.Values{"state": {"available"}}), http.StatusSeeOther)
	events := op.subscribe("/console/events")
	events.waitEvent(t, "state", matches(`data-state="available"`))
	if n := phone.attendedBy("op2"); n != 1 {
		t.Fatalf("an open console attends the phone %d times, want 1", n)
	}
	_, tk := e.openTicket("lotto2", "+390612345678", "Stampante")
	_, err := e.queues.Enqueue(ctx, queues.Entry{CallID: "1795320990.900", Group: "lotto2", Caller: "+390612345678", TicketID: tk.ID})
	noErr(t, err)
	e.srv.Notify()
	ev := events.waitEvent(t, "state", matches(`data-state="offered"`))
	if !strings.Contains(ev, `data-testid="phone-answer"`) {
		t.Fatalf("no answer button while offered:\n%s", ev)
	}
	r := op.post("/console/phone", url.Values{"action": {"answer"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console" {
		t.Fatalf("answer: %d %s", r.status, r.header.Get("Location"))
	}
	wantStatus(t, "unknown action", op.post("/console/phone", url.Values{"action": {"explode"}}), http.StatusSeeOther)
	sup := e.login("sup")
	if r := sup.post("/console/phone", url.Values{"action": {"hangup"}}); r.header.Get("Location") != "/console?msg=phone" {
		t.Errorf("a phone that refuses: %d %s", r.status, r.header.Get("Location"))
	}
	if r := op.post("/console/phone", url.Values{"action": {"answer"}}, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
		t.Errorf("cross-site answer: %d", r.status)
	}
	phone.mu.Lock()
	did := slices.Clone(phone.did)
	phone.mu.Unlock()
	if !slices.Equal(did, []string{"answer op2"}) {
		t.Errorf("the phone did %v", did)
	}
	events.cancel()
	deadline := time.Now().Add(5 * time.Second)
	for phone.attendedBy("op2") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a closed console still attends the phone")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Without a desk phone there are no buttons and no action.
	plain := newEnv(t)
	pop := plain.login("op2")
	wantStatus(t, "no desk phone", pop.post("/console/phone", url.Values{"action": {"answer"}}), http.StatusNotFound)
}

// TestNoReadingWithNobodyWatching: a burst of call events while no live
// page is open reads nothing from the database; the next page reads
// afresh and shows the change; with a page open each burst is read and
// pushed to it.
func TestNoReadingWithNobodyWatching(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sup := e.login("sup")
	availableLotto3 := func(n int) func(string) bool {
		return matches(fmt.Sprintf(`(?s)wb-row-lotto3".*?wb-available">%d<`, n))
	}
	if body := sup.get("/wallboard").body; !availableLotto3(0)(body) {
		t.Fatalf("wallboard:\n%s", body)
	}
	h := e.srv.hub
	before := h.reads.Load()
	noErr(t, e.queues.SetState(ctx, "op3", queues.Available, ""))
	h.settled()
	if n := h.reads.Load(); n != before {
		t.Fatalf("%d readings of the live state with no page open", n-before)
	}
	if body := sup.get("/wallboard").body; !availableLotto3(1)(body) {
		t.Fatalf("the page after the burst does not show it:\n%s", body)
	}

	s := sup.subscribe("/wallboard/events")
	s.waitEvent(t, "wallboard", availableLotto3(1))
	before = h.reads.Load()
	noErr(t, e.queues.SetState(ctx, "op3", queues.LoggedOut, ""))
	h.settled()
	if h.reads.Load() == before {
		t.Fatal("a burst with a page open was not read")
	}
	s.waitEvent(t, "wallboard", availableLotto3(0))
}
