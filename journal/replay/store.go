package replay

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// discard is the call records of replayed calls: numbered as real ones
// (the number is spoken, and its length is part of the call's timing),
// kept nowhere, so that 100,000 calls take no memory. A ticket number
// keyed for its status is never found: the replay compares only that the
// caller heard a status.
type discard struct {
	loc     *time.Location
	next    atomic.Int64
	numbers sync.Map // ticket id → number, while its call lasts
}

var _ tickets.CallRecorder = (*discard)(nil)

func (d *discard) OpenCall(_ context.Context, nc tickets.NewCall) (tickets.Call, tickets.Ticket, error) {
	id := d.next.Add(1)
	n := tickets.NewNumber(nc.StartedAt.In(d.loc), id%100000)
	d.numbers.Store(id, n)
	t := tickets.Ticket{ID: id, Number: n, Version: 1,
		Status: tickets.StatusNew, Caller: nc.Caller, Organization: nc.Organization}
	return tickets.Call{ID: id, TicketID: id, ChannelID: nc.ChannelID, StartedAt: nc.StartedAt}, t, nil
}

func (d *discard) AppendCallEvents(context.Context, int64, ...tickets.CallEvent) error { return nil }
func (d *discard) UpdateCall(context.Context, int64, tickets.CallUpdate) error         { return nil }
func (d *discard) FinishCall(_ context.Context, id int64, _ tickets.CallEnd) error {
	d.numbers.Delete(id) // (call and ticket share their id here)
	return nil
}

func (d *discard) number(id int64) tickets.Number {
	n, _ := d.numbers.Load(id)
	num, _ := n.(tickets.Number)
	return num
}

func (d *discard) FindCallByChannel(context.Context, string) (tickets.Call, error) {
	return tickets.Call{}, fault.ErrNotFound
}

func (d *discard) FindTicketByNumber(context.Context, tickets.Number, tickets.Viewer) (tickets.Ticket, error) {
	return tickets.Ticket{}, fault.ErrNotFound
}

func (d *discard) FindTicketByID(_ context.Context, id int64, _ tickets.Viewer) (tickets.Ticket, error) {
	return tickets.Ticket{ID: id, Number: d.number(id), Version: 1, Status: tickets.StatusNew}, nil
}

func (d *discard) UpdateTicket(_ context.Context, id int64, upd tickets.TicketUpdate, _ tickets.Actor) (tickets.Ticket, error) {
	t := tickets.Ticket{ID: id, Number: d.number(id), Version: upd.Version + 1, Status: tickets.StatusNew}
	if upd.Status != nil {
		t.Status = *upd.Status
	}
	return t, nil
}

func (d *discard) AddAttachment(_ context.Context, _ int64, a tickets.Attachment, _ tickets.Actor) (tickets.Attachment, error) {
	return a, nil
}
