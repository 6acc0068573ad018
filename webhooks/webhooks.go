// Package webhooks tells other systems about the help desk's events by
// HTTP: subscriptions name a URL and the event types they want, and each
// event is POSTed to them as JSON, signed with the subscription's secret
// (HMAC-SHA256 over "<timestamp>.<body>", header Webhook-Signature).
//
// Deliveries go through a durable outbox, as notify's e-mails do: Emit
// (and the tickets.Hook built on it) writes one row per matching
// subscription in the transaction of the change it tells about, and the
// Worker POSTs what is due, with retries and exponential backoff, in order
// per ticket, keeping a delivery log. A subscription that has failed
// without a success for Options.PauseAfter (a day) is paused.
package webhooks

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// The event types.
const (
	CallStarted       = "call.started"
	CallRouted        = "call.routed"
	CallEnded         = "call.ended"
	TicketCreated     = "ticket.created"
	TicketUpdated     = "ticket.updated"
	TicketMessage     = "ticket.message"
	CallbackRequested = "callback.requested" // accepted; not produced yet
	SurveyRated       = "survey.rated"       // accepted; not produced yet
)

// EventTypes are the types a subscription may name.
var EventTypes = []string{CallStarted, CallRouted, CallEnded, TicketCreated, TicketUpdated, TicketMessage,
	CallbackRequested, SurveyRated}

// Options configure a Service. Zero values take the defaults.
type Options struct {
	Now    func() time.Time // default time.Now
	Logger *slog.Logger
	// Client makes the deliveries; default a client with Timeout that
	// connects to public addresses only, or to those in AllowNetworks
	// (see guard.go), and follows no redirect.
	Client        *http.Client
	AllowNetworks []netip.Prefix
	// Registerer takes the deliveries' metrics; none when nil.
	Registerer prometheus.Registerer
	// Timeout bounds one delivery; default 10s.
	Timeout time.Duration
	// The n-th failed attempt waits BackoffBase*2^(n-1), at most
	// BackoffMax; after MaxAttempts the delivery is given up. Defaults
	// 30s, 1h, 40 (about a day and a half).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	MaxAttempts int
	// PauseAfter: a subscription whose deliveries failed for this long
	// without a success is paused; default 24h.
	PauseAfter time.Duration
	// PollInterval is how often the Worker looks for due deliveries and
	// rereads which events are subscribed; default 5s.
	PollInterval time.Duration
	// Retention: delivered and given-up deliveries (their bodies name
	// callers) are deleted this long after; default 30 days.
	Retention time.Duration
}

// Service keeps the subscriptions and writes events into the outbox.
type Service struct {
	pool *pgxpool.Pool
	opts Options
	log  *slog.Logger

	metrics *metrics

	mu         sync.Mutex
	subscribed map[string]bool // event types with a subscription
	loaded     bool
}

// New returns the Service on pool (migrated by Migrate).
func New(pool *pgxpool.Pool, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	opts.Timeout = cmp.Or(opts.Timeout, 10*time.Second)
	if opts.Client == nil {
		opts.Client = guardedClient(opts.Timeout, opts.AllowNetworks)
	}
	opts.BackoffBase = cmp.Or(opts.BackoffBase, 30*time.Second)
	opts.BackoffMax = cmp.Or(opts.BackoffMax, time.Hour)
	opts.MaxAttempts = cmp.Or(opts.MaxAttempts, 40)
	opts.PauseAfter = cmp.Or(opts.PauseAfter, 24*time.Hour)
	opts.PollInterval = cmp.Or(opts.PollInterval, 5*time.Second)
	opts.Retention = cmp.Or(opts.Retention, 30*24*time.Hour)
	return &Service{pool: pool, opts: opts, log: opts.Logger, metrics: newMetrics(opts.Registerer)}
}

// Subscription is where and what to deliver.
type Subscription struct {
	ID           int64
	URL          string
	Events       []string
	Active       bool
	PausedReason string
	CreatedBy    string
	CreatedAt    time.Time
	FailingSince time.Time // zero when the last attempt succeeded
}

// NewSubscription is what Create needs.
type NewSubscription struct {
	URL       string
	Events    []string
	CreatedBy string
}

func invalid(format string, args ...any) error {
	return &fault.Error{Code: fault.EINVALID, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &fault.Error{Code: fault.ENOTFOUND, Message: fmt.Sprintf(format, args...)}
}

// CheckURL refuses what is not an absolute http or https URL.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return invalid("url: an absolute http or https URL is required")
	}
	if u.User != nil {
		return invalid("url: no credentials in the URL: the signature authenticates the deliveries")
	}
	if len(s) > 2000 {
		return invalid("url: at most 2000 characters")
	}
	return nil
}

// Create adds a subscription and returns it with its secret, which is
// not shown again.
func (s *Service) Create(ctx context.Context, ns NewSubscription) (Subscription, string, error) {
	const op = "create webhook"
	if err := CheckURL(ns.URL); err != nil {
		return Subscription{}, "", fmt.Errorf("%s: %w", op, err)
	}
	if err := s.checkHost(ns.URL); err != nil {
		return Subscription{}, "", fmt.Errorf("%s: %w", op, err)
	}
	if len(ns.Events) == 0 {
		return Subscription{}, "", fmt.Errorf("%s: %w", op, invalid("events: at least one"))
	}
	events := slices.Clone(ns.Events)
	slices.Sort(events)
	events = slices.Compact(events)
	for _, e := range events {
		if !slices.Contains(EventTypes, e) {
			return Subscription{}, "", fmt.Errorf("%s: %w", op, invalid("events: unknown %q", shorten(e)))
		}
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails
	secret := "whsec_" + base64.RawURLEncoding.EncodeToString(b)
	sub := Subscription{URL: ns.URL, Events: events, Active: true, CreatedBy: ns.CreatedBy, CreatedAt: s.opts.Now()}
	err := s.pool.QueryRow(ctx, `INSERT INTO webhook_subscriptions (url, events, secret, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, sub.URL, sub.Events, secret, sub.CreatedBy, sub.CreatedAt).Scan(&sub.ID)
	if err != nil {
		return Subscription{}, "", fmt.Errorf("%s: %w", op, err)
	}
	s.Refresh(ctx)
	return sub, secret, nil
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

const subscriptionColumns = `id, url, events, active, paused_reason, created_by, created_at, failing_since`

func scanSubscription(row pgx.Row) (Subscription, error) {
	var sub Subscription
	var failing *time.Time
	err := row.Scan(&sub.ID, &sub.URL, &sub.Events, &sub.Active, &sub.PausedReason, &sub.CreatedBy, &sub.CreatedAt, &failing)
	if failing != nil {
		sub.FailingSince = *failing
	}
	return sub, err
}

// List returns every subscription, newest first.
func (s *Service) List(ctx context.Context) ([]Subscription, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Subscription, error) { return scanSubscription(r) })
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// Get returns one subscription.
func (s *Service) Get(ctx context.Context, id int64) (Subscription, error) {
	sub, err := scanSubscription(s.pool.QueryRow(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Subscription{}, fmt.Errorf("get webhook: %w", notFound("webhook %d not found", id))
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("get webhook %d: %w", id, err)
	}
	return sub, nil
}

// Delete removes a subscription and its delivery log.
func (s *Service) Delete(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete webhook %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete webhook: %w", notFound("webhook %d not found", id))
	}
	s.Refresh(ctx)
	return nil
}

// SetActive pauses (reason says why) or resumes a subscription. Resuming
// forgets the failures so far; the deliveries that waited go out in order.
func (s *Service) SetActive(ctx context.Context, id int64, active bool, reason string) (Subscription, error) {
	if active {
		reason = ""
	}
	sub, err := scanSubscription(s.pool.QueryRow(ctx, `UPDATE webhook_subscriptions
		SET active = $2, paused_reason = $3, failing_since = CASE WHEN $2 THEN NULL ELSE failing_since END
		WHERE id = $1 RETURNING `+subscriptionColumns, id, active, reason))
	if errors.Is(err, pgx.ErrNoRows) {
		return Subscription{}, fmt.Errorf("set webhook: %w", notFound("webhook %d not found", id))
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("set webhook %d: %w", id, err)
	}
	s.Refresh(ctx)
	return sub, nil
}

// Refresh rereads which event types have a subscription (Wants
// answers from it). The Worker calls it at every poll, for the changes
// made by other instances.
func (s *Service) Refresh(ctx context.Context) {
	var types []string
	err := s.pool.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT e), '{}') FROM webhook_subscriptions, unnest(events) e`).
		Scan(&types)
	if err != nil {
		s.log.Warn("webhooks_refresh_failed", "error", err.Error())
		return
	}
	m := make(map[string]bool, len(types))
	for _, t := range types {
		m[t] = true
	}
	s.mu.Lock()
	s.subscribed, s.loaded = m, true
	s.mu.Unlock()
}

// Wants reports whether a subscription (active or paused) wants events
// of type event, as of the last Refresh (before the first, true: the outbox
// decides).
func (s *Service) Wants(event string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.loaded || s.subscribed[event]
}

// Event is one thing that happened, to be delivered.
type Event struct {
	Type string
	// OrderKey orders deliveries: those of the same key (a ticket, "ticket:<id>")
	// go out one after the other, in the order emitted. Empty: no order.
	OrderKey string
	At       time.Time
	Data     any // marshalled as the body's "data"
}

// Execer is a transaction or a pool.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Emit writes ev into the outbox for every subscription to its type, with
// db: the transaction of the change it tells about, so that both commit or
// neither. A paused subscription's deliveries wait in the outbox and go
// out, in order, when it is resumed: a pause loses nothing.
func (s *Service) Emit(ctx context.Context, db Execer, ev Event) error {
	id, body, err := envelope(ev)
	if err != nil {
		return fmt.Errorf("emit %s: %w", ev.Type, err)
	}
	_, err = db.Exec(ctx, `INSERT INTO webhook_deliveries (subscription_id, event_id, event, order_key, payload, created_at, next_attempt_at)
		SELECT id, $1, $2, $3, $4, $5, $5 FROM webhook_subscriptions WHERE $2 = ANY(events) ORDER BY id`,
		id, ev.Type, ev.OrderKey, body, ev.At)
	if err != nil {
		return fmt.Errorf("emit %s: %w", ev.Type, err)
	}
	return nil
}

func newEventID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "evt_" + hex.EncodeToString(b)
}
