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
	// Group is the operator group concerned, for the supervisors who
	// watch it ("" for none).
	Group string
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
	if _, err := q.Exec(ctx, `INSERT INTO audit_log (at, login, via, token_id, action, target, detail, grp)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, e.At, e.Login, e.Via, token, e.Action, e.Target, e.Detail, e.Group); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// List returns the latest entries, newest first; login, when set, keeps
// that user's only.
func (a *Audit) List(ctx context.Context, login string, limit int) ([]AuditEntry, error) {
	rows, err := a.pool.Query(ctx, `SELECT id, at, login, via, COALESCE(token_id, 0), action, target, detail, grp
		FROM audit_log WHERE $1 = '' OR login = $1 ORDER BY at DESC, id DESC LIMIT $2`, login, limit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return collectAudit(rows)
}

func collectAudit(rows pgx.Rows) ([]AuditEntry, error) {
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.Login, &e.Via, &e.TokenID, &e.Action, &e.Target, &e.Detail, &e.Group)
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
	s.auditedGroup(r, action, target, detail, "")
}

// auditedGroup is audited for an action on a group's call or operator.
func (s *Server) auditedGroup(r *http.Request, action, target, detail, group string) {
	e := AuditEntry{Login: reqOf(r).user.Login, Via: ViaPanel, Action: action, Target: target, Detail: detail, Group: group}
	if err := s.audit.Record(context.WithoutCancel(r.Context()), nil, e); err != nil {
		s.log.Error("panel_audit_failed", "action", action, "target", target, "error", err.Error())
	}
}

// supervisionActions are the audited actions on live calls and operators
// that supervisors read for their groups.
var supervisionActions = []string{"call.listen", "call.whisper", "call.barge", "call.supervise_stop", "call.end_call", "operator.state"}

// ListGroups returns the latest supervision entries of the groups, newest
// first (all groups when groups is nil).
func (a *Audit) ListGroups(ctx context.Context, groups []string, limit int) ([]AuditEntry, error) {
	rows, err := a.pool.Query(ctx, `SELECT id, at, login, via, COALESCE(token_id, 0), action, target, detail, grp
		FROM audit_log WHERE action = ANY($1) AND ($2::text[] IS NULL OR grp = ANY($2))
		ORDER BY at DESC, id DESC LIMIT $3`, supervisionActions, groups, limit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return collectAudit(rows)
}

// InterventionCount is how many supervisor actions of a kind a group had.
type InterventionCount struct {
	Group, Kind string
	Count       int
}

// Interventions counts the supervisors' actions on live calls between
// from and to, by group and kind (listen, whisper, barge, end_call).
func (a *Audit) Interventions(ctx context.Context, from, to time.Time, groups []string) ([]InterventionCount, error) {
	rows, err := a.pool.Query(ctx, `SELECT grp, substr(action, 6), count(*) FROM audit_log
		WHERE action IN ('call.listen', 'call.whisper', 'call.barge', 'call.end_call') AND at >= $1 AND at < $2
			AND ($3::text[] IS NULL OR grp = ANY($3))
		GROUP BY 1, 2 ORDER BY 1, 2`, from, to, groups)
	if err != nil {
		return nil, fmt.Errorf("supervisor interventions: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (InterventionCount, error) {
		var c InterventionCount
		return c, row.Scan(&c.Group, &c.Kind, &c.Count)
	})
	if err != nil {
		return nil, fmt.Errorf("supervisor interventions: %w", err)
	}
	return list, nil
}
