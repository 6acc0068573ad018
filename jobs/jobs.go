// Package jobs runs the help desk's scheduled work: at each group's opening
// the requests left after hours become due and the group is told;
// escalation of tickets nobody took in time, counted in service hours;
// retention, which removes recordings and personal data of old closed
// tickets; the supervisors' daily summary. A Runner runs them on cron
// schedules (robfig/cron/v3) in the service time zone, once per slot
// however many ivrd instances share the database.
package jobs

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/hours"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Config is the jobs' configuration.
type Config struct {
	// Escalation is, per priority, the service time (the group's opening
	// hours only) a ticket may stay new before its priority is raised one
	// step; the clock restarts at each raise. Critical tickets are not
	// raised. Defaults: high 4h, medium 8h, low 16h.
	Escalation map[tickets.Priority]time.Duration `yaml:"escalation"`
	// Retention is how long after closing a ticket keeps its recordings and
	// personal data; default 365 days.
	Retention time.Duration `yaml:"retention"`
	// ConversationRetention is how long a recorded conversation is kept
	// from the day it was recorded, whatever its ticket's state (default
	// 90 days); RequestRetention the same for the requests recorded after
	// the beep, after hours or when nobody answered (default 365 days).
	// Each removal leaves a note in the ticket's history.
	ConversationRetention time.Duration `yaml:"conversation_retention"`
	RequestRetention      time.Duration `yaml:"request_retention"`
	// ServiceLevelSeconds is the summary's answer target; default 20.
	ServiceLevelSeconds int `yaml:"service_level_seconds"`
	// Cron specs, in the service time zone.
	OpeningSpec    string `yaml:"opening_spec"`    // default every minute
	EscalationSpec string `yaml:"escalation_spec"` // default every 5 minutes
	RetentionSpec  string `yaml:"retention_spec"`  // default 03:30
	SummarySpec    string `yaml:"summary_spec"`    // default 07:00
	RecordingsSpec string `yaml:"recordings_spec"` // default 03:45
}

func (c Config) withDefaults() Config {
	esc := map[tickets.Priority]time.Duration{
		tickets.PriorityHigh: 4 * time.Hour, tickets.PriorityMedium: 8 * time.Hour, tickets.PriorityLow: 16 * time.Hour,
	}
	for p, d := range c.Escalation {
		esc[p] = d
	}
	c.Escalation = esc
	c.Retention = cmp.Or(c.Retention, 365*24*time.Hour)
	c.ServiceLevelSeconds = cmp.Or(c.ServiceLevelSeconds, 20)
	c.OpeningSpec = cmp.Or(c.OpeningSpec, "* * * * *")
	c.EscalationSpec = cmp.Or(c.EscalationSpec, "*/5 * * * *")
	c.RetentionSpec = cmp.Or(c.RetentionSpec, "30 3 * * *")
	c.SummarySpec = cmp.Or(c.SummarySpec, "0 7 * * *")
	c.ConversationRetention = cmp.Or(c.ConversationRetention, 90*24*time.Hour)
	c.RequestRetention = cmp.Or(c.RequestRetention, 365*24*time.Hour)
	c.RecordingsSpec = cmp.Or(c.RecordingsSpec, "45 3 * * *")
	return c
}

// Groups gives the operator groups and their opening hours.
type Groups interface {
	GroupIDs() []string
	GroupSchedule(id string) *hours.Schedule
	// GroupServiceLevels is each group's service-level threshold, def
	// for a group without its own (as the panel's reports count).
	GroupServiceLevels(def time.Duration) map[string]time.Duration
}

// MenuGroups reads the groups from the help desk's configuration as current
// returns it (so a reloaded configuration applies at the next run).
func MenuGroups(current func() *menu.Config) Groups { return menuGroups(current) }

type menuGroups func() *menu.Config

func (m menuGroups) GroupIDs() []string {
	var ids []string
	if c := m(); c != nil {
		for _, g := range c.Groups {
			ids = append(ids, g.ID)
		}
	}
	return ids
}

func (m menuGroups) GroupServiceLevels(def time.Duration) map[string]time.Duration {
	if c := m(); c != nil {
		return c.GroupServiceLevels(def)
	}
	return nil
}

func (m menuGroups) GroupSchedule(id string) *hours.Schedule {
	if c := m(); c != nil {
		return c.GroupSchedule(id)
	}
	return nil
}

// RecordingDeleter deletes a stored recording (Asterisk's, through ARI). A
// recording already gone must not be an error.
type RecordingDeleter interface {
	DeleteRecording(ctx context.Context, name string) error
}

// Deps are what the jobs work with.
type Deps struct {
	Pool       *pgxpool.Pool
	Store      *tickets.Store // with the Notifier's hook, so escalations mail the supervisors
	Notifier   *notify.Notifier
	Groups     Groups
	Recordings RecordingDeleter
	Location   *time.Location   // the service time zone
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Instance   string
}

// Jobs are the help desk's scheduled jobs.
type Jobs struct {
	cfg    Config
	d      Deps
	Runner *Runner
}

// Job names, in job_runs and in the metrics' job label.
const (
	JobOpening    = "opening"
	JobEscalation = "escalation"
	JobRetention  = "retention"
	JobSummary    = "summary"
	JobRecordings = "recordings_retention"
)

// New returns the jobs, scheduled on a Runner; call Run to start them.
func New(cfg Config, d Deps) (*Jobs, error) {
	cfg = cfg.withDefaults()
	d.Location = cmp.Or(d.Location, time.Local)
	if d.Now == nil {
		d.Now = time.Now
	}
	d.Logger = cmp.Or(d.Logger, slog.New(slog.DiscardHandler))
	r, err := NewRunner(d.Pool, RunnerOptions{Location: d.Location, Now: d.Now, Logger: d.Logger, Registerer: d.Registerer, Instance: d.Instance})
	if err != nil {
		return nil, err
	}
	j := &Jobs{cfg: cfg, d: d, Runner: r}
	for _, x := range []struct {
		name, spec string
		run        RunFunc
	}{
		{JobOpening, cfg.OpeningSpec, func(ctx context.Context, prev, at time.Time) error {
			_, err := j.Opening(ctx, prev, at)
			return err
		}},
		{JobEscalation, cfg.EscalationSpec, func(ctx context.Context, _, at time.Time) error {
			_, err := j.Escalate(ctx, at)
			return err
		}},
		{JobRetention, cfg.RetentionSpec, func(ctx context.Context, _, at time.Time) error {
			_, err := j.Retain(ctx, at)
			return err
		}},
		{JobSummary, cfg.SummarySpec, func(ctx context.Context, _, at time.Time) error { return j.Summary(ctx, at) }},
		{JobRecordings, cfg.RecordingsSpec, func(ctx context.Context, _, at time.Time) error {
			_, err := j.RetainRecordings(ctx, at)
			return err
		}},
	} {
		if err := r.Add(x.name, x.spec, x.run); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// Run runs the jobs until ctx is cancelled (see Runner.Run).
func (j *Jobs) Run(ctx context.Context) error { return j.Runner.Run(ctx) }

var system = tickets.Viewer{Kind: tickets.ViewerSystem}

// raise returns the priority one step more severe, false for critical.
func raise(p tickets.Priority) (tickets.Priority, bool) {
	i := slices.Index(tickets.Priorities, p)
	if i <= 0 {
		return p, false
	}
	return tickets.Priorities[i-1], true
}

// serviceTime is how much of [from, to) the schedule is open.
func serviceTime(s *hours.Schedule, from, to time.Time) time.Duration {
	var d time.Duration
	t := from
	for i := 0; t.Before(to) && i < 100000; i++ {
		st := s.StatusAt(t)
		if st.Open {
			end := st.Until
			if end.IsZero() || end.After(to) {
				end = to
			}
			d += end.Sub(t)
			t = end
			continue
		}
		o, ok := s.NextOpening(t)
		if !ok || !o.After(t) {
			break
		}
		t = o
	}
	return d
}

// latestOpening returns the last instant in (prev, now] at which the
// schedule went from closed to open.
func latestOpening(s *hours.Schedule, prev, now time.Time) (time.Time, bool) {
	var found time.Time
	t := prev
	for i := 0; !t.After(now) && i < 10000; i++ {
		if st := s.StatusAt(t); st.Open {
			if st.Until.IsZero() {
				break
			}
			t = st.Until
			continue
		}
		o, ok := s.NextOpening(t)
		if !ok || o.After(now) {
			break
		}
		if o.After(prev) {
			found = o
		}
		t = o
	}
	return found, !found.IsZero()
}
