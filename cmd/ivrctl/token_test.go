package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/panel"
)

// TestTokenCommands: `ivrctl token create` prints a secret that
// authenticates as the user, alone on stdout; list shows it without the
// secret; revoke ends it; each change is in the audit log.
func TestTokenCommands(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	t.Setenv("DATABASE_URL", url)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := panel.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := panel.NewUsers(pool).Add(ctx, "sup", "Supervisore", panel.RoleSupervisor, "correct horse battery", "it"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"token", "create", "-name", "crm", "-user", "sup", "-scope", "admin"},                        // not an administrator
		{"token", "create", "-name", "crm", "-user", "nobody"},                                        // no such user
		{"token", "create", "-name", "crm", "-user", "sup", "-days", "400"},                           // too long
		{"token", "create", "-name", "crm", "-user", "sup", "-groups", "lotto99", "-config", example}, // no such group
		{"token", "create", "-user", "sup"},
		{"token", "revoke"},
	} {
		if code, out, _ := runCmd(t, "", bad...); code == 0 || out != "" {
			t.Fatalf("%v: exit %d, stdout %q", bad, code, out)
		}
	}
	code, out, errOut := runCmd(t, "", "token", "create", "-name", "crm", "-user", "sup", "-scope", "write",
		"-groups", "lotto2,lotto3", "-days", "30", "-config", example)
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	secret := strings.TrimSpace(out)
	tok, u, err := panel.NewTokens(pool, nil).Authenticate(ctx, secret, "test")
	if err != nil || u.Login != "sup" || tok.Scope != panel.ScopeWrite || strings.Join(tok.Groups, ",") != "lotto2,lotto3" {
		t.Fatalf("the secret printed authenticates as %+v %+v: %v", tok, u, err)
	}
	code, out, _ = runCmd(t, "", "token", "list")
	if code != 0 || !strings.Contains(out, "crm") || !strings.Contains(out, "active") || strings.Contains(out, secret[5:]) {
		t.Fatalf("list: %d\n%s", code, out)
	}
	id := strings.Fields(errOut)[1] // "token <id> for sup …"
	if code, _, errOut := runCmd(t, "", "token", "revoke", "-id", id); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	if _, _, err := panel.NewTokens(pool, nil).Authenticate(ctx, secret, "test"); err == nil {
		t.Fatal("a revoked token authenticates")
	}
	var actions string
	if err := pool.QueryRow(ctx, `SELECT string_agg(action || ' ' || via, ',' ORDER BY id) FROM audit_log`).Scan(&actions); err != nil {
		t.Fatal(err)
	}
	if actions != "token.create ivrctl,token.revoke ivrctl" {
		t.Fatalf("audit log: %s", actions)
	}
}
