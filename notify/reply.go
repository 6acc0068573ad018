package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helpdesk-ivr/ivr/tickets"
)

// DB is a transaction or a pool.
type DB interface {
	Execer
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// WantsMessage tells the ticket store which added articles the Hook must
// see (tickets.Options.HookOnMessage): public messages, which may be
// mailed to the ticket's contact; internal notes never are.
func (n *Notifier) WantsMessage(a tickets.Article) bool { return !a.Internal }

// Domain is the domain of every Message-ID the Notifier writes.
func (n *Notifier) Domain() string { return n.cfg.Domain }

// From is the sender of every message, as configured.
func (n *Notifier) From() string { return n.cfg.From }

// maxReferences bounds the References header of a reply: the thread's
// first message and the latest ones are enough for mail clients.
const maxReferences = 10

// reply queues the mail of a public message written by staff to the
// ticket's contact: the last mail sender recorded as the contact (see
// RecordInbound), else the ticket's contact in the directory
// (Ticket.ContactID), else the Administration's addresses. It threads under
// the ticket's last mail. A message from the caller's side (a mail
// received, package mailin) is never mailed back.
func (n *Notifier) reply(ctx context.Context, tx pgx.Tx, ev tickets.TicketEvent) error {
	a := ev.Article
	if a == nil || a.Internal || (ev.Actor.Kind != tickets.ActorOperator && ev.Actor.Kind != tickets.ActorSupervisor) {
		return nil
	}
	t := ev.Ticket
	// A savepoint: a failure here never aborts the article's transaction.
	return pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
		th, err := readThread(ctx, sp, t.ID)
		if err != nil {
			return fmt.Errorf("read mail thread: %w", err)
		}
		to := n.dir.OrganizationEmails(t.Organization)
		if th.contact == "" && t.ContactID != 0 {
			// No mail came from the caller: the ticket's contact, an
			// enabled one with an address, in their language.
			var lang string
			err := sp.QueryRow(ctx, `SELECT email, language FROM contacts WHERE id = $1 AND email <> '' AND NOT disabled`,
				t.ContactID).Scan(&th.contact, &lang)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("read the ticket's contact: %w", err)
			}
			th.language = cmp.Or(th.language, lang)
		}
		if th.contact != "" {
			to = []string{th.contact}
		}
		if len(to) == 0 {
			return nil
		}
		lang := cmp.Or(th.language, n.cfg.OrganizationLanguages[t.Organization], n.cfg.Language)
		id := fmt.Sprintf("<ticket.%s.a%d@%s>", t.Number, a.ID, n.cfg.Domain)
		refs := append([]string{rootID(n.cfg.Domain, t)}, th.ids...)
		if err := n.queue(ctx, sp, KindReply, lang, t.ID, id, refs, to, ev.At,
			templateData{Ticket: t, At: ev.At, Message: a.Body}); err != nil {
			return err
		}
		addr, _ := parseAddress(to[0])
		_, err = sp.Exec(ctx, `INSERT INTO ticket_mail (ticket_id, message_id, inbound, address, language, at)
			VALUES ($1, $2, false, $3, $4, $5) ON CONFLICT (message_id) DO NOTHING`, t.ID, id, cmp.Or(addr, to[0]), lang, ev.At)
		return err
	})
}

// thread is what a ticket's mail conversation says for the next reply.
type thread struct {
	ids      []string // Message-IDs, oldest first, at most maxReferences-1
	contact  string   // the contact's address, "" when none wrote
	language string   // the contact's language, when known
}

func readThread(ctx context.Context, db DB, ticketID int64) (thread, error) {
	var th thread
	rows, err := db.Query(ctx, `SELECT message_id FROM ticket_mail
		WHERE ticket_id = $1 ORDER BY id DESC LIMIT $2`, ticketID, maxReferences-1)
	if err != nil {
		return th, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return th, err
	}
	slices.Reverse(ids)
	th.ids = ids
	err = db.QueryRow(ctx, `SELECT address, language FROM ticket_mail
		WHERE ticket_id = $1 AND inbound AND contact ORDER BY id DESC LIMIT 1`, ticketID).Scan(&th.contact, &th.language)
	if errors.Is(err, pgx.ErrNoRows) {
		err = nil
	}
	return th, err
}

// OwnMessageID reports whether id (with or without angle brackets) is a
// Message-ID the Notifier writes, and the ticket number it names, if any.
// A mail bearing one as its own Message-ID came back to us (a loop); one
// naming it in In-Reply-To answers that ticket.
func (n *Notifier) OwnMessageID(id string) (tickets.Number, bool) {
	id = strings.TrimSpace(id)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	local, domain, ok := strings.Cut(id, "@")
	if !ok || !strings.EqualFold(domain, n.cfg.Domain) {
		return "", false
	}
	kind, rest, _ := strings.Cut(local, ".")
	switch kind {
	case "ticket":
		num, _, _ := strings.Cut(rest, ".")
		nb, err := tickets.ParseNumber(num)
		if err != nil {
			// Ours in shape, but not a number we gave: a forgery.
			return "", false
		}
		return nb, true
	case "opening", "summary":
		return "", true
	}
	return "", false
}

// TicketOfMessages returns the ticket of the first of ids that is a mail
// of a ticket's conversation or one of its notices; ok is false when none
// is.
func TicketOfMessages(ctx context.Context, db DB, ids []string) (ticketID int64, ok bool, err error) {
	if len(ids) == 0 {
		return 0, false, nil
	}
	err = db.QueryRow(ctx, `SELECT ticket_id FROM (
			SELECT ticket_id, message_id FROM ticket_mail WHERE message_id = ANY($1)
			UNION ALL
			SELECT ticket_id, message_id FROM notify_outbox WHERE message_id = ANY($1) AND ticket_id IS NOT NULL
		) m ORDER BY array_position($1, m.message_id) LIMIT 1`, ids).Scan(&ticketID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("find ticket of message: %w", err)
	}
	return ticketID, true, nil
}

// SeenMessage reports whether a mail with Message-ID id was already taken
// into a ticket (a delivery repeated by the mail server).
func SeenMessage(ctx context.Context, db DB, id string) (bool, error) {
	var seen bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT FROM ticket_mail WHERE message_id = $1)`, id).Scan(&seen)
	if err != nil {
		return false, fmt.Errorf("look up message: %w", err)
	}
	return seen, nil
}

// RecordInbound adds a mail received for a ticket to its conversation:
// the next answer answers id. With contact, the sender addr becomes the
// ticket's contact: answers go to them, in lang when known ("it", "en" or
// ""). It reports false when id was there already.
func RecordInbound(ctx context.Context, db DB, ticketID int64, id, addr, lang string, contact bool, at time.Time) (bool, error) {
	tag, err := db.Exec(ctx, `INSERT INTO ticket_mail (ticket_id, message_id, inbound, address, language, contact, at)
		VALUES ($1, $2, true, $3, $4, $5, $6) ON CONFLICT (message_id) DO NOTHING`, ticketID, id, addr, lang, contact, at)
	if err != nil {
		return false, fmt.Errorf("record mail: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// QueueReceived queues the acknowledgement of a mail that opened ticket t
// to its sender to, with the ticket's number, answering the mail inReplyTo,
// in lang ("" for the default).
func (n *Notifier) QueueReceived(ctx context.Context, db DB, t tickets.Ticket, to, inReplyTo, lang string, at time.Time) error {
	lang = cmp.Or(lang, n.cfg.OrganizationLanguages[t.Organization], n.cfg.Language)
	id := fmt.Sprintf("<ticket.%s.received@%s>", t.Number, n.cfg.Domain)
	if err := n.queue(ctx, db, KindReceived, lang, t.ID, id, []string{inReplyTo}, []string{to}, at,
		templateData{Ticket: t, At: at}); err != nil {
		return err
	}
	_, err := db.Exec(ctx, `INSERT INTO ticket_mail (ticket_id, message_id, inbound, address, language, at)
		VALUES ($1, $2, false, $3, $4, $5) ON CONFLICT (message_id) DO NOTHING`, t.ID, id, to, lang, at)
	if err != nil {
		return fmt.Errorf("record acknowledgement: %w", err)
	}
	return nil
}

// IsContact reports whether addr is the contact of ticket ticketID.
func IsContact(ctx context.Context, db DB, ticketID int64, addr string) (bool, error) {
	var is bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT FROM ticket_mail WHERE ticket_id = $1 AND contact AND address = $2)`,
		ticketID, addr).Scan(&is)
	if err != nil {
		return false, fmt.Errorf("look up contact: %w", err)
	}
	return is, nil
}
