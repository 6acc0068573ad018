// Package notify tells people about tickets by e-mail: the caller's
// Administration when its ticket is opened, changes status or is closed, a
// group when a request is left after hours or when it opens with requests
// waiting, the supervisors on escalations and with a daily summary; and it
// mails staff's public messages to the ticket's contact, keeping each
// ticket's mail conversation (ticket_mail) that package mailin adds the
// received mails to.
//
// Every e-mail goes through a durable outbox table: the Notifier writes the
// whole message in the transaction of the change it tells about (it is the
// tickets.Hook of the store), and the Sender sends what is due over SMTP,
// with retries and backoff. A message's Message-ID is derived from what it
// tells about, and unique in the outbox, so the same notice is never queued
// twice; replies and later notices of a ticket refer to its first message,
// so that mail clients thread them.
package notify

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// EnvSMTPPassword is the environment variable the server reads the SMTP
// password from (it never sits in the configuration file).
const EnvSMTPPassword = "IVR_SMTP_PASSWORD"

// TLSMode is how the SMTP connection is protected.
type TLSMode string

const (
	TLSNone     TLSMode = "none"     // plain text (a relay on localhost)
	TLSStartTLS TLSMode = "starttls" // upgrade after connecting (port 587)
	TLSImplicit TLSMode = "tls"      // TLS from the start (port 465)
)

// SMTPConfig is the mail server to send through.
type SMTPConfig struct {
	Host     string  `yaml:"host"`
	Port     int     `yaml:"port"` // default 587, 465 for TLSImplicit, 25 for TLSNone
	TLS      TLSMode `yaml:"tls"`  // default starttls
	Username string  `yaml:"username"`
	// Password comes from EnvSMTPPassword, never from the file.
	Password string `yaml:"-"`
	// HeloName is the name given in EHLO; default "localhost".
	HeloName string `yaml:"helo_name"`
	// Timeout bounds one message's delivery; default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// ServerName checks the server's certificate against this name
	// instead of Host. Tests and private CAs set RootCAs through
	// Sender options, not here.
	ServerName string `yaml:"server_name"`
}

// Config is the notifications' configuration.
type Config struct {
	SMTP SMTPConfig `yaml:"smtp"`
	// From is the sender, e.g. "Help desk Giustizia <helpdesk@giustizia.it>".
	From string `yaml:"from"`
	// Domain ends every Message-ID; default From's domain.
	Domain string `yaml:"domain"`
	// Service names the help desk at the bottom of every message.
	Service string `yaml:"service"`
	// Language of the messages, "it" (default) or "en";
	// OrganizationLanguages overrides it per Administration id.
	Language              string            `yaml:"language"`
	OrganizationLanguages map[string]string `yaml:"organization_languages"`
	// TemplateDir holds templates overriding the embedded ones, laid out
	// the same way: <dir>/<language>/<kind>.tmpl, each defining "subject"
	// and "body". Files not there keep the default.
	TemplateDir string `yaml:"template_dir"`
	// Supervisors get escalations and the daily summary.
	Supervisors []string `yaml:"supervisors"`
	// StatusChanges are the statuses whose reaching is told to the
	// Administration besides opening and closing (e.g. in_progress).
	StatusChanges []tickets.Status `yaml:"status_changes"`
	// Retry policy of the Sender: the n-th failed attempt waits
	// BackoffBase*2^(n-1), at most BackoffMax; after MaxAttempts the
	// message is given up. Defaults 1m, 1h, 48 (about two days).
	BackoffBase time.Duration `yaml:"backoff_base"`
	BackoffMax  time.Duration `yaml:"backoff_max"`
	MaxAttempts int           `yaml:"max_attempts"`
	// PollInterval is how often the Sender looks for due messages; default 10s.
	PollInterval time.Duration `yaml:"poll_interval"`
}

func (c Config) withDefaults() Config {
	c.Language = cmp.Or(c.Language, "it")
	c.SMTP.TLS = cmp.Or(c.SMTP.TLS, TLSStartTLS)
	if c.SMTP.Port == 0 {
		switch c.SMTP.TLS {
		case TLSImplicit:
			c.SMTP.Port = 465
		case TLSNone:
			c.SMTP.Port = 25
		default:
			c.SMTP.Port = 587
		}
	}
	c.SMTP.HeloName = cmp.Or(c.SMTP.HeloName, "localhost")
	c.SMTP.Timeout = cmp.Or(c.SMTP.Timeout, 30*time.Second)
	c.BackoffBase = cmp.Or(c.BackoffBase, time.Minute)
	c.BackoffMax = cmp.Or(c.BackoffMax, time.Hour)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, 48)
	c.PollInterval = cmp.Or(c.PollInterval, 10*time.Second)
	if c.Domain == "" {
		if a, err := mail.ParseAddress(c.From); err == nil {
			_, c.Domain, _ = strings.Cut(a.Address, "@")
		}
	}
	c.Domain = cmp.Or(c.Domain, "localhost")
	return c
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	var errs []string
	if _, err := mail.ParseAddress(c.From); err != nil {
		errs = append(errs, fmt.Sprintf("from %q: %v", c.From, err))
	}
	switch c.SMTP.TLS {
	case "", TLSNone, TLSStartTLS, TLSImplicit:
	default:
		errs = append(errs, fmt.Sprintf("smtp tls %q: want none, starttls or tls", c.SMTP.TLS))
	}
	if c.SMTP.Host == "" {
		errs = append(errs, "smtp host missing")
	}
	for _, s := range c.StatusChanges {
		if !s.Valid() {
			errs = append(errs, fmt.Sprintf("status_changes: unknown status %q", s))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("notify config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Directory gives the e-mail addresses of Administrations and groups.
type Directory interface {
	OrganizationEmails(org string) []string
	GroupEmails(group string) []string
}

// MenuDirectory reads the addresses from the help desk's configuration as
// current returns it, so that a reloaded configuration applies at once.
func MenuDirectory(current func() *menu.Config) Directory { return menuDirectory(current) }

type menuDirectory func() *menu.Config

func (d menuDirectory) OrganizationEmails(org string) []string {
	if c := d(); c != nil {
		if o := c.Organization(org); o != nil {
			return o.Emails
		}
	}
	return nil
}

func (d menuDirectory) GroupEmails(group string) []string {
	if c := d(); c != nil {
		if g := c.Group(group); g != nil {
			return g.Emails
		}
	}
	return nil
}

// NotifyReferents implements ReferentNotices: the configuration's
// notify_referents of the Administration.
func (d menuDirectory) NotifyReferents(org string) bool {
	if c := d(); c != nil {
		if o := c.Organization(org); o != nil {
			return o.NotifyReferents
		}
	}
	return false
}

// ReferentNotices is what a Directory may also tell: which
// Administrations' referent contacts get the opening and closing mails of
// their tickets (menu's notify_referents).
type ReferentNotices interface {
	NotifyReferents(org string) bool
}

func (n *Notifier) notifyReferents(org string) bool {
	r, ok := n.dir.(ReferentNotices)
	return ok && org != "" && r.NotifyReferents(org)
}

// Kind is the kind of a notice; each has a template per language.
type Kind string

const (
	KindCreated    Kind = "created"     // to the Administration
	KindStatus     Kind = "status"      // to the Administration, Config.StatusChanges
	KindClosed     Kind = "closed"      // to the Administration
	KindAfterHours Kind = "after_hours" // to the group
	KindEscalated  Kind = "escalated"   // to the supervisors
	KindOpening    Kind = "opening"     // to the group
	KindSummary    Kind = "summary"     // to the supervisors
	KindReply      Kind = "reply"       // a public message, to the ticket's contact
	KindReceived   Kind = "received"    // to the sender of a mail that opened a ticket
)

var kinds = []Kind{KindCreated, KindStatus, KindClosed, KindAfterHours, KindEscalated, KindOpening, KindSummary,
	KindReply, KindReceived}

//go:embed templates
var defaultTemplates embed.FS

// Notifier writes notices into the outbox.
type Notifier struct {
	cfg  Config
	dir  Directory
	loc  *time.Location
	tmpl map[string]*template.Template // by language "/" kind
	log  *slog.Logger
}

// NewNotifier parses the templates (the embedded ones, then those of
// cfg.TemplateDir) and returns a Notifier; loc is the service time zone in
// which messages give times.
func NewNotifier(cfg Config, dir Directory, loc *time.Location, log *slog.Logger) (*Notifier, error) {
	cfg = cfg.withDefaults()
	n := &Notifier{cfg: cfg, dir: dir, loc: cmp.Or(loc, time.Local), tmpl: map[string]*template.Template{},
		log: cmp.Or(log, slog.New(slog.DiscardHandler))}
	for _, lang := range []string{"it", "en"} {
		for _, k := range kinds {
			name := lang + "/" + string(k) + ".tmpl"
			src, err := fs.ReadFile(defaultTemplates, "templates/"+name)
			if err != nil {
				return nil, fmt.Errorf("notify templates: %w", err)
			}
			if cfg.TemplateDir != "" {
				b, err := os.ReadFile(filepath.Join(cfg.TemplateDir, lang, string(k)+".tmpl"))
				switch {
				case err == nil:
					src = b
				case !os.IsNotExist(err):
					return nil, fmt.Errorf("notify templates: %w", err)
				}
			}
			t, err := template.New(name).Funcs(n.funcs(lang)).Parse(string(src))
			if err == nil && (t.Lookup("subject") == nil || t.Lookup("body") == nil) {
				err = fmt.Errorf("must define \"subject\" and \"body\"")
			}
			if err != nil {
				return nil, fmt.Errorf("notify template %s: %w", name, err)
			}
			n.tmpl[lang+"/"+string(k)] = t
		}
	}
	return n, nil
}

func (n *Notifier) funcs(lang string) template.FuncMap {
	it := lang == "it"
	return template.FuncMap{
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			if it {
				return t.In(n.loc).Format("02/01/2006 15:04")
			}
			return t.In(n.loc).Format("2 Jan 2006 15:04")
		},
		"status": func(s any) string {
			st := tickets.Status(fmt.Sprint(s))
			if it {
				return st.Label()
			}
			return map[tickets.Status]string{tickets.StatusNew: "New", tickets.StatusInProgress: "In progress",
				tickets.StatusWaiting: "Waiting", tickets.StatusClosed: "Closed"}[st]
		},
		"priority": func(p any) string {
			pr := tickets.Priority(fmt.Sprint(p))
			if it {
				return pr.Label()
			}
			return map[tickets.Priority]string{tickets.PriorityCritical: "Critical", tickets.PriorityHigh: "High",
				tickets.PriorityMedium: "Medium", tickets.PriorityLow: "Low"}[pr]
		},
		"percent": func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	}
}

// templateData is what the templates see.
type templateData struct {
	Service string
	Ticket  tickets.Ticket
	Change  tickets.Change
	At      time.Time
	Group   string
	Tickets []tickets.Ticket
	Day     string
	Rows    []tickets.ReportRow
	Message string // a public message's text (KindReply)
}

// Execer is a transaction or a pool.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// EscalationActor raises the priority of tickets that waited too long
// (package jobs): only its raises are escalations. The call controller,
// another system actor, sets the priority its menu branch gives (the
// referents' branch is high), which is no news for the supervisors.
var EscalationActor = tickets.Actor{Kind: tickets.ActorSystem, ID: "escalation"}

// Hook is the tickets.Hook that queues the notices of a ticket change in
// its transaction: opening and closing (and Config.StatusChanges) to the
// Administration, a request left after hours to its group, a priority
// raised by EscalationActor to the supervisors.
// WantsCreated tells the ticket store which new tickets the Hook must see
// (tickets.Options.HookOnCreate): only an opening with somebody to tell,
// an Administration with addresses. The others stay one statement.
func (n *Notifier) WantsCreated(nc tickets.NewCall) bool {
	return nc.ContactID != 0 || n.notifyReferents(nc.Organization) ||
		(nc.Organization != "" && len(n.dir.OrganizationEmails(nc.Organization)) > 0)
}

func (n *Notifier) Hook(ctx context.Context, tx pgx.Tx, ev tickets.TicketEvent) error {
	t := ev.Ticket
	if ev.Kind == tickets.TicketMessage {
		if err := n.reply(ctx, tx, ev); err != nil {
			// As for notices: the message is kept all the same.
			n.log.Error("queue_reply_failed", "ticket", string(t.Number), "error", err.Error())
		}
		return nil
	}
	lang := cmp.Or(n.cfg.OrganizationLanguages[t.Organization], n.cfg.Language)
	var errs []error
	for _, nt := range n.notices(ev) {
		if nt.kind == KindCreated || nt.kind == KindClosed {
			to, err := n.withContacts(ctx, tx, t, nt.to)
			if err != nil {
				errs = append(errs, err)
			}
			nt.to = to
		}
		if err := n.queue(ctx, tx, nt.kind, lang, t.ID, nt.id, []string{rootID(n.cfg.Domain, t)}, nt.to, ev.At, nt.data); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// The ticket change commits all the same: a notice never stands
		// in the way of a ticket (queue kept what it could, as failed).
		n.log.Error("queue_notices_failed", "ticket", string(t.Number), "error", errors.Join(errs...).Error())
	}
	return nil
}

// WantsUpdated tells the ticket store which ticket updates the Hook must
// see (tickets.Options.HookOnUpdate): those that make a notice. The call
// controller updates every call's ticket two or three times and most
// updates notify nobody; those are written without the Hook's transaction.
func (n *Notifier) WantsUpdated(ev tickets.TicketEvent) bool {
	return len(n.notices(ev)) > 0
}

// notice is one message a ticket event calls for.
type notice struct {
	kind Kind
	id   string // Message-ID
	to   []string
	data templateData
}

// notices are the messages ev calls for (Hook sends them, WantsUpdated
// asks whether there are any: one rule for both).
func (n *Notifier) notices(ev tickets.TicketEvent) []notice {
	t := ev.Ticket
	org := n.dir.OrganizationEmails(t.Organization)
	data := templateData{Ticket: t, At: ev.At}
	var out []notice
	add := func(k Kind, id string, to []string, d templateData) {
		out = append(out, notice{kind: k, id: id, to: to, data: d})
	}
	switch ev.Kind {
	case tickets.TicketCreated:
		add(KindCreated, rootID(n.cfg.Domain, t), org, data)
	case tickets.TicketUpdated:
		if c, ok := ev.Changed("organization"); ok && c.Old == "" && t.Status != tickets.StatusClosed {
			// The caller was recognised after the ticket was opened (a PIN):
			// the opening notice goes now. Its Message-ID makes it once only.
			add(KindCreated, rootID(n.cfg.Domain, t), org, data)
		}
		if c, ok := ev.Changed("status"); ok {
			d := data
			d.Change = c
			switch {
			case t.Status == tickets.StatusClosed:
				add(KindClosed, eventID(n.cfg.Domain, t, "closed"), org, d)
			case slices.Contains(n.cfg.StatusChanges, t.Status):
				add(KindStatus, eventID(n.cfg.Domain, t, "status"), org, d)
			}
		}
		if _, ok := ev.Changed("source"); ok && t.Source == tickets.SourceAfterHours {
			add(KindAfterHours, fmt.Sprintf("<ticket.%s.after-hours@%s>", t.Number, n.cfg.Domain),
				n.dir.GroupEmails(t.Group), data)
		}
		if c, ok := ev.Changed("priority"); ok && ev.Actor == EscalationActor &&
			slices.Index(tickets.Priorities, tickets.Priority(c.New)) < slices.Index(tickets.Priorities, tickets.Priority(c.Old)) {
			d := data
			d.Change = c
			add(KindEscalated, eventID(n.cfg.Domain, t, "escalated"), n.cfg.Supervisors, d)
		}
	}
	return out
}

// QueueOpening records, in db (the transaction of the opening job), a
// panel notification for group and an e-mail to its address listing the
// after-hours requests waiting at its opening at. It reports false when
// that opening was already notified.
func (n *Notifier) QueueOpening(ctx context.Context, db pgx.Tx, group string, at time.Time, waiting []tickets.Ticket) (bool, error) {
	ids := make([]int64, len(waiting))
	for i, t := range waiting {
		ids[i] = t.ID
	}
	body := fmt.Sprintf("%d after-hours requests waiting", len(waiting))
	tag, err := db.Exec(ctx, `INSERT INTO notifications (group_id, kind, at, body, ticket_ids)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_id, kind, at) DO NOTHING`,
		group, string(KindOpening), at, body, ids)
	if err != nil {
		return false, fmt.Errorf("queue opening of %s: %w", group, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	id := fmt.Sprintf("<opening.%s.%d@%s>", group, at.Unix(), n.cfg.Domain)
	d := templateData{Group: group, At: at, Tickets: waiting}
	if err := n.queue(ctx, db, KindOpening, n.cfg.Language, 0, id, nil, n.dir.GroupEmails(group), at, d); err != nil {
		return false, err
	}
	return true, nil
}

// QueueSummary queues the daily summary of day (YYYY-MM-DD) to the
// supervisors; at most once per day.
func (n *Notifier) QueueSummary(ctx context.Context, db Execer, day string, at time.Time, rows []tickets.ReportRow) error {
	id := fmt.Sprintf("<summary.%s@%s>", day, n.cfg.Domain)
	return n.queue(ctx, db, KindSummary, n.cfg.Language, 0, id, nil, n.cfg.Supervisors, at, templateData{Day: day, At: at, Rows: rows})
}

func rootID(domain string, t tickets.Ticket) string {
	return fmt.Sprintf("<ticket.%s@%s>", t.Number, domain)
}

// eventID names the notice of what version v of a ticket did: a ticket
// closed, reopened and closed again gets two closing notices.
func eventID(domain string, t tickets.Ticket, what string) string {
	return fmt.Sprintf("<ticket.%s.v%d.%s@%s>", t.Number, t.Version, what, domain)
}

// queue renders a notice and writes it into the outbox, unless it has no
// recipients or its Message-ID is there already. A notice that cannot be
// rendered or built (a template error, a wrong address in the
// configuration) is written all the same, as failed with the reason and
// no message, for the panel to show. The write runs in a savepoint, so
// that a failure of its own never aborts the caller's transaction.
func (n *Notifier) queue(ctx context.Context, db Execer, k Kind, lang string, ticketID int64, msgID string, refs []string,
	to []string, at time.Time, d templateData) error {
	if len(to) == 0 {
		return nil
	}
	msg, buildErr := n.render(k, lang, msgID, refs, to, at, d)
	var tid *int64
	if ticketID != 0 {
		tid = &ticketID
	}
	var failedAt *time.Time
	reason := ""
	if buildErr != nil {
		failedAt, reason, msg = &at, buildErr.Error(), []byte{}
		n.log.Error("notice_not_built", "kind", string(k), "ticket", string(d.Ticket.Number), "error", reason)
	}
	insert := func(db Execer) error {
		_, err := db.Exec(ctx, `INSERT INTO notify_outbox (message_id, kind, ticket_id, recipients, message, created_at,
			next_attempt_at, failed_at, last_error)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING`,
			msgID, string(k), tid, to, msg, at, failedAt, reason)
		return err
	}
	var err error
	if tx, ok := db.(pgx.Tx); ok {
		err = pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error { return insert(sp) })
	} else {
		err = insert(db)
	}
	if err != nil {
		return fmt.Errorf("queue %s notice: %w", k, err)
	}
	n.log.Debug("notice_queued", "kind", string(k), "ticket", string(d.Ticket.Number))
	return nil
}

// render returns the whole message of a notice.
func (n *Notifier) render(k Kind, lang, msgID string, refs []string, to []string, at time.Time, d templateData) ([]byte, error) {
	d.Service = n.cfg.Service
	t := n.tmpl[lang+"/"+string(k)]
	if t == nil {
		t = n.tmpl["it/"+string(k)]
	}
	var subject, body strings.Builder
	if err := t.ExecuteTemplate(&subject, "subject", d); err != nil {
		return nil, fmt.Errorf("render %s notice: %w", k, err)
	}
	if err := t.ExecuteTemplate(&body, "body", d); err != nil {
		return nil, fmt.Errorf("render %s notice: %w", k, err)
	}
	subj := strings.Join(strings.Fields(subject.String()), " ")
	if d.Ticket.Number != "" {
		subj = SubjectTag(d.Ticket.Number) + " " + subj
	}
	msg, err := buildMessage(message{
		From: n.cfg.From, To: to, Subject: subj, Date: at, MessageID: msgID, References: refs,
		Body: strings.TrimLeft(body.String(), "\n"), AutoSubmitted: autoSubmitted(k),
	})
	if err != nil {
		return nil, fmt.Errorf("build %s notice: %w", k, err)
	}
	return msg, nil
}

// Retry sends a failed notice again: it is due at once, with its attempts
// counted from zero. A notice that could not be built has no message to
// send and is not retried (ErrNotRetryable): fix the cause and the next
// change of its ticket queues a new one.
func Retry(ctx context.Context, db Execer, id int64, now time.Time) error {
	tag, err := db.Exec(ctx, `UPDATE notify_outbox SET failed_at = NULL, attempts = 0, next_attempt_at = $2
		WHERE id = $1 AND failed_at IS NOT NULL AND sent_at IS NULL AND length(message) > 0`, id, now)
	if err != nil {
		return fmt.Errorf("retry notice %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotRetryable
	}
	return nil
}

// ErrNotRetryable: the notice is not a failed one with a message.
var ErrNotRetryable = errors.New("notice not failed, or never built")

// SubjectTag is the ticket's tag in every subject, stable so that replies
// can be matched to the ticket: "[Ticket#2026112200012X]".
func SubjectTag(n tickets.Number) string { return "[Ticket#" + string(n) + "]" }

// autoSubmitted is the Auto-Submitted header of a kind of message: a
// person's public message is none, the acknowledgement of a mail answers
// it automatically, the notices are generated.
func autoSubmitted(k Kind) string {
	switch k {
	case KindReply:
		return ""
	case KindReceived:
		return "auto-replied"
	}
	return "auto-generated"
}

// withContacts adds to the Administration's addresses to those of the
// ticket's contact (seed 004: the customer gets the mails at their own
// address) and, where the configuration says notify_referents, of the
// Administration's referent contacts; disabled contacts get nothing. One
// query, in a savepoint: a failure leaves the addresses as they were and
// the ticket's transaction intact.
func (n *Notifier) withContacts(ctx context.Context, tx pgx.Tx, t tickets.Ticket, to []string) ([]string, error) {
	referents := n.notifyReferents(t.Organization)
	if t.ContactID == 0 && !referents {
		return to, nil
	}
	var emails []string
	err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
		rows, err := sp.Query(ctx, `SELECT c.email FROM contacts c
			WHERE c.email <> '' AND NOT c.disabled
				AND (c.id = $1 OR ($3 AND c.organization = $2 AND c.role = 'referent'))
			ORDER BY c.id = $1 DESC, c.id`, t.ContactID, t.Organization, referents)
		if err != nil {
			return err
		}
		emails, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return to, fmt.Errorf("contacts' addresses: %w", err)
	}
	return addAddresses(to, emails...), nil
}

// addAddresses appends the addresses not already in to (compared
// case-insensitively, display names aside), without touching to.
func addAddresses(to []string, more ...string) []string {
	out := slices.Clone(to)
	have := map[string]bool{}
	for _, a := range to {
		addr, err := parseAddress(a)
		if err != nil {
			addr = a
		}
		have[strings.ToLower(addr)] = true
	}
	for _, a := range more {
		if !have[strings.ToLower(a)] {
			have[strings.ToLower(a)] = true
			out = append(out, a)
		}
	}
	return out
}
