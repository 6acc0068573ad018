package bustest_test

import (
	"context"
	"slices"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/leases"
	"github.com/helpdesk-ivr/ivr/leases/leasestest"
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
	a, b := d.ctrls[0], d.ctrls[1]
	if len(byOwner["A"]) == 0 {
		t.Fatalf("A drives none of the calls: %v", byOwner)
	}

	// A is killed: its link to the bus goes, its leases stay.
	stores["A"].Kill()
	a.conn.Close()
	// (At the end its goroutines, waiting for events that never come, go:
	// a dead process leaves none.)
	t.Cleanup(a.ctrl.Release)
	if _, err := d.pool.Exec(ctx, `UPDATE call_leases SET expires_at = now() - interval '1 second' WHERE owner = 'A'`); err != nil {
		t.Fatal(err)
	}
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
	if got := counter(t, b.reg, "ivr_call_takeovers_total"); got != float64(len(byOwner["A"])) {
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
	var left int
	if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM call_leases`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d leases left (%v)", left, err)
	}
	for _, n := range d.nodes {
		if st := n.Sim.Stats(); st.ActiveChannels != 0 {
			t.Errorf("%s: %d channels left", n, st.ActiveChannels)
		}
	}
}

func isPrompt(name string) func(ivr.Event) bool {
	return func(e ivr.Event) bool { return e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, name) }
}

// counter reads a counter of reg by name (one series).
func counter(t *testing.T, reg interface {
	Gather() ([]*dto.MetricFamily, error)
}, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
