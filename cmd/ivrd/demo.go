package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgcluster"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/queues"
)

// demoEnv is what demo mode runs besides ivrd itself: a private
// PostgreSQL cluster under the data directory.
type demoEnv struct {
	cluster *pgcluster.Cluster
	dbURL   string
	log     *slog.Logger
}

func startDemo(ctx context.Context, f flags, log *slog.Logger, needDB bool) (*demoEnv, error) {
	d := &demoEnv{log: log}
	if !needDB {
		return d, nil
	}
	dir, err := filepath.Abs(filepath.Join(f.dataDir, "postgres"))
	if err != nil {
		return nil, err
	}
	// PostgreSQL runs as its own user, which must be able to reach the
	// cluster directory.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	log.Info("demo_postgres_starting", "dir", dir)
	d.cluster, err = pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Keep: true, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("demo PostgreSQL (set DATABASE_URL to use your own): %w", err)
	}
	d.dbURL = d.cluster.URL()
	return d, nil
}

func (d *demoEnv) stop() {
	if d.cluster != nil {
		if err := d.cluster.Stop(); err != nil {
			d.log.Warn("demo_postgres_stop_failed", "error", err.Error())
		}
	}
}

// demoCalls is how many scripted demo calls may run at once: each holds a
// simulated call for up to 20 minutes.
const demoCalls = 4

// demoCallFunc places one scripted call (simdesk.Desk.Call).
type demoCallFunc func(ctx context.Context, caller string, script []simdesk.Step) (simdesk.Result, error)

// demoCallPage is POST /demo/call, a scripted call through the real
// controller whose transcript comes back one JSON object per line:
//
//	POST /demo/call?caller=3331234567&keys=1+3
//
// It is a page of the panel, mounted in demo mode only: like every POST
// of the panel it needs a logged-in user and the session's form token
// (field "csrf" or header X-CSRF-Token), and it passes the panel's
// cross-origin check. At most demoCalls run at once; more are 429.
func demoCallPage(call demoCallFunc, loc *time.Location) panel.ExtraPage {
	slots := make(chan struct{}, demoCalls)
	handle := func(w http.ResponseWriter, req *http.Request) {
		msg := demoMessages[panel.Lang(req)]
		if msg == nil {
			msg = demoMessages["it"]
		}
		q := req.URL.Query()
		script, err := simdesk.ParseScript(q.Get("keys"))
		if err != nil {
			http.Error(w, msg["keys"]+" "+err.Error(), http.StatusBadRequest)
			return
		}
		caller := cmp.Or(q.Get("caller"), "3331234567")
		if len(caller) > 32 {
			http.Error(w, msg["caller"], http.StatusBadRequest)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			w.Header().Set("Retry-After", "60")
			http.Error(w, fmt.Sprintf(msg["busy"], demoCalls), http.StatusTooManyRequests)
			return
		}
		ctx, cancel := context.WithTimeout(req.Context(), 20*time.Minute)
		defer cancel()
		res, err := call(ctx, caller, script)
		if err != nil {
			http.Error(w, msg["failed"]+" "+err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, e := range res.Events {
			e.Time = e.Time.In(loc).Round(time.Millisecond)
			_ = enc.Encode(e)
		}
	}
	return panel.ExtraPage{Roles: panel.Roles, Mount: func(r chi.Router) { r.Post("/demo/call", handle) }}
}

// deskCall places demo calls on desk.
func deskCall(desk *simdesk.Desk) demoCallFunc {
	return func(ctx context.Context, caller string, script []simdesk.Step) (simdesk.Result, error) {
		return desk.Call(ctx, caller, script, arisim.CallOptions{SpeakOnRecord: 10 * time.Second}, simdesk.CallLimits{Talk: 20 * time.Second})
	}
}

// demoMessages are /demo/call's answers, by the user's language.
var demoMessages = map[string]map[string]string{
	"it": {
		"keys":   "Tasti non validi:",
		"caller": "Numero chiamante troppo lungo.",
		"busy":   "Già %d chiamate dimostrative in corso: riprovi quando una è finita.",
		"failed": "La chiamata non è riuscita:",
	},
	"en": {
		"keys":   "Invalid keys:",
		"caller": "Caller number too long.",
		"busy":   "Already %d demo calls in progress: try again when one has ended.",
		"failed": "The call failed:",
	},
}

// demoOperators is how the demo's simulated operator phones behave: they
// answer after a few seconds and end the call after a minute.
var demoOperators = arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 4 * time.Second, HangupAfter: time.Minute}

// demoLogIn makes every configured operator available, so demo calls are
// answered by the simulated phones.
func demoLogIn(ctx context.Context, q *queues.Service, cfg *menu.Config) error {
	for _, op := range cfg.Operators {
		if err := q.SetState(ctx, op.Login, queues.Available, ""); err != nil && !errors.Is(err, fault.ErrConflict) {
			return fmt.Errorf("demo operator %s: %w", op.Login, err)
		}
	}
	return nil
}

// demoPassword is every demo user's password: the demo is for trying, on
// a machine of one's own.
const demoPassword = "demo-password"

// demoUser is a panel user the demo creates.
type demoUser struct {
	login, name string
	role        panel.Role
}

// demoUsersOf are an administrator, a supervisor and every configured
// operator (their panel login is their queue login).
func demoUsersOf(cfg *menu.Config) []demoUser {
	users := []demoUser{{"admin", "Amministratore demo", panel.RoleAdmin}, {"supervisore", "Supervisore demo", panel.RoleSupervisor}}
	for _, op := range cfg.Operators {
		users = append(users, demoUser{op.Login, op.Name, panel.RoleOperator})
	}
	return users
}

// demoUsers creates the demo's users, or resets their password when a
// kept data directory has them already.
func demoUsers(ctx context.Context, users *panel.Users, cfg *menu.Config) error {
	for _, u := range demoUsersOf(cfg) {
		err := users.Add(ctx, u.login, u.name, u.role, demoPassword, "it")
		if errors.Is(err, fault.ErrConflict) {
			err = users.SetPassword(ctx, u.login, demoPassword)
		}
		if err != nil {
			return fmt.Errorf("demo user %s: %w", u.login, err)
		}
	}
	return nil
}

func (d *demoEnv) announce(listen string) {
	fmt.Fprintf(os.Stderr, `
Demo help desk running (simulated Asterisk; every operator available; their phones answer after 4 s,
unless someone has that operator's console open in the panel: then they answer from the console).
  Panel:          http://%[1]s/   password of every demo user: %[3]s
                  admin (administrator), supervisore (supervisor),
                  op201 (operator, Lotto 2), op301 (operator, Lotto 3), ... one per configured operator
  Test phone:     http://%[1]s/testphone   call as any number, now or at a chosen time
  Scripted call:  POST http://%[1]s/demo/call?caller=3331234567&keys=1+3 from a logged-in session,
                  with its form token (X-CSRF-Token); keys: digits separated by spaces, wN waits
                  N seconds, h hangs up; e.g. keys=4+5035%%23 (PIN of a referent), keys=9 (status)
  Metrics:        http://%[1]s/metrics    Readiness: http://%[1]s/readyz
  Database:       %[2]s
`, listen, cmp.Or(d.dbURL, "DATABASE_URL"), demoPassword)
}

// demoPhones are the demo's simulated operator phones: they answer by
// themselves after a few seconds, unless a person has that operator's
// console open in the panel; then they ring until that person answers
// from the console (or the ring timeout pauses them, as a real desk).
type demoPhones struct {
	endpoints map[string]string // login → endpoint

	// set holds setMu while it changes phones: two changes of one phone
	// never cross.
	setMu    sync.Mutex
	mu       sync.Mutex
	sims     map[*arisim.Server]struct{} // the demo's, and the test phone's at a chosen time
	attended map[string]int              // open consoles per login
	calls    map[string]*arisim.Call     // the last call to each phone
}

func newDemoPhones(sim *arisim.Server, cfg *menu.Config) *demoPhones {
	p := &demoPhones{endpoints: map[string]string{}, attended: map[string]int{}, calls: map[string]*arisim.Call{},
		sims: map[*arisim.Server]struct{}{sim: {}}}
	for _, op := range cfg.Operators {
		p.endpoints[op.Login] = op.Endpoint
		p.set(op.Login, false, sim)
	}
	// The supervisors' phones answer by themselves to listen.
	for _, sup := range cfg.Supervisors {
		p.endpoints[sup.Login] = sup.Endpoint
		p.set(sup.Login, false, sim)
	}
	return p
}

// attach puts the operators' phones on another simulated Asterisk (a test
// phone's desk at a chosen time, whose calls wait in the demo's queues):
// they answer from the console there too. detach ends that.
func (p *demoPhones) attach(sim *arisim.Server) (detach func()) {
	p.setMu.Lock()
	defer p.setMu.Unlock()
	p.mu.Lock()
	p.sims[sim] = struct{}{}
	attended := maps.Clone(p.attended)
	p.mu.Unlock()
	for login := range p.endpoints {
		p.set(login, attended[login] > 0, sim)
	}
	return func() {
		p.mu.Lock()
		delete(p.sims, sim)
		p.mu.Unlock()
	}
}

// set gives login's phone its behaviour on sims (all, if none named);
// the caller holds setMu, or owns p alone, and not p.mu.
func (p *demoPhones) set(login string, attended bool, sims ...*arisim.Server) {
	ep, ok := p.endpoints[login]
	if !ok {
		return
	}
	b := demoOperators
	if attended {
		b = arisim.EndpointBehavior{Mode: arisim.NoAnswer}
	}
	b.OnCall = func(c *arisim.Call) {
		p.mu.Lock()
		p.calls[login] = c
		p.mu.Unlock()
	}
	if len(sims) == 0 {
		p.mu.Lock()
		sims = slices.Collect(maps.Keys(p.sims))
		p.mu.Unlock()
	}
	for _, sim := range sims {
		sim.SetEndpoint(ep, b)
	}
}

func (p *demoPhones) Attend(login string, present bool) {
	p.setMu.Lock()
	defer p.setMu.Unlock()
	p.mu.Lock()
	before := p.attended[login]
	if present {
		p.attended[login]++
	} else if before > 0 {
		p.attended[login]--
	}
	after := p.attended[login]
	p.mu.Unlock()
	if (before == 0) != (after == 0) {
		p.set(login, after > 0)
	}
}

func (p *demoPhones) call(login string) (*arisim.Call, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls[login]
	if c == nil {
		return nil, errors.New("no call on this phone")
	}
	return c, nil
}

// Answer picks up login's ringing phone. The console shows the offer as
// soon as the queue commits it, which can be a few seconds before the
// phone rings (the caller first hears the end of the position
// announcement): a quick click waits for the ring rather than failing.
func (p *demoPhones) Answer(login string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := p.call(login)
		if err == nil {
			if err = c.Answer(); err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *demoPhones) Hangup(login string) error {
	c, err := p.call(login)
	if err != nil {
		return err
	}
	return c.Hangup()
}
