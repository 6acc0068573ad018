package ivr

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// PendingCall is what a call could not write to the ticket store (the
// database was down): the record to open if it has none, and the changes,
// events, recordings and end still to write. The Spool writes it, step by
// step, once the store is back.
type PendingCall struct {
	Channel  string           `json:"channel"`
	New      *tickets.NewCall `json:"new,omitempty"` // open the record (unless one exists)
	CallID   int64            `json:"call_id,omitempty"`
	TicketID int64            `json:"ticket_id,omitempty"`
	// Ticket holds what the call learnt of its ticket (menu path,
	// Administration, group, priority, an after-hours request's due time).
	Ticket      *tickets.TicketUpdate `json:"ticket,omitempty"`
	Call        *tickets.CallUpdate   `json:"call,omitempty"`
	Events      []tickets.CallEvent   `json:"events,omitempty"`
	Attachments []tickets.Attachment  `json:"attachments,omitempty"`
	// Close, when set, closes the ticket with this description if nobody
	// has taken it in charge meanwhile.
	Close string           `json:"close,omitempty"`
	End   *tickets.CallEnd `json:"end,omitempty"`
}

// SpoolOptions configure a Spool.
type SpoolOptions struct {
	// Dir keeps each pending call in a file, so that a restart loses
	// none; "" keeps them in memory only.
	Dir string
	// RetryEvery is the wait between attempts while the store is down
	// (default 5s).
	RetryEvery time.Duration
	// StoreTimeout bounds each write (default 5s).
	StoreTimeout time.Duration
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
}

// Spool holds pending calls and writes them to the store as soon as it
// takes them, in the order the calls ended.
type Spool struct {
	store tickets.CallRecorder
	opts  SpoolOptions
	log   *slog.Logger

	pending prometheus.Gauge
	spooled prometheus.Counter
	written prometheus.Counter

	mu      sync.Mutex
	entries map[string]*PendingCall
	order   []string
	running bool
	idle    *sync.Cond // signalled when the spool empties
	stop    chan struct{}
	stopped sync.WaitGroup
}

// NewSpool returns a spool writing to store; with a Dir it first takes
// back the calls a previous run left there.
func NewSpool(store tickets.CallRecorder, opts SpoolOptions) (*Spool, error) {
	opts.RetryEvery = cmp.Or(opts.RetryEvery, 5*time.Second)
	opts.StoreTimeout = cmp.Or(opts.StoreTimeout, 5*time.Second)
	sp := &Spool{store: store, opts: opts, log: cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		entries: map[string]*PendingCall{}, stop: make(chan struct{})}
	sp.idle = sync.NewCond(&sp.mu)
	sp.pending = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ivr_store_spool_calls",
		Help: "Calls whose record waits in the spool for the ticket store."})
	sp.spooled = prometheus.NewCounter(prometheus.CounterOpts{Name: "ivr_store_spooled_calls_total",
		Help: "Calls that ended while the ticket store could not take their record."})
	sp.written = prometheus.NewCounter(prometheus.CounterOpts{Name: "ivr_store_spool_written_total",
		Help: "Spooled calls written to the ticket store once it was back."})
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{sp.pending, sp.spooled, sp.written} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("spool metrics: %w", err)
			}
		}
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		names, err := filepath.Glob(filepath.Join(opts.Dir, "*.json"))
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		sort.Strings(names) // Asterisk channel ids start with the epoch second
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("spool: %w", err)
			}
			var p PendingCall
			if err := json.Unmarshal(b, &p); err != nil || p.Channel == "" {
				sp.log.Error("spool_file_unreadable", "file", name, "error", fmt.Sprint(err))
				continue
			}
			sp.entries[p.Channel] = &p
			sp.order = append(sp.order, p.Channel)
		}
		if len(sp.order) > 0 {
			sp.pending.Set(float64(len(sp.order)))
			sp.running = true
			sp.stopped.Add(1)
			go sp.run()
		}
	}
	return sp, nil
}

// Put adds a call's pending record and starts writing it.
func (sp *Spool) Put(p PendingCall) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if _, ok := sp.entries[p.Channel]; !ok {
		sp.order = append(sp.order, p.Channel)
	}
	sp.entries[p.Channel] = &p
	sp.save(&p)
	sp.spooled.Inc()
	sp.pending.Set(float64(len(sp.order)))
	sp.log.Warn("call_spooled", "channel_id", p.Channel)
	if !sp.running && !sp.closed() {
		sp.running = true
		sp.stopped.Add(1)
		go sp.run()
	}
}

// Close stops retrying (what is pending stays in Dir for the next run)
// and waits for a write in progress.
func (sp *Spool) Close() {
	sp.mu.Lock()
	select {
	case <-sp.stop:
	default:
		close(sp.stop)
	}
	sp.mu.Unlock()
	sp.stopped.Wait()
}

// Has reports whether a call on channel waits in the spool.
func (sp *Spool) Has(channel string) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.entries[channel] != nil
}

// Len is the number of calls waiting.
func (sp *Spool) Len() int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return len(sp.order)
}

// Wait returns once the spool is empty or ctx ends.
func (sp *Spool) Wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		sp.mu.Lock()
		sp.idle.Broadcast()
		sp.mu.Unlock()
	})
	defer stop()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for len(sp.order) > 0 && ctx.Err() == nil {
		sp.idle.Wait()
	}
	return ctx.Err()
}

// run writes the pending calls in order until none is left, waiting
// RetryEvery whenever the store refuses one.
func (sp *Spool) run() {
	defer sp.stopped.Done()
	for {
		sp.mu.Lock()
		if len(sp.order) == 0 {
			sp.running = false
			sp.idle.Broadcast()
			sp.mu.Unlock()
			return
		}
		p := *sp.entries[sp.order[0]]
		sp.mu.Unlock()
		if err := sp.write(&p); err != nil {
			sp.log.Debug("spool_write_failed", "channel_id", p.Channel, "error", err.Error())
			select {
			case <-sp.stop:
				sp.mu.Lock()
				sp.running = false
				sp.mu.Unlock()
				return
			case <-time.After(sp.opts.RetryEvery):
			}
			continue
		}
		sp.mu.Lock()
		delete(sp.entries, p.Channel)
		sp.order = sp.order[1:]
		sp.remove(p.Channel)
		sp.pending.Set(float64(len(sp.order)))
		sp.mu.Unlock()
		sp.written.Inc()
		sp.log.Info("spooled_call_recorded", "channel_id", p.Channel, "call_id", p.CallID)
	}
}

// write applies p's steps in order; after each one that lands, the
// entry is saved without it, so a step is never applied twice even
// across restarts (except one interrupted between the write and the
// save).
func (sp *Spool) write(p *PendingCall) error {
	ctx, cancel := context.WithTimeout(context.Background(), sp.opts.StoreTimeout)
	defer cancel()
	actor := tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"}
	step := func(apply func() error) error {
		if err := apply(); err != nil {
			if !errors.Is(err, fault.ErrInvalid) {
				return err // the store is down: try again later
			}
			// The store refuses it for good (staff moved the ticket on
			// meanwhile): drop that step, keep the others.
			sp.log.Warn("spool_step_refused", "channel_id", p.Channel, "error", err.Error())
		}
		sp.mu.Lock()
		*sp.entries[p.Channel] = *p
		sp.save(p)
		sp.mu.Unlock()
		return nil
	}
	if p.CallID == 0 {
		if err := step(func() error {
			call, err := sp.store.FindCallByChannel(ctx, p.Channel)
			if errors.Is(err, fault.ErrNotFound) && p.New != nil {
				call, _, err = sp.store.OpenCall(ctx, *p.New)
			}
			if err != nil {
				return err
			}
			p.CallID, p.TicketID, p.New = call.ID, call.TicketID, nil
			return nil
		}); err != nil {
			return err
		}
	}
	if p.CallID == 0 {
		return nil // refused for good: nothing to attach the rest to
	}
	updateTicket := func(upd tickets.TicketUpdate, still func(tickets.Ticket) bool) error {
		for attempt := 0; ; attempt++ {
			t, err := sp.store.FindTicketByID(ctx, p.TicketID, tickets.Viewer{Kind: tickets.ViewerSystem})
			if err != nil {
				return err
			}
			if still != nil && !still(t) {
				return nil
			}
			upd.Version = t.Version
			_, err = sp.store.UpdateTicket(ctx, p.TicketID, upd, actor)
			if !errors.Is(err, fault.ErrConflict) || attempt == 2 {
				return err
			}
		}
	}
	if p.Ticket != nil && p.TicketID != 0 {
		if err := step(func() error {
			err := updateTicket(*p.Ticket, nil)
			if err == nil || errors.Is(err, fault.ErrInvalid) {
				p.Ticket = nil
			}
			return err
		}); err != nil {
			return err
		}
	}
	if p.Call != nil {
		if err := step(func() error {
			err := sp.store.UpdateCall(ctx, p.CallID, *p.Call)
			if err == nil || errors.Is(err, fault.ErrInvalid) {
				p.Call = nil
			}
			return err
		}); err != nil {
			return err
		}
	}
	if len(p.Events) > 0 {
		if err := step(func() error {
			err := sp.store.AppendCallEvents(ctx, p.CallID, p.Events...)
			if err == nil || errors.Is(err, fault.ErrInvalid) {
				p.Events = nil
			}
			return err
		}); err != nil {
			return err
		}
	}
	for len(p.Attachments) > 0 && p.TicketID != 0 {
		if err := step(func() error {
			_, err := sp.store.AddAttachment(ctx, p.TicketID, p.Attachments[0], actor)
			if err == nil || errors.Is(err, fault.ErrInvalid) {
				p.Attachments = p.Attachments[1:]
			}
			return err
		}); err != nil {
			return err
		}
	}
	if p.Close != "" && p.TicketID != 0 {
		if err := step(func() error {
			closed, desc := tickets.StatusClosed, p.Close
			err := updateTicket(tickets.TicketUpdate{Status: &closed, Description: &desc},
				func(t tickets.Ticket) bool { return t.Status == tickets.StatusNew && t.Description == "" })
			if err == nil || errors.Is(err, fault.ErrInvalid) {
				p.Close = ""
			}
			return err
		}); err != nil {
			return err
		}
	}
	if p.End != nil {
		if err := step(func() error {
			err := sp.store.FinishCall(ctx, p.CallID, *p.End)
			if err == nil || errors.Is(err, fault.ErrInvalid) {
				p.End = nil
			}
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// fileName is the entry's file: the spool keeps the calls' order.
func (sp *Spool) fileName(channel string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, channel)
	return filepath.Join(sp.opts.Dir, safe+".json")
}

// save writes p's file atomically. Must hold sp.mu.
func (sp *Spool) save(p *PendingCall) {
	if sp.opts.Dir == "" {
		return
	}
	b, err := json.Marshal(p)
	if err == nil {
		tmp := sp.fileName(p.Channel) + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, sp.fileName(p.Channel))
		}
	}
	if err != nil {
		sp.log.Error("spool_save_failed", "channel_id", p.Channel, "error", err.Error())
	}
}

// remove deletes p's file. Must hold sp.mu.
func (sp *Spool) remove(channel string) {
	if sp.opts.Dir == "" {
		return
	}
	if err := os.Remove(sp.fileName(channel)); err != nil && !os.IsNotExist(err) {
		sp.log.Error("spool_remove_failed", "channel_id", channel, "error", err.Error())
	}
}

// mergeTicketUpdate returns dst with src's fields laid over it.
func mergeTicketUpdate(dst *tickets.TicketUpdate, src tickets.TicketUpdate) *tickets.TicketUpdate {
	if dst == nil {
		src.Version = 0
		return &src
	}
	d := *dst
	d.Status = cmp.Or(src.Status, d.Status)
	d.Priority = cmp.Or(src.Priority, d.Priority)
	d.Source = cmp.Or(src.Source, d.Source)
	d.Group = cmp.Or(src.Group, d.Group)
	d.Assignee = cmp.Or(src.Assignee, d.Assignee)
	d.Category = cmp.Or(src.Category, d.Category)
	d.Subject = cmp.Or(src.Subject, d.Subject)
	d.Description = cmp.Or(src.Description, d.Description)
	d.Organization = cmp.Or(src.Organization, d.Organization)
	d.CallerRole = cmp.Or(src.CallerRole, d.CallerRole)
	d.MenuPath = cmp.Or(src.MenuPath, d.MenuPath)
	d.DueAt = cmp.Or(src.DueAt, d.DueAt)
	return &d
}

// mergeCallUpdate returns dst with src's fields laid over it.
func mergeCallUpdate(dst *tickets.CallUpdate, src tickets.CallUpdate) *tickets.CallUpdate {
	if dst == nil {
		return &src
	}
	d := *dst
	d.AnsweredAt = cmp.Or(src.AnsweredAt, d.AnsweredAt)
	d.QueuedAt = cmp.Or(src.QueuedAt, d.QueuedAt)
	d.OperatorAnsweredAt = cmp.Or(src.OperatorAnsweredAt, d.OperatorAnsweredAt)
	d.Group = cmp.Or(src.Group, d.Group)
	d.Operator = cmp.Or(src.Operator, d.Operator)
	return &d
}

func (sp *Spool) closed() bool {
	select {
	case <-sp.stop:
		return true
	default:
		return false
	}
}
