package tickets

import (
	"cmp"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configure a Store.
type Options struct {
	// Location is the service time zone: the day of a ticket number and the
	// hours and days of the reports. Default time.Local.
	Location *time.Location
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; default discards.
	Logger *slog.Logger
	// Hook, when set, runs in the transaction of every ticket creation and
	// update (see Hook). Without it OpenCall stays a single statement; with
	// it OpenCall becomes a transaction of two round trips or more.
	Hook Hook
	// HookOnCreate, when set, tells which new calls' tickets the Hook must
	// see; the others are opened with the single statement. The call
	// controller opens a ticket per call, and most have nothing to notify.
	HookOnCreate func(NewCall) bool
	// HookOnUpdate, when set, tells which ticket updates the Hook must see
	// (it is given the event as it will be, Ticket the ticket as it will
	// be written); the others take two statements and no transaction
	// instead of a transaction of four round trips. Without a Hook every
	// update is written so.
	HookOnUpdate func(TicketEvent) bool
	// HookOnMessage, when set, tells which added articles the Hook must
	// see; the others are written in one statement. Without it the Hook
	// sees every article.
	HookOnMessage func(Article) bool
}

// Store keeps tickets and call records in PostgreSQL. It is safe for
// concurrent use; several Stores (several ivrd instances) may share one
// database.
type Store struct {
	pool          *pgxpool.Pool
	loc           *time.Location
	zone          string // loc's name as PostgreSQL knows it
	now           func() time.Time
	log           *slog.Logger
	hook          Hook
	hookOnCreate  func(NewCall) bool
	hookOnUpdate  func(TicketEvent) bool
	hookOnMessage func(Article) bool

	textWindow int // see FindTickets; a field so that tests can shrink it
}

var (
	_ TicketService = (*Store)(nil)
	_ CallRecorder  = (*Store)(nil)
)

// New returns a Store on pool. The schema must be migrated (Migrate).
func New(pool *pgxpool.Pool, opts Options) *Store {
	s := &Store{
		pool: pool,
		loc:  cmp.Or(opts.Location, time.Local),
		now:  opts.Now,
		log:  cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		hook: opts.Hook, hookOnCreate: opts.HookOnCreate, hookOnUpdate: opts.HookOnUpdate, hookOnMessage: opts.HookOnMessage,

		textWindow: textWindow,
	}
	if s.now == nil {
		s.now = time.Now
	}
	var ok bool
	s.zone, ok = zoneName(s.loc)
	if !ok {
		s.log.Warn("tickets_zone_unknown", "location", s.loc.String(), "using", s.zone)
	}
	return s
}

// Location returns the service time zone.
func (s *Store) Location() *time.Location { return s.loc }

// zoneName returns the IANA name of loc for PostgreSQL's AT TIME ZONE. Go
// calls the process's zone "Local", so for it the name comes from $TZ or
// /etc/localtime; ok is false when it had to fall back to UTC.
func zoneName(loc *time.Location) (name string, ok bool) {
	if n := loc.String(); n != "Local" {
		return n, true
	}
	if tz, set := os.LookupEnv("TZ"); set {
		tz = strings.TrimPrefix(tz, ":")
		if tz == "" {
			return "UTC", true
		}
		if _, err := time.LoadLocation(tz); err == nil {
			return tz, true
		}
	}
	if b, err := os.ReadFile("/etc/timezone"); err == nil {
		if tz := strings.TrimSpace(string(b)); tz != "" {
			return tz, true
		}
	}
	if p, err := os.Readlink("/etc/localtime"); err == nil {
		if _, tz, found := strings.Cut(p, "zoneinfo/"); found {
			return tz, true
		}
	}
	// No zone files at all means Go itself runs in UTC.
	if _, err := os.Stat("/etc/localtime"); err != nil {
		return "UTC", true
	}
	return "UTC", false
}

// stamp rounds t to what PostgreSQL stores, so that what a write returns
// equals what a later read returns.
func stamp(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

func (s *Store) stampNow() time.Time { return stamp(s.now()) }

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = stamp(t)
	return &t
}

func (s *Store) fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.In(s.loc)
}

// args collects query parameters and hands out their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// visibility returns the condition on tickets alias t that v may see.
func visibility(v Viewer, a *args) (string, error) {
	switch v.Kind {
	case ViewerSystem, ViewerStaffAll:
		return "true", nil
	case ViewerStaffGroups:
		groups := v.Groups
		if groups == nil {
			groups = []string{}
		}
		return "t.group_id = ANY(" + a.add(groups) + "::text[])", nil
	case ViewerCallerOrg:
		var conds []string
		if v.Organization != "" {
			conds = append(conds, "t.organization = "+a.add(v.Organization))
		}
		if v.Caller != "" {
			conds = append(conds, "t.caller = "+a.add(v.Caller))
		}
		if len(conds) == 0 {
			return "false", nil
		}
		return "(" + strings.Join(conds, " OR ") + ")", nil
	case ViewerCallerOwn:
		if v.Caller == "" {
			return "false", nil
		}
		return "t.caller = " + a.add(v.Caller), nil
	case ViewerCallerUser:
		return userVisibility(v, a), nil
	case ViewerContact:
		if v.Contact <= 0 {
			return "false", nil
		}
		return "t.contact_id = " + a.add(v.Contact), nil
	}
	return "", fault.Errorf(fault.EINVALID, "unknown viewer kind %q", v.Kind)
}
