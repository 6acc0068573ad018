package interop

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// talking is a conversation with op of lotto3 (Desk.Talking).
func talking(ctx context.Context, t *testing.T, d *Desk, caller, op string) tickets.Call {
	t.Helper()
	return d.Talking(ctx, t, caller, "13", op)
}

// TestIvrdDrainAndFallback: on SIGTERM ivrd drains: the conversation in
// progress goes on to its end and is recorded, a new caller is handed to
// the dialplan's fallback (STASISSTATUS=SUCCESS: helpdesk-fallback,
// handover); ivrd then exits 0, and with ivrd not running a caller is
// caught by the fallback too (STASISSTATUS=FAILED: unavailable). Started
// again, ivrd serves calls.
func TestIvrdDrainAndFallback(t *testing.T) {
	t.Parallel()
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Phones: []string{"op301", "op302"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	a := talking(ctx, t, d, "3331250001", "op301")
	d.Signal(t, syscall.SIGTERM)
	waitFor(ctx, t, "ivrd draining", func() (bool, bool) { return len(d.LogLines("ivrd_draining")) > 0, true })

	// A new caller while ivrd drains: handed back to the dialplan.
	d.Caller(t, realasterisk.CallOptions{Caller: "3331250002", Timeout: 4 * time.Minute})
	b := d.Obs.WaitChannel(ctx, t, "3331250002")
	steps := d.Obs.WaitDialplan(ctx, t, b, "helpdesk-fallback", "Playback")
	if !strings.Contains(strings.Join(steps, " "), "helpdesk-fallback,handover,") {
		t.Errorf("the caller during the drain went %q, want helpdesk-fallback,handover", steps)
	}
	d.HangUp(ctx, t, b)

	// The conversation went on through the drain; it ends, is recorded,
	// and ivrd, with no call left, exits 0.
	if ch, _ := d.Obs.Channel(a.ChannelID); ch.Destroyed {
		t.Fatalf("the conversation was cut by the drain: cause %d %s", ch.Cause, ch.CauseText)
	}
	d.HangUp(ctx, t, a.ChannelID)
	rec, events := d.WaitEnded(ctx, t, a)
	if rec.Outcome != tickets.OutcomeAnswered || rec.Operator != "op301" || !hasKind(events, tickets.EventHangup) {
		t.Errorf("the drained conversation's record: %+v %v", rec, eventKinds(events))
	}
	if err := d.WaitExit(ctx, t); err != nil {
		t.Errorf("ivrd after the drain: %v", err)
	}
	if len(d.LogLines("ivrd_stopped")) == 0 {
		t.Error("ivrd's log has no ivrd_stopped")
	}
	if _, err := d.Store.FindCallByChannel(ctx, b); err == nil {
		t.Error("ivrd opened a record for the call it handed to the dialplan")
	}

	// ivrd is not running: Stasis() fails and the fallback catches the
	// caller.
	d.Caller(t, realasterisk.CallOptions{Caller: "3331250003", Timeout: 4 * time.Minute})
	c := d.Obs.WaitChannel(ctx, t, "3331250003")
	steps = d.Obs.WaitDialplan(ctx, t, c, "helpdesk-fallback", "Playback")
	if !strings.Contains(strings.Join(steps, " "), "helpdesk-fallback,unavailable,") {
		t.Errorf("the caller with ivrd stopped went %q, want helpdesk-fallback,unavailable", steps)
	}
	d.HangUp(ctx, t, c)

	// Started again, ivrd serves calls.
	d.Start(t)
	e := talking(ctx, t, d, "3331250004", "op302")
	d.HangUp(ctx, t, e.ChannelID)
	if rec, _ := d.WaitEnded(ctx, t, e); rec.Outcome != tickets.OutcomeAnswered {
		t.Errorf("after the restart: %+v", rec)
	}
}

// TestIvrdDatabaseDown: PostgreSQL goes away (ivrd's connections cut,
// new ones refused) with a conversation up; it goes on, and a new caller
// is still served: the menu, a route to an operator who answers. When
// the database is back, both calls' records and tickets are written (the
// spool).
func TestIvrdDatabaseDown(t *testing.T) {
	t.Parallel()
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Phones: []string{"op301", "op302"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	a := talking(ctx, t, d, "3331260001", "op301")
	d.Proxy.Cut()
	waitFor(ctx, t, "ivrd to see the database down", func() (bool, bool) {
		return readyz(d) != 200, true
	})
	// A new caller while the database is down.
	d.Phone(t, "op302", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 4 * time.Minute})
	d.Caller(t, realasterisk.CallOptions{Caller: "3331260002", Keys: keyed("13", keyGap, keyGap), Timeout: 4 * time.Minute})
	b := d.Obs.WaitChannel(ctx, t, "3331260002")
	op := d.Obs.BridgedWith(ctx, t, b, "PJSIP/op302-")
	t.Logf("with the database down, the new caller talks with %s; media:\n%s", op, mediaLines(Call{Media: d.Obs.Media(b)}))
	if ch, _ := d.Obs.Channel(a.ChannelID); ch.Destroyed {
		t.Errorf("the conversation was cut while the database was down: cause %d %s", ch.Cause, ch.CauseText)
	}
	d.HangUp(ctx, t, a.ChannelID)
	d.HangUp(ctx, t, b)
	d.Obs.WaitDestroyed(ctx, t, b)

	d.Proxy.Restore()
	d.WaitReady(t)
	recA, _ := d.WaitEnded(ctx, t, a)
	if recA.Outcome != tickets.OutcomeAnswered || recA.Operator != "op301" {
		t.Errorf("the conversation's record: %+v", recA)
	}
	callB := waitFor(ctx, t, "the new caller's record, written once the database is back", func() (tickets.Call, bool) {
		c, err := d.Store.FindCallByChannel(ctx, b)
		return c, err == nil
	})
	recB, events := d.WaitEnded(ctx, t, callB)
	if recB.Outcome != tickets.OutcomeAnswered || recB.Group != "lotto3" || recB.Operator != "op302" || recB.TicketID == 0 {
		t.Errorf("the new caller's record: %+v %v", recB, eventKinds(events))
	}
	d.Ticket(ctx, t, recB)
	if n := d.Metric(t, "ivr_store_spooled_calls_total"); n < 1 {
		t.Errorf("ivr_store_spooled_calls_total %v, want the calls kept while the database was down", n)
	}
	waitFor(ctx, t, "an empty spool", func() (bool, bool) { return true, d.Metric(t, "ivr_store_spool_calls") == 0 })
}

// readyz is the status of ivrd's /readyz, 0 if it does not answer.
func readyz(d *Desk) int {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + d.Addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestIvrdAsteriskRestart: Asterisk restarts under ivrd with a
// conversation and a caller in the menu: ivrd reconnects and serves the
// next call, and the cut calls' records say the system ended them (not
// the caller).
func TestIvrdAsteriskRestart(t *testing.T) {
	t.Parallel()
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Phones: []string{"op301", "op302"}})
	d.SetPaused(t, "op401")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	a := talking(ctx, t, d, "3331270001", "op301")
	m := d.InMenu(ctx, t, "3331270002")
	q := d.Queued(ctx, t, "3331270004", "14")
	d.A.Restart(t)
	d.WaitReady(t)
	cut := []tickets.Call{a, m, q}
	var causes []string
	for _, c := range cut {
		ch, _ := d.Obs.Channel(c.ChannelID)
		causes = append(causes, fmt.Sprintf("%s: %s", c.ChannelID, strings.Join(ch.Events, ", ")))
	}
	t.Logf("Asterisk's events of the cut channels:\n%s", strings.Join(causes, "\n"))
	var wrong []string
	for i, c := range cut {
		rec, events := d.WaitEnded(ctx, t, c)
		t.Logf("cut call %d: %+v %v", i, rec, eventKinds(events))
		if rec.HangupBy == tickets.HangupCaller {
			wrong = append(wrong, fmt.Sprintf("%s (%s)", rec.ChannelID, rec.Outcome))
		}
	}

	// Served again after the restart (a new Observer: the old one's
	// websocket went with Asterisk).
	obs, err := Observe(ctx, d.A)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(obs.Close)
	d.Obs.Close()
	d.Obs = obs
	e := talking(ctx, t, d, "3331270003", "op302")
	d.HangUp(ctx, t, e.ChannelID)
	d.WaitEnded(ctx, t, e)

	if len(wrong) > 0 {
		t.Errorf("calls cut by the Asterisk restart recorded as hung up by the caller: %q "+
			"(want the system: Asterisk went away, the caller did not hang up)", wrong)
	}
}
