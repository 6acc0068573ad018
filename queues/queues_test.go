package queues_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/queues"
)

// TestStrategies: each strategy offers successive calls to the operators
// it should, and penalties come before any strategy.
func TestStrategies(t *testing.T) {
	t.Parallel()
	type opSpec struct {
		login   string
		penalty int
		calls   int // calls taken before the test (fewest calls today)
	}
	tests := []struct {
		name     string
		strategy queues.Strategy
		ops      []opSpec // made available in this order, a minute apart
		want     [][]string
	}{
		{"longest idle", queues.LongestIdle, []opSpec{{"c", 0, 0}, {"a", 0, 0}, {"b", 0, 0}},
			[][]string{{"c"}, {"a"}, {"b"}, {"c"}}},
		{"longest idle, penalties first", queues.LongestIdle, []opSpec{{"p2", 2, 0}, {"p1", 1, 0}, {"p0", 0, 0}},
			[][]string{{"p0"}, {"p0"}}},
		{"round robin", queues.RoundRobin, []opSpec{{"b", 0, 0}, {"c", 0, 0}, {"a", 0, 0}},
			[][]string{{"a"}, {"b"}, {"c"}, {"a"}}},
		{"round robin, penalties first", queues.RoundRobin, []opSpec{{"a", 1, 0}, {"b", 0, 0}, {"c", 0, 0}},
			[][]string{{"b"}, {"c"}, {"b"}}},
		{"ring all the lowest penalty", queues.RingAll, []opSpec{{"a", 0, 0}, {"z", 1, 0}, {"b", 0, 0}},
			[][]string{{"a", "b"}, {"a", "b"}}},
		{"fewest calls today", queues.FewestCalls, []opSpec{{"a", 0, 2}, {"b", 0, 1}, {"c", 0, 0}},
			[][]string{{"c"}, {"b"}, {"c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ops []queues.Operator
			for _, o := range tt.ops {
				ops = append(ops, op(o.login, map[string]int{"g": o.penalty, "warmup": 0}))
			}
			s, clk, _ := newService(t, []queues.GroupConfig{{ID: "g", Strategy: tt.strategy}, {ID: "warmup"}}, ops)
			n := 0
			// Calls taken earlier today, in a group of their own.
			for _, o := range tt.ops {
				noErr(t, s.SetState(ctx, o.login, queues.Available, ""))
				for range o.calls {
					n++
					enqueue(t, s, callID(n), "warmup", 0)
					equal(t, "warm-up offer", logins(waitOffer(t, s, callID(n))), []string{o.login})
					must[[]queues.Event](t)(s.Answer(ctx, callID(n), o.login))
					noErr(t, s.CallEnded(ctx, o.login))
				}
				noErr(t, s.SetState(ctx, o.login, queues.Paused, queues.ReasonBreak))
			}
			for _, o := range tt.ops {
				noErr(t, s.SetState(ctx, o.login, queues.Available, ""))
				clk.Advance(time.Minute)
			}
			for _, want := range tt.want {
				n++
				enqueue(t, s, callID(n), "g", 0)
				of := waitOffer(t, s, callID(n))
				equal(t, "offered to", logins(of), want)
				if of.Attempt != 1 || of.Group != "g" || of.RingTimeout != 20*time.Second {
					t.Fatalf("offer %+v", of)
				}
				for _, l := range want {
					if st, _ := state(t, s, l); st != queues.Offered {
						t.Fatalf("%s is %s, want offered", l, st)
					}
				}
				clk.Advance(time.Minute)
				must[[]queues.Event](t)(s.Answer(ctx, callID(n), want[0]))
				for _, l := range want[1:] {
					if st, _ := state(t, s, l); st != queues.Available {
						t.Fatalf("ring all: %s is %s after another answered, want available", l, st)
					}
				}
				noErr(t, s.CallEnded(ctx, want[0]))
			}
		})
	}
}

// TestOrder: callers are offered by priority, then arrival, and their
// positions say so.
func TestOrder(t *testing.T) {
	t.Parallel()
	s, clk, _ := newService(t, []queues.GroupConfig{{ID: "g"}}, []queues.Operator{op("a", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Paused, queues.ReasonBreak))
	priorities := []int{0, 25, 0, 25, 40}
	wantPos := []int{1, 1, 3, 2, 1}
	for i, p := range priorities {
		res := enqueue(t, s, callID(i), "g", p)
		equal(t, "position on arrival of "+callID(i), res.Position.Position, wantPos[i])
		equal(t, "event", res.Events[0].Kind, queues.EventQueued)
		clk.Advance(time.Second)
	}
	for i, want := range []int{4, 2, 5, 3, 1} {
		equal(t, "position", must[queues.Position](t)(s.Position(ctx, callID(i))).Position, want)
	}
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	for _, i := range []int{4, 1, 3, 0, 2} {
		of := waitOffer(t, s, callID(i))
		equal(t, "offered", logins(of), []string{"a"})
		clk.Advance(10 * time.Second)
		evs := must[[]queues.Event](t)(s.Answer(ctx, callID(i), "a"))
		equal(t, "answered event", [2]string{evs[0].Kind, evs[0].Operator}, [2]string{queues.EventAnswered, "a"})
		noErr(t, s.CallEnded(ctx, "a"))
	}
	// Answered calls feed the estimate: on average 10 to 50 s per place.
	enqueue(t, s, "late", "g", 0)
	if p := must[queues.Position](t)(s.Position(ctx, "late")); p.EstimatedWait <= 0 || p.EstimatedWait > time.Minute {
		t.Fatalf("estimated wait %v", p.EstimatedWait)
	}
}

// TestNoAnswer: an operator who lets an offer ring out is paused with
// reason no_answer, and the caller keeps its place at the head.
func TestNoAnswer(t *testing.T) {
	t.Parallel()
	s, clk, _ := newService(t, []queues.GroupConfig{{ID: "g"}},
		[]queues.Operator{op("a", map[string]int{"g": 0}), op("b", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	noErr(t, s.SetState(ctx, "b", queues.Paused, queues.ReasonTraining))
	enqueue(t, s, "first", "g", 0)
	enqueue(t, s, "second", "g", 0)
	equal(t, "first offer", logins(waitOffer(t, s, "first")), []string{"a"})
	clk.Advance(20 * time.Second)
	evs := must[[]queues.Event](t)(s.NoAnswer(ctx, "first", "a"))
	equal(t, "events", len(evs), 1)
	equal(t, "event", [3]string{evs[0].Kind, evs[0].Operator, evs[0].Group}, [3]string{queues.EventNoAnswer, "a", "g"})
	st, reason := state(t, s, "a")
	equal(t, "a after no answer", [2]string{string(st), reason}, [2]string{string(queues.Paused), queues.ReasonNoAnswer})
	equal(t, "first still first", must[queues.Position](t)(s.Position(ctx, "first")).Position, 1)

	noErr(t, s.SetState(ctx, "b", queues.Available, ""))
	of := waitOffer(t, s, "first")
	equal(t, "second attempt", [2]any{logins(of), of.Attempt}, [2]any{[]string{"b"}, 2})
	_, err := s.Answer(ctx, "first", "a")
	wantErr(t, err, fault.ErrConflict)
	_, err = s.NoAnswer(ctx, "second")
	wantErr(t, err, fault.ErrConflict) // not offered
	must[[]queues.Event](t)(s.Answer(ctx, "first", "b"))
	_, err = s.Answer(ctx, "first", "b")
	wantErr(t, err, fault.ErrNotFound)
}

// TestLimits: each limit ends in its group's overflow decision, and the
// caller is out of the queue.
func TestLimits(t *testing.T) {
	t.Parallel()
	toB := queues.OverflowPolicy{Action: queues.OverflowGroup, Group: "b"}
	tests := []struct {
		name   string
		group  queues.GroupConfig
		login  bool // is the operator logged in (paused)
		queued int  // callers already queued
		wait   time.Duration
		want   *queues.Overflow // nil: queued and waiting
	}{
		{"queue full", queues.GroupConfig{MaxWaiting: 2, Overflow: toB}, true, 2, 0,
			&queues.Overflow{Action: queues.OverflowGroup, Group: "b", Reason: queues.OverflowMaxWaiting}},
		{"room left", queues.GroupConfig{MaxWaiting: 3, Overflow: toB}, true, 2, 0, nil},
		{"nobody logged in", queues.GroupConfig{}, false, 0, 0,
			&queues.Overflow{Action: queues.OverflowMessage, Reason: queues.OverflowNoOperators}},
		{"nobody logged in, hang up", queues.GroupConfig{NoOperators: queues.OverflowPolicy{Action: queues.OverflowHangup}}, false, 0, 0,
			&queues.Overflow{Action: queues.OverflowHangup, Reason: queues.OverflowNoOperators}},
		{"nobody logged in, wait", queues.GroupConfig{NoOperators: queues.OverflowPolicy{Action: queues.OverflowWait}}, false, 0, 0, nil},
		{"max wait", queues.GroupConfig{MaxWait: 5 * time.Minute, Overflow: toB}, true, 0, 5 * time.Minute,
			&queues.Overflow{Action: queues.OverflowGroup, Group: "b", Reason: queues.OverflowMaxWait}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := tt.group
			g.ID = "a"
			s, clk, _ := newService(t, []queues.GroupConfig{g, {ID: "b"}}, []queues.Operator{op("x", map[string]int{"a": 0})})
			if tt.login {
				noErr(t, s.SetState(ctx, "x", queues.Paused, queues.ReasonBackOffice))
			}
			for i := range tt.queued {
				enqueue(t, s, callID(i), "a", 0)
			}
			res, err := s.Enqueue(ctx, queues.Entry{CallID: "new", Group: "a"})
			noErr(t, err)
			if tt.wait > 0 {
				equal(t, "enqueue overflow", res.Overflow, (*queues.Overflow)(nil))
				clk.Advance(tt.wait)
				of := waitOffer(t, s, "new")
				res.Overflow, res.Events = of.Overflow, of.Events
			}
			equal(t, "overflow", res.Overflow, tt.want)
			_, perr := s.Position(ctx, "new")
			if tt.want == nil {
				noErr(t, perr)
				return
			}
			wantErr(t, perr, fault.ErrNotFound)
			if len(res.Events) != 1 || res.Events[0].Kind != queues.EventTransferred || !strings.Contains(res.Events[0].Detail, tt.want.Reason) {
				t.Fatalf("events %+v", res.Events)
			}
		})
	}
}

// TestNobodyLeft: a caller waiting when the last operator logs out gets
// the no-operators decision.
func TestNobodyLeft(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(t, []queues.GroupConfig{{ID: "g", NoOperators: queues.OverflowPolicy{Action: queues.OverflowHangup}}},
		[]queues.Operator{op("a", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Paused, queues.ReasonBreak))
	enqueue(t, s, "c", "g", 0)
	noErr(t, s.SetState(ctx, "a", queues.LoggedOut, ""))
	of := waitOffer(t, s, "c")
	equal(t, "overflow", of.Overflow, &queues.Overflow{Action: queues.OverflowHangup, Reason: queues.OverflowNoOperators})
}

// TestWrapUp: after a call the operator wraps up for the group's time and
// is offered nothing until it ends.
func TestWrapUp(t *testing.T) {
	t.Parallel()
	s, clk, _ := newService(t, []queues.GroupConfig{{ID: "g", WrapUp: 30 * time.Second}}, []queues.Operator{op("a", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	enqueue(t, s, "one", "g", 0)
	waitOffer(t, s, "one")
	must[[]queues.Event](t)(s.Answer(ctx, "one", "a"))
	if st, _ := state(t, s, "a"); st != queues.OnCall {
		t.Fatalf("a is %s", st)
	}
	wantErr(t, s.SetState(ctx, "a", queues.Paused, queues.ReasonBreak), fault.ErrConflict)
	noErr(t, s.CallEnded(ctx, "a"))
	wantErr(t, s.CallEnded(ctx, "a"), fault.ErrConflict)
	enqueue(t, s, "two", "g", 0)
	noErr(t, s.Dispatch(ctx))
	if st, _ := state(t, s, "a"); st != queues.WrapUp {
		t.Fatalf("a is %s during wrap-up", st)
	}
	clk.Advance(29 * time.Second)
	noErr(t, s.Dispatch(ctx))
	if st, _ := state(t, s, "a"); st != queues.WrapUp {
		t.Fatalf("a is %s a second before the end of the wrap-up", st)
	}
	clk.Advance(time.Second)
	noErr(t, s.Dispatch(ctx))
	equal(t, "offer after the wrap-up", logins(waitOffer(t, s, "two")), []string{"a"})
}

// TestLeave: a caller hanging up is reported with its wait, and operators
// ringing for it are free again.
func TestLeave(t *testing.T) {
	t.Parallel()
	s, clk, _ := newService(t, []queues.GroupConfig{{ID: "g", Strategy: queues.RingAll}},
		[]queues.Operator{op("a", map[string]int{"g": 0}), op("b", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	noErr(t, s.SetState(ctx, "b", queues.Available, ""))
	enqueue(t, s, "c", "g", 0)
	equal(t, "ring all", logins(waitOffer(t, s, "c")), []string{"a", "b"})
	clk.Advance(42 * time.Second)
	evs := must[[]queues.Event](t)(s.Leave(ctx, "c", queues.LeaveAbandoned))
	equal(t, "event", [2]string{evs[0].Kind, evs[0].Detail}, [2]string{queues.EventAbandoned, "after 42s"})
	for _, l := range []string{"a", "b"} {
		if st, _ := state(t, s, l); st != queues.Available {
			t.Fatalf("%s is %s", l, st)
		}
	}
	_, err := s.Leave(ctx, "c", queues.LeaveAbandoned)
	wantErr(t, err, fault.ErrNotFound)
	_, err = s.Leave(ctx, "c", "bored")
	wantErr(t, err, fault.ErrInvalid)
}

// TestInvalid: bad input and unknown names are domain errors.
func TestInvalid(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(t, []queues.GroupConfig{{ID: "g"}}, []queues.Operator{op("a", map[string]int{"g": 0})})
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"offered by hand", s.SetState(ctx, "a", queues.Offered, ""), fault.ErrInvalid},
		{"pause without reason", s.SetState(ctx, "a", queues.Paused, ""), fault.ErrInvalid},
		{"unknown operator", s.SetState(ctx, "nobody", queues.Available, ""), fault.ErrNotFound},
		{"unknown group of operator", s.UpsertOperator(ctx, op("b", map[string]int{"nope": 0})), fault.ErrNotFound},
		{"bad strategy", s.SyncGroups(ctx, []queues.GroupConfig{{ID: "g", Strategy: "random"}}), fault.ErrInvalid},
		{"overflow to no group", s.SyncGroups(ctx, []queues.GroupConfig{{ID: "g", Overflow: queues.OverflowPolicy{Action: queues.OverflowGroup}}}), fault.ErrInvalid},
		{"wait is not an overflow", s.SyncGroups(ctx, []queues.GroupConfig{{ID: "g", Overflow: queues.OverflowPolicy{Action: queues.OverflowWait}}}), fault.ErrInvalid},
		{"unknown group", func() error { _, err := s.Enqueue(ctx, queues.Entry{CallID: "x", Group: "nope"}); return err }(), fault.ErrNotFound},
		{"no call id", func() error { _, err := s.Enqueue(ctx, queues.Entry{Group: "g"}); return err }(), fault.ErrInvalid},
		{"not queued", func() error { _, err := s.WaitOffer(ctx, "nope"); return err }(), fault.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.err, tt.want) })
	}
	noErr(t, s.SetState(ctx, "a", queues.Paused, queues.ReasonBreak))
	enqueue(t, s, "dup", "g", 0)
	_, err := s.Enqueue(ctx, queues.Entry{CallID: "dup", Group: "g"})
	wantErr(t, err, fault.ErrConflict)
	// Groups left out of the configuration take no more callers.
	noErr(t, s.SyncGroups(ctx, []queues.GroupConfig{{ID: "h"}}))
	_, err = s.Enqueue(ctx, queues.Entry{CallID: "late", Group: "g"})
	wantErr(t, err, fault.ErrNotFound)
}

// TestStaleCall: a call whose session stopped looking at its entry (its
// instance died) is removed, and its offer's operator freed.
func TestStaleCall(t *testing.T) {
	t.Parallel()
	s, clk, pool := newService(t, []queues.GroupConfig{{ID: "g"}}, []queues.Operator{op("a", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	enqueue(t, s, "lost", "g", 0)
	enqueue(t, s, "alive", "g", 0)
	clk.Advance(2 * time.Minute)
	// What the waiting session of "alive" does at each poll.
	_, err := pool.Exec(ctx, `UPDATE queue_entries SET seen_at = $1 WHERE call_id = 'alive'`, clk.Now())
	noErr(t, err)
	if st, _ := state(t, s, "a"); st != queues.Offered {
		t.Fatalf("a is %s", st)
	}
	clk.Advance(2 * time.Minute)
	noErr(t, s.Maintain(ctx))
	_, err = s.Position(ctx, "lost")
	wantErr(t, err, fault.ErrNotFound)
	equal(t, "the next caller gets the operator", logins(waitOffer(t, s, "alive")), []string{"a"})
}

// TestMaintainAnalyzes: after the groups and operators are synced, the
// maintenance refreshes the planner's statistics of the queue tables (the
// candidates of an offer would otherwise be planned for a group of 4).
func TestMaintainAnalyzes(t *testing.T) {
	t.Parallel()
	var ops []queues.Operator
	for i := range 30 {
		ops = append(ops, op(fmt.Sprintf("op%d", i), map[string]int{"g": 0}))
	}
	s, _, pool := newService(t, []queues.GroupConfig{{ID: "g"}}, ops)
	noErr(t, s.Maintain(ctx))
	for table, want := range map[string]float32{"queue_members": 30, "queue_operators": 30, "queue_groups": 1} {
		var got float32
		noErr(t, pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, table).Scan(&got))
		if got != want {
			t.Errorf("%s: planner's row count %v, want %v", table, got, want)
		}
	}
}

// TestLongestIdleLowestPenaltyBusy: in a longest-idle group, a caller goes
// to the lowest penalty's operator free for longest, and when every
// operator of the lowest penalty is busy, to the longest idle of the next
// penalty (the offer looks at the lowest penalty first, by an index, then
// at everybody).
func TestLongestIdleLowestPenaltyBusy(t *testing.T) {
	t.Parallel()
	s, clk, _ := newService(t, []queues.GroupConfig{{ID: "g"}}, []queues.Operator{
		op("a0", map[string]int{"g": 0}), op("b0", map[string]int{"g": 0}),
		op("c1", map[string]int{"g": 1}), op("d1", map[string]int{"g": 1}), op("e2", map[string]int{"g": 2}),
	})
	for _, l := range []string{"e2", "d1", "c1", "b0", "a0"} {
		noErr(t, s.SetState(ctx, l, queues.Available, ""))
		clk.Advance(time.Minute)
	}
	for i, want := range []string{"b0", "a0", "d1", "c1", "e2"} {
		enqueue(t, s, callID(i), "g", 0)
		equal(t, fmt.Sprintf("call %d offered to", i), logins(waitOffer(t, s, callID(i))), []string{want})
		clk.Advance(time.Second)
	}
	enqueue(t, s, callID(5), "g", 0)
	must[[]queues.Event](t)(s.Answer(ctx, callID(3), "c1"))
	noErr(t, s.CallEnded(ctx, "c1"))
	equal(t, "the waiting caller offered to", logins(waitOffer(t, s, callID(5))), []string{"c1"})
}

// TestEnqueueOffersAtOnce: a caller offered as it joins gets the offer from
// Enqueue, the same as the first WaitOffer returns (ring all: every free
// operator of the lowest penalty, in order); a caller who has to wait gets
// none.
func TestEnqueueOffersAtOnce(t *testing.T) {
	t.Parallel()
	s, clk, _ := newService(t, []queues.GroupConfig{{ID: "g"}, {ID: "all", Strategy: queues.RingAll, RingTimeout: 15 * time.Second}},
		[]queues.Operator{op("a", map[string]int{"g": 0, "all": 0}), op("d", map[string]int{"all": 0}), op("b", map[string]int{"all": 0}),
			op("c", map[string]int{"all": 1})})
	for _, l := range []string{"a", "d", "b", "c"} {
		noErr(t, s.SetState(ctx, l, queues.Available, ""))
	}
	clk.Advance(time.Minute)
	first := enqueue(t, s, "first", "g", 0)
	if first.Offer == nil {
		t.Fatal("no offer from Enqueue although a was free")
	}
	equal(t, "offer from Enqueue", *first.Offer, waitOffer(t, s, "first"))
	equal(t, "offered", logins(*first.Offer), []string{"a"})
	if second := enqueue(t, s, "second", "g", 0); second.Offer != nil {
		t.Fatalf("an offer with nobody free: %+v", *second.Offer)
	}
	all := enqueue(t, s, "all", "all", 0)
	if all.Offer == nil {
		t.Fatal("no offer from Enqueue although b and d were free")
	}
	equal(t, "ring all from Enqueue", *all.Offer, waitOffer(t, s, "all"))
	equal(t, "rung", logins(*all.Offer), []string{"b", "d"})
}

// TestAnswerRolledBack: an answer refused after its writes began (the
// operator was released from the offer meanwhile) leaves the caller
// queued and offered as before.
func TestAnswerRolledBack(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(t, []queues.GroupConfig{{ID: "g"}}, []queues.Operator{op("a", map[string]int{"g": 0})})
	noErr(t, s.SetState(ctx, "a", queues.Available, ""))
	enqueue(t, s, "c", "g", 0)
	equal(t, "offered", logins(waitOffer(t, s, "c")), []string{"a"})
	released, err := s.ReleaseCall(ctx, "a", "c")
	noErr(t, err)
	equal(t, "released", released, true)
	_, err = s.Answer(ctx, "c", "a")
	wantErr(t, err, fault.ErrConflict)
	equal(t, "still queued", must[queues.Position](t)(s.Position(ctx, "c")).Position, 1)
	equal(t, "still offered", logins(waitOffer(t, s, "c")), []string{"a"})
}
