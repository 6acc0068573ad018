package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/panel"
)

func init() {
	register("token", "manage the REST API's tokens: create, list, revoke (DATABASE_URL)", cmdToken)
}

// cmdToken manages API tokens for automation, as the panel's
// /admin/tokens does. create prints the secret alone on stdout (for
// TOKEN=$(ivrctl token create …)); it is never stored nor shown again.
func cmdToken(e env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "usage: ivrctl token create|list|revoke [flags]")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(e, "token "+sub)
	name := fs.String("name", "", "what the token is for, e.g. the system using it (create)")
	login := fs.String("user", "", "the panel user the token acts as (create)")
	scope := fs.String("scope", "read", "read, write or admin (admin needs an administrator) (create)")
	groups := fs.String("groups", "", "comma-separated groups the token is restricted to; none: all of the user's (create)")
	days := fs.Int("days", 90, "days the token is valid, at most 366 (create)")
	config := fs.String("config", "", "the help desk's configuration, to check -groups against (create)")
	id := fs.Int64("id", 0, "the token to revoke (revoke)")
	if fs.Parse(args) != nil {
		return 2
	}
	var groupList []string
	for g := range strings.SplitSeq(*groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groupList = append(groupList, g)
		}
	}
	switch sub {
	case "create":
		if *name == "" || *login == "" {
			return fail(e, "-name and -user are required")
		}
		if *days < 1 {
			return fail(e, "-days must be at least 1")
		}
		if *config != "" {
			cfg := loadConfig(e, *config)
			if cfg == nil {
				return 1
			}
			for _, g := range groupList {
				if cfg.Group(g) == nil {
					return fail(e, "no group %q in %s", g, *config)
				}
			}
		}
	case "revoke":
		if *id <= 0 {
			return fail(e, "-id is required")
		}
	case "list":
	default:
		return fail(e, "unknown token command %q (create, list, revoke)", sub)
	}
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return fail(e, "DATABASE_URL is required")
	}
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return fail(e, "database: %v", err)
	}
	defer pool.Close()
	if err := panel.Migrate(ctx, pool); err != nil {
		return fail(e, "database migrations: %v", err)
	}
	tokens, audit := panel.NewTokens(pool, nil), panel.NewAudit(pool, nil)
	by := "ivrctl"
	if u, err := user.Current(); err == nil {
		by = "ivrctl:" + u.Username
	}
	switch sub {
	case "create":
		secret, tok, err := tokens.Create(ctx, panel.NewToken{Name: *name, Login: *login, Scope: panel.Scope(*scope),
			Groups: groupList, ExpiresAt: time.Now().Add(time.Duration(*days) * 24 * time.Hour), CreatedBy: by})
		if err == nil {
			err = audit.Record(ctx, nil, panel.AuditEntry{Login: by, Via: panel.ViaIvrctl, Action: "token.create",
				Target: "token:" + strconv.FormatInt(tok.ID, 10),
				Detail: "user=" + tok.Login + " scope=" + string(tok.Scope) + " groups=" + strings.Join(tok.Groups, ",")})
		}
		if err != nil {
			return fail(e, "%v", err)
		}
		fmt.Fprintf(e.stderr, "token %d for %s (%s), expires %s; the secret is shown only now:\n",
			tok.ID, tok.Login, tok.Scope, tok.ExpiresAt.Format(time.RFC3339))
		fmt.Fprintln(e.stdout, secret)
	case "revoke":
		tok, err := tokens.Revoke(ctx, *id, by)
		if err == nil {
			err = audit.Record(ctx, nil, panel.AuditEntry{Login: by, Via: panel.ViaIvrctl, Action: "token.revoke",
				Target: "token:" + strconv.FormatInt(*id, 10), Detail: "user=" + tok.Login})
		}
		if err != nil {
			return fail(e, "%v", err)
		}
		fmt.Fprintf(e.stdout, "token %d revoked\n", *id)
	case "list":
		list, err := tokens.List(ctx)
		if err != nil {
			return fail(e, "%v", err)
		}
		now := time.Now()
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tUSER\tSCOPE\tGROUPS\tEXPIRES\tLAST USED\tSTATE")
		for _, t := range list {
			state := "active"
			switch {
			case !t.RevokedAt.IsZero():
				state = "revoked"
			case !t.Active(now):
				state = "expired"
			}
			used := "never"
			if !t.LastUsedAt.IsZero() {
				used = t.LastUsedAt.Format(time.RFC3339) + " " + t.LastUsedFrom
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Login, t.Scope,
				strings.Join(t.Groups, ","), t.ExpiresAt.Format(time.DateOnly), used, state)
		}
		_ = tw.Flush()
	}
	return 0
}
