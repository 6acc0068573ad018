package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestContactsImport: `ivrctl contacts import` lists a wrong file's
// errors as file:line and writes nothing; the dry run of a right file
// says what it would do and writes nothing; the import writes it.
func TestContactsImport(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	t.Setenv("DATABASE_URL", url)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.csv", "organization,name,role,email,phones\n"+
		"tribunale-roma-demo,Anna,user,anna@tribunale.example,06 1234 5678\n"+
		"comune-xyz,Bruno,user,bruno@x.example,\n")
	good := write("good.csv", "organization,name,role,email,phones\n"+
		"tribunale-roma-demo,Anna,user,anna@tribunale.example,06 1234 5678\n")

	code, out, errOut := runCmd(t, "", "contacts", "import", "-config", example, bad)
	if code == 0 || out != "" || !strings.Contains(errOut, bad+":3: unknown organization \"comune-xyz\"") {
		t.Fatalf("a wrong file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "", "contacts", "import", "-config", example, good, "-dry-run")
	if code != 0 || out != "dry run: 1 contacts to add, 0 to update\n" {
		t.Fatalf("dry run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := tickets.New(pool, tickets.Options{})
	if _, err := store.FindContactByEmail(ctx, "anna@tribunale.example"); err == nil {
		t.Fatal("the dry run imported")
	}
	code, out, errOut = runCmd(t, "", "contacts", "import", "-config", example, good)
	if code != 0 || out != "1 contacts added, 0 updated\n" {
		t.Fatalf("import: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	c, err := store.FindContactByEmail(ctx, "anna@tribunale.example")
	if err != nil || strings.Join(c.Phones, ",") != "+390612345678" {
		t.Fatalf("imported %+v, %v", c, err)
	}
}
