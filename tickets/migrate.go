package tickets

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// VersionTable is the table tern keeps the schema version in, in the
// schema first on the connection's search_path.
const VersionTable = "tickets_schema_version"

// Migrate brings the schema (the first on the pool's search_path) up to date.
// Several ivrd instances may start at once: a session advisory lock, taken
// on one connection for the whole run, lets one migrate while the others
// wait and then find nothing to do.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate tickets schema: acquire connection: %w", err)
	}
	defer conn.Release()

	// The lock key is per schema, so that test schemas do not wait for each
	// other and production instances sharing a schema do.
	const lockKey = `hashtextextended(current_schema() || '.` + VersionTable + `', 0)`
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock("+lockKey+")"); err != nil {
		return fmt.Errorf("migrate tickets schema: take lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(uctx, "SELECT pg_advisory_unlock("+lockKey+")"); uerr != nil {
			// A session lock must not go back to the pool with its connection.
			_ = conn.Conn().Close(uctx)
			if err == nil {
				err = fmt.Errorf("migrate tickets schema: release lock: %w", uerr)
			}
		}
	}()

	m, err := migrate.NewMigrator(ctx, conn.Conn(), VersionTable)
	if err != nil {
		return fmt.Errorf("migrate tickets schema: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate tickets schema: %w", err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return fmt.Errorf("migrate tickets schema: load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate tickets schema: %w", err)
	}
	return nil
}
