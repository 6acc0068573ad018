package ivr_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/ariconn"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/leases"
	"github.com/helpdesk-ivr/ivr/leases/leasestest"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func leaseOwners(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT channel_id, owner FROM call_leases`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, owner string
		if err := rows.Scan(&id, &owner); err != nil {
			t.Fatal(err)
		}
		out[id] = owner
	}
	return out
}

// Two instances share calls by lease: instance a drives three calls (a
// conversation, a queued caller, a caller in the menu) and dies without a
// word (its leases stay as they were); instance b, connected in its place,
// leaves them alone while a's leases run, then takes each over where it
// was once they expire: the conversation goes on with the same operator,
// the queued caller keeps their place, the caller in the menu hears the
// same node again. Every call ends with its record; no lease is left.
func TestLeasesTakeOverTheCallsOfADeadInstance(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	storeA, err := leases.New(pool, "ivrd-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	a := &leasestest.Killable{Store: storeA}
	r := newQueueRig(t, url, nil, func(o *simdesk.Options) { o.Leases = a })
	talking, queued, inMenu, opLeg := r.callsInEveryState()
	calls := []*arisim.Call{talking, queued, inMenu}
	owners := leaseOwners(t, pool)
	for _, c := range calls {
		if owners[c.ID()] != "ivrd-a" {
			t.Fatalf("leases %v: %s is not ivrd-a's", owners, c.ID())
		}
	}

	// a dies; b connects in its place and reconciles.
	a.Kill()
	storeB, err := leases.New(pool, "ivrd-b", 0)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	b := &rig{t: t, cfg: r.cfg, clk: r.clk, sim: r.sim, mem: r.mem, store: r.store, notify: make(chan struct{}, 1)}
	b.ctrl, err = ivr.New(ivr.Options{App: "ivr", Config: func() *menu.Config { return r.cfg }, PINSecret: demoSecret,
		Store: r.store, Clock: r.clk, Observe: b.observe, Queues: r.q, Leases: storeB, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reconciled := make(chan struct{}, 1)
	b.conn, err = ariconn.Start(ctx, ariconn.Options{URL: r.sim.URL(), Username: simdesk.User, Password: simdesk.Password, App: "ivr",
		MinBackoff: 20 * time.Millisecond, Events: ivr.HandledEvents,
		OnConnect: func() { b.ctrl.Reconcile(ctx); reconciled <- struct{}{} }},
		func(c ari.Client) func(ari.Event) { return b.ctrl.Attach(ctx, c) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.conn.Close)
	select {
	case <-reconciled:
	case <-time.After(20 * time.Second):
		t.Fatal("b never reconciled")
	}
	// a's leases run: b drives none of its calls.
	if n := b.ctrl.ActiveCalls(); n != 0 {
		t.Fatalf("b took %d calls whose leases a still held", n)
	}
	for _, c := range calls {
		if owner := leaseOwners(t, pool)[c.ID()]; owner != "ivrd-a" {
			t.Fatalf("%s is %q's before a's lease expired", c.ID(), owner)
		}
	}

	// a's leases expire (the time passing is PostgreSQL's): b takes over.
	if _, err := pool.Exec(context.Background(), `UPDATE call_leases SET expires_at = now() - interval '1 second' WHERE owner = 'ivrd-a'`); err != nil {
		t.Fatal(err)
	}
	if e := b.waitKind(talking.ID(), ivr.EvAnswered); e.Operator != "op201" || e.Reason != "resumed talking" {
		t.Fatalf("conversation taken over: %+v", e)
	}
	if e := b.waitKind(queued.ID(), ivr.EvRoute); e.Reason != "resumed in queue" || e.Group != "lotto2" {
		t.Fatalf("queued caller: %+v", e)
	}
	if p, err := r.q.Position(context.Background(), queued.ID()); err != nil || p.Position != 1 {
		t.Fatalf("queued caller's place: %+v %v", p, err)
	}
	if p := b.waitPrompt(inMenu.ID(), "system:technical_problem"); !slices.Equal(p.Prompt, []string{"system:technical_problem", "node:2"}) {
		t.Fatalf("menu caller resumed with %v", p.Prompt)
	}
	owners = leaseOwners(t, pool)
	for _, c := range calls {
		if owners[c.ID()] != "ivrd-b" {
			t.Errorf("leases %v: %s is not ivrd-b's after the takeover", owners, c.ID())
		}
	}
	if v := testkit.MetricValue(t, reg, "ivr_call_takeovers_total"); v != 3 {
		t.Errorf("ivr_call_takeovers_total = %v, want 3", v)
	}
	if _, ended := opLeg().Ended(); ended {
		t.Fatal("the operator's leg was hung up by the takeover")
	}
	for _, c := range calls {
		if err := c.Hangup(); err != nil {
			t.Fatal(err)
		}
		b.outcome(c.ID())
	}
	call, _, _ := r.mem.Call(talking.ID())
	if call.Outcome != tickets.OutcomeAnswered || call.Operator != "op201" || call.EndedAt.IsZero() {
		t.Errorf("conversation's call record %+v", call)
	}
	waitUntil(t, "no lease left", func() bool { return len(leaseOwners(t, pool)) == 0 })
}

// A call that arrives while the leases' database is down is served
// anyway, unleased; once the database answers again the instance takes
// its lease, so that this call too would be taken over if the instance
// died, and gives it up at the call's end.
func TestCallServedDuringAnOutageIsLeasedLater(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st, err := leases.New(pool, "ivrd-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	a := &leasestest.Killable{Store: st}
	r := newQueueRig(t, url, nil, func(o *simdesk.Options) { o.Leases = a })
	a.Kill() // the outage
	c := r.call("3331239999")
	r.waitPrompt(c.ID(), "node:root")
	if owner := leaseOwners(t, pool)[c.ID()]; owner != "" {
		t.Fatalf("%s leased by %q during the outage", c.ID(), owner)
	}
	a.Revive()
	waitUntil(t, "the call leased after the outage", func() bool { return leaseOwners(t, pool)[c.ID()] == "ivrd-a" })
	if err := c.Hangup(); err != nil {
		t.Fatal(err)
	}
	r.outcome(c.ID())
	waitUntil(t, "the lease given up at the call's end", func() bool { return len(leaseOwners(t, pool)) == 0 })
}
