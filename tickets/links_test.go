package tickets_test

import (
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestLinkTickets: two tickets linked either way are related to each
// other, each history says so; twice is a conflict, a ticket with itself
// invalid, one the viewer cannot see not found; unlinking undoes it.
func TestLinkTickets(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	_, a := open(t, s, tickets.NewCall{Group: "lotto2", Subject: "Stampante piano 1"})
	_, b := open(t, s, tickets.NewCall{Group: "lotto2", Subject: "Stampante piano 2"})
	_, other := open(t, s, tickets.NewCall{Group: "lotto3", Subject: "Altro gruppo"})
	noErr(t, s.LinkTickets(ctx, b.ID, a.ID, everyone, operator))
	for _, x := range [][2]tickets.Ticket{{a, b}, {b, a}} {
		linked := must[[]tickets.Ticket](t)(s.LinkedTickets(ctx, x[0].ID, everyone))
		if len(linked) != 1 || linked[0].ID != x[1].ID {
			t.Fatalf("linked to %s: %+v", x[0].Number, linked)
		}
		h := must[[]tickets.Change](t)(s.History(ctx, x[0].ID, system))
		if len(h) != 1 || h[0].Field != "link" || h[0].New != string(x[1].Number) || h[0].Actor != operator {
			t.Fatalf("history of %s: %+v", x[0].Number, h)
		}
	}
	wantErr(t, s.LinkTickets(ctx, a.ID, b.ID, everyone, operator), fault.ErrConflict)
	wantErr(t, s.LinkTickets(ctx, a.ID, a.ID, everyone, operator), fault.ErrInvalid)
	lotto2 := tickets.Viewer{Kind: tickets.ViewerStaffGroups, Groups: []string{"lotto2"}, Login: "op2"}
	wantErr(t, s.LinkTickets(ctx, a.ID, other.ID, lotto2, operator), fault.ErrNotFound)
	// Linked to a ticket the viewer cannot see: it is not listed to them.
	noErr(t, s.LinkTickets(ctx, a.ID, other.ID, everyone, operator))
	if l := must[[]tickets.Ticket](t)(s.LinkedTickets(ctx, a.ID, lotto2)); len(l) != 1 || l[0].ID != b.ID {
		t.Fatalf("op2 sees %+v", l)
	}
	noErr(t, s.UnlinkTickets(ctx, a.ID, b.ID, everyone, operator))
	wantErr(t, s.UnlinkTickets(ctx, a.ID, b.ID, everyone, operator), fault.ErrNotFound)
	if l := must[[]tickets.Ticket](t)(s.LinkedTickets(ctx, b.ID, everyone)); len(l) != 0 {
		t.Fatalf("after unlinking: %+v", l)
	}
}

// TestMergeTicket: merging moves calls, messages and attachments into the
// ticket that carries on, closes the merged one (which remembers where it
// went and keeps its history), and is found by a search for a moved
// message; merging again, into a merged ticket, or a ticket others were
// merged into, is a conflict.
func TestMergeTicket(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	_, keep := open(t, s, tickets.NewCall{Group: "lotto2", Subject: "PEC non funziona"})
	call, dup := open(t, s, tickets.NewCall{Group: "lotto2", Subject: "PEC bloccata"})
	must[tickets.Article](t)(s.AddArticle(ctx, dup.ID, tickets.Article{Body: "Casella piena da ieri zanzibar"}, operator))
	must[tickets.Attachment](t)(s.AddAttachment(ctx, dup.ID, tickets.Attachment{Name: "m.wav", URI: "ari:recording:m", ContentType: "audio/wav"}, operator))
	dupHistory := len(must[[]tickets.Change](t)(s.History(ctx, dup.ID, system)))

	merged := must[tickets.Ticket](t)(s.MergeTicket(ctx, dup.ID, keep.ID, everyone, operator))
	if merged.Status != tickets.StatusClosed || merged.ClosedAt.IsZero() {
		t.Fatalf("merged ticket %+v", merged)
	}
	if into := must[int64](t)(s.MergedInto(ctx, dup.ID)); into != keep.ID {
		t.Fatalf("merged into %d", into)
	}
	if into := must[int64](t)(s.MergedInto(ctx, keep.ID)); into != 0 {
		t.Fatalf("the kept one merged into %d", into)
	}
	calls := must[[]tickets.Call](t)(s.CallsOfTicket(ctx, keep.ID, system))
	arts := must[[]tickets.Article](t)(s.Articles(ctx, keep.ID, system))
	atts := must[[]tickets.Attachment](t)(s.Attachments(ctx, keep.ID, system))
	if len(calls) != 2 || len(arts) != 1 || len(atts) != 1 || !containsCall(calls, call.ID) {
		t.Fatalf("kept ticket: %d calls, %d articles, %d attachments", len(calls), len(arts), len(atts))
	}
	h := must[[]tickets.Change](t)(s.History(ctx, dup.ID, system))
	if len(h) != dupHistory+3 || h[dupHistory].Field != "merged_into" || h[dupHistory].New != string(keep.Number) {
		t.Fatalf("merged ticket's history %+v", h)
	}
	kh := must[[]tickets.Change](t)(s.History(ctx, keep.ID, system))
	if last := kh[len(kh)-1]; last.Field != "merged_from" || last.New != string(dup.Number) || last.Actor != operator {
		t.Fatalf("kept ticket's history %+v", kh)
	}
	found := must[tickets.TicketPage](t)(s.FindTickets(ctx, tickets.TicketFilter{Text: "zanzibar"}, system))
	if len(found.Tickets) != 1 || found.Tickets[0].ID != keep.ID {
		t.Fatalf("search for a moved message finds %+v", found.Tickets)
	}

	_, third := open(t, s, tickets.NewCall{Group: "lotto2", Subject: "PEC ancora"})
	_, err := s.MergeTicket(ctx, dup.ID, third.ID, everyone, operator)
	wantErr(t, err, fault.ErrConflict) // merged already
	_, err = s.MergeTicket(ctx, third.ID, dup.ID, everyone, operator)
	wantErr(t, err, fault.ErrConflict) // into a merged ticket
	_, err = s.MergeTicket(ctx, keep.ID, third.ID, everyone, operator)
	wantErr(t, err, fault.ErrConflict) // others were merged into it
	_, err = s.MergeTicket(ctx, third.ID, third.ID, everyone, operator)
	wantErr(t, err, fault.ErrInvalid)
	lotto3 := tickets.Viewer{Kind: tickets.ViewerStaffGroups, Groups: []string{"lotto3"}, Login: "op3"}
	_, err = s.MergeTicket(ctx, third.ID, keep.ID, lotto3, operator)
	wantErr(t, err, fault.ErrNotFound)
}

func containsCall(list []tickets.Call, id int64) bool {
	for _, c := range list {
		if c.ID == id {
			return true
		}
	}
	return false
}
