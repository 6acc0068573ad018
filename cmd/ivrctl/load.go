package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func init() {
	register("load", "measure the controller under many concurrent simulated calls", cmdLoad)
}

// loadReport is what `ivrctl load` prints.
type loadReport struct {
	Calls          int64   `json:"calls_placed"`
	Rejected       int64   `json:"calls_rejected"`
	Completed      int64   `json:"calls_completed"`
	RatePerSecond  float64 `json:"new_calls_per_second"`
	PeakConcurrent int     `json:"peak_concurrent_calls"`
	KeyToPlayP50Ms float64 `json:"key_to_prompt_p50_ms"`
	KeyToPlayP99Ms float64 `json:"key_to_prompt_p99_ms"`
	KeyToPlayMaxMs float64 `json:"key_to_prompt_max_ms"`
	KeySamples     int     `json:"key_samples"`
	HeapPerCallKiB float64 `json:"heap_per_call_kib"`
	GoroutinesPeak int     `json:"goroutines_peak"`
	WallSeconds    float64 `json:"wall_seconds"`
	ARIConnections int64   `json:"ari_tcp_connections"`
	ARIRequests    int64   `json:"ari_requests"`
	SessionsLeft   int     `json:"sessions_left"`
	Store          string  `json:"store"`
	// With -store postgres: the run's call records, those finished, and
	// those with their ticket (each must equal calls_placed).
	CallRecords         *int   `json:"call_records,omitempty"`
	CallRecordsFinished *int   `json:"call_records_finished,omitempty"`
	CallRecordsTicketed *int   `json:"call_records_with_ticket,omitempty"`
	SimulatorAndApp     string `json:"note"`
}

func cmdLoad(e env, args []string) int {
	fs := newFlags(e, "load")
	path := fs.String("config", "", "configuration file")
	calls := fs.Int("calls", 6000, "calls to place")
	rate := fs.Float64("rate", 250, "new calls per second")
	hold := fs.Duration("hold", 20*time.Second, "how long each caller listens to the welcome prompt before pressing 1")
	at := fs.String("at", "2026-11-23T10:00:00+01:00", "simulated time (must be within service hours)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	storeKind := fs.String("store", "memory", "where tickets and call records go: memory, or postgres (DATABASE_URL), with the operator queues in PostgreSQL as ivrd runs them")
	if fs.Parse(args) != nil {
		return 2
	}
	cfg := loadConfig(e, *path)
	if cfg == nil {
		return 1
	}
	start, err := time.Parse(time.RFC3339, *at)
	if err != nil {
		return fail(e, "-at: %v", err)
	}
	var (
		mu      sync.Mutex
		samples []time.Duration
	)
	opts := simdesk.Options{Config: cfg, PINSecret: []byte(configfile.DemoPINSecret),
		Clock: clock.NewScaled(start, 1), MaxConns: 64,
		Operators: &arisim.EndpointBehavior{Mode: arisim.NoAnswer},
		KeyLatency: func(d time.Duration) {
			mu.Lock()
			samples = append(samples, d)
			mu.Unlock()
		}}
	var db *loadDB
	switch *storeKind {
	case "memory":
	case "postgres":
		url := os.Getenv("DATABASE_URL")
		if url == "" {
			return fail(e, "-store postgres: DATABASE_URL is required")
		}
		if db, err = openLoadDB(e.ctx, url, cfg, opts.Clock); err != nil {
			return fail(e, "-store postgres: %v", err)
		}
		defer db.close()
		opts.Store, opts.Queues, opts.SystemName = db.store, db.queue, db.node
	default:
		return fail(e, "-store must be memory or postgres")
	}
	desk, err := simdesk.Start(e.ctx, opts)
	if err != nil {
		return fail(e, "start: %v", err)
	}
	defer desk.Close()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(e, "%v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(e, "%v", err)
		}
		defer pprof.StopCPUProfile()
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	var rep loadReport
	var placed, rejected, completed atomic.Int64
	var wg sync.WaitGroup
	peakDone := make(chan struct{})
	stopSampling := make(chan struct{})
	var peak, gPeak int
	var heapAtPeak uint64
	go func() { // sample concurrency and memory
		defer close(peakDone)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
			case <-stopSampling:
				return
			}
			n := desk.Controller.ActiveCalls()
			if n > peak {
				peak = n
				gPeak = runtime.NumGoroutine()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heapAtPeak = ms.HeapInuse
			}
			if placed.Load()+rejected.Load() >= int64(*calls) && n == 0 {
				return
			}
		}
	}()
	began := time.Now()
	interval := time.Duration(float64(time.Second) / *rate)
	next := time.Now()
	for i := 0; i < *calls; i++ {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = next.Add(interval)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			caller := fmt.Sprintf("+3933%08d", i)
			c, err := desk.Sim.PlaceCall(e.ctx, caller, cfg.Service.Number, arisim.CallOptions{EventBuffer: -1})
			if err != nil {
				rejected.Add(1)
				return
			}
			placed.Add(1)
			// Listen to the welcome, choose 1, listen, choose 3, then leave
			// while the operators' phones ring.
			steps := []struct {
				after time.Duration
				do    func() error
			}{{*hold, func() error { return c.Press("1") }}, {3 * time.Second, func() error { return c.Press("3") }},
				{3 * time.Second, c.Hangup}}
			for _, st := range steps {
				select {
				case <-time.After(st.after):
				case <-c.Done():
					return
				}
				if st.do() != nil {
					return
				}
			}
			select {
			case <-c.Done():
				completed.Add(1)
			case <-time.After(30 * time.Second):
			}
		}(i)
	}
	placing := time.Since(began)
	wg.Wait()
	// Leave the sessions a moment to finish, then stop sampling even if
	// some leaked: that is what sessions_left reports.
	for end := time.Now().Add(10 * time.Second); desk.Controller.ActiveCalls() > 0 && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	close(stopSampling)
	<-peakDone
	rep.Calls, rep.Rejected, rep.Completed = placed.Load(), rejected.Load(), completed.Load()
	rep.RatePerSecond = float64(rep.Calls) / placing.Seconds()
	rep.PeakConcurrent, rep.GoroutinesPeak = peak, gPeak
	if peak > 0 && heapAtPeak > base.HeapInuse {
		rep.HeapPerCallKiB = float64(heapAtPeak-base.HeapInuse) / float64(peak) / 1024
	}
	mu.Lock()
	slices.Sort(samples)
	rep.KeySamples = len(samples)
	if n := len(samples); n > 0 {
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		rep.KeyToPlayP50Ms = ms(samples[n/2])
		rep.KeyToPlayP99Ms = ms(samples[n*99/100])
		rep.KeyToPlayMaxMs = ms(samples[n-1])
	}
	mu.Unlock()
	st := desk.Sim.Stats()
	rep.ARIConnections, rep.ARIRequests = st.TCPConnections, st.RequestsTotal
	rep.WallSeconds = time.Since(began).Seconds()
	rep.SessionsLeft = desk.Controller.ActiveCalls()
	rep.SimulatorAndApp = "the simulator runs in the same process: heap per call and CPU include both sides"
	rep.Store = *storeKind
	complete := true
	if db != nil {
		all, finished, ticketed, err := db.records(e.ctx)
		if err != nil {
			return fail(e, "count the call records: %v", err)
		}
		rep.CallRecords, rep.CallRecordsFinished, rep.CallRecordsTicketed = &all, &finished, &ticketed
		n := int(rep.Calls)
		complete = all == n && finished == n && ticketed == n
	}
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Fprintln(e.stdout, string(out))
	if rep.SessionsLeft > 0 || rep.Rejected > 0 || !complete {
		return 1
	}
	return 0
}

// loadDB is the PostgreSQL side of `load -store postgres`: the ticket
// store and the operator queues wired as ivrd wires them (the queues'
// groups and operators synced from the configuration, every operator
// logged in, the queues' maintenance running), on the desk's clock.
type loadDB struct {
	pool   *pgxpool.Pool
	store  *tickets.Store
	queue  *queues.Service
	node   string // the run's channel id prefix, to find its records
	cancel context.CancelFunc
	done   chan struct{}
}

func openLoadDB(ctx context.Context, url string, cfg *menu.Config, clk *clock.Scaled) (*loadDB, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	db := &loadDB{pool: pool, node: fmt.Sprintf("load%d", time.Now().UnixNano()), done: make(chan struct{})}
	fail := func(err error) (*loadDB, error) { pool.Close(); return nil, err }
	if err := tickets.Migrate(ctx, pool); err != nil {
		return fail(fmt.Errorf("ticket migrations: %w", err))
	}
	if err := queues.Migrate(ctx, pool); err != nil {
		return fail(fmt.Errorf("queue migrations: %w", err))
	}
	db.store = tickets.New(pool, tickets.Options{Location: cfg.Location(), Now: clk.Now})
	db.queue = queues.New(pool, queues.Options{Location: cfg.Location(), Now: clk.Now})
	if err := ivr.SyncQueues(ctx, db.queue, cfg); err != nil {
		return fail(fmt.Errorf("operator queues: %w", err))
	}
	for _, op := range cfg.Operators {
		if err := db.queue.SetState(ctx, op.Login, queues.Available, ""); err != nil && !errors.Is(err, fault.ErrConflict) {
			return fail(fmt.Errorf("log in operator %s: %w", op.Login, err))
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	db.cancel = cancel
	go func() {
		defer close(db.done)
		_ = db.queue.Run(rctx)
	}()
	return db, nil
}

// records counts the run's call records: all, finished, and finished
// with their ticket.
func (db *loadDB) records(ctx context.Context) (all, finished, ticketed int, err error) {
	err = db.pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE c.ended_at IS NOT NULL),
		       count(*) FILTER (WHERE c.ended_at IS NOT NULL AND t.id IS NOT NULL)
		FROM calls c LEFT JOIN tickets t ON t.id = c.ticket_id
		WHERE c.channel_id LIKE $1`, db.node+"-%").Scan(&all, &finished, &ticketed)
	return all, finished, ticketed, err
}

func (db *loadDB) close() {
	db.cancel()
	<-db.done
	db.pool.Close()
}
