package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/jobs"
	"github.com/helpdesk-ivr/ivr/mailin"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// opsConfig is the operations file (-ops): e-mail notifications and the
// scheduled jobs. Every field is optional; see notify.Config and
// jobs.Config for the defaults. The SMTP password comes from
// IVR_SMTP_PASSWORD, never from the file.
type opsConfig struct {
	Notifications notify.Config `yaml:"notifications"`
	Jobs          jobs.Config   `yaml:"jobs"`
	// Mail is the inbound mail (-mail-listen).
	Mail mailin.Config `yaml:"mail"`
	// ARI is how ivrd reaches Asterisk (aritransport.go).
	ARI ariConfig `yaml:"ari"`
}

func loadOps(path string) (opsConfig, error) {
	var c opsConfig
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("operations file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("%s: %w", path, err)
		}
	}
	// The environment fills what the file leaves out.
	n := &c.Notifications
	n.SMTP.Host = cmpStr(n.SMTP.Host, os.Getenv("IVR_SMTP_HOST"))
	n.SMTP.Username = cmpStr(n.SMTP.Username, os.Getenv("IVR_SMTP_USERNAME"))
	n.SMTP.Password = os.Getenv(notify.EnvSMTPPassword)
	n.From = cmpStr(n.From, os.Getenv("IVR_SMTP_FROM"))
	if s := os.Getenv("IVR_SUPERVISORS"); s != "" && len(n.Supervisors) == 0 {
		n.Supervisors = strings.Split(s, ",")
	}
	if err := c.ARI.fill(path); err != nil {
		return c, err
	}
	return c, nil
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// newNotifier comes first: the ticket store writes the outbox in the
// same transaction as each ticket change through its hook.
func newNotifier(c opsConfig, current func() *menu.Config, cfg *menu.Config, log *slog.Logger) (*notify.Notifier, error) {
	if c.Notifications.Service == "" {
		c.Notifications.Service = cfg.Service.Name
	}
	return notify.NewNotifier(c.Notifications, notify.MenuDirectory(current), cfg.Location(), log)
}

func migrateOps(ctx context.Context, pool *pgxpool.Pool) error {
	for _, m := range []func(context.Context, *pgxpool.Pool) error{notify.Migrate, jobs.Migrate, mailin.Migrate} {
		if err := m(ctx, pool); err != nil {
			return err
		}
	}
	return nil
}

// ariRecordings deletes recordings from Asterisk for the retention job.
type ariRecordings struct{ client atomic.Pointer[ari.Client] }

func (a *ariRecordings) DeleteRecording(_ context.Context, name string) error {
	c := a.client.Load()
	if c == nil {
		return errors.New("ARI not connected")
	}
	err := (*c).StoredRecording().Delete(ari.NewKey(ari.StoredRecordingKey, name))
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code() == 404 {
		return nil // already gone
	}
	return err
}

// startOps starts the e-mail sender and the scheduled jobs. clk is the
// help desk's clock: the demo's (nil: the wall clock). On the wall clock
// the jobs run at their cron slots; on another clock every time-stamp
// and every slot is that clock's, and the jobs are run at each of its
// minutes (runJobsOn).
func startOps(ctx context.Context, c opsConfig, n *notify.Notifier, pool *pgxpool.Pool, store *tickets.Store,
	current func() *menu.Config, rec *ariRecordings, log *slog.Logger, reg prometheus.Registerer, clk clock.Clock) error {
	cfg := current()
	now, jobsNow := time.Now, time.Now
	var tick atomic.Pointer[time.Time]
	if clk != nil {
		now = clk.Now
		// The jobs read the minute being run, as cron would fire them at
		// it (runJobsOn), and the clock between runs.
		jobsNow = func() time.Time {
			if t := tick.Load(); t != nil {
				return *t
			}
			return clk.Now()
		}
	}
	if c.Notifications.SMTP.Host != "" {
		sender, err := notify.NewSender(pool, c.Notifications, notify.NewSMTP(c.Notifications.SMTP, nil),
			notify.SenderOptions{Logger: log, Registerer: reg, Now: now})
		if err != nil {
			return err
		}
		go func() { _ = sender.Run(ctx) }()
		log.Info("notifications_sending", "smtp", c.Notifications.SMTP.Host)
	} else {
		// Kept in the outbox, sent once a mail server is configured.
		log.Warn("notifications_not_sent", "reason", "no SMTP server: set IVR_SMTP_HOST or notifications.smtp.host")
	}
	host, _ := os.Hostname()
	j, err := jobs.New(c.Jobs, jobs.Deps{Pool: pool, Store: store, Notifier: n, Groups: jobs.MenuGroups(current),
		Recordings: rec, Location: cfg.Location(), Logger: log, Registerer: reg, Instance: host, Now: jobsNow})
	if err != nil {
		return err
	}
	if clk == nil {
		go func() { _ = j.Run(ctx) }()
	} else {
		go runJobsOn(ctx, j.Runner, clk, &tick, log)
	}
	return nil
}

// runJobsOn runs the jobs due on clk at each of its minutes (the cron
// specs are in minutes), until ctx ends. Runner.Run's cron scheduler
// fires on the wall clock's minutes: with the demo clock set to another
// day, the jobs ran on real time. During a run the jobs read the minute
// being run (tick), as if cron had fired at it: a job that never ran
// takes only a slot falling at that very second, which a later reading
// of the clock, after the other jobs' work, would miss.
func runJobsOn(ctx context.Context, r *jobs.Runner, clk clock.Clock, tick *atomic.Pointer[time.Time], log *slog.Logger) {
	run := func(at time.Time) {
		tick.Store(&at)
		if err := r.RunDue(ctx); err != nil && ctx.Err() == nil {
			log.Warn("jobs_run_failed", "error", err.Error())
		}
		tick.Store(nil)
	}
	run(clk.Now()) // missed slots first, as Runner.Run does
	for {
		now := clk.Now()
		next := now.Truncate(time.Minute).Add(time.Minute)
		t := clk.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		run(next)
	}
}
