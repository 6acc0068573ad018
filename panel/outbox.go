package panel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Outbox is the e-mail outbox as the panel shows it: the notices written
// with each ticket change (package notify's notify_outbox), sent, waiting
// or failed with their reason. Options.Outbox; by default the panel
// reads the table itself (NewOutbox).
type Outbox interface {
	// List returns the most recent messages, newest first, of a status
	// ("" for any), at most limit.
	List(ctx context.Context, status string, limit int) ([]OutboxMessage, error)
	// OfTicket returns a ticket's messages, oldest first.
	OfTicket(ctx context.Context, ticketID int64) ([]OutboxMessage, error)
	// Retry makes a failed message due again. A message that is not
	// failed, or does not exist, is an error wrapping fault.ErrNotFound; one
	// that cannot be sent again as it is (never built) wraps fault.ErrConflict.
	Retry(ctx context.Context, id int64) error
}

// The states of an OutboxMessage.
const (
	OutboxPending = "pending" // waiting to be sent (again, after attempts)
	OutboxSent    = "sent"
	OutboxFailed  = "failed" // given up: a permanent refusal, too many attempts, or never built
)

var outboxStatuses = []string{OutboxPending, OutboxSent, OutboxFailed}

// OutboxMessage is one message of the outbox.
type OutboxMessage struct {
	ID            int64
	Kind          string // notify's kinds: created, status, closed, after_hours, escalated, opening, summary
	TicketID      int64  // 0 for messages about no ticket (summary, opening)
	Recipients    []string
	Status        string
	Attempts      int
	LastError     string // the last failure's reason
	Built         bool   // the message could be built (it has a body to send)
	CreatedAt     time.Time
	NextAttemptAt time.Time
	SentAt        time.Time
	FailedAt      time.Time
}

// NewOutbox reads notify's outbox table in pool. now stamps a retry.
func NewOutbox(pool *pgxpool.Pool, now func() time.Time) Outbox { return pgOutbox{pool, now} }

type pgOutbox struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

const outboxColumns = `id, kind, coalesce(ticket_id, 0), recipients,
	CASE WHEN sent_at IS NOT NULL THEN 'sent' WHEN failed_at IS NOT NULL THEN 'failed' ELSE 'pending' END,
	attempts, last_error, length(message) > 0, created_at, next_attempt_at, sent_at, failed_at`

func scanOutbox(rows pgx.Rows) ([]OutboxMessage, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (OutboxMessage, error) {
		var m OutboxMessage
		var sent, failed *time.Time
		err := row.Scan(&m.ID, &m.Kind, &m.TicketID, &m.Recipients, &m.Status, &m.Attempts, &m.LastError, &m.Built,
			&m.CreatedAt, &m.NextAttemptAt, &sent, &failed)
		if sent != nil {
			m.SentAt = *sent
		}
		if failed != nil {
			m.FailedAt = *failed
		}
		return m, err
	})
}

func (o pgOutbox) List(ctx context.Context, status string, limit int) ([]OutboxMessage, error) {
	rows, err := o.pool.Query(ctx, `SELECT `+outboxColumns+` FROM notify_outbox
		WHERE CASE $1 WHEN 'sent' THEN sent_at IS NOT NULL
			WHEN 'failed' THEN sent_at IS NULL AND failed_at IS NOT NULL
			WHEN 'pending' THEN sent_at IS NULL AND failed_at IS NULL
			ELSE true END
		ORDER BY id DESC LIMIT $2`, status, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	list, err := scanOutbox(rows)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return list, nil
}

func (o pgOutbox) OfTicket(ctx context.Context, ticketID int64) ([]OutboxMessage, error) {
	rows, err := o.pool.Query(ctx, `SELECT `+outboxColumns+` FROM notify_outbox WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket notices: %w", err)
	}
	list, err := scanOutbox(rows)
	if err != nil {
		return nil, fmt.Errorf("ticket notices: %w", err)
	}
	return list, nil
}

// Retry clears the failure and the attempts (the sender gives up after
// its maximum) and makes the message due now; the last error stays until
// the next attempt.
func (o pgOutbox) Retry(ctx context.Context, id int64) error {
	var built *bool
	err := o.pool.QueryRow(ctx, `WITH m AS (
			SELECT id, length(message) > 0 AS built FROM notify_outbox
			WHERE id = $1 AND failed_at IS NOT NULL AND sent_at IS NULL FOR UPDATE
		), u AS (
			UPDATE notify_outbox o SET failed_at = NULL, attempts = 0, next_attempt_at = $2
			FROM m WHERE o.id = m.id AND m.built RETURNING o.id
		)
		SELECT (SELECT built FROM m)`, id, o.now()).Scan(&built)
	if err != nil {
		return fmt.Errorf("retry notice: %w", err)
	}
	if built == nil {
		return fmt.Errorf("retry notice: %w", errorKey(fault.ENOTFOUND, "outbox.not_failed"))
	}
	if !*built {
		return fmt.Errorf("retry notice: %w", errorKey(fault.ECONFLICT, "outbox.not_built"))
	}
	return nil
}

// outboxLimit bounds the outbox page.
const outboxLimit = 200

type outboxData struct {
	Status   string
	Statuses []string
	Messages []OutboxMessage
}

// outboxPage lists the outbox for administrators, failed messages with a
// retry button.
func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(outboxStatuses, status) {
		s.fail(w, r, errorKey(fault.EINVALID, "outbox.bad_status", status))
		return
	}
	list, err := s.outbox.List(r.Context(), status, outboxLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := outboxData{Status: status, Statuses: outboxStatuses, Messages: list}
	s.render(w, r, http.StatusOK, "outbox.html", s.newPage(r, "outbox", "nav.outbox", d))
}

func (s *Server) outboxRetry(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, fault.ErrNotFound)
		return
	}
	if err := s.outbox.Retry(r.Context(), id); err != nil {
		var e *fault.Error
		if errors.As(err, &e) && e.Code != fault.EINTERNAL {
			s.log.Info("panel_outbox_retry_refused", "id", id, "error", err.Error())
		}
		s.fail(w, r, err)
		return
	}
	s.log.Info("panel_outbox_retry", "id", id, "by", reqOf(r).user.Login)
	s.audited(r, "mail.retry", "notice:"+strconv.FormatInt(id, 10), "")
	http.Redirect(w, r, "/admin/outbox?msg=retried", http.StatusSeeOther)
}
