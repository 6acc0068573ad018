package api

import (
	"net/url"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// FuzzCallCursor: any text is a cursor or a 400, never a panic, and a
// cursor made here reads back as the call it names.
func FuzzCallCursor(f *testing.F) {
	f.Add("MTc2MzQ1NjAwMDAwMDAwMC40Mg", int64(1763456000000000), int64(42))
	f.Add("", int64(0), int64(0))
	f.Add("!!", int64(-1), int64(1<<62))
	f.Fuzz(func(t *testing.T, s string, us, id int64) {
		if _, _, err := parseCallCursor(s); err != nil && problemOf(err).Status != 400 {
			t.Fatalf("%q: %v", s, err)
		}
		c := tickets.Call{ID: id, StartedAt: time.UnixMicro(us)}
		at, n, err := parseCallCursor(callCursor(c))
		if err != nil || n != id || at.UnixMicro() != us {
			t.Fatalf("cursor of (%d, %d) reads (%v, %d): %v", us, id, at, n, err)
		}
	})
}

// FuzzTicketFilter: any query is a filter within the limits or a 400,
// never a panic; an operator's filter never names another group.
func FuzzTicketFilter(f *testing.F) {
	cfg, err := helpdesk()
	if err != nil {
		f.Fatal(err)
	}
	a := &API{opts: Options{Tickets: tickets.New(nil, tickets.Options{Location: rome}), Config: func() *menu.Config { return cfg }}}
	op := &principal{user: panel.User{Login: "op2", Role: panel.RoleOperator}, groups: []string{"lotto2"}}
	for _, s := range []string{"status=new&status=closed&priority=high&group=lotto2&limit=20", "group=lotto3", "from=2025-11-01&to=ieri",
		"assignee=me&q=stampante+rotta&after=abc", "limit=501", "status=%ff", "org=" + string(make([]byte, 100))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := a.ticketFilter(q, op)
		if err != nil {
			if problemOf(err).Status != 400 {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if flt.Limit < 1 || flt.Limit > maxPageSize || len(flt.Statuses) > len(tickets.Statuses) {
			t.Fatalf("%q: filter %+v", raw, flt)
		}
		for _, g := range flt.Groups {
			if g != "lotto2" {
				t.Fatalf("%q: an operator of lotto2 filters on %q", raw, g)
			}
		}
	})
}
