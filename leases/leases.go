// Package leases records which ivrd instance controls each live call, so
// that several instances can share the calls of one or more Asterisk
// nodes, and, when one dies, another takes its calls over once their
// leases expire. An instance holds a lease while it drives the call,
// renews all of its leases together, and gives each up when the call
// ends. PostgreSQL's clock alone decides expiry: the instances' clocks
// need not agree.
package leases

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// VersionTable is the table tern keeps this package's schema version in.
const VersionTable = "leases_schema_version"

// Migrate brings the leases' table up to date; several instances may
// start at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Apply(ctx, pool, migrations, "migrations", VersionTable)
}

// DefaultTTL is how long a lease outlives its owner's last renewal: the
// longest a call of a dead instance goes undriven (plus the takeover
// loop's period). Owners renew at a third of it.
const DefaultTTL = 10 * time.Second

// Lease is one call's.
type Lease struct {
	ChannelID string
	Node      string // the Asterisk node of the call ("" with one node)
	Owner     string // the instance that drives it
	Acquired  time.Time
	Expires   time.Time
}

// Store keeps the leases of one instance (Owner) in PostgreSQL.
type Store struct {
	pool  *pgxpool.Pool
	owner string
	ttl   time.Duration
}

// New returns the leases of the instance named owner, which must be
// unique among the instances sharing the database and the same across
// its restarts (a restarted instance takes its calls back at once). ttl
// 0 is DefaultTTL.
func New(pool *pgxpool.Pool, owner string, ttl time.Duration) (*Store, error) {
	if owner == "" {
		return nil, errors.New("leases: the instance needs a name")
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Store{pool: pool, owner: owner, ttl: ttl}, nil
}

// Owner is the instance's name.
func (s *Store) Owner() string { return s.owner }

// TTL is the lease duration.
func (s *Store) TTL() time.Duration { return s.ttl }

// Acquire makes this instance the owner of the call unless another one
// holds a lease on it that has not expired. prev is the owner before,
// when the call had one and it was another instance (a takeover).
func (s *Store) Acquire(ctx context.Context, channelID, node string) (prev string, ok bool, err error) {
	// The CTE reads the row as it was; ON CONFLICT's WHERE is checked
	// again on the latest row after waiting for a concurrent taker, so
	// only one of two instances racing for an expired lease gets it.
	err = s.pool.QueryRow(ctx, `
WITH before AS (SELECT owner FROM call_leases WHERE channel_id = $1)
INSERT INTO call_leases AS l (channel_id, node, owner, expires_at)
VALUES ($1, $2, $3, now() + make_interval(secs => $4))
ON CONFLICT (channel_id) DO UPDATE
   SET owner = excluded.owner, expires_at = excluded.expires_at,
       node = CASE WHEN excluded.node = '' THEN l.node ELSE excluded.node END,
       acquired_at = CASE WHEN l.owner = excluded.owner THEN l.acquired_at ELSE now() END
 WHERE l.owner = excluded.owner OR l.expires_at < now()
RETURNING coalesce((SELECT owner FROM before), '')`,
		channelID, node, s.owner, s.ttl.Seconds()).Scan(&prev)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("leases: acquire %s: %w", channelID, err)
	}
	if prev == s.owner {
		prev = ""
	}
	return prev, true, nil
}

// Renew says this instance is alive and extends every lease it holds, in
// one statement, and returns the calls it still holds: one missing was taken over by
// another instance (this one renewed too late) and must be let go.
func (s *Store) Renew(ctx context.Context) (map[string]bool, error) {
	// The instance's own row says it is alive, in the same statement.
	rows, err := s.pool.Query(ctx, `
WITH alive AS (
  INSERT INTO ivr_instances (name, expires_at) VALUES ($1, now() + make_interval(secs => $2))
  ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at,
     started_at = CASE WHEN ivr_instances.expires_at < now() THEN now() ELSE ivr_instances.started_at END)
UPDATE call_leases SET expires_at = now() + make_interval(secs => $2)
 WHERE owner = $1 RETURNING channel_id`, s.owner, s.ttl.Seconds())
	if err != nil {
		return nil, fmt.Errorf("leases: renew: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("leases: renew: %w", err)
	}
	held := make(map[string]bool, len(ids))
	for _, id := range ids {
		held[id] = true
	}
	return held, nil
}

// Release gives up the lease of a call that ended (or that this instance
// no longer drives); a lease another instance holds is left alone.
func (s *Store) Release(ctx context.Context, channelID string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM call_leases WHERE channel_id = $1 AND owner = $2`, channelID, s.owner); err != nil {
		return fmt.Errorf("leases: release %s: %w", channelID, err)
	}
	return nil
}

// Expired lists, oldest first, up to limit calls whose owner stopped
// renewing: candidates for a takeover (Acquire decides).
func (s *Store) Expired(ctx context.Context, limit int) ([]Lease, error) {
	return s.list(ctx, `WHERE expires_at < now() ORDER BY expires_at LIMIT $1`, limit)
}

// List returns every lease, by owner then call: the live calls of every
// instance.
func (s *Store) List(ctx context.Context) ([]Lease, error) {
	return s.list(ctx, `ORDER BY owner, channel_id LIMIT $1`, 100_000)
}

func (s *Store) list(ctx context.Context, where string, limit int) ([]Lease, error) {
	rows, err := s.pool.Query(ctx, `SELECT channel_id, node, owner, acquired_at, expires_at FROM call_leases `+where, limit)
	if err != nil {
		return nil, fmt.Errorf("leases: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Lease, error) {
		var l Lease
		err := r.Scan(&l.ChannelID, &l.Node, &l.Owner, &l.Acquired, &l.Expires)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("leases: list: %w", err)
	}
	return out, nil
}

// Instance is an ivrd instance sharing the database.
type Instance struct {
	Name    string
	Started time.Time // since it is alive without a break
	Expires time.Time
	// Live is what it last published (PublishLive), at LiveAt.
	Live   []byte
	LiveAt time.Time
}

// Others lists the other instances alive (renewed within the TTL).
func (s *Store) Others(ctx context.Context) ([]Instance, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, started_at, expires_at, live, coalesce(live_at, started_at) FROM ivr_instances
 WHERE name <> $1 AND expires_at > now() ORDER BY name`, s.owner)
	if err != nil {
		return nil, fmt.Errorf("leases: instances: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Instance, error) {
		var i Instance
		err := r.Scan(&i.Name, &i.Started, &i.Expires, &i.Live, &i.LiveAt)
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("leases: instances: %w", err)
	}
	return out, nil
}

// PublishLive stores what this instance's callers are doing (a JSON
// document of the caller's choosing), for the other instances' /live. The
// instance must have renewed once (its row exists).
func (s *Store) PublishLive(ctx context.Context, live []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE ivr_instances SET live = $2, live_at = now() WHERE name = $1`, s.owner, live)
	if err != nil {
		return fmt.Errorf("leases: publish live calls: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("leases: publish live calls: instance %s has not renewed yet", s.owner)
	}
	return nil
}

// Holder is the instance holding a call's lease, and whether that lease
// is still alive ("" and false when the call has none).
func (s *Store) Holder(ctx context.Context, channelID string) (owner string, alive bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT owner, expires_at > now() FROM call_leases WHERE channel_id = $1`, channelID).Scan(&owner, &alive)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("leases: holder of %s: %w", channelID, err)
	}
	return owner, alive, nil
}
