package ivr_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// The same calls against the real ticket store in PostgreSQL: what the
// controller writes must satisfy the store's rules (no digits in PIN
// events, valid transitions, versions) and leave a complete record.
func TestCallsRecordedInPostgreSQL(t *testing.T) {
	pool := pgtest.Pool(t)
	cfg := loadConfig(t)
	store := tickets.New(pool, tickets.Options{Location: cfg.Location()})
	r := newRig(t, monday10, withStore(store))
	ctx := context.Background()
	sys := tickets.Viewer{Kind: tickets.ViewerSystem}

	t.Run("answered", func(t *testing.T) {
		r.sim.SetEndpoint("PJSIP/op801", arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 2 * time.Second})
		c := r.call("0612345678") // Tribunale di Roma (demo), exact number
		r.waitPrompt(c.ID(), "node:root")
		press(t, c, "31")
		r.waitKind(c.ID(), ivr.EvAnswered)
		c.Hangup()
		out := r.outcome(c.ID())
		call, err := store.FindCallByChannel(ctx, c.ID())
		if err != nil {
			t.Fatal(err)
		}
		if call.Outcome != tickets.OutcomeAnswered || call.Operator != "op801" || call.Group != "sicoge" || call.QueuedAt.IsZero() || call.EndedAt.IsZero() {
			t.Errorf("call %+v", call)
		}
		tk, err := store.FindTicketByID(ctx, call.TicketID, sys)
		if err != nil {
			t.Fatal(err)
		}
		if string(tk.Number) != out.Ticket || tk.Status != tickets.StatusInProgress || tk.Assignee != "op801" ||
			tk.Organization != "tribunale-roma-demo" || tk.Caller != "+390612345678" || len(tk.MenuPath) != 2 {
			t.Errorf("ticket %+v", tk)
		}
		events, err := store.CallEvents(ctx, call.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := eventKinds(events); len(got) < 7 || got[0] != tickets.EventEntered || got[len(got)-1] != tickets.EventHangup {
			t.Errorf("timeline %v", got)
		}
		hist, err := store.History(ctx, tk.ID, sys)
		if err != nil || len(hist) == 0 {
			t.Errorf("history %v %v", hist, err)
		}
	})

	t.Run("pin lockout", func(t *testing.T) {
		c := r.call("3335550001")
		r.waitPrompt(c.ID(), "node:root")
		press(t, c, "4")
		for range 3 {
			r.waitPrompt(c.ID(), "system:pin_ask")
			press(t, c, "9876#")
			r.waitFor(c.ID(), "verdict", func(e ivr.Event) bool { return e.Kind == ivr.EvPIN && e.Result == "wrong" })
		}
		r.waitKind(c.ID(), ivr.EvRoute)
		c.Hangup()
		r.outcome(c.ID())
		call, err := store.FindCallByChannel(ctx, c.ID())
		if err != nil {
			t.Fatal(err)
		}
		events, _ := store.CallEvents(ctx, call.ID)
		var refused, locked int
		for _, e := range events {
			switch e.Kind {
			case tickets.EventPINRefused:
				refused++
			case tickets.EventPINLocked:
				locked++
			}
			if strings.Contains(e.Detail+e.Key+e.Label, "9876") {
				t.Errorf("PIN digits stored: %+v", e)
			}
		}
		if refused != 3 || locked != 1 || call.Outcome != tickets.OutcomePINLocked {
			t.Errorf("refused %d, locked %d, outcome %s: %v", refused, locked, call.Outcome, eventKinds(events))
		}
	})

	t.Run("after hours message keeps its recording", func(t *testing.T) {
		// The desk is open now; group lotto6 (Cassazione) has no Saturday,
		// so use a caller that nobody answers instead: the message path.
		c := r.call("3335550002", arisim.CallOptions{SpeakOnRecord: 5 * time.Second})
		r.waitPrompt(c.ID(), "node:root")
		press(t, c, "16")
		r.waitKind(c.ID(), ivr.EvMessage)
		r.outcome(c.ID())
		call, _ := store.FindCallByChannel(ctx, c.ID())
		att, err := store.Attachments(ctx, call.TicketID, sys)
		if err != nil || len(att) != 1 || att[0].Duration < 5*time.Second {
			t.Errorf("attachments %+v %v", att, err)
		}
		tk, _ := store.FindTicketByID(ctx, call.TicketID, sys)
		if tk.Group != "lotto6" || tk.DueAt.IsZero() {
			t.Errorf("ticket %+v", tk)
		}
	})

	t.Run("a known caller's contact", func(t *testing.T) {
		mk := func(org, name, phone string, disabled bool) tickets.Contact {
			c, err := store.CreateContact(ctx, tickets.Contact{Organization: org, Name: name, Role: tickets.ContactUser,
				Phones: []string{phone}, Disabled: disabled})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		anna := mk("tribunale-roma-demo", "Anna", "06 9999 1234", false)
		// Numbers of the Rome prefix: the caller id says Rome, so neither a
		// Milan contact nor a disabled one fills the ticket.
		mk("corte-appello-milano-demo", "Bruno", "+390699995555", false)
		mk("tribunale-roma-demo", "Dario", "+390699996666", true)
		for _, tc := range []struct {
			from string
			want int64
		}{{"0699991234", anna.ID}, {"0699995555", 0}, {"0699996666", 0}} {
			c := r.call(tc.from)
			r.waitKind(c.ID(), ivr.EvTicket)
			c.Hangup()
			r.outcome(c.ID())
			call, err := store.FindCallByChannel(ctx, c.ID())
			if err != nil {
				t.Fatal(err)
			}
			tk, err := store.FindTicketByID(ctx, call.TicketID, sys)
			if err != nil {
				t.Fatal(err)
			}
			if tk.ContactID != tc.want || tk.Organization != "tribunale-roma-demo" {
				t.Errorf("call from %s: ticket of %q, contact %d, want %d", tc.from, tk.Organization, tk.ContactID, tc.want)
			}
		}
	})

	t.Run("status by phone", func(t *testing.T) {
		first := r.call("3335550003")
		r.waitPrompt(first.ID(), "node:root")
		first.Hangup()
		number := r.outcome(first.ID()).Ticket
		c := r.call("3335550003")
		r.waitPrompt(c.ID(), "node:root")
		press(t, c, "9")
		r.waitPrompt(c.ID(), "system:status_ask")
		press(t, c, number+"#")
		if st := r.waitKind(c.ID(), ivr.EvStatus); st.Result != string(tickets.StatusClosed) {
			t.Errorf("status %+v", st)
		}
		r.outcome(c.ID())
	})
}
