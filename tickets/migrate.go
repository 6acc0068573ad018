package tickets

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgmigrate"
)

//go:embed migrations/*.sql lockout_migrations/*.sql
var migrations embed.FS

// VersionTable is the table tern keeps this package's schema version in.
const VersionTable = "tickets_schema_version"

// LockoutVersionTable versions the PIN lockouts' tables on their own, so
// that their migrations never compete for a number with the tickets'.
const LockoutVersionTable = "pin_lockouts_schema_version"

// Migrate brings the ticket store's schema, PIN lockouts included (the
// first schema on the pool's search_path), up to date; several instances
// may start at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := pgmigrate.Apply(ctx, pool, migrations, "migrations", VersionTable); err != nil {
		return err
	}
	return pgmigrate.Apply(ctx, pool, migrations, "lockout_migrations", LockoutVersionTable)
}
