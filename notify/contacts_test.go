package notify_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// referentDir is dir with the configuration's notify_referents.
type referentDir struct {
	directory
	referents map[string]bool
}

func (d referentDir) NotifyReferents(org string) bool { return d.referents[org] }

// TestContactsMailed: the opening and closing mails of a ticket go to its
// contact (found by the caller's number) besides the Administration's
// addresses, and to its referent contacts where notify_referents says so;
// an Administration without addresses still mails the contact, through
// the store's second look at a call whose contact it found; a public
// message goes to the contact when no mail came from the caller.
func TestContactsMailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	n, err := notify.NewNotifier(e.cfg, referentDir{dir, map[string]bool{"giustizia": true}}, rome, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The Hook only for what WantsCreated says, as ivrd wires it.
	store := tickets.New(e.pool, tickets.Options{Location: rome, Now: e.clk.Now, Hook: n.Hook,
		HookOnCreate: n.WantsCreated, HookOnUpdate: n.WantsUpdated, HookOnMessage: n.WantsMessage})
	mk := func(c tickets.Contact) tickets.Contact {
		c, err := store.CreateContact(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mk(tickets.Contact{Organization: "giustizia", Name: "Anna", Role: tickets.ContactUser, Email: "anna@tribunale.it", Phones: []string{"+390611111111"}})
	mk(tickets.Contact{Organization: "giustizia", Name: "Capo CED", Role: tickets.ContactReferent, Email: "capo.ced@giustizia.it"})
	mk(tickets.Contact{Organization: "giustizia", Name: "Old", Role: tickets.ContactReferent, Email: "old@giustizia.it", Disabled: true})
	mk(tickets.Contact{Organization: "giustizia", Name: "CED", Role: tickets.ContactReferent, Email: "CED@giustizia.it"}) // already an address
	mk(tickets.Contact{Organization: "asl", Name: "Ref ASL", Role: tickets.ContactReferent, Email: "ref@asl.it"})
	mk(tickets.Contact{Organization: "silent", Name: "Bruno", Role: tickets.ContactUser, Email: "bruno@silent.it", Language: "en", Phones: []string{"+390622222222"}})
	s := e.sender(t, nil)
	open := func(nc tickets.NewCall) tickets.Ticket {
		nc.ChannelID = "c." + nc.Caller + nc.Organization
		_, tk, err := store.OpenCall(ctx, nc)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	last := func() []string {
		msgs := e.server.messages()
		to := slices.Clone(msgs[len(msgs)-1].To)
		slices.Sort(to)
		return to
	}

	tk := open(tickets.NewCall{Caller: "+390611111111", Organization: "giustizia", Subject: "PEC"})
	sendAll(t, s, 1)
	want := []string{"anna@tribunale.it", "capo.ced@giustizia.it", "ced@giustizia.it", "referente@giustizia.it"}
	equal(t, "opening", last(), want)
	tk, err = store.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Status: ptr(tickets.StatusClosed)}, operator)
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, s, 1)
	equal(t, "closing", last(), want)

	// No addresses, no referents: a caller unknown to the directory
	// makes no mail, a known one gets theirs.
	open(tickets.NewCall{Caller: "+390633333333", Organization: "silent"})
	sendAll(t, s, 0)
	bt := open(tickets.NewCall{Caller: "+390622222222", Organization: "silent", Subject: "Login"})
	if bt.ContactID == 0 {
		t.Fatal("no contact")
	}
	sendAll(t, s, 1)
	equal(t, "contact only", last(), []string{"bruno@silent.it"})

	// A public message: no mail came from Bruno, so to his address, in
	// his language.
	e.clk.Advance(time.Minute)
	if _, err := store.AddArticle(ctx, bt.ID, tickets.Article{Body: "Fixed."}, operator); err != nil {
		t.Fatal(err)
	}
	sendAll(t, s, 1)
	equal(t, "reply", last(), []string{"bruno@silent.it"})
	if m := e.server.messages(); !strings.Contains(m[len(m)-1].Body, "Request "+string(bt.Number)) {
		t.Errorf("reply not in English:\n%s", m[len(m)-1].Body)
	}
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}
