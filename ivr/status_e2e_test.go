package ivr_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// statusCall asks for a ticket's status by phone: through option 9, or,
// with a PIN, option 8 (a status node asking for a PIN of either role);
// it returns what the caller was told and the prompts of the answer.
func (r *rig) statusCall(from, pin string, n tickets.Number) (result string, answer []string) {
	r.t.Helper()
	c := r.call(from)
	r.waitPrompt(c.ID(), "node:root")
	if pin == "" {
		press(r.t, c, "9")
	} else {
		press(r.t, c, "8")
		r.waitPrompt(c.ID(), "system:pin_ask")
		press(r.t, c, pin+"#")
	}
	r.waitPrompt(c.ID(), "system:status_ask")
	press(r.t, c, string(n)+"#")
	st := r.waitKind(c.ID(), ivr.EvStatus)
	r.outcome(c.ID())
	r.mu.Lock()
	defer r.mu.Unlock()
	after := false
	for _, e := range r.events {
		if e.CallID != c.ID() {
			continue
		}
		if e.Kind == ivr.EvStatus {
			after = true
		}
		if after && e.Kind == ivr.EvPrompt {
			answer = append(answer, e.Prompt...)
		}
	}
	return st.Result, answer
}

// Ticket status by phone respects who calls, end to end on PostgreSQL: a
// generic user (user PIN) hears of the tickets opened from their number or
// with the same PIN, a technical referent of any ticket of their
// Administration, anyone else (caller id alone included) of the tickets
// opened from their number; any other ticket gets the answer a number
// that does not exist gets.
func TestTicketStatusByCallerKind(t *testing.T) {
	pool := pgtest.Pool(t)
	cfg := configWith(t, `    "9":
      label: "Stato di un ticket"
      action: status
`, `    "9":
      label: "Stato di un ticket"
      action: status
    "8":
      label: "Stato di un ticket con PIN"
      action: status
      require_pin: {roles: [referent, user]}
`, "Per conoscere lo stato di un ticket, prema 9.", "Per conoscere lo stato di un ticket, prema 9. Con il PIN, prema 8.",
		"To know the status of a ticket, press 9.", "To know the status of a ticket, press 9. With a PIN, press 8.")
	store := tickets.New(pool, tickets.Options{Location: cfg.Location()})
	const trib = "tribunale-roma-demo"
	seq := 0
	open := func(caller, org string, role tickets.CallerRole) tickets.Number {
		t.Helper()
		seq++
		_, tk, err := store.OpenCall(context.Background(), tickets.NewCall{ChannelID: fmt.Sprintf("status-%d", seq),
			Caller: caller, Organization: org, CallerRole: role, StartedAt: monday10})
		if err != nil {
			t.Fatal(err)
		}
		return tk.Number
	}
	var (
		stranger   = open("+393331110001", "", tickets.CallerUnknown)
		byCallerID = open("+390699990001", trib, tickets.CallerUnknown)
		user       = open("+393331110002", trib, tickets.CallerUser)
		referent   = open("+393331110003", trib, tickets.CallerReferent)
		milan      = open("+390299990001", "corte-appello-milano-demo", tickets.CallerUnknown)
		none       = tickets.NewNumber(monday10, 999) // no such ticket
	)
	type ask struct {
		what, from, pin string
		ticket          tickets.Number
		told            bool
	}
	kinds := []struct {
		kind string
		asks []ask
	}{
		{"unknown caller", []ask{
			{"own ticket", "3331110001", "", stranger, true},
			{"another number's", "3331110001", "", user, false},
			{"an Administration's", "3331110009", "", byCallerID, false},
		}},
		{"caller recognised by caller id alone", []ask{
			{"own number's", "0699990001", "", byCallerID, true},
			{"another office number's", "0699990002", "", byCallerID, false},
			{"the referent's", "0699990002", "", referent, false},
		}},
		{"generic user", []ask{
			{"same PIN identity", "3331110009", "1035", user, true},
			{"own number's", "3331110001", "1035", stranger, true},
			{"the referent's", "3331110009", "1035", referent, false},
			{"the Administration's by caller id", "3331110009", "1035", byCallerID, false},
		}},
		{"technical referent", []ask{
			{"the Administration's", "3331110009", "5035", byCallerID, true},
			{"a user's", "3331110009", "5035", user, true},
			{"another Administration's", "3331110009", "5035", milan, false},
			{"another Administration's, from an office number", "0699990002", "5035", milan, false},
		}},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			// Half the usual speed: a ticket number's keys must not be
			// taken apart by the inter-digit timeout on a busy machine.
			r := newRig(t, monday10, withConfig(cfg), withStore(store), withSpeed(speed/2))
			_, notFound := r.statusCall("3331110001", "", none)
			if !slices.Contains(notFound, "system:status_unknown") {
				t.Fatalf("a number that does not exist: %v", notFound)
			}
			for _, c := range k.asks {
				result, answer := r.statusCall(c.from, c.pin, c.ticket)
				if told := result != "unknown"; told != c.told {
					t.Errorf("%s: told %q, want told %v", c.what, result, c.told)
				}
				if !c.told && !slices.Equal(answer, notFound) {
					t.Errorf("%s: answer %v, not the answer of a number that does not exist (%v)", c.what, answer, notFound)
				}
				if c.told && !slices.Contains(answer, "system:status_new") {
					t.Errorf("%s: answer %s", c.what, strings.Join(answer, " "))
				}
			}
		})
	}
}

func withSpeed(x float64) rigOption {
	return func(o *simdesk.Options) { o.Speed = x }
}
