package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// demoEvent is an event of the test phone's call stream.
type demoEvent struct {
	Kind    string   `json:"event"`
	Prompt  []string `json:"prompt"`
	Group   string   `json:"group"`
	Ticket  string   `json:"ticket"`
	Result  string   `json:"result"`
	Outcome string   `json:"outcome"`
	// Operator rung or answering, who hung up, a test call.
	Operator string `json:"operator"`
	By       string `json:"by"`
	Test     bool   `json:"test"`
}

// demoCall is one call of the test phone, driven as a person at the
// browser page drives it: keys on what they hear.
type demoCall struct {
	t      *testing.T
	c      *panelClient
	id     string
	events *sse
	ticket string
	seen   []string // kinds, for failure messages
}

// place calls the help desk from a number, now or at a time
// ("2006-01-02T15:04" in the service's zone; "" for now).
func place(t *testing.T, c *panelClient, from, at string) *demoCall {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"caller": from, "at": at})
	status, resp := c.postJSON("/testphone/calls", string(body))
	if status != http.StatusCreated {
		t.Fatalf("place a call from %s at %q: %d %s", from, at, status, resp)
	}
	var placed struct{ ID string }
	if err := json.Unmarshal([]byte(resp), &placed); err != nil || placed.ID == "" {
		t.Fatalf("place a call: %s", resp)
	}
	d := &demoCall{t: t, c: c, id: placed.ID, events: c.stream("/testphone/calls/" + placed.ID + "/events")}
	d.ticket = d.wait("its ticket", func(e demoEvent) bool { return e.Kind == "ticket" }).Ticket
	return d
}

func (d *demoCall) wait(what string, ok func(demoEvent) bool) demoEvent {
	d.t.Helper()
	var e demoEvent
	d.events.wait(d.t, fmt.Sprintf("call %s: %s (after %v)", d.id, what, d.seen), func(data string) bool {
		e = demoEvent{}
		if json.Unmarshal([]byte(data), &e) != nil {
			return false
		}
		d.seen = append(d.seen, e.Kind+" "+strings.Join(e.Prompt, "+"))
		return ok(e)
	})
	return e
}

func (d *demoCall) waitKind(kind string) demoEvent {
	d.t.Helper()
	return d.wait(kind, func(e demoEvent) bool { return e.Kind == kind })
}

// on presses keys once a prompt with that name starts.
func (d *demoCall) on(prompt, keys string) {
	d.t.Helper()
	d.wait("prompt "+prompt, func(e demoEvent) bool { return e.Kind == "prompt" && slices.Contains(e.Prompt, prompt) })
	body, _ := json.Marshal(map[string]string{"keys": keys})
	if status, resp := d.c.postJSON("/testphone/calls/"+d.id+"/keys", string(body)); status != http.StatusNoContent {
		d.t.Fatalf("call %s: keys %q: %d %s", d.id, keys, status, resp)
	}
}

func (d *demoCall) hangup() {
	d.t.Helper()
	if status, resp := d.c.postJSON("/testphone/calls/"+d.id+"/hangup", "{}"); status != http.StatusNoContent {
		d.t.Fatalf("call %s: hang up: %d %s", d.id, status, resp)
	}
}

// demoPath is a kind of call, as in ivr's TestMatrix, and the group and
// priority its ticket must have.
type demoPath struct {
	name     string
	drive    func(t *testing.T, c *panelClient) *demoCall
	group    string
	priority string
	outcome  string
	request  bool // an after-hours request: listed on /after-hours
	// notices the ticket's page lists, waiting: the demo has no mail
	// server (the Administration's and the group's addresses).
	notices int
}

const (
	saturday10 = "2026-11-21T10:00" // the desk open, the Cassazione's groups closed
	saturday20 = "2026-11-21T20:00" // the whole desk closed
)

// routed calls from a number, keys a path of the menu and hangs up once
// queued in the group.
func routed(from string, keys ...string) func(*testing.T, *panelClient) *demoCall {
	return func(t *testing.T, c *panelClient) *demoCall {
		d := place(t, c, from, "")
		prompt := "node:root"
		for i, k := range keys {
			d.on(prompt, k)
			prompt = "node:" + strings.Join(keys[:i+1], "")
		}
		d.waitKind("queued")
		d.hangup()
		return d
	}
}

// pin asks for the referents' branch and keys a PIN; refused, the caller
// asks for an operator.
func pin(from, pin string, refused bool) func(*testing.T, *panelClient) *demoCall {
	return func(t *testing.T, c *panelClient) *demoCall {
		d := place(t, c, from, "")
		d.on("node:root", "4")
		d.on("system:pin_ask", pin+"#")
		if refused {
			d.on("system:pin_role_refused", "0")
		}
		d.waitKind("queued")
		d.hangup()
		return d
	}
}

// request calls at a time the group (after keys) or the desk is closed
// and leaves a recorded request (the test phone's caller speaks 10 s),
// keying 1 as soon as the desk says it is closed: the demo runs in real
// time, and ivr's TestMatrix hears the whole announcement.
func request(from, at string, keys ...string) func(*testing.T, *panelClient) *demoCall {
	return func(t *testing.T, c *panelClient) *demoCall {
		d := place(t, c, from, at)
		prompt := "node:root"
		for _, k := range keys {
			d.on(prompt, k)
			prompt = "node:" + k
		}
		closed := "system:closed"
		if len(keys) > 0 {
			closed = "system:group_closed"
		}
		d.on(closed, "1")
		d.waitKind("message")
		return d
	}
}

var demoPaths = []demoPath{
	{name: "leaf-1-2", drive: routed("3331230012", "1", "2"), group: "lotto2", priority: "medium", outcome: "abandoned"},
	{name: "leaf-1-3", drive: routed("3331230013", "1", "3"), group: "lotto3", priority: "medium", outcome: "abandoned"},
	{name: "leaf-1-4", drive: routed("3331230014", "1", "4"), group: "lotto4", priority: "medium", outcome: "abandoned"},
	{name: "leaf-1-5", drive: routed("3331230015", "1", "5"), group: "lotto5", priority: "medium", outcome: "abandoned"},
	{name: "leaf-1-6", drive: routed("3331230016", "1", "6"), group: "lotto6", priority: "medium", outcome: "abandoned"},
	{name: "leaf-2-1", drive: routed("3331230021", "2", "1"), group: "pct-libero-foro", priority: "medium", outcome: "abandoned"},
	{name: "leaf-2-2", drive: routed("3331230022", "2", "2"), group: "pct-magistrati", priority: "medium", outcome: "abandoned"},
	{name: "leaf-3-1", drive: routed("3331230031", "3", "1"), group: "sicoge", priority: "medium", outcome: "abandoned"},
	{name: "4-referent-pin", drive: pin("0699990001", "5035", false), group: "modifiche", priority: "high",
		outcome: "abandoned", notices: 1},
	{name: "known-administration", drive: routed("+390612345678", "1"), group: "lotto3", priority: "medium",
		outcome: "abandoned", notices: 1},
	{name: "pin-referent-unknown-number", drive: pin("3331230040", "5035", false), group: "modifiche", priority: "high",
		outcome: "abandoned", notices: 1},
	{name: "pin-user-unknown-number", drive: pin("3331230041", "1035", true), group: "accoglienza", priority: "medium", outcome: "abandoned"},
	{name: "group-closed-2-1", drive: request("3331230050", saturday10, "2", "1"), group: "pct-libero-foro", priority: "medium",
		outcome: "after_hours_message", request: true},
	{name: "group-closed-1-6", drive: request("3331230051", saturday10, "1", "6"), group: "lotto6", priority: "medium",
		outcome: "after_hours_message", request: true, notices: 1},
	{name: "service-closed", drive: request("+390612345678", saturday20), group: "lotto3", priority: "medium",
		outcome: "after_hours_message", request: true, notices: 2},
	{name: "status-by-phone", drive: func(t *testing.T, c *panelClient) *demoCall {
		first := place(t, c, "3331230060", "")
		first.waitKind("prompt")
		first.hangup()
		first.waitKind("outcome")
		d := place(t, c, "3331230060", "")
		d.on("node:root", "9")
		d.on("system:status_ask", first.ticket+"#")
		if st := d.waitKind("status"); st.Result != "closed" {
			t.Errorf("status of %s: %q", first.ticket, st.Result)
		}
		return d
	}, group: "accoglienza", priority: "medium", outcome: "status_told"},
	{name: "hangup-in-menu", drive: func(t *testing.T, c *panelClient) *demoCall {
		d := place(t, c, "3331230070", "")
		d.on("node:root", "1")
		d.wait("prompt node:1", func(e demoEvent) bool { return e.Kind == "prompt" && slices.Contains(e.Prompt, "node:1") })
		d.hangup()
		return d
	}, group: "accoglienza", priority: "medium", outcome: "hung_up_in_menu"},
	{name: "hangup-in-queue", drive: routed("3331230071", "1", "2"), group: "lotto2", priority: "medium", outcome: "abandoned"},
}

var (
	factGroup    = regexp.MustCompile(`data-testid="ticket-current-group">([^<]*)<`)
	factPriority = regexp.MustCompile(`class="prio prio-([a-z]+)"`)
	factNumber   = regexp.MustCompile(`data-testid="ticket-number">([0-9A-Z]+)<`)
)

// The demo as the README starts it (ivrd -demo -config
// configs/helpdesk.yaml, its clock on a working Monday): the kinds of
// calls of ivr's TestMatrix placed at once through the test phone's API by
// a logged-in demo user, now or at a chosen time; then the supervisor and
// the administrator each find every call's ticket in the panel with its
// group, priority and notices (waiting: the demo sends no e-mail), and
// the after-hours requests on /after-hours.
func TestDemoMatrix(t *testing.T) {
	base := startDemoServer(t, monday10)
	caller := logIn(t, base, "admin")
	tickets := make([]string, len(demoPaths))
	var wg sync.WaitGroup
	for i, p := range demoPaths {
		wg.Go(func() {
			t.Run("call/"+p.name, func(t *testing.T) {
				c := *caller
				c.t = t
				d := p.drive(t, &c)
				// The outcome names the group the call reached; a call that
				// reached none still leaves its ticket a group (below).
				reached := p.group
				if p.outcome == "hung_up_in_menu" || p.outcome == "status_told" {
					reached = ""
				}
				if out := d.waitKind("outcome"); out.Outcome != p.outcome || out.Group != reached || out.Ticket != d.ticket {
					t.Errorf("outcome %+v, want %s in %q with ticket %s", out, p.outcome, reached, d.ticket)
				}
				tickets[i] = d.ticket
			})
		})
	}
	wg.Wait()
	for _, login := range []string{"supervisore", "admin"} {
		t.Run("panel/"+login, func(t *testing.T) {
			c := logIn(t, base, login)
			_, afterHours := c.get("/after-hours")
			for i, p := range demoPaths {
				n := tickets[i]
				if n == "" {
					continue // the call failed above
				}
				status, page := c.get("/tickets?q=" + url.QueryEscape(n))
				if status != http.StatusOK || !slices.Contains(submatches(factNumber, page), n) {
					t.Errorf("%s: ticket %s not found: %d", p.name, n, status)
					continue
				}
				if g := submatches(factGroup, page); len(g) != 1 || g[0] != p.group {
					t.Errorf("%s: ticket %s in group %q, want %s", p.name, n, g, p.group)
				}
				if pr := submatches(factPriority, page); len(pr) != 1 || pr[0] != p.priority {
					t.Errorf("%s: ticket %s priority %q, want %s", p.name, n, pr, p.priority)
				}
				if got := strings.Count(page, `data-testid="notice-row"`); got != p.notices ||
					strings.Count(page, `data-testid="notice-row" data-status="pending"`) != got {
					t.Errorf("%s: ticket %s lists %d notices (%d pending), want %d pending", p.name, n, got,
						strings.Count(page, `data-testid="notice-row" data-status="pending"`), p.notices)
				}
				if listed := strings.Contains(afterHours, ">"+n+"</a>"); listed != p.request {
					t.Errorf("%s: ticket %s on /after-hours: %v", p.name, n, listed)
				}
			}
		})
	}
}

func submatches(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}
