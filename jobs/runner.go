package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
)

// RunFunc does one run of a job scheduled at at; prev is the slot of the
// job's previous run (zero for its first).
type RunFunc func(ctx context.Context, prev, at time.Time) error

type job struct {
	name  string
	sched cron.Schedule
	run   RunFunc
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	Location   *time.Location   // the service time zone of the specs; default time.Local
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics not registered
	Instance   string                // recorded in job_runs, e.g. the host name
}

// Runner runs jobs on cron schedules in the service time zone, once per
// slot across every instance sharing the database: a run claims its
// (job, slot) row in job_runs first, and an instance that finds the row
// taken skips the slot. At start, a job whose slot passed while no instance
// ran (a restart, a stop) runs once for the latest missed slot.
type Runner struct {
	pool     *pgxpool.Pool
	loc      *time.Location
	now      func() time.Time
	log      *slog.Logger
	instance string
	jobs     []job
	metrics  runnerMetrics
}

type runnerMetrics struct {
	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.HistogramVec
	failures    *prometheus.CounterVec
}

// NewRunner returns a Runner with no jobs.
func NewRunner(pool *pgxpool.Pool, opts RunnerOptions) (*Runner, error) {
	r := &Runner{pool: pool, loc: cmp.Or(opts.Location, time.Local), now: opts.Now,
		log: cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)), instance: opts.Instance}
	if r.now == nil {
		r.now = time.Now
	}
	r.metrics = runnerMetrics{
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ivr_job_last_success_timestamp_seconds",
			Help: "When each scheduled job last finished without error."}, []string{"job"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ivr_job_duration_seconds",
			Help: "How long each run of a scheduled job took.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 8)}, []string{"job"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivr_job_failures_total",
			Help: "Runs of each scheduled job that failed."}, []string{"job"}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{r.metrics.lastSuccess, r.metrics.duration, r.metrics.failures} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("jobs: register metrics: %w", err)
			}
		}
	}
	return r, nil
}

// Add schedules run as name on the standard cron spec (minute hour
// day-of-month month day-of-week) in the service time zone.
func (r *Runner) Add(name, spec string, run RunFunc) error {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Errorf("job %s: spec %q: %w", name, spec, err)
	}
	r.jobs = append(r.jobs, job{name: name, sched: sched, run: run})
	r.metrics.failures.WithLabelValues(name) // exported at 0 from the start
	return nil
}

// Run runs every job whose slot is due (catching up what was missed), then
// runs each at its slots until ctx is cancelled, and waits for runs in
// progress.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.RunDue(ctx); err != nil {
		r.log.Warn("jobs_catch_up_failed", "error", err.Error())
	}
	c := cron.New(cron.WithLocation(r.loc))
	for _, j := range r.jobs {
		c.Schedule(j.sched, cron.FuncJob(func() {
			if _, err := r.runIfDue(ctx, j); err != nil && ctx.Err() == nil {
				r.log.Error("job_failed", "job", j.name, "error", err.Error())
			}
		}))
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}

// RunDue runs, once, every job whose latest slot up to now has not run
// anywhere yet. It returns the jobs' errors joined.
func (r *Runner) RunDue(ctx context.Context) error {
	var errs []error
	for _, j := range r.jobs {
		if _, err := r.runIfDue(ctx, j); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// maxCatchUp bounds how far back a restarted instance looks for a missed
// slot.
const maxCatchUp = 31 * 24 * time.Hour

// runIfDue runs j for its latest due slot if no instance has: ran says
// whether this call ran it.
func (r *Runner) runIfDue(ctx context.Context, j job) (ran bool, err error) {
	now := r.now().In(r.loc)
	var last *time.Time
	if err := r.pool.QueryRow(ctx, `SELECT max(scheduled_at) FROM job_runs WHERE job = $1`, j.name).Scan(&last); err != nil {
		return false, fmt.Errorf("job %s: read last run: %w", j.name, err)
	}
	var prev time.Time
	from := now.Add(-time.Second) // never ran: only a slot falling now
	if last != nil {
		prev = last.In(r.loc)
		from = prev
	}
	from = maxTime(from, now.Add(-maxCatchUp))
	slot := time.Time{}
	for s := j.sched.Next(from); !s.After(now); s = j.sched.Next(s) {
		slot = s
	}
	if slot.IsZero() {
		return false, nil
	}
	tag, err := r.pool.Exec(ctx, `INSERT INTO job_runs (job, scheduled_at, instance, started_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, j.name, slot, r.instance, now)
	if err != nil {
		return false, fmt.Errorf("job %s: claim %s: %w", j.name, slot, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil // another instance has this slot
	}
	start := time.Now()
	runErr := j.run(ctx, prev, slot)
	r.metrics.duration.WithLabelValues(j.name).Observe(time.Since(start).Seconds())
	end := r.now()
	msg := ""
	if runErr != nil {
		msg = runErr.Error()
		r.metrics.failures.WithLabelValues(j.name).Inc()
		r.log.Error("job_failed", "job", j.name, "slot", slot, "error", msg)
	} else {
		r.metrics.lastSuccess.WithLabelValues(j.name).Set(float64(end.UnixMilli()) / 1000)
		r.log.Info("job_done", "job", j.name, "slot", slot)
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := r.pool.Exec(uctx, `UPDATE job_runs SET finished_at = $3, error = $4 WHERE job = $1 AND scheduled_at = $2`,
		j.name, slot, end, msg); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return true, fmt.Errorf("job %s at %s: %w", j.name, slot.Format(time.RFC3339), runErr)
	}
	return true, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
