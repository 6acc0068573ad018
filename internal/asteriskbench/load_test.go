package asteriskbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/internal/pgcluster"
	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/queues"
)

// settings of a run, from the environment (scripts/bench-asterisk.sh).
type settings struct {
	rates     []int         // BENCH_RATES: new calls per second, one step each, in order
	seconds   int           // BENCH_SECONDS: how long each step places calls
	hold      time.Duration // BENCH_HOLD: how long an operator talks before hanging up
	operators int           // BENCH_OPERATORS
	modes     []string      // BENCH_MODES: dialplan, ivrd
	profile   string        // BENCH_PROFILE: write ivrd's CPU profile of each step here
}

func readSettings(b *testing.B) settings {
	s := settings{seconds: 20, hold: 3 * time.Second, operators: 600, modes: []string{"dialplan", "ivrd"}}
	for _, r := range strings.Split(envOr("BENCH_RATES", "10,20,30,40,50,60,70,80,90,100,110,120"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_RATES: %q", r)
		}
		s.rates = append(s.rates, n)
	}
	var err error
	if v := os.Getenv("BENCH_SECONDS"); v != "" {
		if s.seconds, err = strconv.Atoi(v); err != nil || s.seconds <= 0 {
			b.Fatalf("BENCH_SECONDS: %q", v)
		}
	}
	if v := os.Getenv("BENCH_HOLD"); v != "" {
		if s.hold, err = time.ParseDuration(v); err != nil {
			b.Fatalf("BENCH_HOLD: %v", err)
		}
	}
	if v := os.Getenv("BENCH_OPERATORS"); v != "" {
		if s.operators, err = strconv.Atoi(v); err != nil || s.operators <= 0 {
			b.Fatalf("BENCH_OPERATORS: %q", v)
		}
	}
	if v := os.Getenv("BENCH_MODES"); v != "" {
		s.modes = strings.Split(v, ",")
	}
	s.profile = os.Getenv("BENCH_PROFILE")
	return s
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// step is the outcome of one call rate.
type step struct {
	Mode   string
	Rate   int
	Placed int
	Failed int // callers' failed calls, plus the operators' phones'
	// Served is how many operator calls ended well during the step: in
	// both modes every caller must reach an operator, or the two modes
	// do not compare.
	Served        int
	SetupP50      time.Duration
	SetupP99      time.Duration
	PeakChannels  int
	Seconds       float64
	IvrdCPU       time.Duration // per 1,000 calls
	AsteriskCPU   time.Duration
	PostgresCPU   time.Duration
	IvrdPeakRSS   int64
	Records       int // ivrd: calls with a finished record and their ticket (lotto3, path 1 3)
	RecordsOfStep int // ivrd: call records started during the step
	ErrorLines    int // ivrd: log lines at level ERROR during the step
	// ivrd: ARI events received and REST requests made per call
	EventsPerCall, RequestsPerCall float64
	// FirstPromptP99 is ivrd's 99th percentile from a call's arrival to
	// its first prompt (the dialplan answers; this is the caller's
	// silence), as the upper bound of its histogram bucket.
	FirstPromptP99 time.Duration
	Load           string // /proc/loadavg's 1-minute figure at the step's end
}

func (s step) ok() bool {
	good := s.Failed == 0 && s.Served == s.Placed && s.SetupP99 < 200*time.Millisecond
	if s.Mode == "ivrd" {
		good = good && s.Records == s.Placed && s.RecordsOfStep == s.Placed && s.FirstPromptP99 < 200*time.Millisecond
	}
	return good
}

// BenchmarkAsteriskLoad: see the package comment and scripts/bench-asterisk.sh.
// It runs once whatever b.N (use -benchtime=1x) and prints a table.
func BenchmarkAsteriskLoad(b *testing.B) {
	set := readSettings(b)
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	bin := b.TempDir()
	for _, c := range []string{"ivrd", "ivrctl"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, c), "./cmd/"+c)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("go build ./cmd/%s: %v\n%s", c, err, out)
		}
	}
	sounds := prompts(b, root, filepath.Join(bin, "ivrctl"))

	opAddr := freeUDP(b)
	a := realasterisk.Start(b, realasterisk.Options{Sounds: sounds,
		// Past the shipped 10000-11999 (about 500 calls of two legs) and
		// apart from it, for other Asterisks of the machine's tests.
		Set: []realasterisk.Setting{{File: "rtp.conf", Section: "general", Key: "rtpstart", Value: "12000"},
			{File: "rtp.conf", Section: "general", Key: "rtpend", Value: "31999"}},
		Append: map[string]string{"pjsip.conf": Endpoints(set.operators, opAddr), "extensions.conf": Dialplan(set.operators),
			"modules.conf": DialplanModules}})
	astPID := pidFile(b, filepath.Join(a.Dir, "run", "asterisk.pid"))

	// The modes take turns at each rate, so that both meet the same
	// machine (other work on it comes and goes). A rate that fails is run
	// once more: one unlucky moment does not end a mode, a second does.
	var runners []*runner
	for _, mode := range set.modes {
		switch mode {
		case "dialplan":
			runners = append(runners, &runner{b: b, set: set, a: a, mode: mode, number: DialplanNumber, astPID: astPID})
		case "ivrd":
			r := startIvrd(b, set, a, root, filepath.Join(bin, "ivrd"))
			r.astPID = astPID
			runners = append(runners, &r)
		default:
			b.Fatalf("BENCH_MODES: unknown mode %q", mode)
		}
	}
	dir, err := os.MkdirTemp(a.Dir, "bench-")
	if err != nil {
		b.Fatal(err)
	}
	ops := startSipp(b, filepath.Join(dir, "operators"), "operator", opAddr,
		"-d", strconv.Itoa(int(set.hold.Milliseconds())))
	defer ops.kill()
	var all []step
	stopped := map[string]bool{}
	for _, rate := range set.rates {
		for _, r := range runners {
			for try := 1; try <= 2 && !stopped[r.mode]; try++ {
				s := r.step(filepath.Join(dir, fmt.Sprintf("%s-%d-%d", r.mode, rate, try)), rate, ops)
				all = append(all, s)
				printStep(s)
				if s.ok() {
					break
				}
				if try == 2 {
					stopped[r.mode] = true
					r.stop() // an ivrd that gave up must not load the other mode's steps
				}
			}
		}
		if len(stopped) == len(runners) {
			break
		}
	}
	for _, r := range runners {
		r.stop()
	}
	printTable(all, set)
}

func printStep(s step) {
	fmt.Printf("%s %3d calls/s: placed %d failed %d served by operators %d setup p50 %s p99 %s peak channels %d, CPU-s/1000 calls ivrd %.2f asterisk %.2f postgres %.2f, ivrd VmHWM %d MiB, records %d/%d, errors logged %d, ARI events/call %.1f, requests/call %.1f, first prompt p99 <= %s (load %s)\n",
		s.Mode, s.Rate, s.Placed, s.Failed, s.Served, s.SetupP50.Round(time.Millisecond/10), s.SetupP99.Round(time.Millisecond/10), s.PeakChannels,
		s.IvrdCPU.Seconds(), s.AsteriskCPU.Seconds(), s.PostgresCPU.Seconds(), s.IvrdPeakRSS>>20, s.Records, s.RecordsOfStep, s.ErrorLines,
		s.EventsPerCall, s.RequestsPerCall, s.FirstPromptP99, s.Load)
}

// runner runs the steps of one mode.
type runner struct {
	b      *testing.B
	set    settings
	a      *realasterisk.Asterisk
	mode   string
	number string
	astPID int
	// ivrd only
	ivrd     *exec.Cmd
	ivrdLog  string
	ivrdHTTP string // the profiles' address
	ivrdWeb  string // the panel's and /metrics' address
	pgPID    int
	pool     *pgxpool.Pool
	stopIvrd func()
}

func (r *runner) stop() {
	if r.stopIvrd != nil {
		r.stopIvrd()
	}
}

func (r *runner) cpu() (ivrd, ast, pg time.Duration) {
	var err error
	if ast, err = TreeCPU(r.astPID); err != nil {
		r.b.Fatalf("asterisk CPU: %v", err)
	}
	if r.ivrd != nil {
		if ivrd, err = TreeCPU(r.ivrd.Process.Pid); err != nil {
			r.b.Fatalf("ivrd CPU: %v", err)
		}
		if pg, err = TreeCPU(r.pgPID); err != nil {
			r.b.Fatalf("postgres CPU: %v", err)
		}
	}
	return
}

var channelsRE = regexp.MustCompile(`(\d+) active channels?`)

func (r *runner) step(dir string, rate int, ops *sipp) step {
	b := r.b
	s := step{Mode: r.mode, Rate: rate}
	opsBefore, _ := ReadSippStats(ops.stat)
	logBefore := r.errorLines()
	ev0, rq0 := r.ariCounts()
	fp0 := r.firstPromptBuckets()
	i0, a0, p0 := r.cpu()
	stopProfile := func() {}
	if r.set.profile != "" && r.ivrd != nil {
		stopProfile = r.startProfile(rate)
	}
	began := time.Now()
	stopSampling := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			out, err := r.a.CLI(ctx, "core show channels count")
			cancel()
			if m := channelsRE.FindStringSubmatch(out); err == nil && m != nil {
				n, _ := strconv.Atoi(m[1])
				s.PeakChannels = max(s.PeakChannels, n)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(2 * time.Second):
			}
		}
	})
	calls := rate * r.set.seconds
	callers := startSipp(b, dir, "caller", freeUDP(b), "-s", r.number, "-r", strconv.Itoa(rate), "-rp", "1000",
		"-m", strconv.Itoa(calls), "-l", "50000", "-trace_rtt", "-rtt_freq", "1",
		"-timeout", strconv.Itoa(r.set.seconds+300), "-timeout_error", r.a.SIPAddr)
	<-callers.done
	// The operators' last BYEs are answered by now; let Asterisk settle.
	// Channels a failed step left are hung up: the next step (the other
	// mode's) must start on a clean Asterisk.
	if !r.waitNoChannels(30 * time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = r.a.CLI(ctx, "channel request hangup all")
		cancel()
		r.waitNoChannels(60 * time.Second)
	}
	close(stopSampling)
	wg.Wait()
	stopProfile()
	s.Seconds = time.Since(began).Seconds()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		s.Load, _, _ = strings.Cut(string(b), " ")
	}
	i1, a1, p1 := r.cpu()
	st, err := ReadSippStats(callers.stat)
	if err != nil {
		b.Fatalf("callers' statistics: %v (sipp: %v, logs in %s)", err, callers.err, dir)
	}
	s.Placed = st.Successful + st.Failed
	// The operators' sipp writes its statistics every second: wait for
	// its count of the step's calls to reach the callers', a few seconds
	// at most.
	opsAfter, _ := ReadSippStats(ops.stat)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		opsAfter, _ = ReadSippStats(ops.stat)
		if opsAfter.Successful+opsAfter.Failed-opsBefore.Successful-opsBefore.Failed >= s.Placed {
			break
		}
	}
	s.Failed = st.Failed + opsAfter.Failed - opsBefore.Failed
	s.Served = opsAfter.Successful - opsBefore.Successful
	rtt, err := ReadRTT(dir)
	if err != nil {
		b.Fatal(err)
	}
	s.SetupP50, s.SetupP99 = Percentile(rtt, 50), Percentile(rtt, 99)
	per := func(d time.Duration) time.Duration {
		if s.Placed == 0 {
			return 0
		}
		return d * 1000 / time.Duration(s.Placed)
	}
	s.IvrdCPU, s.AsteriskCPU, s.PostgresCPU = per(i1-i0), per(a1-a0), per(p1-p0)
	if r.ivrd != nil {
		if s.IvrdPeakRSS, err = PeakRSS(r.ivrd.Process.Pid); err != nil {
			b.Fatal(err)
		}
		s.Records, s.RecordsOfStep = r.records(began.Add(-time.Second), time.Now())
		s.ErrorLines = r.errorLines() - logBefore
		ev1, rq1 := r.ariCounts()
		s.FirstPromptP99 = bucketPercentile(fp0, r.firstPromptBuckets(), 0.99)
		if s.Placed > 0 {
			s.EventsPerCall, s.RequestsPerCall = (ev1-ev0)/float64(s.Placed), (rq1-rq0)/float64(s.Placed)
		}
	}
	return s
}

func (r *runner) waitNoChannels(limit time.Duration) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := r.a.CLI(ctx, "core show channels count")
		cancel()
		if m := channelsRE.FindStringSubmatch(out); err == nil && m != nil && m[1] == "0" {
			return true
		}
		time.Sleep(500 * time.Millisecond)
	}
	return false
}

// records counts the call records started in [from, to): all, and those
// finished as answered in lotto3 with their ticket of path 1 3.
func (r *runner) records(from, to time.Time) (complete, all int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE c.ended_at IS NOT NULL AND c.outcome = 'answered' AND c.group_id = 'lotto3'
		                         AND c.operator LIKE 'b%' AND t.group_id = 'lotto3'
		                         AND jsonb_path_query_array(t.menu_path, '$[*].key') = '["1","3"]'::jsonb),
		       count(*)
		FROM calls c LEFT JOIN tickets t ON t.id = c.ticket_id
		WHERE c.started_at >= $1 AND c.started_at < $2`, from, to).Scan(&complete, &all)
	if err != nil {
		r.b.Fatalf("count call records: %v", err)
	}
	return complete, all
}

// firstPromptBuckets reads ivrd's ivr_first_prompt_seconds histogram:
// cumulative counts by upper bound (+Inf as a very large bound).
func (r *runner) firstPromptBuckets() map[float64]float64 {
	out := map[float64]float64{}
	if r.ivrdWeb == "" {
		return out
	}
	resp, err := http.Get("http://" + r.ivrdWeb + "/metrics")
	if err != nil {
		r.b.Fatalf("ivrd metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.b.Fatalf("ivrd metrics: %v", err)
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(l, `ivr_first_prompt_seconds_bucket{le="`)
		if !ok {
			continue
		}
		le, value, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		bound, err := strconv.ParseFloat(le, 64)
		if le == "+Inf" {
			bound, err = math.MaxFloat64, nil
		}
		v, verr := strconv.ParseFloat(value, 64)
		if err == nil && verr == nil {
			out[bound] = v
		}
	}
	return out
}

// bucketPercentile is the upper bound of the bucket holding quantile q of
// the observations made between two readings of a histogram.
func bucketPercentile(before, after map[float64]float64, q float64) time.Duration {
	bounds := slices.Sorted(maps.Keys(after))
	if len(bounds) == 0 {
		return 0
	}
	total := after[bounds[len(bounds)-1]] - before[bounds[len(bounds)-1]]
	if total <= 0 {
		return 0
	}
	for _, b := range bounds {
		if after[b]-before[b] >= q*total {
			if b == math.MaxFloat64 {
				return time.Duration(math.MaxInt64)
			}
			return time.Duration(b * float64(time.Second))
		}
	}
	return time.Duration(math.MaxInt64)
}

// ariCounts reads ivrd's /metrics: ARI events received and REST requests
// made so far (0 without ivrd).
func (r *runner) ariCounts() (events, requests float64) {
	if r.ivrdWeb == "" {
		return 0, 0
	}
	resp, err := http.Get("http://" + r.ivrdWeb + "/metrics")
	if err != nil {
		r.b.Fatalf("ivrd metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.b.Fatalf("ivrd metrics: %v", err)
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		name, value, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		name, _, _ = strings.Cut(name, "{")
		switch name {
		case "ivr_ari_events_total":
			events += v
		case "ivr_ari_request_duration_seconds_count":
			requests += v
		}
	}
	return events, requests
}

func (r *runner) errorLines() int {
	if r.ivrdLog == "" {
		return 0
	}
	b, _ := os.ReadFile(r.ivrdLog)
	return bytes.Count(b, []byte(`"level":"ERROR"`))
}

// startIvrd starts a throwaway PostgreSQL and the real ivrd on the bench
// configuration, and logs the bench operators in.
func startIvrd(b *testing.B, set settings, a *realasterisk.Asterisk, root, bin string) runner {
	ctx := context.Background()
	pg, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		b.Fatalf("postgres: %v", err)
	}
	b.Cleanup(func() { _ = pg.Stop() })
	dir, err := os.MkdirTemp(a.Dir, "ivrd-")
	if err != nil {
		b.Fatal(err)
	}
	shipped, err := os.ReadFile(filepath.Join(root, "configs", "helpdesk.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	cfgYAML, err := HelpDesk(shipped, set.operators)
	if err != nil {
		b.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "helpdesk.yaml")
	if err := os.WriteFile(cfgPath, cfgYAML, 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := configfile.Load(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	listen := freeTCP(b)
	logPath := filepath.Join(dir, "ivrd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgPath, "-listen", listen, "-data", dir)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+pg.URL(), "ARI_URL="+a.ARIURL(), "ARI_USERNAME="+a.User,
		"ARI_PASSWORD="+a.Password, "ARI_APP="+a.App, "IVR_PIN_SECRET="+configfile.DemoPINSecret)
	if set.profile != "" {
		cmd.Env = append(cmd.Env, "IVR_DEBUG_LISTEN="+freeTCP(b))
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	stop := func() {
		select {
		case <-exited:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	b.Cleanup(stop)
	// Ready: PostgreSQL migrated, the queues synced, ARI connected.
	client := &http.Client{Timeout: 2 * time.Second}
	for end := time.Now().Add(60 * time.Second); ; {
		resp, err := client.Get("http://" + listen + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			b.Fatalf("ivrd exited:\n%s", log)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(end) {
			log, _ := os.ReadFile(logPath)
			b.Fatalf("ivrd not ready in 60 s:\n%s", log)
		}
	}
	pool, err := pgxpool.New(ctx, pg.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	q := queues.New(pool, queues.Options{Location: cfg.Location()})
	for i := 1; i <= set.operators; i++ {
		if err := q.SetState(ctx, OperatorPrefix+strconv.Itoa(i), queues.Available, ""); err != nil {
			b.Fatalf("log in operator %d: %v", i, err)
		}
	}
	return runner{b: b, set: set, a: a, mode: "ivrd", number: IvrdNumber, ivrd: cmd, ivrdLog: logPath,
		ivrdHTTP: debugAddr(cmd.Env), ivrdWeb: listen, pgPID: pidFile(b, filepath.Join(pg.Dir(), "data", "postmaster.pid")),
		pool: pool, stopIvrd: stop}
}

func debugAddr(env []string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "IVR_DEBUG_LISTEN="); ok {
			return v
		}
	}
	return ""
}

// startProfile fetches a CPU profile of ivrd while the step places its
// calls and they run (a call lasts about 22 s); stop waits for it to be
// written.
func (r *runner) startProfile(rate int) (stop func()) {
	f, err := os.Create(filepath.Join(r.set.profile, fmt.Sprintf("ivrd-%d.pprof", rate)))
	if err != nil {
		r.b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer f.Close()
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", r.ivrdHTTP, r.set.seconds+25))
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer resp.Body.Close()
		_, _ = f.ReadFrom(resp.Body)
	}()
	return func() {
		<-done
		r.saveMetrics(rate)
	}
}

// saveMetrics writes ivrd's /metrics beside the profile: the events by
// type and requests by route tell where a call's ARI traffic goes.
func (r *runner) saveMetrics(rate int) {
	resp, err := http.Get("http://" + r.ivrdWeb + "/metrics")
	if err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		return
	}
	if err := os.WriteFile(filepath.Join(r.set.profile, fmt.Sprintf("ivrd-%d.metrics", rate)), b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
	}
}

// sipp is one running sipp.
type sipp struct {
	cmd  *exec.Cmd
	stat string
	done chan struct{}
	err  error
}

func (s *sipp) kill() {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// startSipp runs sipp with the named scenario, its SIP on addr, RTP on a
// free pair of ports, statistics every second in dir.
func startSipp(b *testing.B, dir, scenario, addr string, args ...string) *sipp {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	sf := filepath.Join(dir, scenario+".xml")
	if err := os.WriteFile(sf, Scenario(scenario), 0o644); err != nil {
		b.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	s := &sipp{stat: filepath.Join(dir, "stat.csv"), done: make(chan struct{})}
	args = append([]string{"-sf", sf, "-i", host, "-p", port, "-mi", "127.0.0.1", "-mp", strconv.Itoa(freeUDPPair(b)),
		"-aa", "-nostdin", "-trace_stat", "-stf", s.stat, "-fd", "1", "-trace_err", "-error_file", filepath.Join(dir, "errors.log")},
		args...)
	out, err := os.Create(filepath.Join(dir, "screen.log"))
	if err != nil {
		b.Fatal(err)
	}
	s.cmd = exec.Command("sipp", args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		b.Fatalf("sipp: %v", err)
	}
	go func() { s.err = s.cmd.Wait(); out.Close(); close(s.done) }()
	b.Cleanup(s.kill)
	return s
}

func printTable(all []step, set settings) {
	fmt.Printf("\ncalls: keys 1 then 3 (SIP INFO), the transfer prompt and ticket number, an operator who answers after 0.5 s and hangs up after %s; %d s of calls per rate\n", set.hold, set.seconds)
	for _, mode := range set.modes {
		best := step{}
		var steps []step
		for _, s := range all {
			if s.Mode == mode {
				steps = append(steps, s)
			}
		}
		for i, s := range steps {
			if s.ok() {
				best = s
				continue
			}
			if i+1 < len(steps) && steps[i+1].Rate == s.Rate {
				continue // its second try decides
			}
			break
		}
		if best.Rate == 0 {
			fmt.Printf("%-8s no rate passed\n", mode)
			continue
		}
		fmt.Printf("%-8s highest rate with 0 failed calls, every caller served by an operator and set-up p99 < 200 ms: %d calls/s (p99 %s, %d channels at peak); CPU-s per 1,000 calls: ivrd %.2f, Asterisk %.2f, PostgreSQL %.2f; ivrd peak RSS %d MiB; records and tickets %d/%d\n",
			mode, best.Rate, best.SetupP99.Round(time.Millisecond/10), best.PeakChannels, best.IvrdCPU.Seconds(), best.AsteriskCPU.Seconds(),
			best.PostgresCPU.Seconds(), best.IvrdPeakRSS>>20, best.Records, best.Placed)
	}
}

// prompts returns the help desk's generated prompts (<lang>/helpdesk/*.wav),
// made by `ivrctl prompts` in the user's cache, the interop tests' copy.
func prompts(b *testing.B, root, ivrctl string) string {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "helpdesk-ivr", "interop-prompts")
	if err := os.MkdirAll(out, 0o755); err != nil {
		b.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(out, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(ivrctl, "prompts", "-config", filepath.Join(root, "configs", "helpdesk.yaml"), "-out", out)
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ivrctl prompts: %v\n%s", err, o)
	}
	return filepath.Join(out, "sounds")
}

func pidFile(b *testing.B, path string) int {
	for end := time.Now().Add(10 * time.Second); ; {
		data, err := os.ReadFile(path)
		if err == nil {
			first, _, _ := strings.Cut(string(data), "\n")
			if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil {
				return pid
			}
		}
		if time.Now().After(end) {
			b.Fatalf("no pid in %s: %v", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeTCP(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func freeUDP(b *testing.B) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// freeUDPPair finds an even port p with p and p+1 free (RTP and RTCP).
func freeUDPPair(b *testing.B) int {
	for range 50 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		p += p % 2
		c1, err1 := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		c2, err2 := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p+1))
		for _, c := range []net.PacketConn{c1, c2} {
			if c != nil {
				c.Close()
			}
		}
		if err1 == nil && err2 == nil {
			return p
		}
	}
	b.Fatal("no free pair of UDP ports")
	return 0
}
