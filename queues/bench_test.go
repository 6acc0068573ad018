package queues_test

import (
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
