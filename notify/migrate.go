package notify

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

// VersionTable is the table tern keeps this package's schema version in.
const VersionTable = "notify_schema_version"

// Migrate brings the outbox and notifications tables up to date (in the
// first schema of the pool's search_path), under an advisory lock so that
// several ivrd instances may start at once, as tickets.Migrate does.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return migrateFS(ctx, pool, migrations, VersionTable)
}

func migrateFS(ctx context.Context, pool *pgxpool.Pool, files embed.FS, table string) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: acquire connection: %w", table, err)
	}
	defer conn.Release()
	lockKey := `hashtextextended(current_schema() || '.` + table + `', 0)`
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock("+lockKey+")"); err != nil {
		return fmt.Errorf("migrate %s: take lock: %w", table, err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(uctx, "SELECT pg_advisory_unlock("+lockKey+")"); uerr != nil {
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
	sub, err := fs.Sub(files, "migrations")
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
