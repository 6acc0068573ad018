package ivr_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The tests of this file reach the prompts no other test does; with the
// rig's checks, every prompt of the shipped configuration is heard.

// A caller hears the status of their own ticket in each of its states.
func TestStatusOfEveryKind(t *testing.T) {
	r := newRig(t, monday10)
	const from = "3335550000"
	// A call that hangs up in the menu closes its ticket; one that
	// reached a group leaves it new; staff move it on from there.
	for _, k := range []struct {
		st    tickets.Status
		keys  string
		edits []tickets.Status
	}{
		{tickets.StatusNew, "31", nil},
		{tickets.StatusInProgress, "31", []tickets.Status{tickets.StatusInProgress}},
		{tickets.StatusWaiting, "31", []tickets.Status{tickets.StatusInProgress, tickets.StatusWaiting}},
		{tickets.StatusClosed, "", nil},
	} {
		st := k.st
		t.Run(string(st), func(t *testing.T) {
			first := r.call(from)
			r.waitPrompt(first.ID(), "node:root")
			if k.keys != "" {
				press(t, first, k.keys)
				r.waitKind(first.ID(), ivr.EvRoute)
			}
			first.Hangup()
			number := r.outcome(first.ID()).Ticket
			call, _, _ := r.mem.Call(first.ID())
			tk, _, _ := r.mem.Ticket(call.TicketID)
			var err error
			for _, to := range k.edits {
				if tk, err = r.mem.UpdateTicket(context.Background(), tk.ID, tickets.TicketUpdate{Version: tk.Version, Status: &to}, tickets.Actor{}); err != nil {
					t.Fatal(err)
				}
			}
			c := r.call(from)
			r.waitPrompt(c.ID(), "node:root")
			press(t, c, "9"+number+"#")
			if ev := r.waitKind(c.ID(), ivr.EvStatus); ev.Result != string(st) {
				t.Fatalf("status %+v", ev)
			}
			r.waitPrompt(c.ID(), "system:status_"+string(st))
			if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeStatusTold) {
				t.Errorf("outcome %+v", out)
			}
		})
	}
}

// An opening at half past is said "8 e 30".
func TestReopeningAtHalfPast(t *testing.T) {
	data, err := os.ReadFile("../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := menu.Parse("helpdesk.yaml", []byte(strings.ReplaceAll(string(data), `mon-fri: ["08:00-18:00"]`, `mon-fri: ["08:30-18:00"]`)))
	if err != nil {
		t.Fatal(err)
	}
	saturday20 := time.Date(2026, 11, 21, 20, 0, 0, 0, mustLoc("Europe/Rome"))
	r := newRig(t, saturday20, func(o *simdesk.Options) { o.Config = cfg })
	c := r.call("3331234567")
	p := r.waitPrompt(c.ID(), "system:reopens")
	if i := slices.Index(p.Prompt, "sound:"+menu.SystemSoundName("and")); i < 0 || p.Prompt[i-1] != "number:8" || p.Prompt[i+1] != "number:30" {
		t.Errorf("reopening %v, want … number:8, and, number:30", p.Prompt)
	}
	waitHeard(t, c, "sound:"+menu.SystemSoundName("and"))
	c.Hangup()
	r.outcome(c.ID())
}

// A call taken over by another controller hears why the menu starts
// again (after what the first controller had started to play).
func TestTakenOverCallHearsTheApology(t *testing.T) {
	r := newRig(t, monday10)
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	second := newController(t, r)
	second.waitPrompt(c.ID(), "system:technical_problem")
	waitHeard(t, c, "sound:"+menu.SystemSoundName("technical_problem"))
	c.Hangup()
	second.outcome(c.ID())
}

// waitHeard waits until the caller hears media start.
func waitHeard(t *testing.T, c *arisim.Call, media string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-c.Events():
			if ev.Kind == arisim.EventPlaybackStarted && ev.Media == media {
				return
			}
		case <-deadline:
			t.Fatalf("call %s: %s never played", c.ID(), media)
		}
	}
}

// With a recent history the queue announces the estimated wait, to its
// last piece ("minuti").
func TestQueueAnnouncesTheWait(t *testing.T) {
	r := newQueueRig(t, "", nil)
	r.pause("op201", "op202")
	r.sim.SetEndpoint("PJSIP/op201", answerAfter(time.Second))
	first := r.call("3331234567")
	r.waitPrompt(first.ID(), "node:root")
	press(t, first, "12")
	r.waitKind(first.ID(), ivr.EvPosition)
	r.available("op201")
	r.waitKind(first.ID(), ivr.EvAnswered)
	first.Hangup()
	r.outcome(first.ID())
	r.pause("op201")

	c := r.call("3337654321")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	if e := r.waitKind(c.ID(), ivr.EvPosition); e.Seconds <= 0 {
		t.Fatalf("no estimated wait after an answered call: %+v", e)
	}
	waitHeard(t, c, "sound:"+menu.SystemSoundName("minutes"))
	c.Hangup()
	r.outcome(c.ID())
}
