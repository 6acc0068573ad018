package interop

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// PostUnfollowed sends a panel form with the session's token and returns
// the answer as it comes (a redirect is not followed).
func (s *PanelSession) PostUnfollowed(t *testing.T, path string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	form.Set("csrf", s.csrf)
	c := &http.Client{Jar: s.http.Jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(s.base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// control posts an action on a live call from the panel and wants it done.
func (s *PanelSession) control(t *testing.T, callID string, form url.Values) {
	t.Helper()
	resp, body := s.PostUnfollowed(t, "/calls/"+callID+"/control", form)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "msg=control_") {
		t.Fatalf("%v on %s: %s %s\n%s", form, callID, resp.Status, resp.Header.Get("Location"), body)
	}
}

// TestIvrdHoldAndTransfer: on a real Asterisk through the ivrd binary and
// its panel, an administrator puts op201's caller on hold (Asterisk's
// bridge then holds the caller and the music on hold, not op201, whose
// phone stays up), resumes (the caller bridged with op201 again), then
// transfers the caller to lotto3, whose operator answers: op201's channel
// is gone, the caller talks with op301, and the ticket and record follow.
func TestIvrdHoldAndTransfer(t *testing.T) {
	t.Parallel()
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Phones: []string{"op201", "op301"}, Available: []string{"op201"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	call := d.Talking(ctx, t, "3331240077", "12", "op201")
	ch := call.ChannelID
	bridge := "qb-" + ch
	op := d.Obs.ChannelByName(d.Obs.BridgedWith(ctx, t, ch, "PJSIP/op201-"))
	admin := d.LogIn(t, "admin")

	admin.control(t, ch, url.Values{"action": {"hold"}})
	caller, _ := d.Obs.Channel(ch)
	callerName := caller.Name
	d.bridgeHolds(ctx, t, bridge, callerName, "ARI_MOH", "PJSIP/op201-")
	if x, ok := d.Obs.Channel(op); !ok || x.Destroyed {
		t.Fatalf("op201's phone hung up on hold: %+v", x)
	}
	admin.control(t, ch, url.Values{"action": {"resume"}})
	d.bridgeHolds(ctx, t, bridge, callerName, "PJSIP/op201-", "ARI_MOH")

	d.Phone(t, "op301", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute})
	d.SetAvailable(t, "op301")
	admin.control(t, ch, url.Values{"action": {"transfer"}, "to": {"group:lotto3"}})
	d.Obs.WaitDestroyed(ctx, t, op)
	d.Obs.BridgedWith(ctx, t, ch, "PJSIP/op301-")
	d.WaitCallEvent(ctx, t, call, "transfer_group")
	waitFor(ctx, t, "the ticket to op301 in lotto3", func() (tickets.Ticket, bool) {
		tk := d.Ticket(ctx, t, call)
		return tk, tk.Assignee == "op301" && tk.Group == "lotto3"
	})
	d.HangUp(ctx, t, ch)
	rec, events := d.WaitEnded(ctx, t, call)
	if rec.Group != "lotto3" || rec.Operator != "op301" || rec.Outcome != tickets.OutcomeAnswered {
		t.Errorf("call %+v", rec)
	}
	for _, k := range []tickets.EventKind{"on_hold", "off_hold", "transfer_group", "handled"} {
		if !hasKind(events, k) {
			t.Errorf("no %s in %v", k, eventKinds(events))
		}
	}
	// Nothing left in Asterisk: every channel of the call gone, and its
	// bridge.
	d.Obs.Wait(ctx, t, "the call's bridge gone", func(o *Observer) bool { _, ok := o.bridges[bridge]; return !ok })
	for _, id := range []string{ch, op} {
		d.Obs.WaitDestroyed(ctx, t, id)
	}
	if v := d.Metric(t, `ivr_transfers_total{group="lotto2",kind="group"}`); v != 1 {
		t.Errorf("ivr_transfers_total = %v", v)
	}
	if v := d.Metric(t, `ivr_holds_total{group="lotto2"}`); v != 1 {
		t.Errorf("ivr_holds_total = %v", v)
	}
}

// bridgeHolds waits until Asterisk's bridge (its CLI's "bridge show")
// holds the caller's channel with what has has in its name (ARI_MOH: the
// music on hold's announcer; an operator's phone) and nothing of hasNot;
// it says what the bridge holds if not.
func (d *Desk) bridgeHolds(ctx context.Context, t *testing.T, bridge, callerName, has, hasNot string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := d.A.CLI(ctx, "bridge show "+bridge)
		if err == nil && strings.Contains(out, callerName) && strings.Contains(out, has) && !strings.Contains(out, hasNot) {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("bridge %s: want %s with %s, without %s:\n%s %v", bridge, callerName, has, hasNot, out, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestIvrdAttendedTransfer: on a real Asterisk, op201 consults op202 (the
// caller on hold with music in their bridge, the two operators in a
// bridge of their own), then completes: the caller talks with op202,
// op201's phone and the consultation's bridge are gone, the ticket is
// op202's.
func TestIvrdAttendedTransfer(t *testing.T) {
	t.Parallel()
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Phones: []string{"op201", "op202"}, Available: []string{"op201"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	call := d.Talking(ctx, t, "3331240078", "12", "op201")
	ch := call.ChannelID
	op := d.Obs.ChannelByName(d.Obs.BridgedWith(ctx, t, ch, "PJSIP/op201-"))
	caller, _ := d.Obs.Channel(ch)
	admin := d.LogIn(t, "admin")
	d.Phone(t, "op202", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute})
	d.SetAvailable(t, "op202")

	admin.control(t, ch, url.Values{"action": {"consult"}, "to": {"operator:op202"}})
	d.bridgeHolds(ctx, t, "qb-"+ch, caller.Name, "ARI_MOH", "PJSIP/op201-")
	d.Obs.BridgedWith(ctx, t, op, "PJSIP/op202-")
	admin.control(t, ch, url.Values{"action": {"complete"}})
	d.Obs.WaitDestroyed(ctx, t, op)
	d.bridgeHolds(ctx, t, "qb-"+ch, caller.Name, "PJSIP/op202-", "ARI_MOH")
	// (Asked of Asterisk: ARI may tell the consultation's bridge's last
	// ChannelLeftBridge after its BridgeDestroyed.)
	waitFor(ctx, t, "the consultation's bridge gone", func() (string, bool) {
		out, err := d.A.CLI(ctx, "bridge show all")
		return out, err == nil && strings.Contains(out, "qb-"+ch) && !strings.Contains(out, "cons-"+ch)
	})
	waitFor(ctx, t, "the ticket to op202", func() (tickets.Ticket, bool) {
		tk := d.Ticket(ctx, t, call)
		return tk, tk.Assignee == "op202"
	})
	d.HangUp(ctx, t, ch)
	rec, events := d.WaitEnded(ctx, t, call)
	if rec.Operator != "op202" || !hasKind(events, "transfer_attended") || countKind(events, "handled") != 2 {
		t.Errorf("call %+v, events %v", rec, eventKinds(events))
	}
	if v := d.Metric(t, `ivr_transfers_total{group="lotto2",kind="attended"}`); v != 1 {
		t.Errorf("ivr_transfers_total attended = %v", v)
	}
}

// TestIvrdConsultCancelAndThreeWay: on a real Asterisk, op201 consults
// op202 and cancels (op202's phone hung up, the caller back with op201,
// no music), then consults op301 and makes it a three-way call (the
// caller's bridge holds the caller, op201 and op301), then leaves it to
// the other two: op201's phone hung up, the ticket op301's.
func TestIvrdConsultCancelAndThreeWay(t *testing.T) {
	t.Parallel()
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Phones: []string{"op201", "op202", "op301"}, Available: []string{"op201"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	call := d.Talking(ctx, t, "3331240079", "12", "op201")
	ch := call.ChannelID
	op := d.Obs.ChannelByName(d.Obs.BridgedWith(ctx, t, ch, "PJSIP/op201-"))
	caller, _ := d.Obs.Channel(ch)
	admin := d.LogIn(t, "admin")

	d.Phone(t, "op202", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute})
	d.SetAvailable(t, "op202")
	admin.control(t, ch, url.Values{"action": {"consult"}, "to": {"operator:op202"}})
	d.bridgeHolds(ctx, t, "qb-"+ch, caller.Name, "ARI_MOH", "PJSIP/op201-")
	colleague := d.Obs.ChannelByName(d.Obs.BridgedWith(ctx, t, op, "PJSIP/op202-"))
	admin.control(t, ch, url.Values{"action": {"cancel"}})
	d.Obs.WaitDestroyed(ctx, t, colleague)
	d.bridgeHolds(ctx, t, "qb-"+ch, caller.Name, "PJSIP/op201-", "ARI_MOH")

	d.Phone(t, "op301", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute})
	d.SetAvailable(t, "op301")
	admin.control(t, ch, url.Values{"action": {"consult"}, "to": {"operator:op301"}})
	d.Obs.BridgedWith(ctx, t, op, "PJSIP/op301-")
	admin.control(t, ch, url.Values{"action": {"threeway"}})
	d.bridgeHolds(ctx, t, "qb-"+ch, caller.Name, "PJSIP/op301-", "ARI_MOH")
	d.bridgeHolds(ctx, t, "qb-"+ch, caller.Name, "PJSIP/op201-", "ARI_MOH")
	admin.control(t, ch, url.Values{"action": {"complete"}})
	d.Obs.WaitDestroyed(ctx, t, op)
	d.bridgeHolds(ctx, t, "qb-"+ch, caller.Name, "PJSIP/op301-", "PJSIP/op201-")
	waitFor(ctx, t, "the ticket to op301", func() (tickets.Ticket, bool) {
		tk := d.Ticket(ctx, t, call)
		return tk, tk.Assignee == "op301"
	})
	d.HangUp(ctx, t, ch)
	rec, events := d.WaitEnded(ctx, t, call)
	if rec.Operator != "op301" || countKind(events, "consult") != 2 || !hasKind(events, "consult_ended") ||
		!hasKind(events, "three_way") || !hasKind(events, "transfer_attended") {
		t.Errorf("call %+v, events %v", rec, eventKinds(events))
	}
}

// TestIvrdBlindTransfers: on a real Asterisk, op201 transfers the caller
// to a named colleague, op202, whose phone rings and takes the call (op201's
// phone hung up); op202 then transfers it to an allowed outside number,
// dialled through the configured trunk (here op301's phone stands for the
// carrier): the caller's bridge holds that leg and nobody else.
func TestIvrdBlindTransfers(t *testing.T) {
	t.Parallel()
	variant := shippedVariant(t, "helpdesk-transfers.yaml", "#   ring_timeout: 30s\n",
		"transfers:\n  numbers: [\"06 6885 1\"]\n  endpoint: \"PJSIP/{national}@op301\"\n  caller_id: \"800749049\"\n")
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Config: variant, Phones: []string{"op201", "op202", "op301"},
		Available: []string{"op201"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	call := d.Talking(ctx, t, "3331240080", "12", "op201")
	ch := call.ChannelID
	op := d.Obs.ChannelByName(d.Obs.BridgedWith(ctx, t, ch, "PJSIP/op201-"))
	caller, _ := d.Obs.Channel(ch)
	admin := d.LogIn(t, "admin")

	d.Phone(t, "op202", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute})
	d.SetAvailable(t, "op202")
	admin.control(t, ch, url.Values{"action": {"transfer"}, "to": {"operator:op202"}})
	d.Obs.WaitDestroyed(ctx, t, op)
	d.bridgeHolds(ctx, t, "qb-"+ch, caller.Name, "PJSIP/op202-", "PJSIP/op201-")
	waitFor(ctx, t, "the ticket to op202", func() (tickets.Ticket, bool) {
		tk := d.Ticket(ctx, t, call)
		return tk, tk.Assignee == "op202"
	})

	d.Phone(t, "op301", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute})
	admin.control(t, ch, url.Values{"action": {"transfer"}, "to": {"number"}, "number": {"06 6885 1"}})
	d.bridgeHolds(ctx, t, "qb-"+ch, caller.Name, "PJSIP/op301-", "PJSIP/op202-")
	d.HangUp(ctx, t, ch)
	rec, events := d.WaitEnded(ctx, t, call)
	if !hasKind(events, "transfer_operator") || !hasKind(events, "transfer_number") {
		t.Errorf("call %+v, events %v", rec, eventKinds(events))
	}
	if v := d.Metric(t, `ivr_transfers_total{group="lotto2",kind="number"}`); v != 1 {
		t.Errorf("ivr_transfers_total number = %v", v)
	}
}

// TestIvrdMoveQueuedCaller: on a real Asterisk, a caller waits in Lotto 2
// (op201 on a break); the supervisor moves them from the live page to
// Lotto 3's queue, where op301 answers: the caller's bridge holds op301's
// phone, the ticket is Lotto 3's and op301's, the move in the timeline.
func TestIvrdMoveQueuedCaller(t *testing.T) {
	t.Parallel()
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Phones: []string{"op201", "op301"}, Available: []string{"op201"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d.SetPaused(t, "op201")
	call := d.Queued(ctx, t, "3331240081", "12")
	ch := call.ChannelID
	d.Phone(t, "op301", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 3 * time.Minute})
	d.SetAvailable(t, "op301")
	sup := d.LogIn(t, "supervisore")
	sup.control(t, ch, url.Values{"action": {"move"}, "group": {"lotto3"}})
	d.Obs.BridgedWith(ctx, t, ch, "PJSIP/op301-")
	waitFor(ctx, t, "the ticket to lotto3 and op301", func() (tickets.Ticket, bool) {
		tk := d.Ticket(ctx, t, call)
		return tk, tk.Group == "lotto3" && tk.Assignee == "op301"
	})
	d.HangUp(ctx, t, ch)
	rec, events := d.WaitEnded(ctx, t, call)
	if rec.Operator != "op301" || !hasKind(events, "transfer_move") {
		t.Errorf("call %+v, events %v", rec, eventKinds(events))
	}
}
