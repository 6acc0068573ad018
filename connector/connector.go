// Package connector feeds a ticketing system the help desk already has
// (Zammad) from its tickets, and brings back the status changes made
// there.
//
// Pushing goes through a durable outbox, as the webhooks do: Hook, a
// tickets.Hook, writes one row per ticket change (created, updated, a
// message) in the transaction of the change; the worker (Run) sends what
// is due, in order per ticket, with retries and exponential backoff, and
// links our ticket to Zammad's (connector_links: its id, number, URL and
// the state last seen). Pulling is the same loop: every poll interval it
// searches Zammad for the tickets updated since the last pull and applies
// the state changes of linked tickets to ours, as the system actor
// "zammad"; Hook ignores that actor's changes, so nothing comes back.
package connector

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/connector/zammad"
	"github.com/helpdesk-ivr/ivr/internal/pgmigrate"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

//go:embed migrations/*.sql
var migrations embed.FS

// VersionTable is the table tern keeps this package's schema version in.
const VersionTable = "connector_schema_version"

// Migrate brings the outbox and link tables up to date (after
// tickets.Migrate: they refer to the tickets).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Apply(ctx, pool, migrations, "migrations", VersionTable)
}

// Actor is who the pulled changes are made by, in the tickets' history;
// Hook does not push its changes back.
var Actor = tickets.Actor{Kind: tickets.ActorSystem, ID: "zammad"}

// Options configure a Service. Zero values take the defaults.
type Options struct {
	// Config is the validated connector.zammad section (required).
	Config *menu.Zammad
	// Token is Zammad's access token (see Token).
	Token      string
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger
	Registerer prometheus.Registerer // default none
	// HTTP makes the requests to Zammad (tests); default a client of its own.
	HTTP *http.Client
	// DeliverInterval is how often Run looks for due changes; default 5s.
	// States are pulled every Config.PollInterval.
	DeliverInterval time.Duration
	// The n-th failed attempt waits BackoffBase*2^(n-1), at most
	// BackoffMax; after MaxAttempts the change is given up. Defaults 30s,
	// 1h, 40 (about a day and a half).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	MaxAttempts int
	// PageSize is the search page of a pull; default 100.
	PageSize int
	// Retention: delivered and given-up rows are deleted this long after;
	// default 30 days.
	Retention time.Duration
}

// Service pushes ticket changes to Zammad and pulls its states back.
type Service struct {
	pool    *pgxpool.Pool
	opts    Options
	cfg     *menu.Zammad
	log     *slog.Logger
	client  *zammad.Client
	metrics metrics
}

type metrics struct {
	deliveries *prometheus.CounterVec
	backlog    prometheus.Gauge
	lastSync   prometheus.Gauge
}

// New returns the Service on pool (migrated by Migrate).
func New(pool *pgxpool.Pool, opts Options) (*Service, error) {
	if opts.Config == nil {
		return nil, errors.New("connector: no configuration")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	opts.DeliverInterval = cmp.Or(opts.DeliverInterval, 5*time.Second)
	opts.BackoffBase = cmp.Or(opts.BackoffBase, 30*time.Second)
	opts.BackoffMax = cmp.Or(opts.BackoffMax, time.Hour)
	opts.MaxAttempts = cmp.Or(opts.MaxAttempts, 40)
	opts.PageSize = cmp.Or(opts.PageSize, 100)
	opts.Retention = cmp.Or(opts.Retention, 30*24*time.Hour)
	client, err := zammad.New(opts.Config.URL, opts.Token, zammad.Options{Timeout: opts.Config.Timeout, HTTP: opts.HTTP})
	if err != nil {
		return nil, fmt.Errorf("connector: %w", err)
	}
	s := &Service{pool: pool, opts: opts, cfg: opts.Config, log: opts.Logger, client: client}
	s.metrics = metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivr_connector_deliveries_total",
			Help: "Ticket changes sent to the ticketing system, by result: delivered, retry (failed, to be tried again), failed (given up)."},
			[]string{"result"}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ivr_connector_backlog",
			Help: "Ticket changes waiting to be sent to the ticketing system."}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ivr_connector_last_sync_timestamp_seconds",
			Help: "When the states were last pulled from the ticketing system completely (Unix time)."}),
	}
	for _, r := range []string{resultDelivered, resultRetry, resultFailed} {
		s.metrics.deliveries.WithLabelValues(r)
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.metrics.deliveries, s.metrics.backlog, s.metrics.lastSync} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("connector metrics: %w", err)
			}
		}
	}
	return s, nil
}

const (
	resultDelivered = "delivered"
	resultRetry     = "retry"
	resultFailed    = "failed"
)

// Token reads the access token the configuration points at: the
// environment variable token_env when set and not empty, else the file
// token_file (its first line).
func Token(z *menu.Zammad, getenv func(string) string) (string, error) {
	if z.TokenEnv != "" {
		if v := strings.TrimSpace(getenv(z.TokenEnv)); v != "" {
			return v, nil
		}
		if z.TokenFile == "" {
			return "", fmt.Errorf("connector: the environment variable %s (token_env) is empty", z.TokenEnv)
		}
	}
	b, err := os.ReadFile(z.TokenFile)
	if err != nil {
		return "", fmt.Errorf("connector: token_file: %w", err)
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", fmt.Errorf("connector: token_file %s is empty", z.TokenFile)
	}
	return tok, nil
}

// snapshot is a ticket as a change wrote it, kept in the outbox.
type snapshot struct {
	ID           int64     `json:"id"`
	Number       string    `json:"number"`
	Source       string    `json:"source"`
	Caller       string    `json:"caller"`
	Organization string    `json:"organization"`
	Group        string    `json:"group"`
	Category     string    `json:"category"`
	Subject      string    `json:"subject"`
	Description  string    `json:"description"`
	Priority     string    `json:"priority"`
	Status       string    `json:"status"`
	CreatedAt    time.Time `json:"created_at"`
}

type change struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

type article struct {
	Internal bool   `json:"internal"`
	Body     string `json:"body"`
	Author   string `json:"author"`
}

// payload is an outbox row's content.
type payload struct {
	Ticket  snapshot `json:"ticket"`
	Changes []change `json:"changes,omitempty"`
	Article *article `json:"article,omitempty"`
}

// synced are the fields an update is pushed for.
var synced = []string{"status", "priority", "group", "subject", "category"}

// WantsCreated is for tickets.Options.HookOnCreate: every new ticket
// goes to Zammad.
func (s *Service) WantsCreated(tickets.NewCall) bool { return true }

// WantsUpdated is for tickets.Options.HookOnUpdate: changes of the synced
// fields, unless the connector made them.
func (s *Service) WantsUpdated(ev tickets.TicketEvent) bool {
	if ev.Actor == Actor {
		return false
	}
	return slices.ContainsFunc(ev.Changes, func(c tickets.Change) bool { return slices.Contains(synced, c.Field) })
}

// WantsMessage is for tickets.Options.HookOnMessage: every public
// message and internal note.
func (s *Service) WantsMessage(tickets.Article) bool { return true }

// Hook is the tickets.Hook that writes the change into the outbox in the
// ticket change's transaction. Its write runs in a savepoint and a
// failure is logged, not returned: the connector never stands in the way
// of a ticket.
func (s *Service) Hook(ctx context.Context, tx pgx.Tx, ev tickets.TicketEvent) error {
	if ev.Actor == Actor {
		return nil
	}
	t := ev.Ticket
	p := payload{Ticket: snapshot{ID: t.ID, Number: string(t.Number), Source: string(t.Source), Caller: t.Caller,
		Organization: t.Organization, Group: t.Group, Category: t.Category, Subject: t.Subject, Description: t.Description,
		Priority: string(t.Priority), Status: string(t.Status), CreatedAt: t.CreatedAt}}
	switch ev.Kind {
	case tickets.TicketUpdated:
		for _, c := range ev.Changes {
			if slices.Contains(synced, c.Field) {
				p.Changes = append(p.Changes, change{Field: c.Field, Old: c.Old, New: c.New})
			}
		}
		if len(p.Changes) == 0 {
			return nil
		}
	case tickets.TicketMessage:
		if ev.Article == nil {
			return nil
		}
		p.Article = &article{Internal: ev.Article.Internal, Body: ev.Article.Body, Author: ev.Article.Author}
	}
	b, err := json.Marshal(p)
	if err == nil {
		err = pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
			now := s.opts.Now()
			_, err := sp.Exec(ctx, `INSERT INTO connector_outbox (ticket_id, kind, payload, created_at, next_attempt_at)
				VALUES ($1, $2, $3, $4, $4)`, t.ID, string(ev.Kind), b, now)
			return err
		})
	}
	if err != nil {
		s.log.Error("connector_enqueue_failed", "ticket", string(t.Number), "kind", string(ev.Kind), "error", err.Error())
	}
	return nil
}

// Link is our ticket's counterpart in the ticketing system.
type Link struct {
	TicketID int64
	System   string // "zammad"
	ID       int64  // Zammad's ticket id
	Number   string // Zammad's ticket number, as its agents know it
	URL      string // the ticket's page in Zammad
	State    string // Zammad's state, as last seen or set
	LinkedAt time.Time
	SyncedAt time.Time
}

// Link returns the Zammad ticket linked to our ticket, if there is one
// yet (the panel shows its number and URL).
func (s *Service) Link(ctx context.Context, ticketID int64) (Link, bool, error) {
	l, ok, err := link(ctx, s.pool, ticketID)
	if err != nil {
		return Link{}, false, fmt.Errorf("connector link of ticket %d: %w", ticketID, err)
	}
	return l, ok, nil
}

type queryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func link(ctx context.Context, q queryer, ticketID int64) (Link, bool, error) {
	l := Link{TicketID: ticketID, System: "zammad"}
	err := q.QueryRow(ctx, `SELECT external_id, external_number, external_url, state, linked_at, synced_at
		FROM connector_links WHERE ticket_id = $1`, ticketID).Scan(&l.ID, &l.Number, &l.URL, &l.State, &l.LinkedAt, &l.SyncedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Link{}, false, nil
	}
	return l, err == nil, err
}

// Backlog is how many changes wait to be sent.
func (s *Service) Backlog(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM connector_outbox WHERE delivered_at IS NULL AND failed_at IS NULL`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("connector backlog: %w", err)
	}
	s.metrics.backlog.Set(float64(n))
	return n, nil
}
