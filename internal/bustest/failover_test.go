package bustest_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/testkit"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/bustest"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/leases"
	"github.com/helpdesk-ivr/ivr/leases/leasestest"
	"github.com/helpdesk-ivr/ivr/queues"
)

// Two controllers share the calls of two nodes by lease over ari-proxy;
// one is killed (its bus link gone, its leases left as they were) with
// callers in the menu on both nodes. Once its leases expire the other
// takes each of its calls over at the node it was at, on its own node;
// the callers go on through the menu, and every call ends with one
// record. The survivor's own calls are untouched.
func TestKilledControllerCallsTakenOver(t *testing.T) {
	stores := map[string]*leasestest.Killable{}
	d := newDesk(t, []string{idA, idB}, 2, func(d *desk) {
		d.leases = func(name string) ivr.CallLeases {
			st, err := leases.New(d.pool, name, 0)
			if err != nil {
				t.Fatal(err)
			}
			stores[name] = &leasestest.Killable{Store: st}
			return stores[name]
		}
	})
	ctx := context.Background()
	byOwner := map[string][]*arisim.Call{}
	nodeOf := map[string]string{}
	for i := 0; i < 24 && (len(byOwner["A"]) < 2 || len(byOwner["B"]) < 1 || i < 4); i++ {
		node := d.nodes[i%2]
		c, err := node.Sim.PlaceCall(ctx, "0612345678", "800749049", arisim.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in := d.owner(c.ID())
		if err := c.Press("2"); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "node 2 for "+c.ID(), func() bool { return in.saw(c.ID(), isPrompt("node:2")) })
		byOwner[in.name] = append(byOwner[in.name], c)
		nodeOf[c.ID()] = node.ID
	}
	b := d.ctrls[1]
	if len(byOwner["A"]) == 0 {
		t.Fatalf("A drives none of the calls: %v", byOwner)
	}

	// A is killed: its link to the bus goes, its leases stay.
	d.killA(stores["A"])
	for _, c := range byOwner["A"] {
		t.Cleanup(func() {
			if t.Failed() {
				b.mu.Lock()
				for _, e := range b.events[c.ID()] {
					t.Logf("B's event of %s: %s %v %s %s", c.ID(), e.Kind, e.Prompt, e.Node, e.Reason)
				}
				b.mu.Unlock()
			}
		})
		waitUntil(t, "B resumes "+c.ID()+" at node 2", func() bool {
			return b.saw(c.ID(), func(e ivr.Event) bool {
				return e.Kind == ivr.EvPrompt && slices.Equal(e.Prompt, []string{"system:technical_problem", "node:2"})
			})
		})
	}
	if got := testkit.MetricValue(t, b.reg, "ivr_call_takeovers_total"); got != float64(len(byOwner["A"])) {
		t.Errorf("B's ivr_call_takeovers_total %v, want %d", got, len(byOwner["A"]))
	}
	// Every caller goes on: 1 at node 2 routes them; then they hang up.
	for _, c := range slices.Concat(byOwner["A"], byOwner["B"]) {
		if err := c.Press("1"); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the route of "+c.ID(), func() bool { return b.saw(c.ID(), func(e ivr.Event) bool { return e.Kind == ivr.EvRoute }) })
		if err := c.Hangup(); err != nil {
			t.Fatal(err)
		}
		d.waitKind(b, c.ID(), ivr.EvOutcome)
		d.checkRecord(c.ID(), nodeOf[c.ID()])
	}
	for _, c := range byOwner["B"] {
		if b.saw(c.ID(), func(e ivr.Event) bool { return e.Kind == ivr.EvResumed }) {
			t.Errorf("B's own call %s was resumed", c.ID())
		}
	}
	d.checkNothingLeft()
}

// checkNothingLeft: no lease left in the database, no channel on any node.
func (d *desk) checkNothingLeft() {
	d.t.Helper()
	var left int
	if err := d.pool.QueryRow(context.Background(), `SELECT count(*) FROM call_leases`).Scan(&left); err != nil || left != 0 {
		d.t.Errorf("%d leases left (%v)", left, err)
	}
	for _, n := range d.nodes {
		if st := n.Sim.Stats(); st.ActiveChannels != 0 {
			d.t.Errorf("%s: %d channels left", n, st.ActiveChannels)
		}
	}
}

func isPrompt(name string) func(ivr.Event) bool {
	return func(e ivr.Event) bool { return e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, name) }
}

// A controller dies with a call in each state over two nodes: a caller
// talking with op801 (node a), one queued for op801's group (node b), one
// in menu 2 (node a). The controller that started after it takes each
// over once the leases expire: the conversation stays bridged with the
// same operator, the queued caller keeps the place and is offered to
// op801 once that conversation ends (the operator's leg rung on node b),
// the menu caller hears menu 2 again. Every call ends with one record.
func TestKilledControllerEveryStateTakenOver(t *testing.T) {
	d, a := newQueueDesk(t)
	ctx := context.Background()
	na, nb := d.nodes[0], d.nodes[1]
	nb.Sim.SetEndpoint("PJSIP/op801", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second})
	ctrlA := d.ctrls[0]
	place := func(n *bustest.Node, keys string) *arisim.Call { t.Helper(); return d.placeOn(ctrlA, n, keys) }
	talking := place(na, "31")
	d.waitKind(ctrlA, talking.ID(), ivr.EvAnswered)
	queued := place(nb, "31")
	d.waitKind(ctrlA, queued.ID(), ivr.EvQueued)
	inMenu := place(na, "2")
	waitUntil(t, "menu 2", func() bool { return ctrlA.saw(inMenu.ID(), isPrompt("node:2")) })

	// B comes up; A is killed and its leases expire.
	b := d.startController("B")
	d.ctrls = append(d.ctrls, b)
	d.waitReady(idA, idB)
	d.killA(a)
	waitUntil(t, "B adopts the conversation", func() bool {
		return b.saw(talking.ID(), func(e ivr.Event) bool {
			return e.Kind == ivr.EvAnswered && e.Operator == "op801" && e.Reason == "resumed talking"
		})
	})
	waitUntil(t, "B resumes the queued caller", func() bool {
		return b.saw(queued.ID(), func(e ivr.Event) bool { return e.Kind == ivr.EvRoute && e.Reason == "resumed in queue" })
	})
	if p, err := d.queues.Position(ctx, queued.ID()); err != nil || p.Position != 1 {
		t.Fatalf("the queued caller's place: %+v %v", p, err)
	}
	waitUntil(t, "B resumes the menu caller at menu 2", func() bool {
		return b.saw(inMenu.ID(), func(e ivr.Event) bool {
			return e.Kind == ivr.EvPrompt && slices.Equal(e.Prompt, []string{"system:technical_problem", "node:2"})
		})
	})
	if st := na.Sim.Stats(); st.ActiveChannels != 3 { // caller, op801's leg, the menu caller
		t.Errorf("node a: %d channels after the takeover, want 3 (the conversation untouched)", st.ActiveChannels)
	}
	// The conversation ends; op801 takes the queued caller, on node b.
	if err := talking.Hangup(); err != nil {
		t.Fatal(err)
	}
	d.waitKind(b, talking.ID(), ivr.EvOutcome)
	waitUntil(t, "op801 answers the queued caller", func() bool {
		return b.saw(queued.ID(), func(e ivr.Event) bool { return e.Kind == ivr.EvAnswered && e.Operator == "op801" })
	})
	if st := nb.Sim.Stats(); st.ActiveChannels != 2 || st.ActiveBridges != 1 {
		t.Errorf("node b: %d channels, %d bridges; want the caller and op801's leg bridged there", st.ActiveChannels, st.ActiveBridges)
	}
	for _, c := range []*arisim.Call{queued, inMenu} {
		if err := c.Hangup(); err != nil {
			t.Fatal(err)
		}
		d.waitKind(b, c.ID(), ivr.EvOutcome)
	}
	for c, n := range map[*arisim.Call]*bustest.Node{talking: na, queued: nb, inMenu: na} {
		d.checkRecord(c.ID(), n.ID)
	}
	var answered string
	if err := d.pool.QueryRow(ctx, `SELECT outcome FROM calls WHERE channel_id = $1`, talking.ID()).Scan(&answered); err != nil ||
		answered != "answered" {
		t.Errorf("the conversation's outcome %q (%v), want answered", answered, err)
	}
}

// newQueueDesk is a desk of two nodes with the operator queues (op801
// available) and one controller, A, sharing calls by lease; a kills A's
// leases.
func newQueueDesk(t *testing.T) (*desk, *leasestest.Killable) {
	t.Helper()
	d, killable := newQueueDeskOf(t, 1)
	return d, killable["A"]
}

// newQueueDeskOf is newQueueDesk with n controllers (A, B...) and the
// killable leases of each by name; extra options apply before the nodes
// start.
func newQueueDeskOf(t *testing.T, n int, extra ...func(*desk)) (*desk, map[string]*leasestest.Killable) {
	t.Helper()
	killable := map[string]*leasestest.Killable{}
	d := newDesk(t, []string{idA, idB}, n, append(extra, func(d *desk) {
		d.leases = func(name string) ivr.CallLeases {
			st, err := leases.New(d.pool, name, 0)
			if err != nil {
				t.Fatal(err)
			}
			killable[name] = &leasestest.Killable{Store: st}
			return killable[name]
		}
		d.queues = queues.New(d.pool, queues.Options{Now: d.clk.Now, Location: d.cfg.Location(), PollInterval: 20 * time.Millisecond,
			Registerer: prometheus.NewRegistry()})
		if err := ivr.SyncQueues(context.Background(), d.queues, d.cfg); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = d.queues.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		if err := d.queues.SetState(context.Background(), "op801", queues.Available, ""); err != nil {
			t.Fatal(err)
		}
	})...)
	return d, killable
}

// placeOn places a call on node n, waits for in to greet it and presses
// keys.
func (d *desk) placeOn(in *instance, n *bustest.Node, keys string) *arisim.Call {
	d.t.Helper()
	c, err := n.Sim.PlaceCall(context.Background(), "0612345678", "800749049", arisim.CallOptions{})
	if err != nil {
		d.t.Fatal(err)
	}
	waitUntil(d.t, "the root menu of "+c.ID(), func() bool { return in.saw(c.ID(), isRootPrompt) })
	if err := c.Press(keys); err != nil {
		d.t.Fatal(err)
	}
	return c
}

// killA kills controller A: its bus link, its leases, which expire, and
// its sessions, which stop where they are without a word, as a dead
// process's would (left running, one still waiting for an operator took
// the queue's offer meant for the call B had resumed, and failed it).
func (d *desk) killA(a *leasestest.Killable) {
	d.t.Helper()
	a.Kill()
	d.ctrls[0].conn.Close()
	d.ctrls[0].ctrl.Release()
	if _, err := d.pool.Exec(context.Background(), `UPDATE call_leases SET expires_at = now() - interval '1 second' WHERE owner = 'A'`); err != nil {
		d.t.Fatal(err)
	}
}

// A conversation whose controller died ends while nobody drives it: the
// instance that takes the call over finds it gone and closes its record,
// and its operator, left on call, is freed by the reconciliation of
// operators, which runs over the bus now that leases tell whose calls are
// alive.
func TestOperatorOfADeadInstanceFreed(t *testing.T) {
	d, a := newQueueDesk(t)
	ctx := context.Background()
	talking := d.placeOn(d.ctrls[0], d.nodes[0], "31")
	d.waitKind(d.ctrls[0], talking.ID(), ivr.EvAnswered)
	b := d.startController("B")
	d.ctrls = append(d.ctrls, b)
	d.waitReady(idA, idB)
	// While A drives it, B's reconciliation leaves op801 alone.
	b.ctrl.ReconcileOperators(ctx)
	if op, err := d.queues.Operator(ctx, "op801"); err != nil || op.State != queues.OnCall {
		t.Fatalf("op801 %+v (%v) while A drives the conversation, want on call", op, err)
	}
	a.Kill()
	d.ctrls[0].conn.Close()
	d.ctrls[0].ctrl.Release()                // its sessions stop, as a dead process's
	if err := talking.Hangup(); err != nil { // nobody watches
		t.Fatal(err)
	}
	if _, err := d.pool.Exec(ctx, `UPDATE call_leases SET expires_at = now() - interval '1 second' WHERE owner = 'A'`); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the record closed by B", func() bool {
		var ended bool
		err := d.pool.QueryRow(ctx, `SELECT ended_at IS NOT NULL FROM calls WHERE channel_id = $1`, talking.ID()).Scan(&ended)
		return err == nil && ended
	})
	b.ctrl.ReconcileOperators(ctx)
	if op, err := d.queues.Operator(ctx, "op801"); err != nil || op.State == queues.OnCall || op.CallID != "" {
		t.Errorf("op801 %+v (%v) after the reconciliation, want freed", op, err)
	}
}

// A controller dies while op801's phone rings for a caller (the leg it
// made rings on): the controller that takes the call over finds the
// caller in the queue; when the phone answers into Stasis, nobody would
// bridge it, so the new owner, whose call the leg is for, hangs it up
// instead of leaving it in Stasis, and the caller is still served.
func TestPhoneRingingWhenItsControllerDied(t *testing.T) {
	d, a := newQueueDesk(t)
	na := d.nodes[0]
	var leg atomic.Pointer[arisim.Call]
	na.Sim.SetEndpoint("PJSIP/op801", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 12 * time.Second,
		OnCall: func(c *arisim.Call) { leg.CompareAndSwap(nil, c) }})
	ctrlA := d.ctrls[0]
	caller := d.placeOn(ctrlA, na, "31")
	waitUntil(t, "op801's phone ringing", func() bool { return leg.Load() != nil })
	b := d.startController("B")
	d.ctrls = append(d.ctrls, b)
	d.waitReady(idA, idB)
	d.killA(a)
	waitUntil(t, "B resumes the caller", func() bool {
		return b.saw(caller.ID(), func(e ivr.Event) bool { return e.Kind == ivr.EvRoute && e.Reason == "resumed in queue" })
	})
	first := leg.Load()
	waitUntil(t, "the dead controller's leg over", func() bool { _, ended := first.Ended(); return ended })
	d.waitKind(b, caller.ID(), ivr.EvAnswered)
	if err := caller.Hangup(); err != nil {
		t.Fatal(err)
	}
	d.waitKind(b, caller.ID(), ivr.EvOutcome)
	d.checkRecord(caller.ID(), na.ID)
	d.checkNothingLeft()
}
