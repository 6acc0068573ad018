package tickets_test

import (
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// queueCall records a call queued to group at queued, answered after wait
// (never, for a negative wait) and ended a minute later.
func queueCall(t *testing.T, s *tickets.Store, group string, queued time.Time, wait time.Duration) {
	t.Helper()
	call, _ := open(t, s, tickets.NewCall{StartedAt: queued.Add(-time.Minute)})
	upd := tickets.CallUpdate{AnsweredAt: ptr(queued.Add(-time.Minute)), QueuedAt: &queued, Group: &group}
	if wait >= 0 {
		upd.OperatorAnsweredAt, upd.Operator = ptr(queued.Add(wait)), ptr("op")
	}
	noErr(t, s.UpdateCall(ctx, call.ID, upd))
	noErr(t, s.FinishCall(ctx, call.ID, tickets.CallEnd{EndedAt: queued.Add(max(wait, 0) + time.Minute), Outcome: tickets.OutcomeRouted}))
}

// TestReportBuckets: hours, days, ISO weeks and months of the service time
// zone, across the end of summer time (Sunday 26 October 2025, 03:00 CEST
// back to 02:00 CET in Rome) and across a month's and a year's end.
func TestReportBuckets(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	// Keys in UTC: a time.Time's location is part of a map key.
	at := func(y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, rome).UTC()
	}
	utc := func(m time.Month, d, h, min int) time.Time { return time.Date(2025, m, d, h, min, 0, 0, time.UTC) }
	for _, q := range []time.Time{
		at(2025, 10, 19, 23, 59), // Sunday: the week of 13 October
		at(2025, 10, 20, 0, 0),   // Monday 00:00 CEST (19 Oct 22:00 UTC): the week of 20 October
		utc(10, 26, 0, 30),       // 02:30 CEST, the first 02:30
		utc(10, 26, 1, 30),       // 02:30 CET, the second
		at(2025, 10, 26, 23, 30), // Sunday 23:30 CET (22:30 UTC): still the week of 20 October
		at(2025, 10, 27, 0, 30),  // Monday 00:30 CET (26 Oct 23:30 UTC): the week of 27 October
		at(2025, 10, 31, 23, 30), // the last of October
		at(2025, 11, 1, 0, 30),   // 31 Oct 23:30 UTC, but November in Rome
		at(2026, 1, 1, 10, 0),    // Thursday: ISO week from Monday 29 December 2025
	} {
		queueCall(t, s, "lotto2", q, 5*time.Second)
	}
	report := func(b tickets.Bucket, from, to time.Time) map[time.Time]int {
		t.Helper()
		rows := must[[]tickets.ReportRow](t)(s.Report(ctx, tickets.ReportFilter{From: from, To: to, Bucket: b}))
		got := map[time.Time]int{}
		for _, r := range rows {
			if r.Start.Location() != rome {
				t.Errorf("%s row starts in %v", b, r.Start.Location())
			}
			got[r.Start.UTC()] += r.Offered
		}
		return got
	}
	equal(t, "hours of 26 October", report(tickets.BucketHour, at(2025, 10, 26, 0, 0), at(2025, 10, 27, 0, 0)), map[time.Time]int{
		utc(10, 26, 0, 0): 1, utc(10, 26, 1, 0): 1, utc(10, 26, 22, 0): 1, // two hours both 02:00 on the wall
	})
	equal(t, "days", report(tickets.BucketDay, at(2025, 10, 26, 0, 0), at(2025, 10, 28, 0, 0)), map[time.Time]int{
		at(2025, 10, 26, 0, 0): 3, at(2025, 10, 27, 0, 0): 1, // 26 October has 25 hours
	})
	equal(t, "weeks", report(tickets.BucketWeek, at(2025, 10, 13, 0, 0), at(2026, 1, 5, 0, 0)), map[time.Time]int{
		at(2025, 10, 13, 0, 0): 1, at(2025, 10, 20, 0, 0): 4, at(2025, 10, 27, 0, 0): 3, at(2025, 12, 29, 0, 0): 1,
	})
	equal(t, "months", report(tickets.BucketMonth, at(2025, 10, 1, 0, 0), at(2026, 2, 1, 0, 0)), map[time.Time]int{
		at(2025, 10, 1, 0, 0): 7, at(2025, 11, 1, 0, 0): 1, at(2026, 1, 1, 0, 0): 1,
	})
	// A week starts at local midnight: 00:00 CEST is 22:00 UTC the day before.
	if w := report(tickets.BucketWeek, at(2025, 10, 20, 0, 0), at(2025, 10, 27, 0, 0)); w[utc(10, 19, 22, 0)] != 4 {
		t.Fatalf("week of 20 October: %v", w)
	}
}

// TestReportGroupServiceLevels: each group's calls count against its own
// threshold; groups without one against ServiceLevelSeconds.
func TestReportGroupServiceLevels(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	for _, c := range []struct {
		group string
		wait  time.Duration
	}{
		{"lotto1", 15 * time.Second}, {"lotto1", 25 * time.Second}, {"lotto1", -1},
		{"lotto2", 15 * time.Second}, {"lotto2", 25 * time.Second},
		{"lotto3", 25 * time.Second}, {"lotto3", 45 * time.Second},
	} {
		queueCall(t, s, c.group, t0, c.wait)
	}
	rows := must[[]tickets.ReportRow](t)(s.Report(ctx, tickets.ReportFilter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour),
		Bucket: tickets.BucketDay, ServiceLevelSeconds: 30,
		GroupServiceLevels: map[string]time.Duration{"lotto1": 20 * time.Second, "lotto2": time.Minute, "other": time.Second}}))
	type sl struct{ within, offered, seconds int }
	got := map[string]sl{}
	for _, r := range rows {
		got[r.Group] = sl{r.AnsweredWithinSL, r.Offered, r.ServiceLevelSeconds}
		if r.ServiceLevel != float64(r.AnsweredWithinSL)/float64(r.Offered) {
			t.Errorf("%s: service level %v", r.Group, r.ServiceLevel)
		}
	}
	equal(t, "per group", got, map[string]sl{"lotto1": {1, 3, 20}, "lotto2": {2, 2, 60}, "lotto3": {1, 2, 30}})
	total := tickets.ReportTotal(rows)
	if total.Offered != 7 || total.AnsweredWithinSL != 4 || total.ServiceLevel != 4.0/7 || total.Answered != 6 {
		t.Fatalf("total %+v", total)
	}
}

func TestBucketAlignPeriod(t *testing.T) {
	t.Parallel()
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, rome) }
	for _, tc := range []struct {
		b                tickets.Bucket
		from, to, wf, wt time.Time
	}{
		{tickets.BucketDay, d(2025, 10, 22), d(2025, 10, 24), d(2025, 10, 22), d(2025, 10, 24)},
		{tickets.BucketWeek, d(2025, 10, 22), d(2025, 10, 24), d(2025, 10, 20), d(2025, 10, 27)},
		{tickets.BucketWeek, d(2025, 10, 20), d(2025, 10, 27), d(2025, 10, 20), d(2025, 10, 27)},
		{tickets.BucketWeek, d(2025, 10, 26), d(2026, 1, 2), d(2025, 10, 20), d(2026, 1, 5)}, // Sunday; across the year
		{tickets.BucketMonth, d(2025, 10, 22), d(2025, 12, 2), d(2025, 10, 1), d(2026, 1, 1)},
		{tickets.BucketMonth, d(2025, 10, 1), d(2025, 11, 1), d(2025, 10, 1), d(2025, 11, 1)},
	} {
		f, to := tc.b.AlignPeriod(tc.from, tc.to)
		if !f.Equal(tc.wf) || !to.Equal(tc.wt) {
			t.Errorf("%s %v–%v: got %v–%v, want %v–%v", tc.b, tc.from, tc.to, f, to, tc.wf, tc.wt)
		}
	}
	for _, b := range tickets.Buckets {
		if b.MaxDays() == 0 {
			t.Errorf("%s: no limit", b)
		}
	}
	if tickets.Bucket("year").MaxDays() != 0 || tickets.BucketMonth.MaxDays() < 2*365 {
		t.Fatal("MaxDays")
	}
}

// TestCategoryReport: tickets opened in the period per category and
// group, uncategorised last, merged tickets counted once (in the one that
// carries on), closed ones told apart.
func TestCategoryReport(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, t0.Add(-24*time.Hour))
	mk := func(group, category string) tickets.Ticket {
		t.Helper()
		return must[tickets.Ticket](t)(s.CreateTicket(ctx, tickets.NewTicket{Subject: "x", Group: group, Category: category}, operator))
	}
	mk("lotto2", "stampa") // the day before: out of the period
	clk.Set(t0)
	mk("lotto2", "stampa")
	closed := mk("lotto2", "stampa")
	mk("lotto3", "stampa")
	mk("lotto2", "applicativi/pct")
	mk("lotto2", "")
	dup := mk("lotto3", "")
	keep := mk("lotto3", "applicativi/pct")
	must[tickets.Ticket](t)(s.UpdateTicket(ctx, closed.ID, tickets.TicketUpdate{Version: closed.Version, Status: ptr(tickets.StatusClosed)}, operator))
	must[tickets.Ticket](t)(s.MergeTicket(ctx, dup.ID, keep.ID, everyone, operator))
	clk.Set(t0.Add(24 * time.Hour))
	mk("lotto2", "stampa") // the day after: out of the period

	rows := must[[]tickets.CategoryRow](t)(s.CategoryReport(ctx, tickets.CategoryFilter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}))
	equal(t, "every group", rows, []tickets.CategoryRow{
		{Category: "applicativi/pct", Group: "lotto2", Tickets: 1, Open: 1},
		{Category: "applicativi/pct", Group: "lotto3", Tickets: 1, Open: 1},
		{Category: "stampa", Group: "lotto2", Tickets: 2, Open: 1},
		{Category: "stampa", Group: "lotto3", Tickets: 1, Open: 1},
		{Category: "", Group: "lotto2", Tickets: 1, Open: 1},
	})
	rows = must[[]tickets.CategoryRow](t)(s.CategoryReport(ctx, tickets.CategoryFilter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Groups: []string{"lotto3"}}))
	equal(t, "lotto3", rows, []tickets.CategoryRow{
		{Category: "applicativi/pct", Group: "lotto3", Tickets: 1, Open: 1},
		{Category: "stampa", Group: "lotto3", Tickets: 1, Open: 1},
	})
	_, err := s.CategoryReport(ctx, tickets.CategoryFilter{From: t0, To: t0})
	wantErr(t, err, fault.ErrInvalid)
}

// TestReportCallbacks: a call whose caller asked to be called back counts
// as answered when the callback was (its wait until then, against the
// service level), as abandoned when it failed, and as neither while it is
// pending; a caller who just hung up is abandoned as before.
func TestReportCallbacks(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	callback := func(answered time.Duration, failed bool) {
		t.Helper()
		call, _ := open(t, s, tickets.NewCall{StartedAt: t0.Add(-time.Minute)})
		group := "lotto2"
		noErr(t, s.UpdateCall(ctx, call.ID, tickets.CallUpdate{AnsweredAt: ptr(t0.Add(-time.Minute)), QueuedAt: ptr(t0), Group: &group}))
		noErr(t, s.FinishCall(ctx, call.ID, tickets.CallEnd{EndedAt: t0.Add(10 * time.Second), Outcome: "callback_requested",
			Events: []tickets.CallEvent{{At: t0.Add(5 * time.Second), Kind: "callback_requested", Group: group}}}))
		switch {
		case answered > 0:
			noErr(t, s.AppendCallEvents(ctx, call.ID, tickets.CallEvent{At: t0.Add(answered), Kind: "callback_answered", Group: group}))
		case failed:
			noErr(t, s.AppendCallEvents(ctx, call.ID, tickets.CallEvent{At: t0.Add(time.Hour), Kind: "callback_failed", Group: group}))
		}
	}
	callback(50*time.Second, false)   // answered within the minute
	callback(10*time.Minute, false)   // answered late
	callback(0, true)                 // failed
	callback(0, false)                // pending
	queueCall(t, s, "lotto2", t0, -1) // hung up
	rows := must[[]tickets.ReportRow](t)(s.Report(ctx, tickets.ReportFilter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour),
		Bucket: tickets.BucketDay, GroupServiceLevels: map[string]time.Duration{"lotto2": time.Minute}}))
	if len(rows) != 1 {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	equal(t, "offered, answered, abandoned, within", [4]int{r.Offered, r.Answered, r.Abandoned, r.AnsweredWithinSL}, [4]int{5, 2, 2, 1})
	if want := (50*time.Second + 10*time.Minute) / 2; r.ASA != want {
		t.Errorf("ASA %s, want %s", r.ASA, want)
	}
}

// TestReportTransfersAndHolds: a call that changed hands counts each
// operator's part for the group they had it for (the group handing over
// keeps its handling time); transfers by kind and holds (how many, how
// long) go to the group whose call it was.
func TestReportTransfersAndHolds(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	q := time.Date(2025, 11, 24, 10, 5, 0, 0, rome)
	// A plain call of lotto2: 10 s wait, 1 minute talk.
	queueCall(t, s, "lotto2", q, 10*time.Second)
	// A call answered in lotto2 by op201 (2 minutes, 20 s of it on hold),
	// transferred to lotto3, where op301 had it for 30 s.
	call, _ := open(t, s, tickets.NewCall{StartedAt: q.Add(-time.Minute)})
	answered := q.Add(5 * time.Second)
	noErr(t, s.UpdateCall(ctx, call.ID, tickets.CallUpdate{AnsweredAt: ptr(q.Add(-time.Minute)), QueuedAt: &q,
		OperatorAnsweredAt: &answered, Operator: ptr("op201"), Group: ptr("lotto3")}))
	noErr(t, s.AppendCallEvents(ctx, call.ID,
		tickets.CallEvent{At: q.Add(time.Minute), Kind: "on_hold", Group: "lotto2", Operator: "op201"},
		tickets.CallEvent{At: q.Add(80 * time.Second), Kind: "off_hold", Group: "lotto2", Operator: "op201", Duration: 20 * time.Second},
		tickets.CallEvent{At: q.Add(2 * time.Minute), Kind: "handled", Group: "lotto2", Operator: "op201", Duration: 2 * time.Minute},
		tickets.CallEvent{At: q.Add(2 * time.Minute), Kind: "transfer_group", Group: "lotto2", Operator: "op201", Detail: "to group lotto3"},
		tickets.CallEvent{At: q.Add(3 * time.Minute), Kind: "handled", Group: "lotto3", Operator: "op301", Duration: 30 * time.Second},
	))
	noErr(t, s.FinishCall(ctx, call.ID, tickets.CallEnd{EndedAt: q.Add(210 * time.Second), Outcome: tickets.OutcomeAnswered}))
	evs := must[[]tickets.CallEvent](t)(s.CallEvents(ctx, call.ID))
	if evs[1].Duration != 20*time.Second {
		t.Fatalf("the hold's length read back: %+v", evs[1])
	}

	rows := must[[]tickets.ReportRow](t)(s.Report(ctx, tickets.ReportFilter{From: q.Add(-time.Hour), To: q.Add(time.Hour),
		Bucket: tickets.BucketDay}))
	by := map[string]tickets.ReportRow{}
	for _, r := range rows {
		by[r.Group] = r
	}
	l2, l3 := by["lotto2"], by["lotto3"]
	// lotto2: its own call (60 s) and op201's part (120 s).
	if l2.AHT != 90*time.Second || l2.Transfers != (tickets.Transfers{Group: 1}) || l2.Holds != 1 || l2.HoldTime != 20*time.Second {
		t.Errorf("lotto2 %+v", l2)
	}
	// lotto3: op301's part only, not the whole call.
	if l3.AHT != 30*time.Second || l3.Transfers.Total() != 0 || l3.Holds != 0 || l3.Offered != 1 {
		t.Errorf("lotto3 %+v", l3)
	}
	total := tickets.ReportTotal(rows)
	if total.Transfers.Total() != 1 || total.Holds != 1 || total.HoldTime != 20*time.Second {
		t.Errorf("total %+v", total)
	}
}
