package journal

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// VersionTable is the table tern keeps this package's schema version in.
const VersionTable = "journal_schema_version"

// Migrate brings the journal's tables up to date; several instances may
// start at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Apply(ctx, pool, migrations, "migrations", VersionTable)
}

// Store keeps the journal in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	loc  *time.Location
}

// NewStore returns the journal on pool; loc is the service time zone the
// daily summaries count in (default UTC).
func NewStore(pool *pgxpool.Pool, loc *time.Location) *Store {
	if loc == nil {
		loc = time.UTC
	}
	return &Store{pool: pool, loc: loc}
}

var columns = []string{"call_id", "arrived_at", "caller", "entry", "args", "config_version", "duration_ms",
	"hangup_by", "outcome", "result", "grp", "menu_path", "asked_pin", "steps"}

// Insert writes calls in one COPY.
func (s *Store) Insert(ctx context.Context, calls []Call) error {
	if len(calls) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(calls))
	for _, c := range calls {
		steps, err := json.Marshal(c.Steps)
		if err != nil {
			return fmt.Errorf("journal: encode steps: %w", err)
		}
		args := c.Args
		if args == nil {
			args = []string{}
		}
		path := c.End.Path
		if path == nil {
			path = []string{}
		}
		rows = append(rows, []any{c.CallID, c.ArrivedAt, c.Caller, c.Entry, args, c.Version, c.Duration.Milliseconds(),
			c.HangupBy, c.End.Outcome, c.End.Result, c.End.Group, path, c.End.AskedPIN, string(steps)})
	}
	if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"journal_calls"}, columns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("journal: insert %d calls: %w", len(calls), err)
	}
	return nil
}

// Filter selects journaled calls; zero fields select everything.
type Filter struct {
	Since, Until time.Time // arrival in [Since, Until)
	Entry        string    // the number dialled
	Limit        int
}

// FindCalls returns the calls of f, oldest first.
func (s *Store) FindCalls(ctx context.Context, f Filter) ([]Call, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if !f.Since.IsZero() {
		add("arrived_at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		add("arrived_at < $%d", f.Until)
	}
	if f.Entry != "" {
		add("entry = $%d", f.Entry)
	}
	q := `SELECT id, ` + strings.Join(columns, ", ") + ` FROM journal_calls`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY arrived_at, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("journal: find calls: %w", err)
	}
	defer rows.Close()
	var out []Call
	for rows.Next() {
		var c Call
		var ms int64
		var steps []byte
		if err := rows.Scan(&c.ID, &c.CallID, &c.ArrivedAt, &c.Caller, &c.Entry, &c.Args, &c.Version, &ms,
			&c.HangupBy, &c.End.Outcome, &c.End.Result, &c.End.Group, &c.End.Path, &c.End.AskedPIN, &steps); err != nil {
			return nil, fmt.Errorf("journal: find calls: %w", err)
		}
		c.Duration = time.Duration(ms) * time.Millisecond
		if err := json.Unmarshal(steps, &c.Steps); err != nil {
			return nil, fmt.Errorf("journal: call %d: decode steps: %w", c.ID, err)
		}
		for i := range c.Steps {
			c.Steps[i].At = time.Duration(c.Steps[i].Ms) * time.Millisecond
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: find calls: %w", err)
	}
	return out, nil
}

// SaveConfig keeps a configuration file by its SHA-256 (once); it returns
// the version.
func (s *Store) SaveConfig(ctx context.Context, src []byte, now time.Time) (string, error) {
	sum := sha256.Sum256(src)
	v := hex.EncodeToString(sum[:])
	if _, err := s.pool.Exec(ctx, `INSERT INTO journal_configs (sha256, source, first_seen) VALUES ($1, $2, $3)
		ON CONFLICT (sha256) DO NOTHING`, v, src, now); err != nil {
		return "", fmt.Errorf("journal: save configuration: %w", err)
	}
	return v, nil
}

// ConfigSource finds a stored configuration file by version: its SHA-256
// or a prefix of it (at least 8 hex digits), or the id of a published
// version (config_versions, package internal/configstore: the panel's and
// the API's).
func (s *Store) ConfigSource(ctx context.Context, version string) (string, []byte, error) {
	version = strings.ToLower(strings.TrimSpace(version))
	var sha string
	var src []byte
	var err error
	if id, perr := parseID(version); perr == nil {
		err = s.pool.QueryRow(ctx, `SELECT sha256, source FROM config_versions WHERE id = $1 AND state = 'published'`, id).Scan(&sha, &src)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) && !isUndefinedTable(err) {
			return "", nil, fmt.Errorf("journal: configuration %s: %w", version, err)
		}
		if err == nil {
			return sha, src, nil
		}
	}
	if len(version) < 8 {
		return "", nil, fault.Errorf(fault.ENOTFOUND, "no configuration version %q (an id of the published versions, or 8 or more hex digits of a SHA-256)", version)
	}
	rows, err := s.pool.Query(ctx, `SELECT sha256, source FROM journal_configs WHERE sha256 LIKE $1 || '%'
		UNION SELECT sha256, source FROM config_versions WHERE sha256 LIKE $1 || '%'`, version)
	if err != nil && isUndefinedTable(err) {
		rows, err = s.pool.Query(ctx, `SELECT sha256, source FROM journal_configs WHERE sha256 LIKE $1 || '%'`, version)
	}
	if err != nil {
		return "", nil, fmt.Errorf("journal: configuration %s: %w", version, err)
	}
	found := map[string][]byte{}
	for rows.Next() {
		if err := rows.Scan(&sha, &src); err != nil {
			rows.Close()
			return "", nil, fmt.Errorf("journal: configuration %s: %w", version, err)
		}
		found[sha] = src
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", nil, fmt.Errorf("journal: configuration %s: %w", version, err)
	}
	switch len(found) {
	case 0:
		return "", nil, fault.Errorf(fault.ENOTFOUND, "no configuration version %q is stored", version)
	case 1:
		for sha, src := range found {
			return sha, src, nil
		}
	}
	return "", nil, fault.Errorf(fault.EINVALID, "configuration version %q is ambiguous: give more digits", version)
}

func parseID(s string) (int64, error) {
	var id int64
	if s == "" || len(s) > 12 {
		return 0, errors.New("not an id")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, errors.New("not an id")
		}
		id = id*10 + int64(r-'0')
	}
	return id, nil
}

func isUndefinedTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "SQLSTATE 42P01")
}

// Retain summarises the calls that arrived before cutoff into
// journal_daily (per day in the service time zone, entry, outcome,
// result and group) and deletes them, in one transaction, at most batch
// calls a run (default 50,000: the job runs again the next night). It
// returns how many calls it deleted.
func (s *Store) Retain(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	if batch <= 0 {
		batch = 50000
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("journal: retention: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var deleted int64
	err = tx.QueryRow(ctx, `
		WITH gone AS (
			DELETE FROM journal_calls WHERE id IN (
				SELECT id FROM journal_calls WHERE arrived_at < $1 ORDER BY arrived_at, id LIMIT $2
				FOR UPDATE SKIP LOCKED)
			RETURNING arrived_at, entry, outcome, result, grp),
		summary AS (
			INSERT INTO journal_daily AS d (day, entry, outcome, result, grp, calls)
			SELECT (arrived_at AT TIME ZONE $3)::date, entry, outcome, result, grp, count(*)
			FROM gone GROUP BY 1, 2, 3, 4, 5
			ON CONFLICT (day, entry, outcome, result, grp) DO UPDATE SET calls = d.calls + EXCLUDED.calls)
		SELECT count(*) FROM gone`, cutoff, batch, s.loc.String()).Scan(&deleted)
	if err != nil {
		return 0, fmt.Errorf("journal: retention: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("journal: retention: %w", err)
	}
	return deleted, nil
}

// Daily is one row of the summary of deleted calls.
type Daily struct {
	Day                           time.Time
	Entry, Outcome, Result, Group string
	Calls                         int64
}

// FindDaily returns the summary rows, oldest first.
func (s *Store) FindDaily(ctx context.Context) ([]Daily, error) {
	rows, err := s.pool.Query(ctx, `SELECT day, entry, outcome, result, grp, calls FROM journal_daily ORDER BY day, entry, outcome, result, grp`)
	if err != nil {
		return nil, fmt.Errorf("journal: daily summary: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Daily, error) {
		var d Daily
		err := r.Scan(&d.Day, &d.Entry, &d.Outcome, &d.Result, &d.Group, &d.Calls)
		return d, err
	})
}

// DefaultRetention is how long the journal keeps calls by default.
const DefaultRetention = 90 * 24 * time.Hour

// RetentionSpec is when the retention job runs (cron, service time zone).
const RetentionSpec = "45 3 * * *"

// RetentionJob is the job (a jobs.RunFunc) that summarises and deletes
// the calls that arrived more than keep before its slot.
func (s *Store) RetentionJob(keep time.Duration) func(ctx context.Context, prev, at time.Time) error {
	if keep <= 0 {
		keep = DefaultRetention
	}
	return func(ctx context.Context, _, at time.Time) error {
		for {
			n, err := s.Retain(ctx, at.Add(-keep), retainBatch)
			if err != nil || n < retainBatch {
				return err
			}
		}
	}
}

// retainBatch is how many calls one transaction of the retention job
// deletes.
const retainBatch = 50000
