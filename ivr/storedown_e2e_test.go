package ivr_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// downStore is a ticket store that is down while down is set.
type downStore struct {
	tickets.CallRecorder
	down atomic.Bool
}

var errDown = errors.New("database down")

func (d *downStore) OpenCall(ctx context.Context, nc tickets.NewCall) (tickets.Call, tickets.Ticket, error) {
	if d.down.Load() {
		return tickets.Call{}, tickets.Ticket{}, errDown
	}
	return d.CallRecorder.OpenCall(ctx, nc)
}

func (d *downStore) AppendCallEvents(ctx context.Context, id int64, evs ...tickets.CallEvent) error {
	if d.down.Load() {
		return errDown
	}
	return d.CallRecorder.AppendCallEvents(ctx, id, evs...)
}

func (d *downStore) UpdateCall(ctx context.Context, id int64, u tickets.CallUpdate) error {
	if d.down.Load() {
		return errDown
	}
	return d.CallRecorder.UpdateCall(ctx, id, u)
}

func (d *downStore) FinishCall(ctx context.Context, id int64, e tickets.CallEnd) error {
	if d.down.Load() {
		return errDown
	}
	return d.CallRecorder.FinishCall(ctx, id, e)
}

func (d *downStore) FindCallByChannel(ctx context.Context, ch string) (tickets.Call, error) {
	if d.down.Load() {
		return tickets.Call{}, errDown
	}
	return d.CallRecorder.FindCallByChannel(ctx, ch)
}

func (d *downStore) FindTicketByID(ctx context.Context, id int64, v tickets.Viewer) (tickets.Ticket, error) {
	if d.down.Load() {
		return tickets.Ticket{}, errDown
	}
	return d.CallRecorder.FindTicketByID(ctx, id, v)
}

func (d *downStore) UpdateTicket(ctx context.Context, id int64, u tickets.TicketUpdate, a tickets.Actor) (tickets.Ticket, error) {
	if d.down.Load() {
		return tickets.Ticket{}, errDown
	}
	return d.CallRecorder.UpdateTicket(ctx, id, u, a)
}

func (d *downStore) AddAttachment(ctx context.Context, id int64, a tickets.Attachment, actor tickets.Actor) (tickets.Attachment, error) {
	if d.down.Load() {
		return tickets.Attachment{}, errDown
	}
	return d.CallRecorder.AddAttachment(ctx, id, a, actor)
}

// storeDownRig is a help desk whose store is down until back is called;
// what the calls could not write waits in a spool retrying quickly.
func storeDownRig(t *testing.T, at time.Time) (*rig, *downStore, *ivr.Spool) {
	t.Helper()
	mem := ivr.NewMemoryRecorder(mustLoc("Europe/Rome"))
	store := &downStore{CallRecorder: mem}
	store.down.Store(true)
	spool, err := ivr.NewSpool(store, ivr.SpoolOptions{Dir: t.TempDir(), RetryEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, at, withStore(store), withSpool(spool))
	r.mem = mem
	return r, store, spool
}

func withSpool(sp *ivr.Spool) rigOption {
	return func(o *simdesk.Options) { o.Spool = sp }
}

func waitSpooled(t *testing.T, sp *ivr.Spool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := sp.Wait(ctx); err != nil {
		t.Fatalf("the spool still holds %d calls", sp.Len())
	}
}

// A caller who reaches a group while the store is down is routed without
// hearing a ticket number ("… il numero del suo ticket è" and nothing);
// the whole record is written once the store is back.
func TestStoreDownRoutedCallIsRecordedLater(t *testing.T) {
	r, store, spool := storeDownRig(t, monday10)
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "31")
	if ev := r.waitKind(c.ID(), ivr.EvRoute); ev.Group != "sicoge" {
		t.Fatalf("route %+v", ev)
	}
	r.waitPrompt(c.ID(), "system:transfer_no_ticket")
	waitHeard(t, c, "sound:helpdesk/system-transfer_no_ticket")
	c.Hangup()
	out := r.outcome(c.ID())
	if out.Ticket != "" {
		t.Errorf("a ticket number while the store was down: %+v", out)
	}
	for _, e := range r.eventsOf(c.ID()) {
		if e.Kind == ivr.EvPrompt && slices.Contains(e.Prompt, "system:transfer") {
			t.Errorf("the caller heard the ticket sentence with no number: %v", e.Prompt)
		}
	}
	if spool.Len() != 1 {
		t.Fatalf("spool holds %d calls, want 1", spool.Len())
	}
	store.down.Store(false)
	waitSpooled(t, spool)
	call, events, ok := r.mem.Call(c.ID())
	if !ok || call.Outcome != tickets.OutcomeAbandoned || call.EndedAt.IsZero() || call.Group != "sicoge" || call.QueuedAt.IsZero() {
		t.Fatalf("call record %+v", call)
	}
	if got := eventKinds(events); len(got) < 3 || got[0] != tickets.EventEntered || got[len(got)-1] != tickets.EventHangup {
		t.Errorf("timeline %v", got)
	}
	tk, _, _ := r.mem.Ticket(call.TicketID)
	if tk.Group != "sicoge" || len(tk.MenuPath) != 2 || tk.Status != tickets.StatusNew {
		t.Errorf("ticket %+v", tk)
	}
}

// An after-hours request left while the store is down keeps its
// recording and becomes a request due at the opening once it is back.
func TestStoreDownAfterHoursRequestIsKept(t *testing.T) {
	saturday20 := time.Date(2026, 11, 21, 20, 0, 0, 0, mustLoc("Europe/Rome"))
	r, store, spool := storeDownRig(t, saturday20)
	c := r.call("3331234567", arisim.CallOptions{SpeakOnRecord: 5 * time.Second})
	r.waitPrompt(c.ID(), "system:record_offer")
	press(t, c, "1")
	r.waitKind(c.ID(), ivr.EvMessage)
	p := r.waitPrompt(c.ID(), "system:record_saved_no_ticket")
	if !slices.Contains(p.Prompt, "sound:helpdesk/system-next_working_day") {
		t.Errorf("acknowledgement %v", p.Prompt)
	}
	if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeAfterHoursMessage) {
		t.Fatalf("outcome %+v", out)
	}
	store.down.Store(false)
	waitSpooled(t, spool)
	call, _, ok := r.mem.Call(c.ID())
	if !ok || call.Outcome != tickets.OutcomeAfterHoursMessage {
		t.Fatalf("call record %+v", call)
	}
	tk, att, _ := r.mem.Ticket(call.TicketID)
	wantDue := time.Date(2026, 11, 23, 8, 0, 0, 0, mustLoc("Europe/Rome"))
	if tk.Source != tickets.SourceAfterHours || !tk.DueAt.Equal(wantDue) || tk.Status != tickets.StatusNew || tk.Group == "" {
		t.Errorf("ticket %+v, want an after-hours request of a group due %v", tk, wantDue)
	}
	if len(att) != 1 || att[0].Duration < 5*time.Second {
		t.Errorf("attachments %+v", att)
	}
}

// The spool keeps its calls across a restart (a new spool on the same
// directory writes what the old one could not).
func TestSpoolSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	mem := ivr.NewMemoryRecorder(mustLoc("Europe/Rome"))
	store := &downStore{CallRecorder: mem}
	store.down.Store(true)
	first, err := ivr.NewSpool(store, ivr.SpoolOptions{Dir: dir, RetryEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	group := "lotto2"
	end := tickets.CallEnd{EndedAt: monday10.Add(time.Minute), Outcome: tickets.OutcomeAbandoned, HangupBy: tickets.HangupCaller}
	first.Put(ivr.PendingCall{Channel: "1795320990.1",
		New:    &tickets.NewCall{ChannelID: "1795320990.1", Caller: "+393331234567", StartedAt: monday10, Source: tickets.SourcePhone, Priority: tickets.PriorityMedium},
		Ticket: &tickets.TicketUpdate{Group: &group}, Events: []tickets.CallEvent{{At: monday10, Kind: tickets.EventEntered}},
		End: &end})
	first.Close() // the process stops with the store still down
	store.down.Store(false)
	second, err := ivr.NewSpool(store, ivr.SpoolOptions{Dir: dir, RetryEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitSpooled(t, second)
	call, events, ok := mem.Call("1795320990.1")
	if !ok || call.Outcome != tickets.OutcomeAbandoned || len(events) != 1 {
		t.Fatalf("call %+v events %v", call, events)
	}
	if tk, _, _ := mem.Ticket(call.TicketID); tk.Group != "lotto2" {
		t.Errorf("ticket %+v", tk)
	}
}

// queuesDown is the queue service while its database is down.
type queuesDown struct{ ivr.Queues }

func (queuesDown) Enqueue(context.Context, queues.Entry) (queues.Enqueued, error) {
	return queues.Enqueued{}, errDown
}

// With the queues' database down a routed caller still reaches an
// operator: the group's phones ring all at once (seen on a real
// Asterisk before: the caller was hung up after 25 s).
func TestQueuesDownRingTheGroup(t *testing.T) {
	r := newQueueRig(t, "", nil, func(o *simdesk.Options) { o.Queues = queuesDown{o.Queues} })
	r.sim.SetEndpoint("PJSIP/op201", answerAfter(2*time.Second))
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "12")
	if ev := r.waitKind(c.ID(), ivr.EvAnswered); ev.Operator != "op201" || ev.Group != "lotto2" {
		t.Fatalf("answered %+v\n%s", ev, r.transcript(c.ID()))
	}
	c.Hangup()
	if out := r.outcome(c.ID()); out.Outcome != string(tickets.OutcomeAnswered) || out.Group != "lotto2" {
		t.Errorf("outcome %+v", out)
	}
}

// The store fails in the middle of a call: what the call could not write
// then is written at its end if the store is back, or spooled if not.
func TestStoreDownMidCall(t *testing.T) {
	for _, backBeforeEnd := range []bool{true, false} {
		name := "back before the end"
		if !backBeforeEnd {
			name = "still down at the end"
		}
		t.Run(name, func(t *testing.T) {
			r, store, spool := storeDownRig(t, monday10)
			store.down.Store(false)
			c := r.call("3331234567")
			r.waitKind(c.ID(), ivr.EvTicket)
			r.waitPrompt(c.ID(), "node:root")
			store.down.Store(true)
			press(t, c, "31")
			if ev := r.waitKind(c.ID(), ivr.EvRoute); ev.Group != "sicoge" {
				t.Fatalf("route %+v", ev)
			}
			r.waitPrompt(c.ID(), "system:transfer")
			if backBeforeEnd {
				store.down.Store(false)
			}
			c.Hangup()
			r.outcome(c.ID())
			store.down.Store(false)
			waitSpooled(t, spool)
			call, _, ok := r.mem.Call(c.ID())
			if !ok || call.EndedAt.IsZero() || call.Outcome != tickets.OutcomeAbandoned || call.Group != "sicoge" {
				t.Fatalf("call record %+v", call)
			}
			if tk, _, _ := r.mem.Ticket(call.TicketID); tk.Group != "sicoge" || len(tk.MenuPath) != 2 {
				t.Errorf("ticket %+v", tk)
			}
		})
	}
}

func (d *downStore) SaveSurvey(ctx context.Context, sv tickets.Survey) error {
	if d.down.Load() {
		return errDown
	}
	return d.CallRecorder.(interface {
		SaveSurvey(context.Context, tickets.Survey) error
	}).SaveSurvey(ctx, sv)
}

// A survey given while the store is down (down since the call came: no
// record yet) is written with the record once the store is back.
func TestStoreDownSurveyIsKept(t *testing.T) {
	r, store, spool := storeDownRig(t, monday10)
	r.sim.SetEndpoint("PJSIP/op601", operatorEnds(3*time.Second))
	c := r.call("3331234567")
	r.waitPrompt(c.ID(), "node:root")
	press(t, c, "16")
	r.waitPrompt(c.ID(), "system:survey_ask")
	press(t, c, "4")
	r.waitPrompt(c.ID(), "system:survey_comment")
	c.Hangup()
	r.outcome(c.ID())
	if spool.Len() != 1 {
		t.Fatalf("spool holds %d calls, want 1", spool.Len())
	}
	store.down.Store(false)
	waitSpooled(t, spool)
	call, _, ok := r.mem.Call(c.ID())
	if !ok || call.Outcome != tickets.OutcomeAnswered || call.HangupBy != tickets.HangupOperator {
		t.Fatalf("call record %+v", call)
	}
	sv, ok := r.mem.Survey(call.ID)
	if !ok || sv.Rating != 4 || sv.CallID != call.ID || sv.TicketID != call.TicketID || sv.Operator != "op601" {
		t.Fatalf("survey %+v (%v)", sv, ok)
	}
}
