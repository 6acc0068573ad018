package api

import (
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
)

// TestConfigVersionsMoved: the versions an older ivrd published through
// the API (api_config_versions) move to configstore's table with their
// ids, order and authors; the newest is in force; the next version
// follows them.
func TestConfigVersionsMoved(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	// Back to the schema before the move.
	_, err := pool.Exec(ctx, `
		DROP TABLE config_versions; DROP SEQUENCE config_publications; DROP TABLE config_schema_version;
		CREATE TABLE api_config_versions (
		    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, sha256 text NOT NULL, source bytea NOT NULL,
		    note text NOT NULL DEFAULT '', published_by text NOT NULL, token_id bigint, published_at timestamptz NOT NULL);
		UPDATE api_schema_version SET version = 1;
		INSERT INTO api_config_versions (sha256, source, note, published_by, token_id, published_at) VALUES
		    ('a', 'one', 'first', 'adm', 7, '2026-01-01T10:00:00Z'),
		    ('b', 'two', 'second', 'adm2', NULL, '2026-02-01T10:00:00Z')`)
	noErr(t, err)
	noErr(t, configstore.Migrate(ctx, pool))
	noErr(t, Migrate(ctx, pool))
	var left bool
	noErr(t, pool.QueryRow(ctx, `SELECT to_regclass('api_config_versions') IS NOT NULL`).Scan(&left))
	if left {
		t.Error("api_config_versions is still there")
	}
	store := configstore.New(pool, configstore.Options{})
	list, err := store.List(ctx, configstore.Filter{})
	noErr(t, err)
	if len(list) != 2 || list[0].ID != 2 || list[0].PublishedBy != "adm2" || list[1].ID != 1 || list[1].TokenID != 7 ||
		list[1].Note != "first" || !list[1].PublishedAt.Equal(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("moved: %+v", list)
	}
	cur, err := store.InForce(ctx)
	noErr(t, err)
	if cur.ID != 2 || string(cur.Source) != "two" {
		t.Fatalf("in force: %d %q", cur.ID, cur.Source)
	}
	next, err := store.Publish(ctx, configstore.Publication{Source: []byte("three"), By: "adm"})
	noErr(t, err)
	if cur, err = store.InForce(ctx); err != nil || next.ID != 3 || cur.ID != 3 {
		t.Fatalf("the next version %d, in force %d: %v", next.ID, cur.ID, err)
	}
}
