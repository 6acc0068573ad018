package api

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// VersionTable is the table tern keeps the API's schema version in.
const VersionTable = "api_schema_version"

// Migrate brings the API's own tables up to date; its tokens and audit
// log are the panel's (panel.Migrate), its configuration versions
// configstore's (configstore.Migrate, which must run first: a migration
// here moves the versions published before into its table).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Apply(ctx, pool, migrations, "migrations", VersionTable)
}
