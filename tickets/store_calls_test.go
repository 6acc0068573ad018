package tickets_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestCallWritesWithEvents: the answer time and first events given to
// OpenCall, and the events given with UpdateCall and FinishCall, land in
// the record and its timeline, in order, exactly as the separate calls
// would write them; a refused event writes nothing, and a missing call is
// not found.
func TestCallWritesWithEvents(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, t0)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second).In(rome) }
	c, tk := open(t, s, tickets.NewCall{Caller: "+390574000001", StartedAt: at(0), AnsweredAt: at(1),
		Events: []tickets.CallEvent{{At: at(0), Kind: tickets.EventEntered, Detail: "800749049"}, {Kind: tickets.EventHoursCheck, Detail: "open"}}})
	if !c.AnsweredAt.Equal(at(1)) || c.TicketID != tk.ID {
		t.Fatalf("opened %+v", c)
	}
	clk.Set(at(10))
	noErr(t, s.UpdateCall(ctx, c.ID, tickets.CallUpdate{QueuedAt: ptr(at(10)), Group: ptr("lotto3"),
		Events: []tickets.CallEvent{{At: at(9), Kind: tickets.EventMenuSelection, Node: "main", Key: "3", Label: "Lotto 3"}}}))
	noErr(t, s.UpdateCall(ctx, c.ID, tickets.CallUpdate{OperatorAnsweredAt: ptr(at(15)), Operator: ptr("b17"),
		Events: []tickets.CallEvent{{At: at(12), Kind: tickets.EventOffered, Group: "lotto3", Operator: "b17"},
			{At: at(15), Kind: tickets.EventAnswered, Group: "lotto3", Operator: "b17"}}}))
	end := tickets.CallEnd{EndedAt: at(200), Outcome: tickets.OutcomeAnswered, HangupBy: tickets.HangupOperator,
		Events: []tickets.CallEvent{{At: at(200), Kind: tickets.EventHangup, Detail: "by operator"}}}
	noErr(t, s.FinishCall(ctx, c.ID, end))

	want := c
	want.QueuedAt, want.OperatorAnsweredAt, want.EndedAt = at(10), at(15), at(200)
	want.Group, want.Operator, want.Outcome, want.HangupBy = "lotto3", "b17", tickets.OutcomeAnswered, tickets.HangupOperator
	equal(t, "call", must[tickets.Call](t)(s.FindCallByID(ctx, c.ID)), want)
	timeline := []tickets.CallEvent{
		{At: at(0), Kind: tickets.EventEntered, Detail: "800749049"},
		{At: at(0), Kind: tickets.EventHoursCheck, Detail: "open"}, // no time: the store's now at the opening
		{At: at(9), Kind: tickets.EventMenuSelection, Node: "main", Key: "3", Label: "Lotto 3"},
		{At: at(12), Kind: tickets.EventOffered, Group: "lotto3", Operator: "b17"},
		{At: at(15), Kind: tickets.EventAnswered, Group: "lotto3", Operator: "b17"},
		{At: at(200), Kind: tickets.EventHangup, Detail: "by operator"},
	}
	equal(t, "timeline", must[[]tickets.CallEvent](t)(s.CallEvents(ctx, c.ID)), timeline)

	// A second finish keeps the first end but still records its events,
	// as AppendCallEvents then FinishCall did.
	late := tickets.CallEvent{At: at(300), Kind: tickets.EventTransferred, Detail: "late"}
	noErr(t, s.FinishCall(ctx, c.ID, tickets.CallEnd{EndedAt: at(300), Outcome: tickets.OutcomeFailed, Events: []tickets.CallEvent{late}}))
	equal(t, "finished twice", must[tickets.Call](t)(s.FindCallByID(ctx, c.ID)), want)
	equal(t, "timeline after a second finish", must[[]tickets.CallEvent](t)(s.CallEvents(ctx, c.ID)), append(timeline, late))

	// A refused event refuses the whole write.
	pin := []tickets.CallEvent{{Kind: tickets.EventPINRefused, Detail: "typed 1234"}}
	_, _, err := s.OpenCall(ctx, tickets.NewCall{ChannelID: "refused.1", Events: pin})
	wantErr(t, err, fault.ErrInvalid)
	_, err = s.FindCallByChannel(ctx, "refused.1")
	wantErr(t, err, fault.ErrNotFound)
	wantErr(t, s.UpdateCall(ctx, c.ID, tickets.CallUpdate{Group: ptr("other"), Events: pin}), fault.ErrInvalid)
	c2, _ := open(t, s, tickets.NewCall{})
	wantErr(t, s.FinishCall(ctx, c2.ID, tickets.CallEnd{Outcome: tickets.OutcomeAbandoned, Events: pin}), fault.ErrInvalid)
	equal(t, "call after refused writes", must[tickets.Call](t)(s.FindCallByID(ctx, c.ID)), want)
	equal(t, "unfinished after a refused finish", must[tickets.Call](t)(s.FindCallByID(ctx, c2.ID)).EndedAt, time.Time{})

	hangup := []tickets.CallEvent{{Kind: tickets.EventHangup}}
	wantErr(t, s.UpdateCall(ctx, 777777, tickets.CallUpdate{Group: ptr("x"), Events: hangup}), fault.ErrNotFound)
	wantErr(t, s.FinishCall(ctx, 777777, tickets.CallEnd{Outcome: tickets.OutcomeAbandoned, Events: hangup}), fault.ErrNotFound)
}

// TestCallRecordShapesAgree: BenchmarkCallRecord's two ways of writing a
// call leave the same call record, timeline and ticket.
func TestCallRecordShapesAgree(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	s := tickets.New(pool, tickets.Options{Location: rome})
	at := t0.Add(time.Hour)
	var calls [2]tickets.Call
	var timelines [2][]tickets.CallEvent
	var tks [2]tickets.Ticket
	for i, write := range []func(testing.TB, *tickets.Store, string, time.Time) int64{recordCall, recordCallMerged} {
		id := write(t, s, fmt.Sprintf("shape.%d", i), at)
		calls[i] = must[tickets.Call](t)(s.FindCallByID(ctx, id))
		timelines[i] = must[[]tickets.CallEvent](t)(s.CallEvents(ctx, id))
		tks[i] = must[tickets.Ticket](t)(s.FindTicketByID(ctx, calls[i].TicketID, system))
		calls[i].ID, calls[i].ChannelID, calls[i].TicketID = 0, "", 0
		tks[i].ID, tks[i].Number, tks[i].CreatedAt, tks[i].UpdatedAt = 0, "", time.Time{}, time.Time{}
	}
	if calls[0].AnsweredAt.IsZero() || len(timelines[0]) != 8 || tks[0].Assignee != "b17" {
		t.Fatalf("the separate writes left %+v, %d events, %+v", calls[0], len(timelines[0]), tks[0])
	}
	equal(t, "calls", calls[1], calls[0])
	equal(t, "timelines", timelines[1], timelines[0])
	equal(t, "tickets", tks[1], tks[0])
}

// TestUpdateCallTicket: the call's and the ticket's updates of one step
// land together, with the history and the events; a stale ticket version
// is a conflict that still updates the call; with a Hook that wants the
// update, it runs in the transaction and its failure leaves the ticket as
// it was, the call updated.
func TestUpdateCallTicket(t *testing.T) {
	t.Parallel()
	for _, withHook := range []bool{false, true} {
		t.Run(fmt.Sprintf("hook %v", withHook), func(t *testing.T) {
			hookErr := error(nil)
			var seen []tickets.TicketEvent // updates
			pool := pgtest.Pool(t)
			clk := newClock(t0)
			opts := tickets.Options{Location: rome, Now: clk.Now}
			if withHook {
				opts.Hook = func(_ context.Context, _ pgx.Tx, ev tickets.TicketEvent) error {
					if ev.Kind == tickets.TicketUpdated {
						seen = append(seen, ev)
					}
					return hookErr
				}
			}
			s := tickets.New(pool, opts)
			at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second).In(rome) }
			c, tk := open(t, s, tickets.NewCall{StartedAt: at(0)})
			group, login, progress := "lotto3", "b17", tickets.StatusInProgress
			clk.Set(at(10))
			tk2, err := s.UpdateCallTicket(ctx, c.ID, tickets.CallUpdate{QueuedAt: ptr(at(10)), Group: &group,
				Events: []tickets.CallEvent{{At: at(9), Kind: tickets.EventMenuSelection, Node: "main", Key: "3"}}},
				tk.ID, tickets.TicketUpdate{Version: tk.Version, Group: &group, Subject: ptr("Lotto 3")}, sysActor)
			noErr(t, err)
			if tk2.Group != group || tk2.Subject != "Lotto 3" || tk2.Version != tk.Version+1 {
				t.Fatalf("ticket %+v", tk2)
			}
			equal(t, "ticket read back", must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, system)), tk2)
			got := must[tickets.Call](t)(s.FindCallByID(ctx, c.ID))
			if !got.QueuedAt.Equal(at(10)) || got.Group != group {
				t.Fatalf("call %+v", got)
			}
			equal(t, "events", len(must[[]tickets.CallEvent](t)(s.CallEvents(ctx, c.ID))), 1)
			equal(t, "history", len(must[[]tickets.Change](t)(s.History(ctx, tk.ID, everyone))), 2)

			// A stale version: the ticket stays, the call moves on.
			_, err = s.UpdateCallTicket(ctx, c.ID, tickets.CallUpdate{OperatorAnsweredAt: ptr(at(20)), Operator: &login},
				tk.ID, tickets.TicketUpdate{Version: tk.Version, Assignee: &login}, sysActor)
			wantErr(t, err, fault.ErrConflict)
			equal(t, "ticket after a conflict", must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, system)), tk2)
			equal(t, "operator after a conflict", must[tickets.Call](t)(s.FindCallByID(ctx, c.ID)).Operator, login)

			// Nothing to change in the ticket: the call's update alone.
			clk.Set(at(30))
			tk3, err := s.UpdateCallTicket(ctx, c.ID, tickets.CallUpdate{Events: []tickets.CallEvent{{Kind: tickets.EventHangup}}},
				tk.ID, tickets.TicketUpdate{Version: tk2.Version, Group: &group}, sysActor)
			noErr(t, err)
			equal(t, "unchanged ticket", tk3, tk2)
			equal(t, "events", len(must[[]tickets.CallEvent](t)(s.CallEvents(ctx, c.ID))), 2)

			if withHook {
				if len(seen) != 1 || seen[0].Ticket.Subject != "Lotto 3" {
					t.Fatalf("hook saw %+v", seen)
				}
				hookErr = errors.New("hook refused")
				_, err = s.UpdateCallTicket(ctx, c.ID, tickets.CallUpdate{Operator: ptr("b18")},
					tk.ID, tickets.TicketUpdate{Version: tk2.Version, Status: &progress}, sysActor)
				if err == nil {
					t.Fatal("no error from a refusing hook")
				}
				equal(t, "ticket after a refusing hook", must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, system)), tk2)
				equal(t, "operator after a refusing hook", must[tickets.Call](t)(s.FindCallByID(ctx, c.ID)).Operator, "b18")
			}
			wantErr(t, s.UpdateCall(ctx, c.ID, tickets.CallUpdate{Events: []tickets.CallEvent{{Kind: tickets.EventPINRefused, Detail: "1234"}}}),
				fault.ErrInvalid)
			_, err = s.UpdateCallTicket(ctx, 777777, tickets.CallUpdate{Group: &group}, tk.ID,
				tickets.TicketUpdate{Version: tk2.Version, Status: &progress}, sysActor)
			wantErr(t, err, fault.ErrNotFound)
		})
	}
}

// TestTicketLanguage: the caller's language known at the start opens the
// ticket with it; one chosen later in the language menu is set without a
// new version or history line, so an operator's open form stays valid.
func TestTicketLanguage(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	_, en := open(t, s, tickets.NewCall{Caller: "+442071234567", Language: "en"})
	if got := must[tickets.Ticket](t)(s.FindTicketByID(ctx, en.ID, system)); got.Language != "en" || en.Language != "en" {
		t.Fatalf("opened in %q, read back in %q", en.Language, got.Language)
	}
	_, tk := open(t, s, tickets.NewCall{Caller: "+390612345678"})
	if tk.Language != "" {
		t.Fatalf("no language given, got %q", tk.Language)
	}
	noErr(t, s.SetTicketLanguage(ctx, tk.ID, "en"))
	got := must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, system))
	if got.Language != "en" || got.Version != tk.Version {
		t.Fatalf("after the choice: language %q, version %d (was %d)", got.Language, got.Version, tk.Version)
	}
	if h := must[[]tickets.Change](t)(s.History(ctx, tk.ID, system)); len(h) != 0 {
		t.Fatalf("history %+v", h)
	}
}
