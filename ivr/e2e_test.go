package ivr_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/ariconn"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestRoutedCallIsAnsweredByAnOperator(t *testing.T) {
	r := newRig(t, monday10)
	r.sim.SetEndpoint("PJSIP/op302", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 3 * time.Second})
	r.sim.SetEndpoint("PJSIP/op301", arisim.EndpointBehavior{Mode: arisim.Busy})
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "1")
	r.waitPrompt(c.ID(), "node:1")
	press(t, c, "3")
	ans := r.waitKind(c.ID(), ivr.EvAnswered)
	if ans.Operator != "op302" || ans.Group != "lotto3" {
		t.Fatalf("answered by %q in %q", ans.Operator, ans.Group)
	}
	time.Sleep(50 * time.Millisecond) // they talk a little (2 s of clock time)
	if err := c.Hangup(); err != nil {
		t.Fatal(err)
	}
	out := r.outcome(c.ID())
	if out.Outcome != string(tickets.OutcomeAnswered) || out.Group != "lotto3" || strings.Join(out.Path, " ") != "1 3" {
		t.Fatalf("outcome %+v\n%s", out, r.transcript(c.ID()))
	}
	call, events, ok := r.mem.Call(c.ID())
	if !ok {
		t.Fatal("no call record")
	}
	if call.Outcome != tickets.OutcomeAnswered || call.HangupBy != tickets.HangupCaller || call.Operator != "op302" ||
		call.QueuedAt.IsZero() || call.OperatorAnsweredAt.Before(call.QueuedAt) || call.EndedAt.IsZero() {
		t.Errorf("call record %+v", call)
	}
	wantKinds := []tickets.EventKind{tickets.EventEntered, tickets.EventHoursCheck, tickets.EventMenuSelection, tickets.EventMenuSelection,
		tickets.EventQueued, tickets.EventOffered, tickets.EventOffered, tickets.EventOffered, "no_answer", tickets.EventAnswered, tickets.EventHangup}
	if got := eventKinds(events); !slices.Equal(got, wantKinds) {
		t.Errorf("timeline %v, want %v", got, wantKinds)
	}
	tk, _, _ := r.mem.Ticket(call.TicketID)
	if tk.Status != tickets.StatusInProgress || tk.Assignee != "op302" || tk.Group != "lotto3" || len(tk.MenuPath) != 2 || tk.MenuPath[1].Label != "Lotto 3 (Area Centro)" {
		t.Errorf("ticket %+v", tk)
	}
	// The operator's phone carried the ticket and caller (channel variables).
	if st := r.sim.Stats(); st.Requests["POST /channels"] < 2 {
		t.Errorf("expected two originates, stats %+v", st.Requests)
	}
}

func eventKinds(evs []tickets.CallEvent) []tickets.EventKind {
	out := make([]tickets.EventKind, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

// Every leaf of the tree reaches its group, through the real client.
func TestEveryLeafRoutes(t *testing.T) {
	r := newRig(t, monday10)
	leaves := map[string]string{"1 2": "lotto2", "1 3": "lotto3", "1 4": "lotto4", "1 5": "lotto5", "1 6": "lotto6",
		"2 1": "pct-libero-foro", "2 2": "pct-magistrati", "3 1": "sicoge", "0": "accoglienza"}
	categories := map[string]string{"2 1": "applicativi/pct", "2 2": "applicativi/pct", "3 1": "applicativi/sicoge"}
	calls := map[string]*arisim.Call{}
	for keys := range leaves {
		c := r.call("3331234567")
		calls[keys] = c
		// Type-ahead: all keys at once, during the welcome prompt.
		r.waitPrompt(c.ID(), "node:root")
		press(t, c, strings.ReplaceAll(keys, " ", ""))
	}
	for keys, c := range calls {
		ev := r.waitKind(c.ID(), ivr.EvRoute)
		if ev.Group != leaves[keys] {
			t.Errorf("keys %s routed to %s, want %s", keys, ev.Group, leaves[keys])
		}
		c.Hangup()
		out := r.outcome(c.ID())
		if out.Outcome != string(tickets.OutcomeAbandoned) {
			t.Errorf("keys %s: outcome %s after hanging up while ringing", keys, out.Outcome)
		}
		// The leaf's category (configs/helpdesk.yaml), or none.
		call, _, _ := r.mem.Call(c.ID())
		tk, _, _ := r.mem.Ticket(call.TicketID)
		if want := categories[keys]; tk.Category != want {
			t.Errorf("keys %s: ticket category %q, want %q", keys, tk.Category, want)
		}
	}
}

func TestTypeAheadStopsPrompts(t *testing.T) {
	r := newRig(t, monday10)
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "13")
	if ev := r.waitKind(c.ID(), ivr.EvRoute); ev.Group != "lotto3" {
		t.Fatalf("route %+v", ev)
	}
	// The second key came while the sub-menu started: it stopped it at
	// once (barge-in) and was not lost.
	if n := r.sim.Stats().Requests["DELETE /playbacks/{playbackId}"]; n < 1 {
		t.Errorf("no playback was stopped by a key: %v", r.sim.Stats().Requests)
	}
	c.Hangup()
	r.outcome(c.ID())
}

func (r *rig) eventsOf(callID string) []ivr.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ivr.Event
	for _, e := range r.events {
		if e.CallID == callID {
			out = append(out, e)
		}
	}
	return out
}

func TestKnownAdministrationGoesStraightToItsLot(t *testing.T) {
	r := newRig(t, monday10)
	c := r.call("0699991234") // Tribunale di Roma (demo), national form
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "1")
	ev := r.waitKind(c.ID(), ivr.EvRoute)
	if ev.Group != "lotto3" || ev.Reason != menu.ReasonOrgRoute {
		t.Fatalf("route %+v", ev)
	}
	c.Hangup()
	r.outcome(c.ID())
	call, _, _ := r.mem.Call(c.ID())
	tk, _, _ := r.mem.Ticket(call.TicketID)
	if tk.Organization != "tribunale-roma-demo" || tk.Caller != "+390699991234" {
		t.Errorf("ticket %+v", tk)
	}
}

func TestPIN(t *testing.T) {
	r := newRig(t, monday10)
	t.Run("referent accepted", func(t *testing.T) {
		c := r.call("3330000001")
		r.waitPrompt(c.ID(), "node:root")
		press(t, c, "4")
		r.waitPrompt(c.ID(), "system:pin_ask")
		press(t, c, "5035#")
		ev := r.waitKind(c.ID(), ivr.EvRoute)
		if ev.Group != "modifiche" {
			t.Fatalf("route %+v", ev)
		}
		pin := r.waitKind(c.ID(), ivr.EvPIN)
		if pin.Result != "accepted" || pin.Role != "referent" || pin.Org != "tribunale-roma-demo" {
			t.Errorf("pin event %+v", pin)
		}
		c.Hangup()
		r.outcome(c.ID())
		r.assertNoDigits(c.ID(), "5035")
		call, _, _ := r.mem.Call(c.ID())
		tk, _, _ := r.mem.Ticket(call.TicketID)
		if tk.CallerRole != tickets.CallerReferent || tk.Organization != "tribunale-roma-demo" || tk.Priority != tickets.PriorityHigh ||
			tk.Category != "utenze" {
			t.Errorf("ticket %+v", tk)
		}
	})
	t.Run("user refused", func(t *testing.T) {
		c := r.call("3330000002")
		r.waitPrompt(c.ID(), "node:root")
		press(t, c, "4")
		r.waitPrompt(c.ID(), "system:pin_ask")
		press(t, c, "1035#")
		r.waitPrompt(c.ID(), "system:pin_role_refused")
		c.Hangup()
		out := r.outcome(c.ID())
		if out.Outcome != string(tickets.OutcomeHungUpInMenu) {
			t.Errorf("outcome %+v", out)
		}
		r.assertNoDigits(c.ID(), "1035")
	})
	t.Run("an overlong PIN is one wrong attempt", func(t *testing.T) {
		c := r.call("3330000004")
		r.waitPrompt(c.ID(), "node:root")
		press(t, c, "4")
		r.waitPrompt(c.ID(), "system:pin_ask")
		press(t, c, "123456789#") // nine digits: more than max_digits
		r.waitPrompt(c.ID(), "system:pin_wrong")
		press(t, c, "5035#")
		if ev := r.waitKind(c.ID(), ivr.EvRoute); ev.Group != "modifiche" {
			t.Fatalf("route %+v\n%s", ev, r.transcript(c.ID()))
		}
		var verdicts []string
		for _, e := range r.eventsOf(c.ID()) {
			if e.Kind == ivr.EvPIN {
				verdicts = append(verdicts, e.Result)
			}
		}
		if strings.Join(verdicts, ",") != "wrong,accepted" {
			t.Errorf("verdicts %v", verdicts)
		}
		c.Hangup()
		r.outcome(c.ID())
	})
	t.Run("three wrong then locked out", func(t *testing.T) {
		c := r.call("3330000003")
		r.waitPrompt(c.ID(), "node:root")
		press(t, c, "4")
		for _, pin := range []string{"1111#", "2222#", "3333#"} {
			r.waitPrompt(c.ID(), "system:pin_ask")
			press(t, c, pin)
			r.waitFor(c.ID(), "pin verdict", func(e ivr.Event) bool { return e.Kind == ivr.EvPIN && e.Result == "wrong" })
		}
		ev := r.waitKind(c.ID(), ivr.EvRoute)
		if ev.Reason != menu.ReasonPINLocked || ev.Group != "accoglienza" {
			t.Fatalf("fallback %+v", ev)
		}
		c.Hangup()
		if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomePINLocked) {
			t.Errorf("outcome %+v", out)
		}
		// The number stays locked for the next call, even with the right PIN.
		c2 := r.call("3330000003")
		r.waitPrompt(c2.ID(), "node:root")
		press(t, c2, "4")
		pin := r.waitKind(c2.ID(), ivr.EvPIN)
		if pin.Result != string(menu.PINLocked) {
			t.Errorf("second call: %+v", pin)
		}
		c2.Hangup()
		r.outcome(c2.ID())
		r.assertNoDigits(c.ID(), "1111", "2222", "3333")
	})
}

// assertNoDigits checks that no PIN reached the transcript or the record.
func (r *rig) assertNoDigits(callID string, pins ...string) {
	r.t.Helper()
	for _, e := range r.eventsOf(callID) {
		e.Time = time.Time{} // timestamps may hold any digits
		b, _ := json.Marshal(e)
		for _, p := range pins {
			if strings.Contains(string(b), p) {
				r.t.Errorf("PIN %s in transcript event %s", p, b)
			}
		}
	}
	_, events, _ := r.mem.Call(callID)
	for i := range events {
		events[i].At = time.Time{}
	}
	b, _ := json.Marshal(events)
	for _, p := range pins {
		if strings.Contains(string(b), p) {
			r.t.Errorf("PIN %s in call record %s", p, b)
		}
	}
}

func TestInvalidInputFallsBack(t *testing.T) {
	r := newRig(t, monday10)
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "7")
	r.waitPrompt(c.ID(), "system:invalid")
	press(t, c, "8")
	r.waitFor(c.ID(), "second invalid", func(e ivr.Event) bool { return e.Kind == ivr.EvKeys && e.Keys == "8" })
	// Then silence: a timeout is the third failure.
	ev := r.waitKind(c.ID(), ivr.EvRoute)
	if ev.Reason != menu.ReasonInvalidInput || ev.Group != "accoglienza" {
		t.Fatalf("fallback %+v\n%s", ev, r.transcript(c.ID()))
	}
	c.Hangup()
	if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeInvalidInput) {
		t.Errorf("outcome %+v", out)
	}
}

func TestAfterHoursMessage(t *testing.T) {
	saturday20 := time.Date(2026, 11, 21, 20, 0, 0, 0, mustLoc("Europe/Rome"))
	r := newRig(t, saturday20)
	c := r.call("3331234567", arisim.CallOptions{SpeakOnRecord: 8 * time.Second})
	ev := r.waitKind(c.ID(), ivr.EvHours)
	if ev.Open == nil || *ev.Open {
		t.Fatalf("hours %+v", ev)
	}
	p := r.waitPrompt(c.ID(), "system:reopens")
	// Monday 23 November at 8: weekday, day, month, hour.
	for _, m := range []string{"sound:digits/day-1", "number:23", "sound:digits/mon-10", "number:8"} {
		if !slices.Contains(p.Prompt, m) {
			t.Errorf("reopening announcement %v lacks %s", p.Prompt, m)
		}
	}
	r.waitPrompt(c.ID(), "system:record_offer")
	press(t, c, "1")
	r.waitKind(c.ID(), ivr.EvRecording)
	// The caller speaks 8 s, then the silence limit (6 s) ends the recording.
	msg := r.waitKind(c.ID(), ivr.EvMessage)
	if msg.Seconds < 8 {
		t.Errorf("recorded %v s", msg.Seconds)
	}
	r.waitPrompt(c.ID(), "system:record_saved")
	out := r.outcome(c.ID())
	if out.Outcome != string(tickets.OutcomeAfterHoursMessage) {
		t.Fatalf("outcome %+v\n%s", out, r.transcript(c.ID()))
	}
	call, _, _ := r.mem.Call(c.ID())
	tk, att, _ := r.mem.Ticket(call.TicketID)
	wantDue := time.Date(2026, 11, 23, 8, 0, 0, 0, mustLoc("Europe/Rome"))
	if tk.Source != tickets.SourceAfterHours || !tk.DueAt.Equal(wantDue) || tk.Status != tickets.StatusNew {
		t.Errorf("ticket %+v, want due %v", tk, wantDue)
	}
	// Left while the whole service was closed, by a caller of no known
	// Administration: the configured group takes it.
	if tk.Group != "accoglienza" {
		t.Errorf("ticket group %q, want accoglienza (ivr.operator_group)", tk.Group)
	}
	if len(att) != 1 || att[0].ContentType != "audio/wav" || att[0].Duration < 8*time.Second || !strings.HasPrefix(att[0].URI, "ari:recording:") {
		t.Errorf("attachments %+v", att)
	}
}

func TestClosedHolidayWithoutMessage(t *testing.T) {
	christmas := time.Date(2026, 12, 25, 11, 0, 0, 0, mustLoc("Europe/Rome"))
	r := newRig(t, christmas)
	c := r.call("3331234567")
	ev := r.waitKind(c.ID(), ivr.EvHours)
	if ev.Reason != "holiday: Natale" {
		t.Errorf("hours %+v", ev)
	}
	r.waitPrompt(c.ID(), "system:closed_holiday")
	out := r.outcome(c.ID()) // no key: goodbye
	if out.Outcome != string(tickets.OutcomeClosedNoMessage) {
		t.Fatalf("outcome %+v", out)
	}
	call, _, _ := r.mem.Call(c.ID())
	if tk, _, _ := r.mem.Ticket(call.TicketID); tk.Status != tickets.StatusClosed {
		t.Errorf("a call that left nothing closes its ticket: %+v", tk)
	}
}

func TestGroupClosedOnSaturday(t *testing.T) {
	saturday10 := time.Date(2026, 11, 21, 10, 0, 0, 0, mustLoc("Europe/Rome"))
	r := newRig(t, saturday10)
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "21") // PCT Cassazione: no Saturday hours
	r.waitPrompt(c.ID(), "system:group_closed")
	c.Hangup()
	if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeClosedNoMessage) || out.Group != "pct-libero-foro" {
		t.Errorf("outcome %+v", out)
	}
}

func TestTicketStatusByPhone(t *testing.T) {
	r := newRig(t, monday10)
	first := r.call("3339998888")
	r.waitPrompt(first.ID(), "node:root")
	first.Hangup()
	number := r.outcome(first.ID()).Ticket

	c := r.call("3339998888")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "9")
	r.waitPrompt(c.ID(), "system:status_ask")
	// A typo first (the check digit catches it), then the right number.
	bad := []byte(number)
	bad[9] = '0' + (bad[9]-'0'+1)%10
	press(t, c, string(bad)+"#")
	r.waitPrompt(c.ID(), "system:status_bad")
	press(t, c, number+"#")
	st := r.waitKind(c.ID(), ivr.EvStatus)
	if st.Result != string(tickets.StatusClosed) || st.Ticket != number {
		t.Fatalf("status %+v", st)
	}
	if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeStatusTold) {
		t.Errorf("outcome %+v", out)
	}
	// Someone else's number hears nothing about it.
	o := r.call("3337777777")
	r.waitPrompt(o.ID(), "node:root")
	press(t, o, "9"+number+"#")
	if st := r.waitKind(o.ID(), ivr.EvStatus); st.Result != "unknown" {
		t.Errorf("a stranger was told %+v", st)
	}
	r.outcome(o.ID())
}

// A hangup at any step leaves a complete record and no session behind.
func TestHangupAtEveryStep(t *testing.T) {
	steps := []struct {
		name    string
		drive   func(r *rig, c *arisim.Call)
		outcome tickets.Outcome
	}{
		{"during welcome", func(r *rig, c *arisim.Call) { r.waitPrompt(c.ID(), "node:root") }, tickets.OutcomeHungUpInMenu},
		{"in a sub-menu", func(r *rig, c *arisim.Call) {
			r.waitPrompt(c.ID(), "node:root")
			c.Press("2")
			r.waitPrompt(c.ID(), "node:2")
		}, tickets.OutcomeHungUpInMenu},
		{"during PIN entry", func(r *rig, c *arisim.Call) {
			r.waitPrompt(c.ID(), "node:root")
			c.Press("4")
			r.waitPrompt(c.ID(), "system:pin_ask")
			c.Press("50")
		}, tickets.OutcomeHungUpInMenu},
		{"while operators ring", func(r *rig, c *arisim.Call) {
			r.waitPrompt(c.ID(), "node:root")
			c.Press("13")
			r.waitKind(c.ID(), ivr.EvRinging)
		}, tickets.OutcomeAbandoned},
		{"while talking", func(r *rig, c *arisim.Call) {
			r.sim.SetEndpoint("PJSIP/op801", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: time.Second})
			r.waitPrompt(c.ID(), "node:root")
			c.Press("31")
			r.waitKind(c.ID(), ivr.EvAnswered)
		}, tickets.OutcomeAnswered},
		{"during the status question", func(r *rig, c *arisim.Call) {
			r.waitPrompt(c.ID(), "node:root")
			c.Press("9")
			r.waitPrompt(c.ID(), "system:status_ask")
		}, tickets.OutcomeHungUpInMenu},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := newRig(t, monday10)
			c := r.call("3331234567")
			st.drive(r, c)
			if err := c.Hangup(); err != nil {
				t.Fatal(err)
			}
			out := r.outcome(c.ID())
			if out.Outcome != string(st.outcome) {
				t.Errorf("outcome %s, want %s\n%s", out.Outcome, st.outcome, r.transcript(c.ID()))
			}
			call, events, ok := r.mem.Call(c.ID())
			if !ok || call.EndedAt.IsZero() || call.HangupBy != tickets.HangupCaller || call.Outcome != st.outcome {
				t.Errorf("call record %+v", call)
			}
			if len(events) == 0 || events[len(events)-1].Kind != tickets.EventHangup {
				t.Errorf("timeline does not end with the hangup: %v", eventKinds(events))
			}
			// Operator phones stop ringing at once when the caller leaves.
			deadline := time.Now().Add(5 * time.Second)
			for r.sim.ActiveChannels() > 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if n := r.sim.ActiveChannels(); n != 0 {
				t.Errorf("%d channels left in Asterisk", n)
			}
		})
	}
}

func TestHangupDuringRecording(t *testing.T) {
	saturday20 := time.Date(2026, 11, 21, 20, 0, 0, 0, mustLoc("Europe/Rome"))
	r := newRig(t, saturday20)
	c := r.call("3331234567", arisim.CallOptions{SpeakOnRecord: time.Minute})
	r.waitPrompt(c.ID(), "system:record_offer")
	press(t, c, "1")
	r.waitKind(c.ID(), ivr.EvRecording)
	time.Sleep(150 * time.Millisecond) // ~6 s of clock time
	c.Hangup()
	out := r.outcome(c.ID())
	if out.Outcome != string(tickets.OutcomeAfterHoursMessage) {
		t.Fatalf("what was said before the hangup is a request: %+v\n%s", out, r.transcript(c.ID()))
	}
	call, _, _ := r.mem.Call(c.ID())
	if _, att, _ := r.mem.Ticket(call.TicketID); len(att) != 1 {
		t.Errorf("attachments %+v", att)
	}
}

func TestUnknownEventTypeDoesNotCrash(t *testing.T) {
	r := newRig(t, monday10)
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	r.sim.InjectEvent("ivr", json.RawMessage(`{"type":"ChannelTransferFuture","timestamp":"2026-11-23T10:00:00.000+0100","application":"ivr","channel":{"id":"`+c.ID()+`"}}`))
	r.sim.InjectEvent("ivr", json.RawMessage(`{"not":"an event"}`))
	press(t, c, "13")
	if ev := r.waitKind(c.ID(), ivr.EvRoute); ev.Group != "lotto3" {
		t.Fatalf("route %+v", ev)
	}
	c.Hangup()
	r.outcome(c.ID())
}

// The event socket drops in the middle of a call: the gate reconnects,
// the controller re-checks the call, and the caller goes on.
func TestWebSocketCutMidCall(t *testing.T) {
	for _, abrupt := range []bool{false, true} {
		r := newRig(t, monday10)
		c := r.call("3331234567")
		r.waitPrompt(c.ID(), "node:root")
		r.sim.DropWebSockets(abrupt)
		deadline := time.Now().Add(5 * time.Second)
		for !r.conn.Ready() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		if !r.conn.Ready() {
			t.Fatalf("not reconnected: %s", r.conn.Status())
		}
		press(t, c, "3")
		r.waitPrompt(c.ID(), "node:3")
		press(t, c, "1")
		if ev := r.waitKind(c.ID(), ivr.EvRoute); ev.Group != "sicoge" {
			t.Fatalf("abrupt=%v: route %+v", abrupt, ev)
		}
		c.Hangup()
		r.outcome(c.ID())
	}
}

// A call that nobody drives any more (its controller is gone) is picked up
// by the next controller when it connects: resumed from the main menu.
func TestReconnectResumesCallsAlreadyInTheApp(t *testing.T) {
	r := newRig(t, monday10)
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	// A second controller on the same simulator takes over (like a restarted
	// ivrd); the first one's socket is replaced and it stops hearing events.
	second := newController(t, r)
	second.waitFor(c.ID(), "resumed", func(e ivr.Event) bool { return e.Kind == ivr.EvResumed || e.Kind == ivr.EvPrompt })
	second.waitPrompt(c.ID(), "system:technical_problem")
	press(t, c, "31")
	if ev := second.waitKind(c.ID(), ivr.EvRoute); ev.Group != "sicoge" {
		t.Fatalf("route %+v", ev)
	}
	c.Hangup()
	second.outcome(c.ID())
	// The first controller let the call go without touching it.
	if r.conn.Ready() || !strings.Contains(r.conn.Status(), "took over") {
		t.Errorf("first controller: %s", r.conn.Status())
	}
	for _, e := range r.eventsOf(c.ID()) {
		if e.Kind == ivr.EvHangup || e.Kind == ivr.EvOutcome {
			t.Errorf("the replaced controller ended the call itself: %+v", e)
		}
	}
}

// newController starts another controller against the rig's simulator,
// sharing its store.
func newController(t *testing.T, r *rig, tune ...func(*ivr.Options)) *rig {
	t.Helper()
	r2 := &rig{t: t, cfg: r.cfg, clk: r.clk, sim: r.sim, mem: r.mem, store: r.store, notify: make(chan struct{}, 1)}
	opts := ivr.Options{App: "ivr", Config: func() *menu.Config { return r.cfg }, PINSecret: demoSecret,
		Store: r.store, Clock: r.clk, Observe: r2.observe}
	for _, f := range tune {
		f(&opts)
	}
	var err error
	r2.ctrl, err = ivr.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r2.conn, err = ariconn.Start(ctx, ariconn.Options{URL: r.sim.URL(), Username: simdesk.User, Password: simdesk.Password, App: "ivr",
		MinBackoff: 20 * time.Millisecond, Events: ivr.HandledEvents}, func(c ari.Client) func(ari.Event) { return r2.ctrl.Attach(ctx, c) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r2.conn.Close)
	r2.conn.OnConnect(func() { r2.ctrl.Reconcile(ctx) })
	r2.conn.OnReplaced(r2.ctrl.Release)
	return r2
}

func TestUnreachableAsteriskAtStart(t *testing.T) {
	// An address where nothing answers: the port is held (so no other
	// test's server can take it) and every connection is hung up at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	attached := make(chan struct{})
	conn, err := ariconn.Start(ctx, ariconn.Options{URL: "http://" + addr + "/ari", Username: "ivr", Password: "ivr", App: "ivr",
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, DialTimeout: 200 * time.Millisecond},
		func(ari.Client) func(ari.Event) { close(attached); return func(ari.Event) {} })
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = conn.Wait(wctx)
	wcancel()
	if err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("Wait = %v, want a clear error", err)
	}
	if conn.Ready() || !strings.HasPrefix(conn.Status(), "ARI down") {
		t.Errorf("status %q", conn.Status())
	}
	// Asterisk comes up on that address: the background retry connects.
	ln.Close()
	sim := arisim.New(arisim.Options{})
	if err := sim.Start(addr); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	wctx, wcancel = context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := conn.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	<-attached
}

// A stuck Asterisk never hangs a call: every request has a deadline.
func TestStuckAsteriskTimesOut(t *testing.T) {
	sim := arisim.New(arisim.Options{})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var client ari.Client
	got := make(chan struct{})
	conn, err := ariconn.Start(ctx, ariconn.Options{URL: sim.URL(), Username: "ivr", Password: "ivr", App: "ivr", RequestTimeout: 200 * time.Millisecond},
		func(c ari.Client) func(ari.Event) { client = c; close(got); return func(ari.Event) {} })
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	<-got
	sim.SetStuck(true)
	defer sim.SetStuck(false)
	start := time.Now()
	_, err = client.Asterisk().Info(nil)
	if err == nil {
		t.Fatal("a stuck request succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("request took %v", d)
	}
}

// Many requests go through a handful of reused connections.
func TestConnectionsAreReused(t *testing.T) {
	r := newRig(t, monday10)
	for i := 0; i < 10; i++ {
		c := r.call("3331234567")
		r.waitPrompt(c.ID(), "node:root")
		c.Press("3")
		r.waitPrompt(c.ID(), "node:3")
		c.Hangup()
		r.outcome(c.ID())
	}
	st := r.sim.Stats()
	// The event sockets (gate and library) count too.
	if st.RequestsTotal < 40 || st.TCPConnections > 5 {
		t.Errorf("%d requests over %d TCP connections", st.RequestsTotal, st.TCPConnections)
	}
}

var _ = fault.ErrNotFound

// failingStore is a ticket store that is down.
type failingStore struct{ tickets.CallRecorder }

func (failingStore) OpenCall(context.Context, tickets.NewCall) (tickets.Call, tickets.Ticket, error) {
	return tickets.Call{}, tickets.Ticket{}, errors.New("database down")
}

// A store that is down costs the record, never the caller.
func TestStoreDownStillServesTheCaller(t *testing.T) {
	r := newRig(t, monday10, withStore(failingStore{ivr.NewMemoryRecorder(nil)}))
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "31")
	if ev := r.waitKind(c.ID(), ivr.EvRoute); ev.Group != "sicoge" {
		t.Fatalf("route %+v", ev)
	}
	c.Hangup()
	if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeAbandoned) || out.Ticket != "" {
		t.Errorf("outcome %+v", out)
	}
}

// Stopping ivrd: new calls go back to the dialplan at once; calls still
// in progress after the drain are handed to it too, records finished.
func TestDrainAndShutdown(t *testing.T) {
	r := newRig(t, monday10)
	inProgress := r.call("3331234567", arisim.CallOptions{EventBuffer: 256})
	r.waitPrompt(inProgress.ID(), "node:root")
	r.ctrl.Drain()
	late := r.call("3337654321", arisim.CallOptions{EventBuffer: 256})
	waitDone(t, late)
	if !continued(late) {
		t.Errorf("a call arriving while draining was not sent back to the dialplan")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.ctrl.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if out := r.outcome(inProgress.ID()); out.Outcome != string(tickets.OutcomeTransferred) {
		t.Errorf("outcome %+v", out)
	}
	waitDone(t, inProgress)
	if !continued(inProgress) {
		t.Errorf("the call in progress was not handed to the dialplan")
	}
	if call, _, _ := r.mem.Call(inProgress.ID()); call.EndedAt.IsZero() || call.Outcome != tickets.OutcomeTransferred {
		t.Errorf("record %+v", call)
	}
}

// Beyond ivr.max_calls a new call goes back to the dialplan's fallback
// at once; the calls in progress go on, and once one ends a new call is
// served again.
func TestMaxCallsShedsToTheDialplan(t *testing.T) {
	r := newRig(t, monday10, func(o *simdesk.Options) { o.Config.IVR.MaxCalls = 1 })
	first := r.call("3331234567", arisim.CallOptions{EventBuffer: 256})
	r.waitPrompt(first.ID(), "node:root")
	shed := r.call("3337654321", arisim.CallOptions{EventBuffer: 256})
	waitDone(t, shed)
	if !continued(shed) {
		t.Errorf("a call beyond max_calls was not handed to the dialplan")
	}
	if _, _, ok := r.mem.Call(shed.ID()); ok {
		t.Errorf("a shed call has a record of ivrd's: the fallback serves it")
	}
	if continued(first) {
		t.Errorf("the call in progress was handed away")
	}
	first.Hangup()
	r.outcome(first.ID())
	waitUntil(t, "the first call to end", func() bool { return r.ctrl.ActiveCalls() == 0 })
	next := r.call("3331112222", arisim.CallOptions{EventBuffer: 256})
	r.waitPrompt(next.ID(), "node:root")
	next.Hangup()
	r.outcome(next.ID())
}

func continued(c *arisim.Call) bool {
	for e := range c.Events() {
		if e.Kind == arisim.EventContinued {
			return true
		}
	}
	return false
}

// Asterisk that stops answering is noticed within two pings: the event
// socket is closed, readiness says so, and it comes back by itself.
func TestSilentAsteriskIsNoticed(t *testing.T) {
	sim := arisim.New(arisim.Options{})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, err := ariconn.Start(ctx, ariconn.Options{URL: sim.URL(), Username: "ivr", Password: "ivr", App: "ivr",
		RequestTimeout: 100 * time.Millisecond, PingInterval: 50 * time.Millisecond,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
		func(ari.Client) func(ari.Event) { return func(ari.Event) {} })
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := conn.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	sim.SetStuck(true)
	waitUntil(t, "ARI down", func() bool { return !conn.Ready() })
	if !strings.HasPrefix(conn.Status(), "ARI down") {
		t.Errorf("status %q", conn.Status())
	}
	sim.SetStuck(false)
	waitUntil(t, "ARI back", conn.Ready)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// flakyStore is down for the first OpenCall only.
type flakyStore struct {
	tickets.CallRecorder
	failed atomic.Bool
}

func (f *flakyStore) OpenCall(ctx context.Context, nc tickets.NewCall) (tickets.Call, tickets.Ticket, error) {
	if !f.failed.Swap(true) {
		return tickets.Call{}, tickets.Ticket{}, errors.New("database down")
	}
	return f.CallRecorder.OpenCall(ctx, nc)
}

// A store that comes back during the call still gets its whole record.
func TestStoreBackByTheEndOfTheCall(t *testing.T) {
	mem := ivr.NewMemoryRecorder(nil)
	r := newRig(t, monday10, withStore(&flakyStore{CallRecorder: mem}))
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "2")
	r.waitPrompt(c.ID(), "node:2")
	c.Hangup()
	out := r.outcome(c.ID())
	call, events, ok := mem.Call(c.ID())
	if !ok || call.Outcome != tickets.OutcomeHungUpInMenu || call.EndedAt.IsZero() {
		t.Fatalf("record %+v (outcome event %+v)", call, out)
	}
	if got := eventKinds(events); len(got) < 4 || got[0] != tickets.EventEntered || got[len(got)-1] != tickets.EventHangup {
		t.Errorf("timeline %v", got)
	}
	if tk, _, _ := mem.Ticket(call.TicketID); len(tk.MenuPath) != 1 || tk.Status != tickets.StatusClosed || tk.Group != "accoglienza" {
		t.Errorf("ticket %+v", tk)
	}
}

// Callers pressing anything at any time: random keys at random moments,
// hanging up at a random point or never. Every call must end with an
// outcome and a finished record, and leave nothing behind in Asterisk.
func TestRandomCallers(t *testing.T) {
	r := newRig(t, monday10)
	r.sim.SetEndpoint("PJSIP/op801", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 2 * time.Second})
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: a failure can be replayed
	const calls = 30
	ids := make([]string, calls)
	var wg sync.WaitGroup
	for i := range calls {
		keys := make([]byte, rng.IntN(12))
		for k := range keys {
			keys[k] = "0123456789*#"[rng.IntN(12)]
		}
		pause := time.Duration(rng.IntN(40)) * time.Millisecond
		hangAfter := time.Duration(rng.IntN(400)) * time.Millisecond
		hang := rng.IntN(3) > 0
		c := r.call(fmt.Sprintf("+3933%08d", i))
		ids[i] = c.ID()
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(pause)
			for _, k := range keys {
				if c.Press(string(k)) != nil {
					return // already over
				}
			}
			if hang {
				time.Sleep(hangAfter)
				c.Hangup()
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		out := r.outcome(id)
		if out.Outcome == "" || out.Outcome == string(tickets.OutcomeFailed) {
			t.Errorf("call %s: outcome %q\n%s", id, out.Outcome, r.transcript(id))
		}
		if call, _, ok := r.mem.Call(id); !ok || call.EndedAt.IsZero() {
			t.Errorf("call %s: record not finished: %+v", id, call)
		}
	}
	waitUntil(t, "no channel left", func() bool { return r.sim.ActiveChannels() == 0 })
}

// With Options.Events the connection asks Asterisk for those events only
// and drops, undecoded, any other that still comes (an Asterisk without
// filters, or events sent before the filter was set).
func TestEventFilterAsked(t *testing.T) {
	sim := arisim.New(arisim.Options{})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	got := make(chan string, 10)
	conn, err := ariconn.Start(ctx, ariconn.Options{URL: sim.URL(), Username: "ivr", Password: "ivr", App: "ivr",
		Registerer: reg, Events: []string{"StasisStart", "StasisEnd"}},
		func(ari.Client) func(ari.Event) { return func(e ari.Event) { got <- e.GetType() } })
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := conn.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	var app struct {
		Allowed []struct{ Type string } `json:"events_allowed"`
	}
	waitUntil(t, "the event filter", func() bool {
		resp, err := conn.HTTPClient().Get(strings.Replace(sim.URL(), "://", "://ivr:ivr@", 1) + "/applications/ivr")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		app.Allowed = nil
		return json.NewDecoder(resp.Body).Decode(&app) == nil && len(app.Allowed) > 0
	})
	var types []string
	for _, a := range app.Allowed {
		types = append(types, a.Type)
	}
	if want := []string{"ApplicationReplaced", "StasisEnd", "StasisStart"}; !slices.Equal(types, want) {
		t.Errorf("events_allowed %v, want %v", types, want)
	}
	// Injected frames bypass the simulator's filter, as events sent before
	// the filter was set would.
	sim.InjectEvent("ivr", json.RawMessage(`{"variable":"X","value":"1","type":"ChannelVarset","timestamp":"2026-12-07T08:00:00.000+0000","channel":{"id":"c1"},"application":"ivr"}`))
	sim.InjectEvent("ivr", json.RawMessage(`{"type":"StasisEnd","timestamp":"2026-12-07T08:00:00.000+0000","channel":{"id":"c1"},"application":"ivr"}`))
	select {
	case typ := <-got:
		if typ != "StasisEnd" {
			t.Errorf("handler got %s first", typ)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event reached the handler")
	}
	dropped, handled := 0.0, 0.0
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "ivr_ari_events_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch {
			case labels["type"] == "ChannelVarset" && labels["handled"] == "false":
				dropped += m.GetCounter().GetValue()
			case labels["type"] == "StasisEnd" && labels["handled"] == "true":
				handled += m.GetCounter().GetValue()
			}
		}
	}
	if dropped != 1 || handled != 1 {
		t.Errorf("ivr_ari_events_total: ChannelVarset dropped %v, StasisEnd handled %v; want 1 and 1", dropped, handled)
	}
}
