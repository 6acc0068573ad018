package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) { pgtest.Main(m, tickets.Migrate) }

// TestIsolation: each test database starts migrated and empty, and what one
// test writes is invisible to another.
func TestIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := pgtest.Pool(t), pgtest.Pool(t)

	for _, p := range []*pgxpool.Pool{a, b} {
		var version, n int
		if err := p.QueryRow(ctx, "SELECT version FROM "+tickets.VersionTable).Scan(&version); err != nil {
			t.Fatalf("test database not migrated: %v", err)
		}
		if version < 1 {
			t.Fatalf("schema version %d", version)
		}
		if err := p.QueryRow(ctx, "SELECT count(*) FROM tickets").Scan(&n); err != nil || n != 0 {
			t.Fatalf("fresh database has %d tickets (err %v)", n, err)
		}
	}
	if _, _, err := tickets.New(a, tickets.Options{}).OpenCall(ctx, tickets.NewCall{ChannelID: "iso.1"}); err != nil {
		t.Fatal(err)
	}
	var na, nb int
	if err := a.QueryRow(ctx, "SELECT count(*) FROM tickets").Scan(&na); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT count(*) FROM tickets").Scan(&nb); err != nil {
		t.Fatal(err)
	}
	if na != 1 || nb != 0 {
		t.Fatalf("tickets: a=%d b=%d, want 1 and 0", na, nb)
	}
}

// TestDropAtCleanup: the database (or schema) of a finished test is gone,
// even with a connection still open on it.
func TestDropAtCleanup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var u, db, schema string
	t.Run("inner", func(t *testing.T) {
		u = pgtest.DatabaseURL(t)
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		// Left open on purpose: the drop must not depend on tests closing.
		if err := conn.QueryRow(ctx, "SELECT current_database(), current_schema()").Scan(&db, &schema); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "SELECT count(*) FROM tickets"); err != nil {
			t.Fatal(err)
		}
	})
	mode, _, _ := pgtest.Mode(t)
	var query, name, connURL string
	switch mode {
	case pgtest.IsolateDatabase:
		query, name, connURL = "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", db, pgtest.ServerURL(t)
	case pgtest.IsolateSchema:
		query, name, connURL = "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", schema, u
	}
	if name == "" || name == "public" || name == "postgres" {
		t.Fatalf("test ran in %s/%s, not in a database or schema of its own", db, schema)
	}
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, query, name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("%s %q still exists after its test", mode, name)
	}
}
