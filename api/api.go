// Package api is the help desk's REST API, /api/v1: tickets, calls,
// queues and operators, reports, tokens, configuration versions and
// webhook subscriptions, for the rest of a help desk (a ticketing
// system, a CRM, scripts). Clients authenticate with API tokens that an
// administrator creates in the panel (panel.Tokens); a token acts as a
// panel user and is checked by the panel's rules, narrowed by its scope
// and groups. Errors are RFC 9457 problem details; the OpenAPI 3.1
// document (openapi.yaml, served as /api/v1/openapi.json) describes every
// route, and the tests hold the answers to it.
package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

// Prefix is where ivrd mounts the API.
const Prefix = "/api/v1"

// Options configure an API. Pool, Tickets, Users, Tokens, Audit and Config
// are required.
type Options struct {
	Pool    *pgxpool.Pool
	Tickets *tickets.Store
	// Queues may be nil: the queue routes answer 404 and operators belong
	// to no group, as in the panel.
	Queues *queues.Service
	Users  *panel.Users
	Tokens *panel.Tokens
	Audit  *panel.Audit
	// Recordings may be nil: recordings are listed but not served.
	Recordings panel.Recordings
	Config     func() *menu.Config
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// ServiceLevel is the reports' "answered within"; default 30 s, as the
	// panel's.
	ServiceLevel time.Duration
	// RateLimit is how many requests a token may make per RateWindow;
	// default 600 per minute. The count is per ivrd instance.
	RateLimit  int
	RateWindow time.Duration
	// Changed, when set, is called after a write (the panel's Notify).
	Changed func()
	// Publish, when set, validates a configuration file, records it as
	// the version in force (configstore) and puts it in force (ivrd: on
	// every instance); nil: configurations cannot be published through
	// this API. It may reject the file (an error of code invalid is a
	// 400), the old configuration then staying in force.
	Publish func(ctx context.Context, p configstore.Publication) (configstore.Version, error)
	// Webhooks, when set, are managed at /webhooks; nil: those routes
	// answer 404.
	Webhooks *webhooks.Service
}

// API is the REST API.
type API struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	limiter *limiter
	// versions are the configuration versions (configstore's table).
	versions *configstore.Store
	handler  http.Handler
}

// New returns the API; its tables are migrated by Migrate and
// panel.Migrate (tokens, audit log).
func New(opts Options) (*API, error) {
	if opts.Pool == nil || opts.Tickets == nil || opts.Users == nil || opts.Tokens == nil || opts.Audit == nil || opts.Config == nil {
		return nil, errors.New("api: Pool, Tickets, Users, Tokens, Audit and Config are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	opts.ServiceLevel = max(cmp.Or(opts.ServiceLevel, 30*time.Second), time.Second)
	opts.RateLimit = cmp.Or(opts.RateLimit, 600)
	opts.RateWindow = cmp.Or(opts.RateWindow, time.Minute)
	if opts.Changed == nil {
		opts.Changed = func() {}
	}
	a := &API{opts: opts, log: opts.Logger, now: opts.Now, limiter: newLimiter(opts.RateLimit, opts.RateWindow, opts.Now),
		versions: configstore.New(opts.Pool, configstore.Options{Now: opts.Now})}
	a.handler = a.routes()
	return a, nil
}

// Handler serves the API, to be mounted at Prefix.
func (a *API) Handler() http.Handler { return a.handler }

// Routes are every method and route the API serves (paths relative to
// Prefix, with chi's {params}): what the OpenAPI document must describe.
func (a *API) Routes() chi.Routes { return a.handler.(chi.Routes) }

func (a *API) config() *menu.Config {
	if c := a.opts.Config(); c != nil {
		return c
	}
	return &menu.Config{}
}

func (a *API) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(a.recoverer, headers)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		a.writeProblem(w, r, fault.Errorf(fault.ENOTFOUND, "no such route"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		a.writeProblem(w, r, fault.Errorf(fault.EMETHOD, "method not allowed on this route"))
	})
	r.Get("/openapi.json", serveOpenAPI)
	r.Group(func(r chi.Router) {
		r.Use(a.authenticate)
		r.Get("/tickets", a.listTickets)
		r.Get("/tickets/{id}", a.getTicket)
		r.Get("/tickets/{id}/articles", a.listArticles)
		r.Get("/tickets/{id}/attachments/{attachmentID}/content", a.attachmentContent)
		r.Get("/calls", a.listCalls)
		r.Get("/calls/{id}", a.getCall)
		r.Get("/queues", a.listQueues)
		r.Get("/operators", a.listOperators)
		r.Get("/reports", a.report)
		r.Get("/reports.csv", a.reportCSV)
		r.Group(func(r chi.Router) {
			r.Use(a.requireScope(panel.ScopeWrite))
			r.Post("/tickets", a.createTicket)
			r.Patch("/tickets/{id}", a.updateTicket)
			r.Post("/tickets/{id}/articles", a.addArticle)
			r.Put("/operators/{login}/state", a.setOperatorState)
		})
		r.Group(func(r chi.Router) {
			r.Use(a.requireAdmin)
			r.Get("/tokens", a.listTokens)
			r.Post("/tokens", a.createToken)
			r.Delete("/tokens/{id}", a.revokeToken)
			r.Post("/config/versions", a.publishConfig)
			a.webhookRoutes(r)
		})
		r.Group(func(r chi.Router) {
			r.Use(a.requireAdminUser)
			r.Get("/config/versions", a.listConfigVersions)
			r.Get("/config/versions/{id}", a.getConfigVersion)
		})
	})
	return r
}

// headers go on every answer: nothing of the API is cached or framed.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

func (a *API) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.writeProblem(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// maxBody bounds a request's JSON body.
const maxBody = 64 << 10

// decode reads a JSON body into v: application/json, at most maxBody
// bytes, no unknown fields, one value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return fault.Errorf(fault.EMEDIATYPE, "the body must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return fault.Errorf(fault.ETOOLARGE, "the body is over %d bytes", maxBody)
		}
		return fault.Errorf(fault.EINVALID, "malformed JSON body: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fault.Errorf(fault.EINVALID, "malformed JSON body: more than one value")
	}
	return nil
}

// jsonProblem says what is wrong with a body without echoing it.
func jsonProblem(err error) string {
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return fmt.Sprintf("field %q has the wrong type", e.Field)
	}
	if e, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	}
	msg := err.Error()
	if len(msg) > 100 {
		msg = msg[:100]
	}
	return msg
}

// audit records a write made through the API. The change is made by then:
// a failure to record it is logged loudly, not turned into an error the
// client would retry (and so make twice).
func (a *API) audit(ctx context.Context, p *principal, action, target, detail string) {
	err := a.opts.Audit.Record(context.WithoutCancel(ctx), nil, panel.AuditEntry{Login: p.user.Login, Via: panel.ViaAPI,
		TokenID: p.token.ID, Action: action, Target: target, Detail: detail})
	if err != nil {
		a.log.Error("api_audit_failed", "action", action, "target", target, "token", p.token.ID, "error", err.Error())
	}
	a.opts.Changed()
}
