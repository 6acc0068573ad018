package panel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/mailin"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

// Options configure a Server. Pool, Tickets and Config are required.
type Options struct {
	Pool    *pgxpool.Pool
	Tickets *tickets.Store
	// Queues may be nil: the pages then say the queues are not configured,
	// and operators belong to no group.
	Queues *queues.Service
	// Live may be nil: no live calls.
	Live LiveCalls
	// Control may be nil: live calls are shown, not acted on.
	Control CallControl
	// Recordings may be nil: recordings are listed but not playable.
	Recordings Recordings
	// Config returns the help desk in force.
	Config func() *menu.Config
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; default discards.
	Logger *slog.Logger
	// Secure marks cookies Secure (and __Host-) and sends HSTS: set it when
	// the panel is served over TLS.
	Secure bool
	// ServiceLevel is the "answered within" threshold of the service
	// level; default 30 s.
	ServiceLevel time.Duration
	// Reload, when set, is the administrators' "reload configuration".
	Reload func() error
	// DeskPhone, when set, lets operators answer and hang up from the
	// console (the demo's simulated phones); nil: their real phone rings.
	DeskPhone DeskPhone
	// Outbox is the e-mail outbox the administrators' outbox page and the
	// tickets' history show; default NewOutbox(Pool, Now), which reads
	// package notify's table.
	Outbox Outbox
	// PINAlarm, when set, tells whether wrong PINs across all numbers
	// passed the alarm threshold (someone rotating caller ids):
	// supervisors and administrators see a notice on every page.
	PINAlarm func(ctx context.Context) (alarm bool, failures int, err error)
	// ExternalTicket finds the ticket of an outside ticketing system (the
	// Zammad connector) linked to one of ours, for the ticket page; nil:
	// none.
	ExternalTicket func(ctx context.Context, ticketID int64) (ExternalTicket, bool, error)
	// Files opens mail attachments for the ticket page; nil: listed but
	// not downloadable.
	Files Files
	// Webhooks are the subscriptions the administrators' webhook pages
	// manage; nil: the pages answer 404 and are not in the menu.
	Webhooks *webhooks.Service
	// Versions, when set, are the configuration versions the
	// administrators' /config/versions pages show (drafts, history).
	Versions *configstore.Store
	// ConfigVersion is the version in force on this instance (0: the
	// file's); nil: 0.
	ConfigVersion func() int64
	// ConfigSource is the text of the configuration in force, a new
	// draft's start; nil: the version in force in Versions.
	ConfigSource func(ctx context.Context) ([]byte, error)
	// Publish, when set, validates, records and puts in force a version
	// (ivrd, database mode); nil: the file on disk is the source of truth
	// and drafts are only tried.
	Publish func(ctx context.Context, p configstore.Publication) (configstore.Version, error)
	// Replay runs the journaled calls since a time again under a
	// configuration's text (ivrd: the journal's replay on the simulator);
	// nil: no replay on the versions pages.
	Replay func(ctx context.Context, src []byte, since time.Time) (*ReplayResult, error)
	// DraftPhone is the test phone's page that takes ?draft=ID ("": drafts
	// are not tried on the phone).
	DraftPhone string
	// Extra are more pages behind the login (the test phone), each for
	// the roles it names; may be empty.
	Extra []ExtraPage
	// Invitations queues the portal's invitation mails (package notify);
	// nil: nobody can be invited.
	Invitations InvitationMailer
	// PortalURL is the panel's address as the Administrations reach it,
	// for invitation links (e.g. "https://helpdesk.example.org"); default
	// the scheme and host of the inviting request.
	PortalURL string
	// Attachments are the rules for the files portal users attach; zero:
	// the mails' defaults (mailin.Config{}.FileRules()).
	Attachments mailin.FileRules

	// IdleTimeout ends a session unused for this long; default 30 min.
	IdleTimeout time.Duration
	// SessionLifetime ends a session this long after login, whatever its
	// use; default 12 h.
	SessionLifetime time.Duration
	// RefreshInterval is how often live pages are refreshed without a
	// Notify (changes made by other instances); default 2 s.
	RefreshInterval time.Duration
}

// DeskPhone is an operator's phone the console can work: the demo's
// simulated phones, which wait for a person who has the console open and
// answer by themselves otherwise.
type DeskPhone interface {
	// Attend says a person has (or no longer has) login's console open.
	Attend(login string, present bool)
	// Answer picks up the call ringing on login's phone.
	Answer(login string) error
	// Hangup ends the call on login's phone.
	Hangup(login string) error
}

// ExtraPage is a page served behind the panel's login by another package.
// Its handlers may use CSRFToken and Lang; its POSTs must carry the token
// (form field "csrf" or header X-CSRF-Token) like the panel's own.
type ExtraPage struct {
	// Path is where the navigation links to; "" for no entry (an API).
	Path string
	// Label is the navigation entry, by language ("it", "en").
	Label map[string]string
	// Roles may open it.
	Roles []Role
	// Mount adds the page's routes.
	Mount func(r chi.Router)
}

// LiveCall is an active call, as the call controller sees it.
type LiveCall struct {
	CallID, Caller, Organization, Role, Ticket, Phase, Node, Group, Operator string
	Position                                                                 int
	Started, Since                                                           time.Time
	Test                                                                     bool // a test call (the test phone's), not a caller's
	// Held: the caller is on hold; Consult: who the operator consults
	// (ConsultAnswered once they answered); ThreeWay: the third party of
	// a three-way call.
	Held            bool
	Consult         string
	ConsultAnswered bool
	ThreeWay        string
	Callback        bool // the help desk calling a caller back
	// Recording is "recording" or "paused" while the conversation is
	// recorded, "" otherwise.
	Recording string
	// Supervisor on the call and their mode (listen, whisper, barge, or
	// ringing while their phone rings).
	Supervisor, SuperviseMode string
	// Instance is the ivrd instance driving the call when several share
	// the calls (leases); Remote: another one than the panel's, which
	// cannot act on it from here.
	Instance string
	Remote   bool
}

// The phases of a LiveCall.
const (
	PhaseMenu    = "menu"
	PhasePIN     = "pin"
	PhaseClosed  = "closed"
	PhaseQueue   = "queue"
	PhaseRinging = "ringing"
	PhaseTalking = "talking"
	PhaseMessage = "message"
	PhaseStatus  = "status"
	PhaseEnding  = "ending"
)

// CallControl acts on live calls for the console and the wallboard (the
// call controller). Act answers an error wrapping fault.ErrNotFound when
// no such call is in progress here, fault.ErrConflict when the call cannot
// do that now, fault.ErrInvalid for an action it does not know.
type CallControl interface {
	Act(ctx context.Context, callID string, a CallAction) error
}

// CallAction is an operator's or a supervisor's request on a live call:
// its kind, who asks (a login) and what the kind needs.
type CallAction struct {
	Kind, By                              string
	Group, Operator, Number, Mode, Reason string
}

// LiveCalls lists the calls in progress (the call controller).
type LiveCalls interface {
	Calls() []LiveCall
}

// ExternalTicket is a ticket of an outside ticketing system linked to ours.
type ExternalTicket struct {
	System string // "zammad"
	Number string // as that system's agents know it
	URL    string // its page there
	State  string // its state there, as last seen
}

// Recordings opens a stored recording by name, for the browser to play
// (through the controller from Asterisk). An error wrapping fault.ErrNotFound
// (or a tickets or queues not-found error) answers 404; any other, 500.
type Recordings interface {
	OpenRecording(ctx context.Context, name string) (io.ReadCloser, string, error)
}

// Server is the web panel.
type Server struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	users    *Users
	sessions *sessions
	throttle *throttle
	outbox   Outbox
	tokens   *Tokens
	audit    *Audit
	pages    map[string]*template.Template
	hub      *hub
	handler  http.Handler
	mux      chi.Router // the routes, for the tests that walk them
	portal   *portalStore
	// fileRules are Options.Attachments, defaults filled.
	fileRules mailin.FileRules
}

// New returns the panel. Its schema must be migrated (Migrate); Close it to
// end the live updates.
func New(opts Options) (*Server, error) {
	if opts.Pool == nil || opts.Tickets == nil || opts.Config == nil {
		return nil, errors.New("panel: Pool, Tickets and Config are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	opts.ServiceLevel = max(cmp.Or(opts.ServiceLevel, 30*time.Second), time.Second)
	opts.IdleTimeout = cmp.Or(opts.IdleTimeout, 30*time.Minute)
	opts.SessionLifetime = cmp.Or(opts.SessionLifetime, 12*time.Hour)
	opts.RefreshInterval = cmp.Or(opts.RefreshInterval, 2*time.Second)
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		now:      opts.Now,
		users:    newUsers(opts.Pool, opts.Now),
		sessions: &sessions{pool: opts.Pool, now: opts.Now, idle: opts.IdleTimeout, lifetime: opts.SessionLifetime},
		throttle: newThrottle(opts.Pool, opts.Now),
		outbox:   opts.Outbox,
		tokens:   NewTokens(opts.Pool, opts.Now),
		audit:    NewAudit(opts.Pool, opts.Now),
	}
	s.portal = &portalStore{pool: opts.Pool, now: opts.Now, idle: opts.IdleTimeout, lifetime: opts.SessionLifetime,
		dummy: s.users.dummy}
	s.fileRules = opts.Attachments
	if s.fileRules.MaxBytes <= 0 || s.fileRules.MaxFiles <= 0 || len(s.fileRules.Types) == 0 {
		s.fileRules = mailin.Config{}.FileRules()
	}
	if s.outbox == nil {
		s.outbox = NewOutbox(opts.Pool, opts.Now)
	}
	var err error
	if s.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	s.hub = newHub(s, opts.RefreshInterval)
	s.handler = s.routes()
	go s.hub.run()
	return s, nil
}

// Handler serves the whole panel, /login and /static included.
func (s *Server) Handler() http.Handler { return s.handler }

// Users returns the panel's users.
func (s *Server) Users() *Users { return s.users }

// Tokens returns the API tokens the administrators manage.
func (s *Server) Tokens() *Tokens { return s.tokens }

// Audit returns the audit log the administrators read.
func (s *Server) Audit() *Audit { return s.audit }

// Notify says something changed (a call event): live pages are refreshed
// shortly, several notifications close together making one refresh.
func (s *Server) Notify() { s.hub.notify() }

// Close ends the live updates and their streams.
func (s *Server) Close() { s.hub.close() }

func (s *Server) config() *menu.Config {
	if c := s.opts.Config(); c != nil {
		return c
	}
	return &menu.Config{}
}

func (s *Server) location() *time.Location { return s.opts.Tickets.Location() }

func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.recoverer)
	r.Handle("/static/*", staticHandler())
	r.Get("/login", s.loginPage)
	r.Post("/login", s.login)
	r.Route(portalPrefix, s.portalRoutes) // the Administrations' portal, its own sessions
	r.Group(func(r chi.Router) {
		r.Use(s.authenticate)
		r.Post("/logout", s.logout)
		r.Post("/lang", s.setLang)
		r.Get("/", s.home)
		r.Get("/wallboard", s.wallboard)
		r.Get("/wallboard/events", s.wallboardEvents)
		r.Get("/live", s.livePage)
		r.Get("/live/events", s.liveEvents)
		r.Get("/console", s.console)
		r.Get("/console/events", s.consoleEvents)
		r.Post("/console/state", s.consoleState)
		r.Post("/console/phone", s.consolePhone)
		r.Post("/console/recording", s.consoleRecording)
		r.Post("/calls/{id}/control", s.callControl)
		r.Get("/tickets", s.ticketList)
		r.Get("/tickets/new", s.newTicketPage)
		r.Post("/tickets/new", s.ticketCreate)
		r.Get("/tickets/{id}", s.ticketDetail)
		r.Post("/tickets/{id}", s.ticketUpdate)
		r.Post("/tickets/{id}/articles", s.ticketArticle)
		r.Post("/tickets/{id}/links", s.ticketLinkAction("link"))
		r.Post("/tickets/{id}/links/{other}/delete", s.ticketLinkAction("unlink"))
		r.Post("/tickets/{id}/merge", s.ticketLinkAction("merge"))
		r.Get("/recordings/{ticketID}/{attachmentID}", s.recording)
		r.Get("/attachments/{ticketID}/{attachmentID}", s.attachment)
		s.contactRoutes(r)
		r.Get("/after-hours", s.afterHours)
		r.Get("/reports", s.reports)
		r.Get("/reports.csv", s.reportsCSV)
		r.Group(func(r chi.Router) {
			r.Use(s.require(RoleSupervisor, RoleAdmin))
			r.Post("/operators/{login}/state", s.forceState)
			r.Get("/operators/log", s.stateLog)
			r.Post("/live/calls/{callID}", s.callAction)
			r.Get("/live/supervision", s.supervisionLog)
		})
		r.Group(func(r chi.Router) {
			r.Use(s.require(RoleAdmin))
			r.Get("/config", s.configPage)
			r.Post("/config/reload", s.configReload)
			r.Get("/config/versions", s.versionsPage)
			r.Post("/config/versions", s.versionCreate)
			r.Get("/config/versions/{id}", s.versionPage)
			r.Post("/config/versions/{id}", s.versionAction)
			r.Post("/config/versions/{id}/rollback", s.versionRollback)
			r.Post("/config/versions/{id}/replay", s.versionReplay)
			r.Get("/admin/users", s.usersPage)
			r.Post("/admin/users", s.userAdd)
			r.Post("/admin/users/{login}", s.userChange)
			r.Get("/admin/outbox", s.outboxPage)
			r.Post("/admin/outbox/{id}/retry", s.outboxRetry)
			r.Get("/admin/tokens", s.tokensPage)
			r.Post("/admin/tokens", s.tokenCreate)
			r.Post("/admin/tokens/{id}/revoke", s.tokenRevoke)
			r.Get("/admin/audit", s.auditPage)
			r.Get("/admin/webhooks", s.webhooksPage)
			r.Post("/admin/webhooks", s.webhookCreate)
			r.Get("/admin/webhooks/{id}", s.webhookDeliveries)
			r.Post("/admin/webhooks/{id}/pause", s.webhookAction("pause"))
			r.Post("/admin/webhooks/{id}/resume", s.webhookAction("resume"))
			r.Post("/admin/webhooks/{id}/delete", s.webhookAction("delete"))
			r.Post("/admin/webhooks/{id}/deliveries/{delivery}/redeliver", s.webhookRedeliver)
		})
		for _, x := range s.opts.Extra {
			r.Group(func(r chi.Router) {
				r.Use(s.require(x.Roles...))
				x.Mount(r)
			})
		}
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, fault.ErrNotFound) })
	s.mux = r

	// Every state-changing request must come from the panel's own pages:
	// the browser's Fetch metadata (or Origin) says so; the per-session
	// token in every form (authenticate) is the second line.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("panel_cross_origin_refused", "method", r.Method, "path", r.URL.Path)
		s.fail(w, r, errorKey(fault.EFORBIDDEN, "err.cross_origin"))
	}))
	return s.securityHeaders(cop.Handler(r))
}

// securityHeaders go on every answer. The CSP allows no inline script or
// style: the panel's JavaScript and CSS are static files.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.opts.Secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panel_panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				// The browser's language: the session is not known here.
				http.Error(w, s.anonLang(r).T("err.500"), http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// remoteAddress is the client's address for the login throttle: the one
// chi's ClientIP middleware found (behind trusted reverse proxies, which
// cmd/ivrd sets up), else the peer's.
func remoteAddress(r *http.Request) string {
	if ip := middleware.GetClientIP(r.Context()); ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// localPath returns p if it is a path of this site (for redirects after
// login or a form), "/" otherwise. A browser reads a Location by the
// WHATWG URL parser, which drops tabs and newlines anywhere, strips
// leading spaces and control characters and takes a backslash for a
// slash: "/\t/evil.example" is "//evil.example", another site. So p must
// start with one "/", hold no control character, space-like prefix or
// backslash at all, and its path, however often percent-decoded, must
// not start with "//" or "/\" either; anything else is the home page.
func localPath(p string) string {
	const home = "/"
	if len(p) > maxNextLen || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || !utf8.ValidString(p) {
		return home
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' || unicode.IsControl(r) }) {
		return home
	}
	path, _, _ := strings.Cut(p, "?")
	path, _, _ = strings.Cut(path, "#")
	for i := 0; ; i++ { // "%252F" is "%2F" is "/"
		dec, err := url.PathUnescape(path)
		if err != nil || strings.HasPrefix(dec, "//") ||
			strings.ContainsFunc(dec, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
			return home
		}
		if dec == path {
			break
		}
		if i == 4 {
			return home
		}
		path = dec
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	return p
}

// maxNextLen bounds a path to come back to.
const maxNextLen = 2048

// visibleGroups returns the ids of the groups the request's user may see,
// in configuration order (then any other group known to the queues).
func (s *Server) visibleGroups(rq *request) []string {
	var all []string
	for _, g := range s.config().Groups {
		all = append(all, g.ID)
	}
	if rq.allGroups() {
		return all
	}
	var out []string
	for _, g := range all {
		if slices.Contains(rq.groups, g) {
			out = append(out, g)
		}
	}
	for _, g := range rq.groups {
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

func (s *Server) groupName(id string) string {
	if g := s.config().Group(id); g != nil && g.Name != "" {
		return g.Name
	}
	return id
}
