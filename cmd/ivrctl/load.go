package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
)

func init() {
	register("load", "measure the controller under many concurrent simulated calls", cmdLoad)
}

// loadReport is what `ivrctl load` prints.
type loadReport struct {
	Calls           int64   `json:"calls_placed"`
	Rejected        int64   `json:"calls_rejected"`
	Completed       int64   `json:"calls_completed"`
	RatePerSecond   float64 `json:"new_calls_per_second"`
	PeakConcurrent  int     `json:"peak_concurrent_calls"`
	KeyToPlayP50Ms  float64 `json:"key_to_prompt_p50_ms"`
	KeyToPlayP99Ms  float64 `json:"key_to_prompt_p99_ms"`
	KeyToPlayMaxMs  float64 `json:"key_to_prompt_max_ms"`
	KeySamples      int     `json:"key_samples"`
	HeapPerCallKiB  float64 `json:"heap_per_call_kib"`
	GoroutinesPeak  int     `json:"goroutines_peak"`
	WallSeconds     float64 `json:"wall_seconds"`
	ARIConnections  int64   `json:"ari_tcp_connections"`
	ARIRequests     int64   `json:"ari_requests"`
	SessionsLeft    int     `json:"sessions_left"`
	SimulatorAndApp string  `json:"note"`
}

func cmdLoad(e env, args []string) int {
	fs := newFlags(e, "load")
	path := fs.String("config", "", "configuration file")
	calls := fs.Int("calls", 6000, "calls to place")
	rate := fs.Float64("rate", 250, "new calls per second")
	hold := fs.Duration("hold", 20*time.Second, "how long each caller listens to the welcome prompt before pressing 1")
	at := fs.String("at", "2026-11-23T10:00:00+01:00", "simulated time (must be within service hours)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
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
	desk, err := simdesk.Start(e.ctx, simdesk.Options{Config: cfg, PINSecret: []byte(configfile.DemoPINSecret),
		Start: start, Speed: 1, MaxConns: 64,
		Operators: &arisim.EndpointBehavior{Mode: arisim.NoAnswer},
		KeyLatency: func(d time.Duration) {
			mu.Lock()
			samples = append(samples, d)
			mu.Unlock()
		}})
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
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Fprintln(e.stdout, string(out))
	if rep.SessionsLeft > 0 || rep.Rejected > 0 {
		return 1
	}
	return 0
}
