package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/api"
	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// TestConfigPublish: `ivrctl config publish`, as CI runs it, sends the
// file to the real REST API with an admin token from IVR_API_TOKEN; it
// becomes the version in force with the note; a file with a mistake
// fails here with its FILE:LINE:COL and sends nothing; a read token is
// refused by the API.
func TestConfigPublish(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, m := range []func(context.Context, *pgxpool.Pool) error{tickets.Migrate, panel.Migrate, configstore.Migrate, api.Migrate} {
		if err := m(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := menu.Parse("helpdesk.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	store := configstore.New(pool, configstore.Options{})
	users := panel.NewUsers(pool)
	if err := users.Add(ctx, "adm", "Admin", panel.RoleAdmin, "correct horse battery", "it"); err != nil {
		t.Fatal(err)
	}
	tokens := panel.NewTokens(pool, nil)
	token := func(scope panel.Scope) string {
		secret, _, err := tokens.Create(ctx, panel.NewToken{Name: "ci", Login: "adm", Scope: scope, ExpiresAt: time.Now().Add(time.Hour), CreatedBy: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	a, err := api.New(api.Options{Pool: pool, Tickets: tickets.New(pool, tickets.Options{Location: testkit.MustLoad("Europe/Rome")}),
		Users: users, Tokens: tokens, Audit: panel.NewAudit(pool, nil), Config: func() *menu.Config { return cfg },
		// As ivrd does: validated, then recorded.
		Publish: func(ctx context.Context, p configstore.Publication) (configstore.Version, error) {
			if _, err := menu.Parse("helpdesk.yaml", p.Source); err != nil {
				return configstore.Version{}, fault.Errorf(fault.EINVALID, "%s", err.Error())
			}
			return store.Publish(ctx, p)
		}})
	if err != nil {
		t.Fatal(err)
	}
	router := chi.NewRouter()
	router.Mount(api.Prefix, a.Handler())
	srv := httptest.NewServer(router)
	defer srv.Close()

	dir := t.TempDir()
	changed := filepath.Join(dir, "helpdesk.yaml")
	if err := os.WriteFile(changed, bytes.Replace(src, []byte(`"Lotto 2 – Area Nord"`), []byte(`"Lotto 2 – Nord"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, bytes.Replace(src, []byte("groups:"), []byte("groupz:"), 1), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Setenv("IVR_API_TOKEN", token(panel.ScopeRead))
	if code, _, errOut := runCmd(t, "", "config", "publish", "-url", srv.URL, changed); code == 0 || !strings.Contains(errOut, "403") {
		t.Fatalf("a read token: exit %d, %s", code, errOut)
	}
	t.Setenv("IVR_API_TOKEN", token(panel.ScopeAdmin))
	if code, _, errOut := runCmd(t, "", "config", "publish", "-url", srv.URL, bad); code == 0 || !strings.Contains(errOut, bad+":") {
		t.Fatalf("a bad file: exit %d, %s", code, errOut)
	}
	if _, err := store.InForce(ctx); fault.Code(err) != fault.ENOTFOUND {
		t.Fatalf("something was published: %v", err)
	}
	code, out, errOut := runCmd(t, "", "config", "publish", "-url", srv.URL, "-note", "commit abc123", changed)
	if code != 0 || !strings.HasPrefix(out, "published version ") {
		t.Fatalf("publish: exit %d, %s %s", code, out, errOut)
	}
	v, err := store.InForce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Note != "commit abc123" || v.PublishedBy != "adm" || !strings.Contains(string(v.Source), "Lotto 2 – Nord") {
		t.Fatalf("in force: %+v", v)
	}
}
