package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/tickets"
)

func init() {
	register("contacts", "import the contacts directory from CSV: contacts import -config FILE [-dry-run] CSV (DATABASE_URL)", cmdContacts)
}

// cmdContacts imports a contacts CSV file, as the panel's import page
// does: every error by line, nothing written if any line is wrong, an
// address already in the directory updated.
func cmdContacts(e env, args []string) int {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(e.stderr, "usage: ivrctl contacts import -config FILE [-dry-run] CSV")
		return 2
	}
	fs := newFlags(e, "contacts import")
	path := fs.String("config", "", "the help desk's configuration, to check the organizations against")
	dry := fs.Bool("dry-run", false, "check the file and say what would change, writing nothing")
	if fs.Parse(args[1:]) != nil {
		return 2
	}
	file, rest := "", fs.Args()
	if len(rest) > 0 {
		file, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 { // flags after the file too: "contacts import FILE -dry-run"
		if fs.Parse(rest) != nil {
			return 2
		}
		rest = fs.Args()
	}
	if file == "" || len(rest) > 0 {
		fmt.Fprintln(e.stderr, "usage: ivrctl contacts import -config FILE [-dry-run] CSV")
		return 2
	}
	cfg := loadConfig(e, *path)
	if cfg == nil {
		return 1
	}
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return fail(e, "DATABASE_URL is required")
	}
	f, err := os.Open(file)
	if err != nil {
		return fail(e, "%v", err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return fail(e, "database: %v", err)
	}
	defer pool.Close()
	if err := tickets.Migrate(ctx, pool); err != nil {
		return fail(e, "database migrations: %v", err)
	}
	known := func(id string) bool { return cfg.Organization(id) != nil }
	res, err := tickets.New(pool, tickets.Options{}).ImportContacts(ctx, f, known, *dry)
	if err != nil {
		return fail(e, "%v", err)
	}
	if len(res.Errors) > 0 {
		for _, x := range res.Errors {
			fmt.Fprintf(e.stderr, "%s:%d: %s\n", file, x.Line, x.Message)
		}
		return fail(e, "%d lines with errors: nothing imported", len(res.Errors))
	}
	if *dry {
		fmt.Fprintf(e.stdout, "dry run: %d contacts to add, %d to update\n", res.Created, res.Updated)
		return 0
	}
	fmt.Fprintf(e.stdout, "%d contacts added, %d updated\n", res.Created, res.Updated)
	return 0
}
