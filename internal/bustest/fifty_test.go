package bustest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/bustest"
	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/queues"
)

// callState is where a caller is when an instance dies, and how the
// test puts them there.
type callState struct {
	name string
	keys string // pressed after the greeting
	// then, pressed once the keys' effect is seen (recording: * in the
	// queue leaves it for a message)
	then string
}

var (
	talkingWith801 = callState{name: "talking", keys: "31"}
	talkingWith701 = callState{name: "talking", keys: "21"}
	// The rotation of the other states; talking ones come first, one per
	// operator that answers.
	everyState = []callState{
		{name: "root menu"},
		{name: "menu 1", keys: "1"},
		{name: "menu 2", keys: "2"},
		{name: "PIN entry", keys: "4"},
		{name: "queued", keys: "31"},
		{name: "recording", keys: "31", then: "*"},
	}
)

// fiftyCall is one caller of the test.
type fiftyCall struct {
	*arisim.Call
	state callState
	node  *bustest.Node
	owner *instance
	// place is the caller's position in the sicoge queue (queued ones)
	place int
}

// TestKilledInstanceFiftyCallsInEveryState: the failover of the issue at
// size. Fifty callers over two nodes: the first 25 while instance A is
// alone, in every state (talking with op801, queued for op801's group,
// recording a message after leaving the queue with *, typing a PIN, at
// the main menu, at menu 1, at menu 2), then B starts and 25 more spread
// over both (one talking with op701). A is killed; once its leases expire
// B takes each of A's calls over where it was: the conversation stays
// bridged, the queued caller keeps the place, the recording goes on and is
// kept, the PIN and menu callers hear their prompt again and their next
// key acts there. Every call ends with one record and its own ticket.
func TestKilledInstanceFiftyCallsInEveryState(t *testing.T) {
	// Real time, and requests that may last 10 minutes (the most allowed):
	// recordings must outlive placing fifty calls and the takeover. Callers who
	// take their time at the menus and the PIN (60 s and 30 s between digits, the most allowed):
	// they are still there when A dies, rather than routed for silence.
	d, killable := newQueueDeskOf(t, 1, func(d *desk) {
		d.clk = clock.NewScaled(monday10(t), 1)
		d.cfg = loadConfig(t, "first_digit_timeout: 6s", "first_digit_timeout: 60s", "inter_digit_timeout: 3s", "inter_digit_timeout: 30s",
			"  pin:\n", "  pin:\n    timeout: 60s\n", "max_duration: 2m", "max_duration: 10m")
	})
	ctx := context.Background()
	for _, n := range d.nodes {
		n.Sim.SetEndpoint("PJSIP/op701", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second})
	}
	if err := d.queues.SetState(ctx, "op701", queues.Available, ""); err != nil {
		t.Fatal(err)
	}
	a := d.ctrls[0]
	var calls []*fiftyCall
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, in := range d.ctrls {
			in.mu.Lock()
			for _, c := range calls {
				for _, e := range in.events[c.ID()] {
					t.Logf("%s's event of %s (%s): %s %v %s %s %s", in.name, c.ID(), c.state.name, e.Kind, e.Prompt, e.Node, e.Group, e.Reason)
				}
			}
			in.mu.Unlock()
		}
	})
	// start places a call and presses its keys; reach waits until it is
	// in its state. Placed all at once, then waited for: one at a time at
	// real speed (each transfer prompt reads the ticket number) the first
	// would hear the menu time out long before A dies.
	start := func(st callState) *fiftyCall {
		t.Helper()
		n := d.nodes[len(calls)%2]
		opts := arisim.CallOptions{}
		if st.then == "*" {
			opts.SpeakOnRecord = 9 * time.Minute // until # after the takeover
		}
		c, err := n.Sim.PlaceCall(ctx, fmt.Sprintf("06123%05d", len(calls)), "800749049", opts)
		if err != nil {
			t.Fatal(err)
		}
		fc := &fiftyCall{Call: c, state: st, node: n, owner: d.owner(c.ID())}
		calls = append(calls, fc)
		if st.keys != "" {
			if err := c.Press(st.keys); err != nil {
				t.Fatal(err)
			}
		}
		return fc
	}
	reach := func(fc *fiftyCall) {
		t.Helper()
		in, id, st := fc.owner, fc.ID(), fc.state
		switch st.name {
		case "talking":
			d.waitKind(in, id, ivr.EvAnswered)
		case "queued":
			d.waitKind(in, id, ivr.EvQueued)
		case "recording":
			d.waitKind(in, id, ivr.EvQueued)
			if err := fc.Press(st.then); err != nil {
				t.Fatal(err)
			}
			d.waitKind(in, id, ivr.EvRecording)
		case "PIN entry":
			waitUntil(t, "the PIN prompt for "+id, func() bool { return in.saw(id, isPrompt("system:pin_ask")) })
		case "menu 1", "menu 2":
			node := "node:" + st.keys
			waitUntil(t, node+" for "+id, func() bool { return in.saw(id, isPrompt(node)) })
		}
	}
	// Each batch: its conversation first (its operator busy before anyone
	// queues for the group), then 24 callers in the other states.
	batch := func(talking callState) {
		t.Helper()
		reach(start(talking))
		var batch []*fiftyCall
		for i := range 24 {
			batch = append(batch, start(everyState[i%len(everyState)]))
		}
		for _, fc := range batch {
			reach(fc)
		}
	}
	batch(talkingWith801)
	b := d.startController("B")
	d.ctrls = append(d.ctrls, b)
	d.waitReady(idA, idB)
	batch(talkingWith701)
	owned := map[string]map[string]int{} // owner → state → calls
	for _, c := range calls {
		if owned[c.owner.name] == nil {
			owned[c.owner.name] = map[string]int{}
		}
		owned[c.owner.name][c.state.name]++
	}
	t.Logf("calls by instance and state: %v", owned)
	for _, st := range everyState {
		if owned["A"][st.name] == 0 {
			t.Fatalf("A drives no call %s: %v", st.name, owned)
		}
	}
	for _, c := range calls {
		if c.state.name == "queued" {
			p, err := d.queues.Position(ctx, c.ID())
			if err != nil {
				t.Fatal(err)
			}
			c.place = p.Position
		}
	}

	// A is killed: its link to the bus goes, its leases stay, then expire.
	d.killA(killable["A"])
	var taken int
	for _, c := range calls {
		id := c.ID()
		if c.owner != a {
			continue
		}
		taken++
		var resumed func(ivr.Event) bool
		switch c.state.name {
		case "talking":
			resumed = func(e ivr.Event) bool { return e.Kind == ivr.EvAnswered && e.Reason == "resumed talking" }
		case "queued":
			resumed = func(e ivr.Event) bool { return e.Kind == ivr.EvRoute && e.Reason == "resumed in queue" }
		case "recording":
			resumed = func(e ivr.Event) bool { return e.Kind == ivr.EvResumed && e.Reason == "recording" }
		case "PIN entry":
			resumed = replayed("system:pin_ask")
		case "root menu":
			resumed = replayed("node:root")
		default:
			resumed = replayed("node:" + c.state.keys)
		}
		waitUntil(t, "B resumes "+id+" ("+c.state.name+")", func() bool { return b.saw(id, resumed) })
	}
	for _, c := range calls {
		if c.state.name != "queued" {
			continue
		}
		if p, err := d.queues.Position(ctx, c.ID()); err != nil || p.Position != c.place {
			t.Errorf("queued %s (%s's): position %d after the takeover (%v), was %d", c.ID(), c.owner.name, p.Position, err, c.place)
		}
	}
	if got := testkit.MetricValue(t, b.reg, "ivr_call_takeovers_total"); got != float64(taken) {
		t.Errorf("B's ivr_call_takeovers_total %v, want %d (A's calls)", got, taken)
	}

	// Every caller goes on from where they were, then hangs up; B ends
	// every call.
	for _, c := range calls {
		id := c.ID()
		var next func(ivr.Event) bool
		switch c.state.name {
		case "recording":
			if err := c.Press("#"); err != nil {
				t.Fatalf("%s (recording, %s's): # to end it: %v", id, c.owner.name, err)
			}
			d.waitKind(b, id, ivr.EvMessage)
		case "PIN entry": // the referent's PIN: the branch's group
			next = routedTo("modifiche")
			if err := c.Press("5035#"); err != nil {
				t.Fatal(err)
			}
		case "root menu":
			next = isPrompt("node:3")
			if err := c.Press("3"); err != nil {
				t.Fatal(err)
			}
		case "menu 1":
			next = routedTo("lotto5")
			if err := c.Press("5"); err != nil {
				t.Fatal(err)
			}
		case "menu 2":
			next = routedTo("pct-libero-foro")
			if err := c.Press("1"); err != nil {
				t.Fatal(err)
			}
		}
		if next != nil && c.owner == a {
			waitUntil(t, "the next step of "+id+" ("+c.state.name+")", func() bool { return b.saw(id, next) })
		}
	}
	for _, c := range calls {
		if c.state.name != "recording" {
			if err := c.Hangup(); err != nil {
				t.Fatal(err)
			}
		}
		in := c.owner
		if in == a {
			in = b
		}
		d.waitKind(in, c.ID(), ivr.EvOutcome)
	}
	tickets := map[int64]string{}
	for _, c := range calls {
		d.checkRecord(c.ID(), c.node.ID)
		var ticket *int64
		var outcome string
		if err := d.pool.QueryRow(ctx, `SELECT ticket_id, outcome FROM calls WHERE channel_id = $1`, c.ID()).Scan(&ticket, &outcome); err != nil {
			t.Fatal(err)
		}
		if ticket == nil {
			continue // checkRecord said so
		}
		if other, dup := tickets[*ticket]; dup {
			t.Errorf("calls %s and %s share ticket %d", other, c.ID(), *ticket)
		}
		tickets[*ticket] = c.ID()
		want := map[string]string{"talking": "answered", "recording": "message_left"}[c.state.name]
		if want != "" && outcome != want {
			t.Errorf("%s (%s, %s's): outcome %q, want %q", c.ID(), c.state.name, c.owner.name, outcome, want)
		}
		if c.owner == b && b.saw(c.ID(), func(e ivr.Event) bool { return e.Kind == ivr.EvResumed }) {
			t.Errorf("B's own call %s was resumed", c.ID())
		}
	}
	d.checkNothingLeft()
}

// replayed: the apology, then prompt again (a takeover at a prompt).
func replayed(prompt string) func(ivr.Event) bool {
	return func(e ivr.Event) bool {
		return e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, "system:technical_problem") && slices.Contains(e.Prompt, prompt)
	}
}

func routedTo(group string) func(ivr.Event) bool {
	return func(e ivr.Event) bool { return e.Kind == ivr.EvRoute && e.Group == group }
}
