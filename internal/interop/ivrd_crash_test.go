package interop

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestIvrdKill9KeepsEveryCall: ivrd is killed (SIGKILL) with calls in
// every state and started again. Conversations stay bridged with their
// operators and are tracked to their end; queued callers keep their
// places; callers in the menu go on at the node they were at (after an
// apology); a conversation that ended while ivrd was down gets its record
// closed and its operator back, who then takes the next queued caller.
// No bridge is left behind, and ivrd never fails to build a bridge or to
// record.
//
// Not parallel: it runs alone, before the package's parallel tests, so
// its timing-sensitive restart does not compete with two dozen calls.
func TestIvrdKill9KeepsEveryCall(t *testing.T) {
	d := StartDesk(t, DeskOptions{Clock: mondayClock, Phones: []string{"op301", "op302", "op201"}, Available: []string{"op301"}})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	a1 := d.Talking(ctx, t, "3331280001", "13", "op301")
	d.SetAvailable(t, "op302")
	a2 := d.Talking(ctx, t, "3331280002", "13", "op302")
	d.SetAvailable(t, "op201")
	// As Desk.Talking, keeping op201's phone to wait for its end.
	phone201 := d.Phone(t, "op201", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 4 * time.Minute})
	d.Caller(t, realasterisk.CallOptions{Caller: "3331280003", Keys: keyed("12", keyGap, keyGap), Timeout: 4 * time.Minute})
	a3 := d.CallOf(ctx, t, "3331280003")
	d.Obs.BridgedWith(ctx, t, a3.ChannelID, "PJSIP/op201-")
	d.WaitCallEvent(ctx, t, a3, tickets.EventAnswered)
	q1 := d.Queued(ctx, t, "3331280004", "13")
	q2 := d.Queued(ctx, t, "3331280005", "13")
	q3 := d.Queued(ctx, t, "3331280006", "12")
	m1 := d.InMenu(ctx, t, "3331280007")
	d.Caller(t, realasterisk.CallOptions{Caller: "3331280008", Keys: keyed("2", keyGap, 0), Timeout: 5 * time.Minute})
	m2 := d.CallOf(ctx, t, "3331280008")
	d.Obs.Wait(ctx, t, "3331280008 in menu 2", func(o *Observer) bool {
		ch := o.channels[m2.ChannelID]
		return ch != nil && slices.ContainsFunc(ch.media.List(), func(p Playback) bool { return p.Media == sound("menu-2") })
	})
	lotto3 := queueOrder(ctx, t, d, "lotto3")
	if !slices.Equal(lotto3, []string{q1.ChannelID, q2.ChannelID}) {
		t.Fatalf("lotto3's queue before the crash: %v", lotto3)
	}
	heard := func(id string) int { return len(d.Obs.Media(id)) }
	before := map[string]int{m1.ChannelID: heard(m1.ChannelID), m2.ChannelID: heard(m2.ChannelID)}

	d.Kill(t)
	// While ivrd is down, one conversation ends (the caller's side is hung
	// up): nobody is there to see it.
	d.HangUp(ctx, t, a3.ChannelID)
	d.Obs.WaitDestroyed(ctx, t, a3.ChannelID)
	d.Start(t)
	d.WaitReady(t)
	// ivrd hangs up op201's leg, left alone in its bridge; that phone took
	// its one call: a new one for the next caller.
	if err := phone201.Wait(ctx); err != nil {
		t.Logf("op201's first phone: %v", err)
	}
	d.Phone(t, "op201", realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 4 * time.Minute})

	// Callers in the menu: an apology, then the menu they were in.
	for id, node := range map[string]string{m1.ChannelID: "menu-root", m2.ChannelID: "menu-2"} {
		d.Obs.Wait(ctx, t, id+" resumed at "+node, func(o *Observer) bool {
			ch := o.channels[id]
			if ch == nil {
				return false
			}
			after := ch.media.List()[before[id]:]
			i := slices.IndexFunc(after, func(p Playback) bool { return p.Media == system("technical_problem") })
			return i >= 0 && slices.ContainsFunc(after[i:], func(p Playback) bool { return p.Media == sound(node) })
		})
	}
	// The conversation that ended meanwhile: closed, its operator free and
	// given the next caller of lotto2.
	rec, events := d.WaitEnded(ctx, t, a3)
	if rec.Outcome != tickets.OutcomeAnswered || rec.Operator != "op201" || !hasKind(events, tickets.EventHangup) {
		t.Errorf("the conversation that ended while ivrd was down: %+v %v", rec, eventKinds(events))
	}
	d.Obs.BridgedWith(ctx, t, q3.ChannelID, "PJSIP/op201-")
	d.WaitCallEvent(ctx, t, q3, tickets.EventAnswered)
	// Queued callers kept their places.
	if got := queueOrder(ctx, t, d, "lotto3"); !slices.Equal(got, lotto3) {
		t.Errorf("lotto3's queue after the restart: %v, want %v", got, lotto3)
	}
	// The conversations went on: still bridged with their operators.
	for _, c := range []struct {
		call tickets.Call
		op   string
	}{{a1, "op301"}, {a2, "op302"}} {
		if ch, _ := d.Obs.Channel(c.call.ChannelID); ch.Destroyed {
			t.Fatalf("conversation with %s cut by the restart: %s", c.op, strings.Join(ch.Events, ", "))
		}
		d.Obs.BridgedWith(ctx, t, c.call.ChannelID, "PJSIP/"+c.op+"-")
	}
	waitFor(ctx, t, "the conversations taken over", func() (bool, bool) {
		return len(d.LogLines("call_resumed")) >= 6, true // a1, a2, q1, q2, m1, m2 (q3 too)
	})
	// The first conversation ends: recorded as answered by op301, who is
	// then wrapping up, not on a call for good.
	d.HangUp(ctx, t, a1.ChannelID)
	rec, _ = d.WaitEnded(ctx, t, a1)
	if rec.Outcome != tickets.OutcomeAnswered || rec.Operator != "op301" {
		t.Errorf("the conversation taken over: %+v", rec)
	}
	waitFor(ctx, t, "op301 off the call", func() (string, bool) {
		var state string
		err := d.DB.QueryRow(ctx, `SELECT state FROM queue_operators WHERE login = 'op301'`).Scan(&state)
		return state, err == nil && state != string(queues.OnCall)
	})
	for _, c := range []tickets.Call{a2, q1, q2, q3, m1, m2} {
		d.HangUp(ctx, t, c.ChannelID)
		d.WaitEnded(ctx, t, c)
	}
	var left []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if left = bridges(ctx, t, d); len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bridges left in Asterisk: %q", left)
		}
	}
	for _, msg := range []string{"bridge_create_failed", "record_failed", "call_failed", "call_panic"} {
		if l := d.LogLines(msg); len(l) > 0 {
			t.Errorf("ivrd logged %s: %v", msg, l)
		}
	}
}

// queueOrder is a group's waiting callers, first first.
func queueOrder(ctx context.Context, t *testing.T, d *Desk, group string) []string {
	t.Helper()
	rows, err := d.DB.Query(ctx, `SELECT call_id FROM queue_entries WHERE group_id = $1 ORDER BY priority DESC, seq`, group)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// bridges lists the bridges Asterisk holds.
func bridges(ctx context.Context, t *testing.T, d *Desk) []string {
	t.Helper()
	resp, err := d.A.NewClient(nil).Do(ctx, "GET", "/bridges", nil, nil)
	if err != nil || resp.Status != 200 {
		t.Fatalf("list bridges: %v %+v", err, resp)
	}
	var list []struct {
		ID       string   `json:"id"`
		Channels []string `json:"channels"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range list {
		out = append(out, b.ID+" "+strings.Join(b.Channels, ","))
	}
	return out
}
