package queues_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/queues"
)

// BenchmarkOfferLatency: 1,000 callers waiting across 10 groups, 200
// operators all on calls, each in two groups (penalty 0 and 1). Each
// iteration ends one operator's call and measures the time until the offer
// of the head caller to that operator is decided and committed (CallEnded
// dispatches synchronously); then, untimed, the operator answers and a new
// caller joins, so the queues stay at 1,000.
func BenchmarkOfferLatency(b *testing.B) {
	const nGroups, nOps, nWaiting = 10, 200, 1000
	pool := pgtest.Pool(b)
	s := queues.New(pool, queues.Options{Location: rome})
	var groups []queues.GroupConfig
	for g := range nGroups {
		groups = append(groups, queues.GroupConfig{ID: fmt.Sprintf("g%d", g)})
	}
	noErr(b, s.SyncGroups(ctx, groups))
	for i := range nOps {
		login := fmt.Sprintf("op%03d", i)
		noErr(b, s.UpsertOperator(ctx, op(login, map[string]int{groups[i%nGroups].ID: 0, groups[(i+1)%nGroups].ID: 1})))
		noErr(b, s.SetState(ctx, login, queues.Available, ""))
	}
	calls := 0
	newCall := func(group string) string {
		calls++
		id := callID(calls)
		enqueue(b, s, id, group, calls%3*10)
		return id
	}
	answer := func(login string) {
		o := must[queues.Operator](b)(s.Operator(ctx, login))
		if o.State != queues.Offered || o.CallID == "" {
			b.Fatalf("%s is %s, not offered a call", login, o.State)
		}
		must[[]queues.Event](b)(s.Answer(ctx, o.CallID, login))
	}
	for i := range nOps {
		newCall(groups[i%nGroups].ID)
	}
	for i := range nOps {
		answer(fmt.Sprintf("op%03d", i))
	}
	for i := range nWaiting {
		newCall(groups[i%nGroups].ID)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		login := fmt.Sprintf("op%03d", i%nOps)
		start := time.Now()
		noErr(b, s.CallEnded(ctx, login))
		lat = append(lat, time.Since(start))
		answer(login)
		newCall(groups[i%nGroups].ID)
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
}

// BenchmarkQueuedCall is what one call of the load bench
// (internal/asteriskbench) costs the queues: group lotto3 of 600 operators,
// longest idle, no wrap-up, at 15 calls/s with 3 s of talk, so about 45
// operators are on a call. Each iteration queues a caller (offered at
// once), takes the offer, answers it, and ends the call answered 45
// iterations before. "waitoffer" takes the offer from WaitOffer, as the
// call controller does today; "enqueued" from Enqueued.Offer. It reports
// the round trips, transactions, WAL and server CPU of an iteration (see
// pgtest.Meter).
//
//	go test -run='^$' -bench=QueuedCall -benchtime=2000x ./queues/
func BenchmarkQueuedCall(b *testing.B) {
	for _, fromEnqueue := range []bool{false, true} {
		b.Run(map[bool]string{false: "waitoffer", true: "enqueued"}[fromEnqueue], func(b *testing.B) {
			benchmarkQueuedCall(b, fromEnqueue)
		})
	}
}

func benchmarkQueuedCall(b *testing.B, fromEnqueue bool) {
	const nOps, talking = 600, 45
	pool, meter := pgtest.MeteredPool(b, nil)
	s := queues.New(pool, queues.Options{Location: rome})
	noErr(b, s.SyncGroups(ctx, []queues.GroupConfig{{ID: "lotto3", Strategy: queues.LongestIdle}}))
	for i := range nOps {
		login := fmt.Sprintf("b%d", i+1)
		noErr(b, s.UpsertOperator(ctx, op(login, map[string]int{"lotto3": 0})))
		noErr(b, s.SetState(ctx, login, queues.Available, ""))
	}
	noErr(b, s.Maintain(ctx)) // what Run does first, done before the timing
	// Run as in ivrd: its listener gets the offers' notifications.
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- s.Run(runCtx) }()
	b.Cleanup(func() { stop(); <-ran })
	waitFor(b, "the listener", func() bool { return listening(b, pool, "ivr_queues") > 0 })
	var onCall []string
	call := func(i int) {
		id := callID(i)
		res := enqueue(b, s, id, "lotto3", 0)
		var o queues.Offer
		switch {
		case !fromEnqueue:
			o = waitOffer(b, s, id)
		case res.Offer != nil:
			o = *res.Offer
		default:
			b.Fatalf("%s not offered at once", id)
		}
		if len(o.Operators) != 1 {
			b.Fatalf("offer of %s: %+v", id, o)
		}
		must[[]queues.Event](b)(s.Answer(ctx, id, o.Operators[0].Login))
		onCall = append(onCall, o.Operators[0].Login)
		if len(onCall) > talking {
			noErr(b, s.CallEnded(ctx, onCall[0]))
			onCall = onCall[1:]
		}
	}
	for i := range talking {
		call(i)
	}
	start := meter.Read(b)
	n := 0
	for i := talking; b.Loop(); i++ {
		call(i)
		n++
	}
	b.StopTimer()
	meter.Report(b, start, n)
}
