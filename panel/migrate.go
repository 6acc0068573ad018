package panel

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// VersionTable is the table tern keeps the panel's schema version in.
const VersionTable = "panel_schema_version"

// Migrate brings the panel's tables (users, sessions, failed logins) up to
// date in the first schema of the pool's search_path; several instances may
// start at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Apply(ctx, pool, migrations, "migrations", VersionTable)
}
