// Package pgmigrate applies a component's embedded SQL migrations with
// jackc/tern/v2, each component keeping its own version table, under a
// session advisory lock so that several ivrd instances may start at once:
// one migrates, the others wait and then find nothing to do.
package pgmigrate

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

// Apply brings the migrations in dir of files up to date in the first
// schema of the pool's search_path, recording the version in table.
func Apply(ctx context.Context, pool *pgxpool.Pool, files fs.FS, dir, table string) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: acquire connection: %w", table, err)
	}
	defer conn.Release()

	// The lock key is per schema and table, so that test schemas do not
	// wait for each other and production instances sharing a schema do.
	lockKey := `hashtextextended(current_schema() || '.` + table + `', 0)`
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock("+lockKey+")"); err != nil {
		return fmt.Errorf("migrate %s: take lock: %w", table, err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(uctx, "SELECT pg_advisory_unlock("+lockKey+")"); uerr != nil {
			// A session lock must not go back to the pool with its connection.
			_ = conn.Conn().Close(uctx)
			if err == nil {
				err = fmt.Errorf("migrate %s: release lock: %w", table, uerr)
			}
		}
	}()

	m, err := migrate.NewMigrator(ctx, conn.Conn(), table)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", table, err)
	}
	sub, err := fs.Sub(files, dir)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", table, err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return fmt.Errorf("migrate %s: load migrations: %w", table, err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", table, err)
	}
	return nil
}
