package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-chi/chi/v5"

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

// demoRoutes lets anyone try the help desk without a phone:
//
//	curl -X POST 'http://127.0.0.1:8080/demo/call?caller=3331234567&keys=1+3'
//
// runs a scripted call through the real controller and returns its
// transcript, one JSON object per line.
func demoRoutes(r chi.Router, desk *simdesk.Desk, loc *time.Location) {
	r.Post("/demo/call", func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		script, err := simdesk.ParseScript(q.Get("keys"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		caller := q.Get("caller")
		if caller == "" {
			caller = "3331234567"
		}
		ctx, cancel := context.WithTimeout(req.Context(), 20*time.Minute)
		defer cancel()
		res, err := desk.Call(ctx, caller, script, arisim.CallOptions{SpeakOnRecord: 10 * time.Second}, simdesk.CallLimits{Talk: 20 * time.Second})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, e := range res.Events {
			e.Time = e.Time.In(loc).Round(time.Millisecond)
			_ = enc.Encode(e)
		}
	})
}

// demoOperators is how the demo's simulated operator phones behave: they
// answer after a few seconds and end the call after a minute.
var demoOperators = arisim.EndpointBehavior{Mode: arisim.Answer, AnswerAfter: 4 * time.Second, HangupAfter: time.Minute}

// demoLogIn makes every configured operator available, so demo calls are
// answered by the simulated phones.
func demoLogIn(ctx context.Context, q *queues.Service, cfg *menu.Config) error {
	for _, op := range cfg.Operators {
		if err := q.SetState(ctx, op.Login, queues.Available, ""); err != nil && !errors.Is(err, queues.ErrConflict) {
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
		if errors.Is(err, panel.ErrConflict) {
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
Demo help desk running (simulated Asterisk; every operator logged in, phones answer after 4 s).
  Panel:          http://%[1]s/   password of every demo user: %[3]s
                  admin (administrator), supervisore (supervisor),
                  op201 (operator, Lotto 2), op301 (operator, Lotto 3), ... one per configured operator
  Test phone:     http://%[1]s/testphone   call as any number, now or at a chosen time
  Place a call:   curl -X POST 'http://%[1]s/demo/call?caller=3331234567&keys=1+3'
                  keys: digits separated by spaces, wN waits N seconds, h hangs up
                  e.g. keys=4+5035%%23 (PIN of a technical referent), keys=9 (ticket status)
  Metrics:        http://%[1]s/metrics    Readiness: http://%[1]s/readyz
  Database:       %[2]s
`, listen, cmp.Or(d.dbURL, "DATABASE_URL"), demoPassword)
}
