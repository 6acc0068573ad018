// Package mailin takes e-mail into tickets: an LMTP or SMTP listener (a
// Postfix or Exim in front delivers the help desk's address to it) whose
// messages become public messages on the tickets they answer, or new
// tickets.
//
// A mail answers a ticket when its In-Reply-To or References name a mail
// of the ticket's conversation or one of its notices (package notify's
// Message-IDs), or when its subject carries the ticket's number with a
// right check digit ("[Ticket#2025112200174]"); a number with a wrong
// check digit matches nothing, and the mail opens a new ticket. An answer
// reopens a closed ticket (back to new, in its group's queue) and takes a
// waiting one back in progress. A new mail's Administration is the one
// whose configured address, or else whose addresses' domain (when only
// one Administration has it), is the sender's.
//
// Automatic mail never makes a message nor an answer: auto-replies
// (Auto-Submitted, Precedence bulk, junk or list, X-Autoreply), bounces
// (an empty return path, delivery reports) and our own mail come back
// (our Message-IDs, our addresses as sender) are accepted and dropped, so
// that the mail server neither retries nor bounces them.
package mailin

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// Config is the inbound mail's configuration (the operations file's
// "mail" section).
type Config struct {
	// Addresses are the help desk's own addresses: the listener refuses
	// mail for others (none: it takes every recipient, the mail server in
	// front decides), and mail from them is a loop.
	Addresses []string `yaml:"addresses"`
	// MaxMessageBytes bounds a whole message; default 25 MiB.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// MaxAttachmentBytes bounds one attachment; default 10 MiB.
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`
	// MaxAttachments bounds the files kept of one message; default 10.
	MaxAttachments int `yaml:"max_attachments"`
	// AttachmentTypes are the media types kept; default DefaultAttachmentTypes.
	AttachmentTypes []string `yaml:"attachment_types"`
	// MaxTextBytes bounds a message's text; default 100,000.
	MaxTextBytes int `yaml:"max_text_bytes"`
	// Group takes the tickets of mail from no known Administration;
	// default the configuration's DefaultGroup.
	Group string `yaml:"group"`
	// PublicDomains are domains anyone can have an address at: a sender
	// there is never taken for an Administration by domain, only by its
	// exact address. Default DefaultPublicDomains.
	PublicDomains []string `yaml:"public_domains"`
}

// DefaultPublicDomains are the common free and certified (PEC) mail
// providers in Italy.
var DefaultPublicDomains = []string{
	"gmail.com", "googlemail.com", "outlook.com", "outlook.it", "hotmail.com", "hotmail.it", "live.com", "live.it",
	"msn.com", "yahoo.com", "yahoo.it", "icloud.com", "me.com", "libero.it", "virgilio.it", "alice.it", "tim.it",
	"tiscali.it", "fastwebnet.it", "email.it", "inwind.it", "aruba.it", "pec.it", "legalmail.it", "postecert.it",
	"pec.aruba.it", "arubapec.it", "gmx.com", "gmx.it", "proton.me", "protonmail.com",
}

// DefaultAttachmentTypes are the files kept by default: documents and
// pictures, nothing that runs.
var DefaultAttachmentTypes = []string{
	"application/pdf", "text/plain", "text/csv", "image/png", "image/jpeg", "image/gif",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
	"application/msword", "application/vnd.ms-excel", "application/zip", "message/rfc822",
	"application/pkcs7-signature", "application/pkcs7-mime", "application/x-pkcs7-signature",
}

func (c Config) withDefaults() Config {
	c.MaxMessageBytes = cmp.Or(c.MaxMessageBytes, 25<<20)
	c.MaxAttachmentBytes = cmp.Or(c.MaxAttachmentBytes, 10<<20)
	c.MaxAttachments = cmp.Or(c.MaxAttachments, 10)
	c.MaxTextBytes = cmp.Or(c.MaxTextBytes, 100_000)
	if len(c.AttachmentTypes) == 0 {
		c.AttachmentTypes = DefaultAttachmentTypes
	}
	if c.PublicDomains == nil {
		c.PublicDomains = DefaultPublicDomains
	}
	for i, a := range c.Addresses {
		if p, err := mail.ParseAddress(a); err == nil {
			c.Addresses[i] = strings.ToLower(p.Address)
		}
	}
	return c
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	var errs []string
	for _, a := range c.Addresses {
		if _, err := mail.ParseAddress(a); err != nil {
			errs = append(errs, fmt.Sprintf("addresses: %q: %v", a, err))
		}
	}
	if c.MaxMessageBytes < 0 || c.MaxAttachmentBytes < 0 || c.MaxAttachments < 0 || c.MaxTextBytes < 0 {
		errs = append(errs, "limits must not be negative")
	}
	if len(errs) > 0 {
		return fmt.Errorf("mail config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Tickets is what the Service needs of the ticket store.
type Tickets interface {
	FindTicketByID(ctx context.Context, id int64, v tickets.Viewer) (tickets.Ticket, error)
	FindTicketByNumber(ctx context.Context, n tickets.Number, v tickets.Viewer) (tickets.Ticket, error)
	CreateTicket(ctx context.Context, nt tickets.NewTicket, actor tickets.Actor) (tickets.Ticket, error)
	UpdateTicket(ctx context.Context, id int64, upd tickets.TicketUpdate, actor tickets.Actor) (tickets.Ticket, error)
	AddArticle(ctx context.Context, ticketID int64, a tickets.Article, actor tickets.Actor) (tickets.Article, error)
	AddAttachment(ctx context.Context, ticketID int64, a tickets.Attachment, actor tickets.Actor) (tickets.Attachment, error)
}

// Options are the Service's parts.
type Options struct {
	Pool     *pgxpool.Pool // notify's and this package's tables, migrated
	Tickets  Tickets
	Notifier *notify.Notifier // its Message-IDs, conversations and acknowledgements
	// Config is the help desk's configuration in force (Administrations).
	Config     func() *menu.Config
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are not registered
}

// Service turns received mail into tickets.
type Service struct {
	cfg      Config
	pool     *pgxpool.Pool
	tickets  Tickets
	notifier *notify.Notifier
	current  func() *menu.Config
	now      func() time.Time
	log      *slog.Logger
	received *prometheus.CounterVec
}

// New returns a Service.
func New(cfg Config, opts Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg.withDefaults(), pool: opts.Pool, tickets: opts.Tickets, notifier: opts.Notifier,
		current: opts.Config, now: opts.Now, log: cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivr_mail_received_total",
			Help: "E-mails received, by outcome (reply, new_ticket, automatic, loop, duplicate, refused)."}, []string{"outcome"})}
	if opts.Now == nil {
		s.now = time.Now
	}
	if s.current == nil {
		s.current = func() *menu.Config { return nil }
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(s.received); err != nil {
			return nil, fmt.Errorf("mailin: register metrics: %w", err)
		}
	}
	return s, nil
}

// Outcome is what became of a received mail.
type Outcome string

const (
	OutcomeReply     Outcome = "reply"      // a message on the ticket it answers
	OutcomeNew       Outcome = "new_ticket" // a new ticket
	OutcomeAutomatic Outcome = "automatic"  // an auto-reply, a bounce or a list: dropped
	OutcomeLoop      Outcome = "loop"       // our own mail come back: dropped
	OutcomeDuplicate Outcome = "duplicate"  // a Message-ID taken already: dropped
)

// Result tells what Deliver did.
type Result struct {
	Outcome Outcome
	Ticket  tickets.Number // the ticket answered or opened
	Reason  string         // why a mail was dropped
}

// Deliver takes one message, received from the envelope sender
// returnPath ("" for a bounce). An error wrapping ErrMalformed is for good;
// any other is temporary (the database away): the mail server should
// retry later.
func (s *Service) Deliver(ctx context.Context, returnPath string, r io.Reader) (Result, error) {
	res, err := s.deliver(ctx, returnPath, r)
	switch {
	case errors.Is(err, ErrMalformed):
		s.received.WithLabelValues("refused").Inc()
	case err == nil:
		s.received.WithLabelValues(string(res.Outcome)).Inc()
	}
	return res, err
}

func (s *Service) deliver(ctx context.Context, returnPath string, r io.Reader) (Result, error) {
	h := sha256.New()
	m, err := parse(io.TeeReader(r, h), limits{attachmentBytes: s.cfg.MaxAttachmentBytes,
		attachments: s.cfg.MaxAttachments, types: s.cfg.AttachmentTypes, textBytes: s.cfg.MaxTextBytes})
	if err != nil {
		s.log.Warn("mail_refused", "return_path", returnPath, "error", err.Error())
		return Result{}, err
	}
	if _, err := io.Copy(h, r); err != nil {
		return Result{}, fmt.Errorf("read message: %w", err)
	}
	if m.MessageID == "" {
		// Without one, the same message delivered twice is the same bytes.
		m.MessageID = "<" + hex.EncodeToString(h.Sum(nil)[:16]) + ".no-message-id@mailin.invalid>"
	}
	drop := func(o Outcome, reason string) (Result, error) {
		s.log.Info("mail_dropped", "outcome", string(o), "reason", reason, "message_id", m.MessageID)
		return Result{Outcome: o, Reason: reason}, nil
	}
	switch {
	case returnPath == "":
		return drop(OutcomeAutomatic, "empty return path (a bounce)")
	case m.Auto != "":
		return drop(OutcomeAutomatic, m.Auto)
	}
	if _, own := s.notifier.OwnMessageID(m.MessageID); own {
		return drop(OutcomeLoop, "our own Message-ID")
	}
	if s.ownAddress(m.From) || s.ownAddress(returnPath) {
		return drop(OutcomeLoop, "sent by the help desk's own address")
	}
	seen, err := notify.SeenMessage(ctx, s.pool, m.MessageID)
	if err != nil {
		return Result{}, err
	}
	if seen {
		return drop(OutcomeDuplicate, "Message-ID already taken")
	}
	t, found, err := s.match(ctx, m)
	if err != nil {
		return Result{}, err
	}
	if found {
		return s.reply(ctx, m, t)
	}
	return s.open(ctx, m)
}

func (s *Service) ownAddress(a string) bool {
	a = strings.ToLower(strings.Trim(a, "<> "))
	if a == "" {
		return false
	}
	if slices.Contains(s.cfg.Addresses, a) {
		return true
	}
	from, err := mail.ParseAddress(s.notifier.From())
	return err == nil && strings.EqualFold(from.Address, a)
}

// subjectNumber finds a ticket number in a subject: "[Ticket#N]" as our
// notices write it, "Ticket N", "ticket: N".
var subjectNumber = regexp.MustCompile(`(?i)\bticket\s*[#:]?\s*(\d{13,19})\b`)

var system = tickets.Viewer{Kind: tickets.ViewerSystem}

// match finds the ticket m answers: by the conversation's Message-IDs,
// by our Message-IDs' shape (the outbox emptied since), then by the
// number in the subject, check digit verified.
func (s *Service) match(ctx context.Context, m *Mail) (tickets.Ticket, bool, error) {
	id, ok, err := notify.TicketOfMessages(ctx, s.pool, m.Replies)
	if err != nil {
		return tickets.Ticket{}, false, err
	}
	if ok {
		t, err := s.tickets.FindTicketByID(ctx, id, system)
		if err == nil {
			return t, true, nil
		}
		if !errors.Is(err, fault.ErrNotFound) {
			return tickets.Ticket{}, false, err
		}
	}
	var numbers []tickets.Number
	for _, id := range m.Replies {
		if n, own := s.notifier.OwnMessageID(id); own && n != "" {
			numbers = append(numbers, n)
		}
	}
	for _, sm := range subjectNumber.FindAllStringSubmatch(m.Subject, -1) {
		n, err := tickets.ParseNumber(sm[1])
		if err != nil {
			// A mistyped or forged number finds nobody's ticket.
			s.log.Warn("mail_ticket_number_rejected", "number", sm[1], "error", err.Error(), "message_id", m.MessageID)
			continue
		}
		numbers = append(numbers, n)
	}
	for _, n := range numbers {
		t, err := s.tickets.FindTicketByNumber(ctx, n, system)
		if err == nil {
			return t, true, nil
		}
		if !errors.Is(err, fault.ErrNotFound) {
			return tickets.Ticket{}, false, err
		}
	}
	return tickets.Ticket{}, false, nil
}

func (m *Mail) actor() tickets.Actor { return tickets.Actor{Kind: tickets.ActorCaller, ID: m.From} }

func (m *Mail) author() string {
	if m.FromName != "" {
		return (&mail.Address{Name: m.FromName, Address: m.From}).String()
	}
	return m.From
}

// body is the message's text for the ticket, with the attachments refused.
func (m *Mail) body() string {
	var b strings.Builder
	b.WriteString(m.Text)
	if strings.TrimSpace(m.Text) == "" {
		b.Reset()
		b.WriteString("(no text)")
	}
	for _, r := range m.Refused {
		b.WriteString("\n[attachment refused: " + r + "]")
	}
	return b.String()
}

// reply adds m to t as a public message, reopening t if closed or waiting.
func (s *Service) reply(ctx context.Context, m *Mail, t tickets.Ticket) (Result, error) {
	actor := m.actor()
	if _, err := s.tickets.AddArticle(ctx, t.ID, tickets.Article{Body: m.body(), Author: m.author()}, actor); err != nil {
		return Result{}, err
	}
	if err := s.attach(ctx, t.ID, m, actor); err != nil {
		return Result{}, err
	}
	if err := s.reopen(ctx, t, actor); err != nil {
		return Result{}, err
	}
	// Anyone may write with a ticket's number: only its contact or someone
	// of its Administration is answered; a stranger's mail is kept on the
	// ticket, and staff see who wrote it.
	contact := t.Organization != "" && s.organization(m.From) == t.Organization
	if !contact {
		var err error
		if contact, err = notify.IsContact(ctx, s.pool, t.ID, m.From); err != nil {
			return Result{}, err
		}
	}
	if _, err := notify.RecordInbound(ctx, s.pool, t.ID, m.MessageID, m.From, m.Language, contact, s.now()); err != nil {
		return Result{}, err
	}
	s.log.Info("mail_reply", "ticket", string(t.Number), "message_id", m.MessageID)
	return Result{Outcome: OutcomeReply, Ticket: t.Number}, nil
}

// reopen takes a closed ticket back to new (its group's queue) and a
// waiting one (waiting on the caller, who answered) back in progress.
func (s *Service) reopen(ctx context.Context, t tickets.Ticket, actor tickets.Actor) error {
	for range 3 {
		var to tickets.Status
		switch t.Status {
		case tickets.StatusClosed:
			to = tickets.StatusNew
		case tickets.StatusWaiting:
			to = tickets.StatusInProgress
		default:
			return nil
		}
		_, err := s.tickets.UpdateTicket(ctx, t.ID, tickets.TicketUpdate{Version: t.Version, Status: &to}, actor)
		if !errors.Is(err, tickets.ErrStale) {
			return err
		}
		// Someone edited it meanwhile: read it again and decide again.
		if t, err = s.tickets.FindTicketByID(ctx, t.ID, system); err != nil {
			return err
		}
	}
	return fmt.Errorf("reopen ticket %s: changed too often", t.Number)
}

// open makes a new ticket of m and acknowledges it to the sender.
func (s *Service) open(ctx context.Context, m *Mail) (Result, error) {
	org := s.organization(m.From)
	group := s.cfg.Group
	var category string
	if c := s.current(); c != nil {
		if group == "" || org != "" {
			group = cmp.Or(c.DefaultGroup(org), group)
		}
		// The help desk's mail rules file it: a rule's group wins over
		// the Administration's.
		f := c.FileMail(m.From, org, m.Subject)
		category, group = f.Category, cmp.Or(f.Group, group)
	}
	subject := m.Subject
	if subject == "" {
		subject, _, _ = strings.Cut(strings.TrimSpace(m.Text), "\n")
		subject = cmp.Or(subject, "E-mail from "+m.From)
	}
	if r := []rune(subject); len(r) > 200 {
		subject = string(r[:200]) + "…"
	}
	actor := m.actor()
	t, err := s.tickets.CreateTicket(ctx, tickets.NewTicket{Source: tickets.SourceMail, Subject: subject,
		Description: m.body(), Group: group, Category: category, Organization: org}, actor)
	if err != nil {
		return Result{}, err
	}
	if err := s.attach(ctx, t.ID, m, actor); err != nil {
		return Result{}, err
	}
	now := s.now()
	if _, err := notify.RecordInbound(ctx, s.pool, t.ID, m.MessageID, m.From, m.Language, true, now); err != nil {
		return Result{}, err
	}
	if err := s.notifier.QueueReceived(ctx, s.pool, t, m.From, m.MessageID, m.Language, now); err != nil {
		// The ticket is there; the acknowledgement is not worth a retry
		// that would open it twice.
		s.log.Error("mail_acknowledgement_failed", "ticket", string(t.Number), "error", err.Error())
	}
	s.log.Info("mail_new_ticket", "ticket", string(t.Number), "organization", org, "message_id", m.MessageID)
	return Result{Outcome: OutcomeNew, Ticket: t.Number}, nil
}

// organization is the Administration of a sender: the one listing the
// address, else the only one whose addresses have its domain, unless that
// is a public one (anyone could write from it).
func (s *Service) organization(addr string) string {
	c := s.current()
	if c == nil {
		return ""
	}
	_, domain, _ := strings.Cut(addr, "@")
	if slices.ContainsFunc(s.cfg.PublicDomains, func(d string) bool { return strings.EqualFold(d, domain) }) {
		domain = "" // no domain matches
	}
	var byDomain []string
	for _, o := range c.Organizations {
		for _, e := range o.Emails {
			p, err := mail.ParseAddress(e)
			if err != nil {
				continue
			}
			if strings.EqualFold(p.Address, addr) {
				return o.ID
			}
			if _, d, _ := strings.Cut(p.Address, "@"); domain != "" && strings.EqualFold(d, domain) && !slices.Contains(byDomain, o.ID) {
				byDomain = append(byDomain, o.ID)
			}
		}
	}
	if len(byDomain) == 1 {
		return byDomain[0]
	}
	return ""
}

// AttachmentScheme prefixes the URI of a ticket's attachment received by
// mail; OpenAttachment reads it.
const AttachmentScheme = "mail:attachment:"

// attach keeps m's files with ticket ticketID.
func (s *Service) attach(ctx context.Context, ticketID int64, m *Mail, actor tickets.Actor) error {
	for _, a := range m.Attachments {
		uri, err := StoreFile(ctx, s.pool, ticketID, a.Name, a.ContentType, a.Data, s.now())
		if err != nil {
			return err
		}
		_, err = s.tickets.AddAttachment(ctx, ticketID, tickets.Attachment{Name: a.Name, URI: uri,
			ContentType: a.ContentType, Size: int64(len(a.Data))}, actor)
		if err != nil {
			return err
		}
	}
	return nil
}

// OpenAttachment returns the content of an attachment received by mail,
// by its URI; fault.ErrNotFound when there is none. The caller checks
// that the reader may see the ticket.
func OpenAttachment(ctx context.Context, pool *pgxpool.Pool, uri string) (contentType string, data []byte, err error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(uri, AttachmentScheme), 10, 64)
	if err != nil || !strings.HasPrefix(uri, AttachmentScheme) {
		return "", nil, fault.ErrNotFound
	}
	err = pool.QueryRow(ctx, `SELECT content_type, content FROM mail_attachments WHERE id = $1`, id).Scan(&contentType, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, fault.ErrNotFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("open attachment: %w", err)
	}
	return contentType, data, nil
}
