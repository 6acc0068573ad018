package panel

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Where an audited change was made.
const (
	ViaAPI    = "api"
	ViaPanel  = "panel"
	ViaIvrctl = "ivrctl"
)

// AuditEntry is one change in the audit log: who, through what, did what
// to what. Detail never holds a secret.
type AuditEntry struct {
	ID      int64
	At      time.Time
	Login   string
	Via     string // ViaAPI, ViaPanel or ViaIvrctl
	TokenID int64  // the API token, 0 otherwise
	Action  string // e.g. "token.create", or ticket.update from the API
	Target  string // e.g. "ticket:42", "token:3", "operator:op2"
	Detail  string
}

// Audit is the audit log, in PostgreSQL (see Migrate).
type Audit struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewAudit returns the audit log stored in pool; now is the clock (nil:
// time.Now).
func NewAudit(pool *pgxpool.Pool, now func() time.Time) *Audit {
	if now == nil {
		now = time.Now
	}
	return &Audit{pool: pool, now: now}
}

// Querier is what Record writes with: the pool, or a transaction so that
// the entry is committed with the change it records.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Record adds e (its time is now unless set) through q, or the pool when
// q is nil.
func (a *Audit) Record(ctx context.Context, q Querier, e AuditEntry) error {
	if q == nil {
		q = a.pool
	}
	if e.At.IsZero() {
		e.At = a.now()
	}
	var token *int64
	if e.TokenID != 0 {
		token = &e.TokenID
	}
	if _, err := q.Exec(ctx, `INSERT INTO audit_log (at, login, via, token_id, action, target, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.At, e.Login, e.Via, token, e.Action, e.Target, e.Detail); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// List returns the latest entries, newest first; login, when set, keeps
// that user's only.
func (a *Audit) List(ctx context.Context, login string, limit int) ([]AuditEntry, error) {
	rows, err := a.pool.Query(ctx, `SELECT id, at, login, via, COALESCE(token_id, 0), action, target, detail
		FROM audit_log WHERE $1 = '' OR login = $1 ORDER BY at DESC, id DESC LIMIT $2`, login, limit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.Login, &e.Via, &e.TokenID, &e.Action, &e.Target, &e.Detail)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return list, nil
}

// audited records an administrative change made in the panel. The change
// is made by then: a failure to record it is logged loudly, never shown
// as the change's failure (a token's secret would be lost with the page).
func (s *Server) audited(r *http.Request, action, target, detail string) {
	e := AuditEntry{Login: reqOf(r).user.Login, Via: ViaPanel, Action: action, Target: target, Detail: detail}
	if err := s.audit.Record(context.WithoutCancel(r.Context()), nil, e); err != nil {
		s.log.Error("panel_audit_failed", "action", action, "target", target, "error", err.Error())
	}
}
