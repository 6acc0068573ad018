package queues_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/queues"
)

// TestSnapshotAndMetrics: the wallboard and the metrics report the queues'
// state from the database and count what happened.
func TestSnapshotAndMetrics(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	clk := testkit.NewClock(t0)
	reg := prometheus.NewRegistry()
	s := queues.New(pool, queues.Options{Now: clk.Now, Location: rome, Registerer: reg})
	noErr(t, s.SyncGroups(ctx, []queues.GroupConfig{{ID: "g"}, {ID: "h"}}))
	for _, l := range []string{"a", "b", "c"} {
		noErr(t, s.UpsertOperator(ctx, op(l, map[string]int{"g": 0})))
	}
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	noErr(t, s.SetState(ctx, "b", queues.Paused, queues.ReasonTraining))
	enqueue(t, s, "answered", "g", 0)
	clk.Advance(30 * time.Second)
	must[[]queues.Event](t)(s.Answer(ctx, "answered", "a"))
	enqueue(t, s, "gone", "g", 0)
	enqueue(t, s, "waiting", "g", 0)
	clk.Advance(time.Minute)
	must[[]queues.Event](t)(s.Leave(ctx, "gone", queues.LeaveAbandoned))

	stats := must[[]queues.GroupStats](t)(s.Snapshot(ctx))
	equal(t, "snapshot", stats, []queues.GroupStats{
		{Group: "g", Waiting: 1, LongestWait: time.Minute,
			Operators: map[queues.State]int{queues.OnCall: 1, queues.Paused: 1, queues.LoggedOut: 1},
			Offered:   1, Answered: 1, Abandoned: 1},
		{Group: "h", Operators: map[queues.State]int{}},
	})

	families := must[[]*dtoFamily](t)(gather(reg))
	want := map[string]float64{
		`ivr_queue_callers_waiting{group="g"}`:              1,
		`ivr_queue_longest_wait_seconds{group="g"}`:         60,
		`ivr_queue_operators{group="g",state="on_call"}`:    1,
		`ivr_queue_operators{group="g",state="available"}`:  0,
		`ivr_queue_offers_total{group="g"}`:                 1,
		`ivr_queue_answered_total{group="g"}`:               1,
		`ivr_queue_abandoned_total{group="g"}`:              1,
		`ivr_queue_time_to_answer_seconds_sum{group="g"}`:   30,
		`ivr_queue_time_to_answer_seconds_count{group="g"}`: 1,
		`ivr_queue_operators{group="h",state="logged_out"}`: 0,
	}
	got := map[string]float64{}
	for _, f := range families {
		got[f.name] = f.value
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

type dtoFamily struct {
	name  string
	value float64
}

// gather flattens the registry's samples into name{labels} → value.
func gather(reg *prometheus.Registry) ([]*dtoFamily, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	var out []*dtoFamily
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := ""
			for i, l := range m.GetLabel() {
				if i > 0 {
					labels += ","
				}
				labels += l.GetName() + `="` + l.GetValue() + `"`
			}
			name := mf.GetName() + "{" + labels + "}"
			switch {
			case m.GetGauge() != nil:
				out = append(out, &dtoFamily{name, m.GetGauge().GetValue()})
			case m.GetCounter() != nil:
				out = append(out, &dtoFamily{name, m.GetCounter().GetValue()})
			case m.GetHistogram() != nil:
				out = append(out, &dtoFamily{mf.GetName() + "_sum{" + labels + "}", m.GetHistogram().GetSampleSum()},
					&dtoFamily{mf.GetName() + "_count{" + labels + "}", float64(m.GetHistogram().GetSampleCount())})
			}
		}
	}
	return out, nil
}
