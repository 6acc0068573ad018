package queues_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/queues"
)

// TestTwoInstances: two services on separate pools share one database, as
// two ivrd would. Callers queue concurrently through both, operators in
// two groups each are freed through both, some offers go unanswered: no
// operator is ever offered two calls at once, each group's callers get
// their first offer strictly by priority then arrival, and every caller is
// answered exactly once. Polling is set to a minute, so the calls waiting
// on one instance for offers made by the other progress only through
// LISTEN/NOTIFY.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	url := pgtest.DatabaseURL(t)
	const channel = "ivr_queues_two_instances"
	var instances []*queues.Service
	for i := range 2 {
		pool, err := pgxpool.New(ctx, url)
		noErr(t, err)
		t.Cleanup(pool.Close)
		instances = append(instances, queues.New(pool, queues.Options{
			Location: rome, PollInterval: time.Minute, Channel: channel,
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})).With("instance", i),
		}))
	}
	a := instances[0]
	groups := []queues.GroupConfig{{ID: "g0"}, {ID: "g1", Strategy: queues.RoundRobin}, {ID: "g2", Strategy: queues.FewestCalls}}
	noErr(t, a.SyncGroups(ctx, groups))
	const nOps, nCalls = 9, 150
	for i := range nOps {
		login := fmt.Sprintf("op%d", i)
		noErr(t, a.UpsertOperator(ctx, op(login, map[string]int{groups[i%3].ID: 0, groups[(i+1)%3].ID: 1})))
		noErr(t, a.SetState(ctx, login, queues.Paused, queues.ReasonBreak))
	}

	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	t.Cleanup(func() { stop(); running.Wait() })
	for _, s := range instances {
		running.Go(func() { _ = s.Run(runCtx) })
	}
	admin, err := pgx.Connect(ctx, url)
	noErr(t, err)
	t.Cleanup(func() { admin.Close(ctx) })
	waitFor(t, "both instances listening", func() bool { return listening(t, admin, channel) == 2 })

	// Everybody queues while every operator is paused.
	var wg sync.WaitGroup
	for i := range nCalls {
		wg.Go(func() {
			s := instances[i%2]
			res, err := s.Enqueue(ctx, queues.Entry{CallID: callID(i), Group: groups[i%3].ID, Priority: (i * 7) % 3 * 10})
			if err != nil || res.Overflow != nil {
				t.Errorf("enqueue %d: %v %+v", i, err, res.Overflow)
			}
		})
	}
	wg.Wait()
	want := map[string][]string{}
	rows, err := admin.Query(ctx, `SELECT group_id, call_id FROM queue_entries ORDER BY group_id, priority DESC, seq`)
	noErr(t, err)
	var g, c string
	_, err = pgx.ForEachRow(rows, []any{&g, &c}, func() error { want[g] = append(want[g], c); return nil })
	noErr(t, err)

	var (
		mu   sync.Mutex
		busy = map[string]string{} // operator → the call offered or talking
	)
	take := func(login, call string) {
		mu.Lock()
		defer mu.Unlock()
		if other, ok := busy[login]; ok {
			t.Errorf("%s offered %s while busy with %s", login, call, other)
		}
		busy[login] = call
	}
	release := func(login string) {
		mu.Lock()
		defer mu.Unlock()
		delete(busy, login)
	}
	for i := range nCalls {
		wg.Go(func() {
			s, other := instances[i%2], instances[(i+1)%2]
			id := callID(i)
			for {
				c, cancel := context.WithTimeout(ctx, time.Minute)
				of, err := s.WaitOffer(c, id)
				cancel()
				if err != nil || of.Overflow != nil || len(of.Operators) != 1 {
					t.Errorf("call %d: %v %+v", i, err, of)
					return
				}
				login := of.Operators[0].Login
				take(login, id)
				if i%10 == 3 && of.Attempt == 1 {
					release(login)
					if _, err := s.NoAnswer(ctx, id, login); err != nil {
						t.Errorf("no answer %d: %v", i, err)
						return
					}
					if err := other.SetState(ctx, login, queues.Available, ""); err != nil {
						t.Errorf("back from no answer: %v", err)
					}
					continue
				}
				if _, err := s.Answer(ctx, id, login); err != nil {
					t.Errorf("answer %d: %v", i, err)
					return
				}
				release(login)
				if err := other.CallEnded(ctx, login); err != nil {
					t.Errorf("call ended %s: %v", login, err)
				}
				return
			}
		})
	}
	for i := range nOps {
		wg.Go(func() { noErr(t, instances[i%2].SetState(ctx, fmt.Sprintf("op%d", i), queues.Available, "")) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	var answered, distinct, left int
	noErr(t, admin.QueryRow(ctx, `SELECT count(*), count(DISTINCT call_id) FROM queue_log WHERE kind = 'answered'`).Scan(&answered, &distinct))
	noErr(t, admin.QueryRow(ctx, `SELECT count(*) FROM queue_entries`).Scan(&left))
	if answered != nCalls || distinct != nCalls || left != 0 {
		t.Fatalf("answered %d (%d distinct), %d left in the queues; want %d, %d, 0", answered, distinct, left, nCalls, nCalls)
	}
	got := map[string][]string{}
	rows, err = admin.Query(ctx, `SELECT group_id, call_id FROM queue_log WHERE kind = 'offered'
		GROUP BY group_id, call_id ORDER BY group_id, min(id)`)
	noErr(t, err)
	_, err = pgx.ForEachRow(rows, []any{&g, &c}, func() error { got[g] = append(got[g], c); return nil })
	noErr(t, err)
	for _, g := range slices.Sorted(maps.Keys(want)) {
		equal(t, "first offers of "+g, got[g], want[g])
	}
	var noAnswers int
	noErr(t, admin.QueryRow(ctx, `SELECT count(*) FROM queue_log WHERE kind = 'no_answer'`).Scan(&noAnswers))
	equal(t, "no answers", noAnswers, nCalls/10)
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listening counts the sessions listening on channel.
func listening(t testing.TB, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, channel string) int {
	var n int
	noErr(t, db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query = $1`, `LISTEN "`+channel+`"`).Scan(&n))
	return n
}

// TestOfferNotifiesOtherInstances: an offer sends a notification only when
// another instance holds the call (its session enqueued it or waits for
// it); the instance making the offer wakes its own calls directly.
func TestOfferNotifiesOtherInstances(t *testing.T) {
	t.Parallel()
	url := pgtest.DatabaseURL(t)
	const channel = "ivr_queues_notify"
	var a, b *queues.Service
	for _, s := range []**queues.Service{&a, &b} {
		pool, err := pgxpool.New(ctx, url)
		noErr(t, err)
		t.Cleanup(pool.Close)
		*s = queues.New(pool, queues.Options{Location: rome, Channel: channel})
	}
	noErr(t, a.SyncGroups(ctx, []queues.GroupConfig{{ID: "g"}}))
	for _, l := range []string{"x", "y"} {
		noErr(t, a.UpsertOperator(ctx, op(l, map[string]int{"g": 0})))
	}
	listener, err := pgx.Connect(ctx, url)
	noErr(t, err)
	t.Cleanup(func() { listener.Close(ctx) })
	_, err = listener.Exec(ctx, `LISTEN "`+channel+`"`)
	noErr(t, err)

	noErr(t, a.SetState(ctx, "x", queues.Available, ""))
	enqueue(t, a, "held-by-a", "g", 0) // offered to x by a itself
	enqueue(t, a, "also-a", "g", 0)    // waits: nobody free
	noErr(t, b.SetState(ctx, "y", queues.Available, ""))
	// b offers a's second call to y: a must hear of it.
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(c)
	noErr(t, err)
	equal(t, "first notification", n.Payload, "o:also-a")
	equal(t, "offers", [][]string{logins(waitOffer(t, a, "held-by-a")), logins(waitOffer(t, a, "also-a"))}, [][]string{{"x"}, {"y"}})
}
