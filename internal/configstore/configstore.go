// Package configstore keeps the help desk's configuration versions in
// PostgreSQL: the drafts administrators edit in the panel, the published
// versions (who, when, a note) and which one is in force, the newest
// publication. A publication is announced by NOTIFY in its own
// transaction; Watch, run by every ivrd, applies the version in force on
// each notification and, as a fallback for a lost connection, on a poll.
//
// The store does not validate: its callers (cmd/ivrd) parse a source with
// package menu before they save a publication.
package configstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// VersionTable is the table tern keeps this schema's version in.
const VersionTable = "config_schema_version"

// Migrate brings the versions' table up to date. It runs before the API's
// migrations, which move the API's former table into it.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Apply(ctx, pool, migrations, "migrations", VersionTable)
}

// State says whether a version is a draft or was published.
type State string

// The states of a version.
const (
	Draft     State = "draft"
	Published State = "published"
)

// MaxSource bounds a configuration's text.
const MaxSource = 4 << 20

// Version is one configuration text and its story.
type Version struct {
	ID        int64
	State     State
	SHA256    string
	Size      int
	Note      string
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// PublishedBy and PublishedAt are zero for a draft.
	PublishedBy string
	PublishedAt time.Time
	// TokenID is the API token that published it (0: the panel or ivrd).
	TokenID int64
	// RollbackOf is the earlier version whose text this one republished.
	RollbackOf int64
	// Source is the YAML text: set by Find and InForce, not by List.
	Source []byte
}

// Options configure a Store.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Channel is the LISTEN/NOTIFY channel; default "ivr_config".
	Channel string
	// Poll is how often Watch reads the version in force without a
	// notification; default 30 s.
	Poll time.Duration
	// Logger; default discards.
	Logger *slog.Logger
}

// Store is the configuration versions' table.
type Store struct {
	pool *pgxpool.Pool
	o    Options
}

// New returns a Store on pool, whose schema Migrate set up.
func New(pool *pgxpool.Pool, o Options) *Store {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Channel = cmp.Or(o.Channel, "ivr_config")
	o.Poll = cmp.Or(o.Poll, 30*time.Second)
	o.Logger = cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	return &Store{pool: pool, o: o}
}

const columns = `id, state, sha256, length(source), note, created_by, created_at, updated_at,
	coalesce(published_by, ''), published_at, coalesce(token_id, 0), coalesce(rollback_of, 0)`

func scan(row pgx.Row, withSource bool) (Version, error) {
	var v Version
	var published *time.Time
	dest := []any{&v.ID, &v.State, &v.SHA256, &v.Size, &v.Note, &v.CreatedBy, &v.CreatedAt, &v.UpdatedAt,
		&v.PublishedBy, &published, &v.TokenID, &v.RollbackOf}
	if withSource {
		dest = append(dest, &v.Source)
	}
	if err := row.Scan(dest...); err != nil {
		return Version{}, err
	}
	if published != nil {
		v.PublishedAt = *published
	}
	return v, nil
}

// Filter selects versions for List.
type Filter struct {
	// State "" lists both.
	State State
	// Limit defaults to 100.
	Limit int
}

// List returns versions without their text: drafts newest first, then
// the published ones newest publication first (the first is in force).
func (s *Store) List(ctx context.Context, f Filter) ([]Version, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM config_versions
		WHERE $1 = '' OR state = $1
		ORDER BY publication DESC NULLS FIRST, id DESC LIMIT $2`, string(f.State), cmp.Or(f.Limit, 100))
	if err != nil {
		return nil, fault.FromDB("list configuration versions", err, "")
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) { return scan(r, false) })
	if err != nil {
		return nil, fault.FromDB("list configuration versions", err, "")
	}
	return list, nil
}

// Find returns version id with its text.
func (s *Store) Find(ctx context.Context, id int64) (Version, error) {
	v, err := scan(s.pool.QueryRow(ctx, `SELECT `+columns+`, source FROM config_versions WHERE id = $1`, id), true)
	return v, fault.FromDB("find configuration version", err, fmt.Sprintf("no configuration version %d", id))
}

// FindBySHA256 returns, with its text, the newest published version whose
// source has this SHA-256 (hex): the name the call journal gives the
// configuration a call ran under (menu.Config.Version on the journal
// branch), for a replay to find its text. A rollback shares its text's
// digest with the version it restores.
func (s *Store) FindBySHA256(ctx context.Context, sum string) (Version, error) {
	v, err := scan(s.pool.QueryRow(ctx, `SELECT `+columns+`, source FROM config_versions
		WHERE sha256 = $1 AND publication IS NOT NULL ORDER BY publication DESC LIMIT 1`, sum), true)
	return v, fault.FromDB("find configuration version", err, fmt.Sprintf("no published configuration has SHA-256 %s", sum))
}

// InForce returns the newest published version with its text; an error
// of code ENOTFOUND if nothing was ever published.
func (s *Store) InForce(ctx context.Context) (Version, error) {
	return inForce(ctx, s.pool)
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func inForce(ctx context.Context, q querier) (Version, error) {
	v, err := scan(q.QueryRow(ctx, `SELECT `+columns+`, source FROM config_versions
		WHERE publication IS NOT NULL ORDER BY publication DESC LIMIT 1`), true)
	return v, fault.FromDB("find the configuration in force", err, "no configuration was published")
}

// DraftChange creates (ID 0) or replaces a draft.
type DraftChange struct {
	ID     int64
	Source []byte
	Note   string
	By     string
}

func checkSource(src []byte) error {
	switch {
	case len(src) == 0:
		return fault.Errorf(fault.EINVALID, "the configuration is empty")
	case len(src) > MaxSource:
		return fault.Errorf(fault.ETOOLARGE, "the configuration is over %d bytes", MaxSource)
	}
	return nil
}

func digest(src []byte) string {
	sum := sha256.Sum256(src)
	return hex.EncodeToString(sum[:])
}

// SaveDraft keeps a draft's text and note; a published version is never
// changed (ECONFLICT).
func (s *Store) SaveDraft(ctx context.Context, d DraftChange) (Version, error) {
	if err := checkSource(d.Source); err != nil {
		return Version{}, err
	}
	now := s.o.Now()
	if d.ID == 0 {
		v, err := scan(s.pool.QueryRow(ctx, `INSERT INTO config_versions (state, sha256, source, note, created_by, created_at, updated_at)
			VALUES ('draft', $1, $2, $3, $4, $5, $5) RETURNING `+columns, digest(d.Source), d.Source, d.Note, d.By, now), false)
		return v, fault.FromDB("create draft", err, "")
	}
	v, err := scan(s.pool.QueryRow(ctx, `UPDATE config_versions SET sha256 = $2, source = $3, note = $4, updated_at = $5
		WHERE id = $1 AND state = 'draft' RETURNING `+columns, d.ID, digest(d.Source), d.Source, d.Note, now), false)
	if errors.Is(err, pgx.ErrNoRows) {
		return Version{}, s.notADraft(ctx, d.ID)
	}
	return v, fault.FromDB("save draft", err, "")
}

// notADraft explains why version id could not be changed as a draft.
func (s *Store) notADraft(ctx context.Context, id int64) error {
	v, err := s.Find(ctx, id)
	if err != nil {
		return err
	}
	return fault.Errorf(fault.ECONFLICT, "version %d is %s: published versions are kept as they were", v.ID, v.State)
}

// DeleteDraft removes a draft; a published version stays (ECONFLICT).
func (s *Store) DeleteDraft(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM config_versions WHERE id = $1 AND state = 'draft'`, id)
	if err != nil {
		return fault.FromDB("delete draft", err, "")
	}
	if tag.RowsAffected() == 0 {
		return s.notADraft(ctx, id)
	}
	return nil
}

// Publication puts a configuration in force.
type Publication struct {
	// Source is the text to publish, validated by the caller. With
	// DraftID, it must be the draft's text as it is now (a draft changed
	// since it was validated is refused: ECONFLICT).
	Source []byte
	// DraftID publishes that draft (0: a new version).
	DraftID int64
	// RollbackOf records that Source is that earlier version's text.
	RollbackOf int64
	Note       string
	By         string
	TokenID    int64
}

// Publish records p as the version in force and notifies every ivrd, in
// one transaction.
func (s *Store) Publish(ctx context.Context, p Publication) (Version, error) {
	if err := checkSource(p.Source); err != nil {
		return Version{}, err
	}
	var v Version
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		v, err = publish(ctx, tx, p, s.o.Now())
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, s.o.Channel, fmt.Sprint(v.ID))
		return err
	})
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) && p.DraftID != 0 {
			if err := s.notADraft(ctx, p.DraftID); fault.Code(err) != fault.ECONFLICT {
				return Version{}, err
			}
			return Version{}, fault.Errorf(fault.ECONFLICT, "draft %d was published or changed since it was validated", p.DraftID)
		}
		return Version{}, fault.FromDB("publish configuration", err, "")
	}
	v.Source = p.Source
	return v, nil
}

func publish(ctx context.Context, tx pgx.Tx, p Publication, now time.Time) (Version, error) {
	var rollback *int64
	if p.RollbackOf != 0 {
		rollback = &p.RollbackOf
	}
	var token *int64
	if p.TokenID != 0 {
		token = &p.TokenID
	}
	if p.DraftID != 0 {
		return scan(tx.QueryRow(ctx, `UPDATE config_versions SET state = 'published', published_by = $3, published_at = $4,
				note = CASE WHEN $5 = '' THEN note ELSE $5 END, token_id = $6, publication = nextval('config_publications')
			WHERE id = $1 AND state = 'draft' AND sha256 = $2 RETURNING `+columns,
			p.DraftID, digest(p.Source), p.By, now, p.Note, token), false)
	}
	return scan(tx.QueryRow(ctx, `INSERT INTO config_versions (state, sha256, source, note, created_by, created_at, updated_at,
			published_by, published_at, token_id, rollback_of, publication)
		VALUES ('published', $1, $2, $3, $4, $5, $5, $4, $5, $6, $7, nextval('config_publications')) RETURNING `+columns,
		digest(p.Source), p.Source, p.Note, p.By, now, token, rollback), false)
}

// Bootstrap publishes p unless a version was published already, and
// returns the version in force: the first ivrd on an empty database
// brings its file in, the next ones (even starting at the same moment)
// find it there.
func (s *Store) Bootstrap(ctx context.Context, p Publication) (v Version, created bool, err error) {
	if err := checkSource(p.Source); err != nil {
		return Version{}, false, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.config_versions', 0))`); err != nil {
			return err
		}
		v, err = inForce(ctx, tx)
		if fault.Code(err) != fault.ENOTFOUND {
			return err
		}
		created = true
		v, err = publish(ctx, tx, p, s.o.Now())
		v.Source = p.Source
		return err
	})
	if err != nil {
		return Version{}, false, fault.FromDB("bring the configuration file in", err, "")
	}
	return v, created, nil
}
