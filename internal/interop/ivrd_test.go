package interop

// The harness of the suite through the real ivrd binary: ivrd built once
// per test binary, run against a private Asterisk (internal/realasterisk)
// and a test database of its own (internal/pgtest) reached through a proxy
// the test can cut, with the shipped configs/helpdesk.yaml. Operators are
// put available in the queues as an operator's console does; their phones
// are sipp UAs. What Asterisk does with the calls is watched from a Stasis
// application of the test's own subscribed to everything (Observer), what
// ivrd recorded is read from PostgreSQL.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/bustest"
	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/realasterisk"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

var ivrdBuild struct {
	once sync.Once
	bin  string
	err  error
}

// ivrdBinary builds cmd/ivrd once per test binary.
func ivrdBinary(t *testing.T) string {
	t.Helper()
	ivrdBuild.once.Do(func() {
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			ivrdBuild.err = err
			return
		}
		bin := filepath.Join(binDir, "ivrd")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/ivrd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			ivrdBuild.err = fmt.Errorf("go build ./cmd/ivrd: %v\n%s", err, out)
			return
		}
		ivrdBuild.bin = bin
	})
	if ivrdBuild.err != nil {
		t.Fatal(ivrdBuild.err)
	}
	return ivrdBuild.bin
}

// panelPassword is the password of every panel user the harness adds.
const panelPassword = "interop-password-1"

// DeskOptions configure StartDesk.
type DeskOptions struct {
	// Clock is the help desk's time at ivrd's start, 2006-01-02T15:04 in
	// the service time zone (ivrd -clock); "" is the wall clock.
	Clock string
	// Phones are operator endpoints that get a test phone address in
	// Asterisk (realasterisk.Options.Phones): start a phone on one with
	// Desk.Phone.
	Phones []string
	// Available are the operators put available at start (default:
	// Phones); the others stay logged out.
	Available []string
	// DrainTimeout is ivrd's -drain-timeout (default 60 s).
	DrainTimeout time.Duration
	// Env is added to ivrd's environment.
	Env []string
	// Config is the help-desk configuration ivrd runs (default the
	// shipped configs/helpdesk.yaml); its prompts must be among those
	// promptSounds generates.
	Config string
	// Overlay and Set change Asterisk's configuration
	// (realasterisk.Options): a node behind Kamailio.
	Overlay string
	Set     []realasterisk.Setting
	// Bus, if set, puts a real ari-proxy server on it for the Asterisk,
	// and ivrd reaches Asterisk through it (ari.transport nats).
	Bus *bustest.NATS
}

// Desk is a help desk as deployed: the ivrd binary, a private Asterisk
// and a PostgreSQL database of the test's own.
type Desk struct {
	A     *realasterisk.Asterisk
	DB    *pgxpool.Pool  // the test's direct connection
	Store *tickets.Store // on DB
	Proxy *TCPProxy      // ivrd's path to PostgreSQL, which a test may cut
	Obs   *Observer      // what Asterisk does, from a subscribeAll application
	Addr  string         // ivrd's HTTP address (panel, /metrics, /readyz)

	t       *testing.T
	opts    DeskOptions
	dataDir string
	ivrd    *ivrdProcess
}

// StartDesk starts Asterisk, the database and ivrd, waits until ivrd is
// ready (its /readyz) and puts the operators available.
func StartDesk(t *testing.T, opts DeskOptions) *Desk {
	t.Helper()
	realasterisk.SkipIfOptedOut(t)
	bin := ivrdBinary(t)
	sounds := promptSounds(t)
	if opts.Available == nil {
		opts.Available = opts.Phones
	}
	opts.DrainTimeout = cmpOrDuration(opts.DrainTimeout, 60*time.Second)
	dbURL := pgtest.DatabaseURL(t)
	a := realasterisk.Start(t, realasterisk.Options{Phones: opts.Phones, Sounds: sounds, Overlay: opts.Overlay, Set: opts.Set})
	if opts.Bus != nil {
		bustest.ProxyAsterisk(t, opts.Bus, a.ARIURL(), a.App, a.User, a.Password)
		opts.Env = append(slices.Clone(opts.Env), "ARI_TRANSPORT=nats", "ARI_NATS_URL="+opts.Bus.URL())
	}
	d := &Desk{A: a, t: t, opts: opts, dataDir: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	if d.DB, err = pgxpool.New(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.DB.Close)
	cfg := shipped(t)
	now := time.Now
	if opts.Clock != "" {
		// The test's writes (a seeded ticket) take ivrd's date.
		start, err := time.ParseInLocation("2006-01-02T15:04", opts.Clock, cfg.Location())
		if err != nil {
			t.Fatal(err)
		}
		now = clock.NewScaled(start, 1).Now
	}
	d.Store = tickets.New(d.DB, tickets.Options{Location: cfg.Location(), Now: now})
	if d.Proxy, err = NewTCPProxy(dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Proxy.Close)
	if d.Obs, err = Observe(ctx, a); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Obs.Close)
	d.Addr = freeTCPAddr(t)
	d.ivrd = &ivrdProcess{bin: bin}
	t.Cleanup(func() {
		d.ivrd.kill()
		if t.Failed() {
			t.Logf("ivrd's log:\n%s", d.Log())
		}
	})
	d.Start(t)
	// ivrd migrated the database: the panel's users and the operators'
	// states can be written now.
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	users := panel.NewUsers(d.DB)
	for _, u := range []struct {
		login string
		role  panel.Role
	}{{"admin", panel.RoleAdmin}, {"supervisore", panel.RoleSupervisor}} {
		if err := users.Add(ctx, u.login, u.login, u.role, panelPassword, "it"); err != nil {
			t.Fatalf("panel user %s: %v", u.login, err)
		}
	}
	d.SetAvailable(t, opts.Available...)
	return d
}

// Peer starts another ivrd on the desk's Asterisk and database, with env
// added to the desk's (several instances: with DeskOptions.Bus), and
// returns it as a Desk sharing all but the process and its address.
func (d *Desk) Peer(t *testing.T, env ...string) *Desk {
	t.Helper()
	p := *d
	p.opts.Env = append(slices.Clone(d.opts.Env), env...)
	p.Addr, p.dataDir = freeTCPAddr(t), t.TempDir()
	p.ivrd = &ivrdProcess{bin: d.ivrd.bin}
	t.Cleanup(func() {
		p.ivrd.kill()
		if t.Failed() {
			t.Logf("peer ivrd's log (%s):\n%s", p.Addr, p.Log())
		}
	})
	p.Start(t)
	return &p
}

// SetAvailable puts operators available in the queues, as their console's
// "available" button does.
func (d *Desk) SetAvailable(t *testing.T, logins ...string) {
	t.Helper()
	q := queues.New(d.DB, queues.Options{Location: shipped(t).Location()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, op := range logins {
		if err := q.SetState(ctx, op, queues.Available, ""); err != nil {
			t.Fatalf("operator %s available: %v", op, err)
		}
	}
}

// ivrdProcess is one run of the binary; Restart makes another.
type ivrdProcess struct {
	bin string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has ended
	err    error         // cmd's exit, once exited is closed
	log    syncBuffer    // stderr of every run, in order
}

// Start starts ivrd (it must not be running) and waits until /readyz says
// ready: database up and ARI connected.
func (d *Desk) Start(t *testing.T) {
	t.Helper()
	p := d.ivrd
	p.mu.Lock()
	if p.cmd != nil && !closed(p.exited) {
		p.mu.Unlock()
		t.Fatal("ivrd is running already")
	}
	config := d.opts.Config
	if config == "" {
		config = filepath.Join(repoRoot(t), "configs", "helpdesk.yaml")
	}
	args := []string{"-config", config, "-listen", d.Addr,
		"-data", d.dataDir, "-drain-timeout", d.opts.DrainTimeout.String()}
	if d.opts.Clock != "" {
		args = append(args, "-clock", d.opts.Clock)
	}
	cmd := exec.Command(p.bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+d.Proxy.URL, "IVR_PIN_SECRET="+configfile.DemoPINSecret,
		"IVR_PIN_SECRET_FILE=", "IVR_OPS=", "ARI_URL="+d.A.ARIURL(), "ARI_USERNAME="+d.A.User,
		"ARI_PASSWORD="+d.A.Password, "ARI_APP="+d.A.App)
	cmd.Env = append(cmd.Env, d.opts.Env...)
	fmt.Fprintf(&p.log, "--- ivrd %s\n", strings.Join(args, " "))
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		t.Fatalf("start ivrd: %v", err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(exited)
	}()
	d.WaitReady(t)
}

// WaitReady waits until ivrd's /readyz answers 200.
func (d *Desk) WaitReady(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
		if closed(d.ivrd.exitedChan()) {
			t.Fatalf("ivrd exited while starting: %v\n%s", d.ivrd.exitErr(), d.Log())
		}
		resp, err := client.Get("http://" + d.Addr + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%s: %s", resp.Status, b)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond) // polling another process's port
	}
	t.Fatalf("ivrd not ready: %s\n%s", last, d.Log())
}

func (p *ivrdProcess) exitedChan() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

func (p *ivrdProcess) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *ivrdProcess) signal(sig os.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || closed(p.exited) {
		return nil
	}
	return p.cmd.Process.Signal(sig)
}

func (p *ivrdProcess) kill() {
	if err := p.signal(syscall.SIGKILL); err == nil {
		if ch := p.exitedChan(); ch != nil {
			<-ch
		}
	}
}

// Signal sends sig to ivrd (SIGTERM starts the drain) and returns at once.
func (d *Desk) Signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := d.ivrd.signal(sig); err != nil {
		t.Fatalf("signal ivrd: %v", err)
	}
}

// WaitExit waits for ivrd to end and returns how it ended.
func (d *Desk) WaitExit(ctx context.Context, t *testing.T) error {
	t.Helper()
	ch := d.ivrd.exitedChan()
	if ch == nil {
		t.Fatal("ivrd never started")
	}
	select {
	case <-ch:
		return d.ivrd.exitErr()
	case <-ctx.Done():
		t.Fatalf("ivrd still running: %v", ctx.Err())
		return nil
	}
}

// Stop sends SIGTERM and waits for ivrd to finish draining and exit 0.
func (d *Desk) Stop(t *testing.T) {
	t.Helper()
	d.Signal(t, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), d.opts.DrainTimeout+60*time.Second)
	defer cancel()
	if err := d.WaitExit(ctx, t); err != nil {
		t.Fatalf("ivrd after SIGTERM: %v", err)
	}
}

// Kill kills ivrd (SIGKILL: no drain, nothing written) and waits for it to
// be gone.
func (d *Desk) Kill(t *testing.T) {
	t.Helper()
	d.Signal(t, syscall.SIGKILL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = d.WaitExit(ctx, t) // "signal: killed"
}

// Restart is Kill then Start (kill9 true) or Stop then Start.
func (d *Desk) Restart(t *testing.T, kill9 bool) {
	t.Helper()
	if kill9 {
		d.Kill(t)
	} else {
		d.Stop(t)
	}
	d.Start(t)
}

// Log is what every run of ivrd wrote (JSON lines).
func (d *Desk) Log() string { return d.ivrd.log.String() }

// LogLines returns ivrd's log lines whose "msg" is msg, decoded.
func (d *Desk) LogLines(msg string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(d.Log(), "\n") {
		if !strings.Contains(l, `"msg":"`+msg+`"`) {
			continue
		}
		m := map[string]any{}
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// Metrics returns ivrd's /metrics.
func (d *Desk) Metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + d.Addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %s %v", resp.Status, err)
	}
	return string(b)
}

// Phone starts a test phone (a sipp UAS) for one call to endpoint.
func (d *Desk) Phone(t *testing.T, endpoint string, o realasterisk.PhoneOptions) *realasterisk.SIPCall {
	t.Helper()
	return d.A.Phone(t, endpoint, o)
}

// Caller places a call from a sipp caller.
func (d *Desk) Caller(t *testing.T, o realasterisk.CallOptions) *realasterisk.SIPCall {
	t.Helper()
	o.Timeout = cmpOrDuration(o.Timeout, 120*time.Second)
	return d.A.Call(t, o)
}

// CallOf waits until ivrd has opened the record of the call from caller
// (the number as sipp sends it) and returns it.
func (d *Desk) CallOf(ctx context.Context, t *testing.T, caller string) tickets.Call {
	t.Helper()
	ch := d.Obs.WaitChannel(ctx, t, caller)
	return waitFor(ctx, t, "the call record of "+caller, func() (tickets.Call, bool) {
		c, err := d.Store.FindCallByChannel(ctx, ch)
		return c, err == nil
	})
}

// WaitCallEvent waits until the record of call has an event of kind and
// returns the record's events.
func (d *Desk) WaitCallEvent(ctx context.Context, t *testing.T, call tickets.Call, kind tickets.EventKind) []tickets.CallEvent {
	t.Helper()
	return waitFor(ctx, t, fmt.Sprintf("call %d: event %s", call.ID, kind), func() ([]tickets.CallEvent, bool) {
		evs, err := d.Store.CallEvents(ctx, call.ID)
		return evs, err == nil && slices.ContainsFunc(evs, func(e tickets.CallEvent) bool { return e.Kind == kind })
	})
}

// WaitEnded waits until the record of call is finished (an outcome and
// an end) and returns it with its events.
func (d *Desk) WaitEnded(ctx context.Context, t *testing.T, call tickets.Call) (tickets.Call, []tickets.CallEvent) {
	t.Helper()
	c := waitFor(ctx, t, fmt.Sprintf("the end of call %d", call.ID), func() (tickets.Call, bool) {
		c, err := d.Store.FindCallByID(ctx, call.ID)
		return c, err == nil && !c.EndedAt.IsZero() && c.Outcome != ""
	})
	evs, err := d.Store.CallEvents(ctx, call.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c, evs
}

// Ticket returns the ticket of call.
func (d *Desk) Ticket(ctx context.Context, t *testing.T, call tickets.Call) tickets.Ticket {
	t.Helper()
	tk, err := d.Store.FindTicketByID(ctx, call.TicketID, tickets.Viewer{Kind: tickets.ViewerSystem})
	if err != nil {
		t.Fatalf("ticket of call %d: %v", call.ID, err)
	}
	return tk
}

// Summary is the call as the comparison sees it: outcome, group and menu
// path from ivrd's record in PostgreSQL, media from Asterisk. The
// controller's own prompt names are not visible outside its process
// (Prompts stays nil): the media Asterisk played stand for them.
func (d *Desk) Summary(ctx context.Context, t *testing.T, call tickets.Call, events []tickets.CallEvent) Call {
	t.Helper()
	var tk tickets.Ticket
	if call.TicketID != 0 {
		tk = d.Ticket(ctx, t, call)
	}
	return FromRecord(call, events, tk, d.Obs.Media(call.ChannelID))
}

func waitFor[T any](ctx context.Context, t *testing.T, what string, f func() (T, bool)) T {
	t.Helper()
	for {
		v, ok := f()
		if ok {
			return v
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
			return v
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func closed(ch chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func cmpOrDuration(d, def time.Duration) time.Duration {
	if d != 0 {
		return d
	}
	return def
}

func freeTCPAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// PanelSession is a logged-in panel user, over HTTP.
type PanelSession struct {
	base string
	http *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// LogIn logs in to ivrd's panel as login (a user StartDesk added).
func (d *Desk) LogIn(t *testing.T, login string) *PanelSession {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &PanelSession{base: "http://" + d.Addr, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	_, page := s.Get(t, "/login")
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no login token in the login page:\n%s", page)
	}
	form := url.Values{"csrf": {string(m[1])}, "login": {login}, "password": {panelPassword}}
	resp, err := s.http.PostForm(s.base+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`data-testid="current-user"`)) {
		t.Fatalf("log in as %s: %s\n%s", login, resp.Status, body)
	}
	if m = csrfField.FindSubmatch(body); m != nil {
		s.csrf = string(m[1])
	}
	return s
}

// Get fetches path and returns the status and body.
func (s *PanelSession) Get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := s.http.Get(s.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// Post sends a form with the session's token, as the panel's own pages
// do, following the redirect; it returns the last answer and its body.
func (s *PanelSession) Post(t *testing.T, path string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	form.Set("csrf", s.csrf)
	req, err := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// Calls in chosen states, for tests that act on calls in progress (a
// crash, a drain, a fault). Each returns once the state shows in
// Asterisk and in ivrd's record; the sipp UAs end with the test.

// InMenu places a call that stays in the main menu: it keys nothing (the
// main prompt lasts 38 s, then the menu asks again, three times in all,
// before it sends the caller to accoglienza).
func (d *Desk) InMenu(ctx context.Context, t *testing.T, caller string) tickets.Call {
	t.Helper()
	d.Caller(t, realasterisk.CallOptions{Caller: caller, Timeout: 4 * time.Minute})
	call := d.CallOf(ctx, t, caller)
	d.Obs.Wait(ctx, t, caller+" hearing the main menu", func(o *Observer) bool {
		ch := o.channels[call.ChannelID]
		return ch != nil && slices.ContainsFunc(ch.media.List(), func(p Playback) bool {
			return p.Media == "sound:helpdesk/menu-root"
		})
	})
	return call
}

// Queued places a call that keys its way (e.g. "13") to a group none of
// whose operators is free (put them on a break first: SetPaused), and
// waits until it is queued.
func (d *Desk) Queued(ctx context.Context, t *testing.T, caller, keys string) tickets.Call {
	t.Helper()
	d.Caller(t, realasterisk.CallOptions{Caller: caller, Keys: keyed(keys, keyGap, keyGap), Timeout: 4 * time.Minute})
	call := d.CallOf(ctx, t, caller)
	d.WaitCallEvent(ctx, t, call, tickets.EventQueued)
	return call
}

// Talking places a call that keys its way to a group and is answered by
// op (available, one of DeskOptions.Phones; a phone that answers is
// started for it), and waits until Asterisk bridges them and ivrd's
// record has the answer.
func (d *Desk) Talking(ctx context.Context, t *testing.T, caller, keys, op string) tickets.Call {
	t.Helper()
	d.Phone(t, op, realasterisk.PhoneOptions{AnswerAfter: time.Second, Timeout: 4 * time.Minute})
	d.Caller(t, realasterisk.CallOptions{Caller: caller, Keys: keyed(keys, keyGap, keyGap), Timeout: 4 * time.Minute})
	call := d.CallOf(ctx, t, caller)
	d.Obs.BridgedWith(ctx, t, call.ChannelID, "PJSIP/"+op+"-")
	d.WaitCallEvent(ctx, t, call, tickets.EventAnswered)
	return call
}

// Metric returns the value of the sample of ivrd's /metrics whose line
// starts with series (a name, or a name{labels}), or -1 if there is none.
func (d *Desk) Metric(t *testing.T, series string) float64 {
	t.Helper()
	for _, l := range strings.Split(d.Metrics(t), "\n") {
		rest, ok := strings.CutPrefix(l, series+" ")
		if !ok {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(rest, &v); err == nil {
			return v
		}
	}
	return -1
}
