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
	"github.com/helpdesk-ivr/ivr/leases"
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
	CallRecords         *int `json:"call_records,omitempty"`
	CallRecordsFinished *int `json:"call_records_finished,omitempty"`
	CallRecordsTicketed *int `json:"call_records_with_ticket,omitempty"`
	// CPU time from the first call placed to the last ended: this
	// process's (simulators, ari-proxy servers, NATS, controllers), and
	// the whole machine's (PostgreSQL and anything else running too).
	CPUSeconds           float64 `json:"cpu_seconds"`
	CPUSecondsPer1000    float64 `json:"cpu_seconds_per_1000_calls"`
	BoxCPUSeconds        float64 `json:"box_cpu_seconds,omitempty"`
	BoxCPUSecondsPer1000 float64 `json:"box_cpu_seconds_per_1000_calls,omitempty"`
	Transport            string  `json:"transport"`
	// With -transport nats: what each node and instance did.
	Nodes     []nodeReport     `json:"nodes,omitempty"`
	Instances []instanceReport `json:"instances,omitempty"`
	Failover  *failoverReport  `json:"failover,omitempty"`
	// Failures lists what went wrong: none for a run that held.
	Failures        []string `json:"failures"`
	SimulatorAndApp string   `json:"note"`
}

type nodeReport struct {
	ID           string `json:"entity_id"`
	Placed       int64  `json:"calls_placed"`
	Records      *int   `json:"call_records,omitempty"`
	ChannelsLeft int    `json:"channels_left"`
}

type instanceReport struct {
	Name      string  `json:"name"`
	Arrived   int64   `json:"calls_arrived"`
	Finished  int64   `json:"calls_finished"`
	TakenOver float64 `json:"calls_taken_over"`
	// LeasesLost: calls let go because their lease was found taken.
	LeasesLost float64 `json:"calls_lease_lost"`
	Killed     bool    `json:"killed,omitempty"`
}

// failoverReport: one instance killed under load, and how long until the
// others held every one of its calls.
type failoverReport struct {
	Instance     string  `json:"instance"`
	AfterSeconds float64 `json:"killed_after_seconds"`
	LeasesAtKill int     `json:"its_leases_at_kill"`
	LeaseTTL     float64 `json:"lease_ttl_seconds"`
	TakeoverSecs float64 `json:"seconds_until_all_taken_over"`
	// AfterExpirySecs counts from the expiry of its last lease.
	AfterExpirySecs float64 `json:"seconds_after_its_last_lease_expired"`
	LeasesLeft      int     `json:"its_leases_left"`
	// Takeovers are the calls resumed by the others; the rest of its
	// leases were of calls that ended while nobody drove them (their
	// records closed by the taker).
	TakeoversSeen float64 `json:"takeovers_counted"`
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
	transport := fs.String("transport", "direct", "how the controller reaches the simulated Asterisk: direct (one node, one controller, over ARI), or nats (an embedded NATS, -nodes nodes each behind an ari-proxy server, -instances controllers sharing their calls)")
	nodes := fs.Int("nodes", 1, "with -transport nats: simulated Asterisk nodes (distinct entity ids); calls go to them in turn")
	instances := fs.Int("instances", 1, "with -transport nats: controllers sharing the calls; more than one needs -store postgres (the calls are shared by lease in PostgreSQL, as ivrd -leases)")
	killAfter := fs.Duration("kill-instance-after", 0, "with -instances 2 or more: stop the first instance abruptly this long after the first call (its leases left as they were) and report how long the others take to take all its calls over")
	leaseTTL := fs.Duration("lease-ttl", leases.DefaultTTL, "with -transport nats and -store postgres: the call leases' life")
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
	switch {
	case *transport != "direct" && *transport != "nats":
		return fail(e, "-transport must be direct or nats")
	case *transport == "direct" && (*nodes != 1 || *instances != 1):
		return fail(e, "-nodes and -instances need -transport nats")
	case *instances > 1 && *storeKind != "postgres":
		return fail(e, "-instances %d: several instances share the calls by lease, in PostgreSQL: use -store postgres", *instances)
	case *killAfter > 0 && *instances < 2:
		return fail(e, "-kill-instance-after needs -instances 2 or more")
	}
	var (
		mu      sync.Mutex
		samples []time.Duration
	)
	keyLatency := func(d time.Duration) {
		mu.Lock()
		samples = append(samples, d)
		mu.Unlock()
	}
	clk := clock.NewScaled(start, 1)
	operators := arisim.EndpointBehavior{Mode: arisim.NoAnswer}
	var db *loadDB
	switch *storeKind {
	case "memory":
	case "postgres":
		url := os.Getenv("DATABASE_URL")
		if url == "" {
			return fail(e, "-store postgres: DATABASE_URL is required")
		}
		if db, err = openLoadDB(e.ctx, url, cfg, clk); err != nil {
			return fail(e, "-store postgres: %v", err)
		}
		defer db.close()
	default:
		return fail(e, "-store must be memory or postgres")
	}
	var (
		rig loadRig
		bus *busRig
	)
	if *transport == "direct" {
		opts := simdesk.Options{Config: cfg, PINSecret: []byte(configfile.DemoPINSecret), Clock: clk, MaxConns: 64,
			Operators: &operators, KeyLatency: keyLatency}
		if db != nil {
			opts.Store, opts.Queues, opts.SystemName = db.store, db.queue, db.node
		}
		var desk *simdesk.Desk
		pprof.Do(e.ctx, pprof.Labels("part", "desk"), func(ctx context.Context) { desk, err = simdesk.Start(ctx, opts) })
		if err != nil {
			return fail(e, "start: %v", err)
		}
		rig = directRig{desk}
	} else {
		o := busRigOptions{cfg: cfg, secret: []byte(configfile.DemoPINSecret), clk: clk, nodes: *nodes, instances: *instances,
			systemName: "load", leaseTTL: *leaseTTL, keyLatency: keyLatency, operators: operators}
		if db != nil {
			o.store, o.queues, o.systemName, o.db = db.store, db.queue, db.node, db
		} else {
			o.store = ivr.NewMemoryRecorder(cfg.Location())
		}
		if bus, err = startBusRig(e.ctx, o); err != nil {
			return fail(e, "start: %v", err)
		}
		rig = bus
	}
	defer rig.close()

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

	rep := loadReport{Failures: []string{}}
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
			n := rig.active()
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
	cpu0, box0 := cpuSeconds(), boxCPUSeconds()
	began := time.Now()
	var failover *failoverWatch
	if *killAfter > 0 {
		failover = bus.killLater(e.ctx, db, *killAfter, *leaseTTL)
	}
	callersLabel := pprof.WithLabels(e.ctx, pprof.Labels("part", "callers"))
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
			pprof.SetGoroutineLabels(callersLabel)
			caller := fmt.Sprintf("+3933%08d", i)
			c, err := rig.place(e.ctx, i, caller, cfg.Service.Number)
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
	// Leave the sessions a moment to finish (and a killed instance's calls
	// time to be taken over), then stop sampling even if some leaked: that
	// is what sessions_left reports.
	settle := 10 * time.Second
	if failover != nil {
		settle += 3 * *leaseTTL
	}
	for end := time.Now().Add(settle); time.Now().Before(end) && (rig.active() > 0 || !failover.over()); {
		time.Sleep(50 * time.Millisecond)
	}
	close(stopSampling)
	<-peakDone
	rep.CPUSeconds = cpuSeconds() - cpu0
	if box0 > 0 {
		rep.BoxCPUSeconds = boxCPUSeconds() - box0
	}
	rep.Calls, rep.Rejected, rep.Completed = placed.Load(), rejected.Load(), completed.Load()
	rep.RatePerSecond = float64(rep.Calls) / placing.Seconds()
	if rep.Calls > 0 {
		rep.CPUSecondsPer1000 = rep.CPUSeconds * 1000 / float64(rep.Calls)
		rep.BoxCPUSecondsPer1000 = rep.BoxCPUSeconds * 1000 / float64(rep.Calls)
	}
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
	rep.ARIConnections, rep.ARIRequests = rig.ariStats()
	rep.WallSeconds = time.Since(began).Seconds()
	rep.SessionsLeft = rig.active()
	rep.SimulatorAndApp = "the simulator runs in the same process: heap per call and CPU include both sides"
	rep.Store, rep.Transport = *storeKind, *transport
	failed := func(format string, args ...any) { rep.Failures = append(rep.Failures, fmt.Sprintf(format, args...)) }
	if db != nil {
		all, finished, ticketed, err := db.records(e.ctx)
		if err != nil {
			return fail(e, "count the call records: %v", err)
		}
		rep.CallRecords, rep.CallRecordsFinished, rep.CallRecordsTicketed = &all, &finished, &ticketed
		if n := int(rep.Calls); all != n || finished != n || ticketed != n {
			failed("%d calls placed: %d records, %d finished, %d with their ticket", n, all, finished, ticketed)
		}
	}
	if bus != nil {
		if err := bus.report(e.ctx, &rep, db, failover); err != nil {
			return fail(e, "%v", err)
		}
		for _, n := range rep.Nodes {
			if n.Placed == 0 || n.ChannelsLeft > 0 {
				failed("node %s: %d calls placed, %d channels left", n.ID, n.Placed, n.ChannelsLeft)
			}
		}
		for _, in := range rep.Instances {
			if in.Arrived == 0 {
				failed("instance %s got no call", in.Name)
			}
		}
		if f := rep.Failover; f != nil && f.LeasesLeft > 0 {
			failed("instance %s killed: %d of its leases never taken over", f.Instance, f.LeasesLeft)
		}
	}
	if rep.Rejected > 0 {
		failed("%d calls rejected", rep.Rejected)
	}
	if rep.Completed != rep.Calls {
		failed("%d of %d calls did not complete their script", rep.Calls-rep.Completed, rep.Calls)
	}
	if rep.SessionsLeft > 0 {
		failed("%d sessions left", rep.SessionsLeft)
	}
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Fprintln(e.stdout, string(out))
	if len(rep.Failures) > 0 {
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
	if err := leases.Migrate(ctx, pool); err != nil {
		return fail(fmt.Errorf("lease migrations: %w", err))
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

// recordsByNode counts the run's call records per Asterisk node.
func (db *loadDB) recordsByNode(ctx context.Context) (map[string]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT asterisk_node, count(*) FROM calls WHERE channel_id LIKE $1 GROUP BY 1`, db.node+"-%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var node string
		var n int
		if err := rows.Scan(&node, &n); err != nil {
			return nil, err
		}
		out[node] = n
	}
	return out, rows.Err()
}

// leasesOf counts the call leases an instance holds, and says how long
// until the last of them expires (by PostgreSQL's clock, which decides).
func (db *loadDB) leasesOf(ctx context.Context, owner string) (n int, untilExpiry time.Duration, err error) {
	var secs float64
	err = db.pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM max(expires_at) - now()), 0)::float8
		FROM call_leases WHERE owner = $1`, owner).Scan(&n, &secs)
	return n, time.Duration(secs * float64(time.Second)), err
}

func (db *loadDB) close() {
	db.cancel()
	<-db.done
	db.pool.Close()
}
