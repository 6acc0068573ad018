package journal

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/ivr"
)

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	// Buffer is how many finished calls may wait for the writer (default
	// 4,096); beyond it calls are dropped and counted, never blocking a
	// call.
	Buffer int
	// Batch is how many calls one write takes at most (default 500);
	// Every how long calls wait at most before a write (default 1 s).
	Batch int
	Every time.Duration
	// Source, if set, gives the configuration file of a version, kept
	// once with the journal (journal_configs) the first time a call runs
	// under it; nil or a nil answer: not kept.
	Source     func(version string) []byte
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Recorder turns the controller's events into journal entries and writes
// them in batches. Test calls (ivr.Event.Test) and calls taken over from
// another controller (seen from the middle) are not journaled.
type Recorder struct {
	store *Store
	opts  RecorderOptions
	log   *slog.Logger
	done  chan Call

	mu     sync.Mutex
	traces map[string]*Trace
	saved  map[string]bool // configuration versions kept

	written, dropped prometheus.Counter
}

// NewRecorder returns a recorder writing to store; run Run to write.
func NewRecorder(store *Store, o RecorderOptions) (*Recorder, error) {
	o.Buffer = cmp.Or(o.Buffer, 4096)
	o.Batch = cmp.Or(o.Batch, 500)
	o.Every = cmp.Or(o.Every, time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Recorder{store: store, opts: o, log: cmp.Or(o.Logger, slog.New(slog.DiscardHandler)),
		done: make(chan Call, o.Buffer), traces: map[string]*Trace{}, saved: map[string]bool{},
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "ivr_journal_calls_written_total",
			Help: "Calls written to the call journal."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "ivr_journal_calls_dropped_total",
			Help: "Calls not journaled: the writer's buffer was full or the database refused them."}),
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{r.written, r.dropped} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// Observe takes one event of a call (ivr.Options.Observe); it never
// blocks.
func (r *Recorder) Observe(e ivr.Event) {
	if e.Test || e.CallID == "" {
		return
	}
	r.mu.Lock()
	t := r.traces[e.CallID]
	if t == nil {
		if e.Kind != ivr.EvCall {
			r.mu.Unlock()
			return // seen from the middle: not replayable
		}
		t = &Trace{}
		r.traces[e.CallID] = t
	}
	over := t.Add(e)
	t.lastSeen = r.opts.Now() // (the event's time may be a replayed call's)
	if over {
		delete(r.traces, e.CallID)
	}
	r.mu.Unlock()
	if !over {
		return
	}
	select {
	case r.done <- t.Call():
	default:
		r.dropped.Inc()
	}
}

// Run writes the finished calls until ctx ends, then what is left.
func (r *Recorder) Run(ctx context.Context) {
	tick := time.NewTicker(r.opts.Every)
	defer tick.Stop()
	var batch []Call
	flush := func(ctx context.Context) {
		if len(batch) == 0 {
			return
		}
		r.keepConfigs(ctx, batch)
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := r.store.Insert(wctx, batch)
		cancel()
		if err != nil {
			r.dropped.Add(float64(len(batch)))
			r.log.Error("journal_write_failed", "calls", len(batch), "error", err.Error())
		} else {
			r.written.Add(float64(len(batch)))
		}
		batch = batch[:0]
	}
	for {
		select {
		case c := <-r.done:
			batch = append(batch, c)
			if len(batch) >= r.opts.Batch {
				flush(ctx)
			}
		case <-tick.C:
			flush(ctx)
			r.forgetStale()
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			for {
				select {
				case c := <-r.done:
					batch = append(batch, c)
					continue
				default:
				}
				break
			}
			flush(fctx)
			cancel()
			return
		}
	}
}

// keepConfigs stores the configurations of calls not kept yet.
func (r *Recorder) keepConfigs(ctx context.Context, calls []Call) {
	if r.opts.Source == nil {
		return
	}
	for _, c := range calls {
		if c.Version == "" || r.saved[c.Version] {
			continue
		}
		src := r.opts.Source(c.Version)
		if src == nil {
			continue
		}
		if _, err := r.store.SaveConfig(ctx, src, r.opts.Now()); err != nil {
			r.log.Warn("journal_config_not_kept", "version", c.Version, "error", err.Error())
			continue
		}
		r.saved[c.Version] = true
	}
}

// staleAfter is how long a call may go without events before its trace
// is forgotten (a call released to another controller never ends here).
const staleAfter = 12 * time.Hour

func (r *Recorder) forgetStale() {
	now := r.opts.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, t := range r.traces {
		if now.Sub(t.lastSeen) > staleAfter {
			delete(r.traces, id)
		}
	}
}
