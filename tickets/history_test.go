package tickets_test

import (
	"errors"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// A step that changes no field (a supervisor on the ticket's call) goes
// into the history with who and when; an unknown ticket or no actor is
// refused.
func TestNoteHistory(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	_, tk := open(t, s, tickets.NewCall{Group: "lotto2"})
	clk.Advance(time.Minute)
	sup := tickets.Actor{Kind: tickets.ActorSupervisor, ID: "capo"}
	noErr(t, s.NoteHistory(ctx, tk.ID, sup, "supervision", "listen"))
	hist := must[[]tickets.Change](t)(s.History(ctx, tk.ID, everyone))
	if len(hist) != 1 || hist[0].Actor != sup || hist[0].Field != "supervision" || hist[0].New != "listen" || hist[0].Old != "" ||
		!hist[0].At.Equal(clk.Now()) {
		t.Fatalf("history %+v", hist)
	}
	if err := s.NoteHistory(ctx, tk.ID+1000, sup, "supervision", "listen"); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("unknown ticket: %v", err)
	}
	if err := s.NoteHistory(ctx, tk.ID, tickets.Actor{}, "supervision", "listen"); !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("no actor: %v", err)
	}
}
