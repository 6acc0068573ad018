package tickets_test

import (
	"fmt"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// What each caller-side viewer may hear about by phone, as the store's
// queries decide and as Viewer.Sees (the stores in memory) decides: the
// two must agree on every ticket.
func TestCallerViewers(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	open := func(caller, org string, role tickets.CallerRole) tickets.Ticket {
		t.Helper()
		_, tk, err := s.OpenCall(ctx, tickets.NewCall{ChannelID: fmt.Sprintf("vis-%d", channels.Add(1)), Caller: caller,
			Organization: org, CallerRole: role})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	const trib, milan = "tribunale-roma", "corte-milano"
	all := map[string]tickets.Ticket{
		"unknown caller":         open("+393331110001", "", tickets.CallerUnknown),
		"tribunale by caller id": open("+390699990001", trib, tickets.CallerUnknown),
		"tribunale user":         open("+393331110002", trib, tickets.CallerUser),
		"tribunale user, office": open("+390699990002", trib, tickets.CallerUser),
		"tribunale referent":     open("+393331110003", trib, tickets.CallerReferent),
		"milan user":             open("+393331110004", milan, tickets.CallerUser),
		"withheld":               open("", "", tickets.CallerUnknown),
	}
	cases := []struct {
		name string
		v    tickets.Viewer
		sees []string
	}{
		{"unknown caller: that number's", tickets.Viewer{Kind: tickets.ViewerCallerOwn, Caller: "+393331110001"}, []string{"unknown caller"}},
		{"withheld: nothing", tickets.Viewer{Kind: tickets.ViewerCallerOwn}, nil},
		{"tribunale user PIN on a new number: the user PIN's", tickets.Viewer{Kind: tickets.ViewerCallerUser, Organization: trib, Caller: "+393339999999"},
			[]string{"tribunale user", "tribunale user, office"}},
		{"tribunale user PIN on the referent's number: the number's too", tickets.Viewer{Kind: tickets.ViewerCallerUser, Organization: trib, Caller: "+393331110003"},
			[]string{"tribunale user", "tribunale user, office", "tribunale referent"}},
		{"user PIN, withheld number", tickets.Viewer{Kind: tickets.ViewerCallerUser, Organization: trib}, []string{"tribunale user", "tribunale user, office"}},
		{"user viewer without identity: nothing", tickets.Viewer{Kind: tickets.ViewerCallerUser}, nil},
		{"tribunale referent: the Administration's", tickets.Viewer{Kind: tickets.ViewerCallerOrg, Organization: trib, Caller: "+393331110003"},
			[]string{"tribunale by caller id", "tribunale user", "tribunale user, office", "tribunale referent"}},
	}
	for _, c := range cases {
		want := map[string]bool{}
		for _, n := range c.sees {
			want[n] = true
		}
		for name, tk := range all {
			_, err := s.FindTicketByNumber(ctx, tk.Number, c.v)
			stored := err == nil
			if err != nil {
				wantErr(t, err, fault.ErrNotFound)
			}
			if stored != want[name] || c.v.Sees(tk) != want[name] {
				t.Errorf("%s, ticket %q: store %v, Sees %v, want %v", c.name, name, stored, c.v.Sees(tk), want[name])
			}
		}
		page := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{}, c.v))
		if len(page.Tickets) != len(c.sees) {
			t.Errorf("%s: list of %d tickets, want %d", c.name, len(page.Tickets), len(c.sees))
		}
	}
	if !(tickets.Viewer{Kind: tickets.ViewerCallerUser}).CallerSide() {
		t.Error("a caller viewer is not caller side")
	}
}
