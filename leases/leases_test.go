package leases_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/leases"
)

func TestMain(m *testing.M) { pgtest.Main(m, leases.Migrate) }

func newStore(t *testing.T, pool *pgxpool.Pool, owner string) *leases.Store {
	t.Helper()
	s, err := leases.New(pool, owner, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// expire makes a lease look like its owner died: no waiting in tests.
func expire(t *testing.T, pool *pgxpool.Pool, id string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `UPDATE call_leases SET expires_at = now() - interval '1 second' WHERE channel_id = $1`, id); err != nil {
		t.Fatal(err)
	}
}

func TestAcquireRenewRelease(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	a, b := newStore(t, pool, "ivrd-a"), newStore(t, pool, "ivrd-b")
	if prev, ok, err := a.Acquire(ctx, "c1", "node1"); err != nil || !ok || prev != "" {
		t.Fatalf("a acquires a new call: prev %q ok %v err %v", prev, ok, err)
	}
	if _, ok, err := b.Acquire(ctx, "c1", "node1"); err != nil || ok {
		t.Fatalf("b took a call a holds: ok %v err %v", ok, err)
	}
	if prev, ok, err := a.Acquire(ctx, "c1", ""); err != nil || !ok || prev != "" {
		t.Fatalf("a acquires its own call again (a restart): prev %q ok %v err %v", prev, ok, err)
	}
	if _, _, err := a.Acquire(ctx, "c2", "node2"); err != nil {
		t.Fatal(err)
	}
	if exp, err := a.Expired(ctx, 10); err != nil || len(exp) != 0 {
		t.Fatalf("expired %v %v, want none", exp, err)
	}
	if owner, alive, err := b.Holder(ctx, "c1"); err != nil || owner != "ivrd-a" || !alive {
		t.Fatalf("c1 held by %q alive %v (%v), want ivrd-a alive", owner, alive, err)
	}
	// a dies: its leases expire; b takes c1 over and learns from whom.
	expire(t, pool, "c1")
	if owner, alive, err := b.Holder(ctx, "c1"); err != nil || owner != "ivrd-a" || alive {
		t.Fatalf("c1 held by %q alive %v (%v), want ivrd-a expired", owner, alive, err)
	}
	exp, err := b.Expired(ctx, 10)
	if err != nil || len(exp) != 1 || exp[0].ChannelID != "c1" || exp[0].Owner != "ivrd-a" || exp[0].Node != "node1" {
		t.Fatalf("expired %+v %v, want c1 of ivrd-a on node1", exp, err)
	}
	if prev, ok, err := b.Acquire(ctx, "c1", ""); err != nil || !ok || prev != "ivrd-a" {
		t.Fatalf("b takes c1 over: prev %q ok %v err %v", prev, ok, err)
	}
	if others, err := b.Others(ctx); err != nil || len(others) != 0 {
		t.Fatalf("b sees %+v (%v) alive, want nobody: a never renewed", others, err)
	}
	// a comes back (a pause, not a death): its renewal says c1 is gone.
	held, err := a.Renew(ctx)
	if err != nil || held["c1"] || !held["c2"] {
		t.Fatalf("a holds %v (%v), want c2 only", held, err)
	}
	// b never renewed: it has no row to publish in, and says so (the
	// caller tries again rather than believing it published).
	if err := b.PublishLive(ctx, []byte(`[]`)); err == nil {
		t.Fatal("b published its calls before its first renewal: want an error")
	}
	if err := a.PublishLive(ctx, []byte(`[{"CallID":"c2"}]`)); err != nil {
		t.Fatal(err)
	}
	if others, err := b.Others(ctx); err != nil || len(others) != 1 || others[0].Name != "ivrd-a" || string(others[0].Live) != `[{"CallID": "c2"}]` {
		t.Fatalf("b sees %+v (%v) alive, want ivrd-a with its call c2", others, err)
	}
	if err := a.Release(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	all, err := a.List(ctx)
	if err != nil || len(all) != 2 || all[0].Owner != "ivrd-a" || all[1].Owner != "ivrd-b" || all[1].Node != "node1" {
		t.Fatalf("a released b's lease, or the node was lost: %+v %v", all, err)
	}
	if err := b.Release(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if owner, _, err := a.Holder(ctx, "c1"); err != nil || owner != "" {
		t.Fatalf("released c1 held by %q (%v)", owner, err)
	}
	if all, _ := a.List(ctx); len(all) != 1 || all[0].ChannelID != "c2" {
		t.Fatalf("leases left %+v, want c2", all)
	}
}

// Instances racing for the calls of a dead one each get a share, and no
// call two owners.
func TestTakeoverRace(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	dead := newStore(t, pool, "dead")
	for i := range 40 {
		id := fmt.Sprint("c", i)
		if _, _, err := dead.Acquire(ctx, id, "n"); err != nil {
			t.Fatal(err)
		}
		expire(t, pool, id)
	}
	var mu sync.Mutex
	got := map[string][]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		s := newStore(t, pool, fmt.Sprint("ivrd-", w))
		wg.Go(func() {
			exp, err := s.Expired(ctx, 100)
			if err != nil {
				t.Error(err)
				return
			}
			for _, l := range exp {
				prev, ok, err := s.Acquire(ctx, l.ChannelID, "")
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					if prev != "dead" {
						t.Errorf("%s took %s from %q, want dead", s.Owner(), l.ChannelID, prev)
					}
					mu.Lock()
					got[l.ChannelID] = append(got[l.ChannelID], s.Owner())
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(got) != 40 {
		t.Errorf("%d of 40 calls taken over", len(got))
	}
	for id, owners := range got {
		if len(owners) != 1 {
			t.Errorf("%s taken by %v", id, owners)
		}
	}
}
