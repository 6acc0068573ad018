package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/panel"
)

// TestAPIMounted: ivrd serves the REST API at /api/v1 beside the panel,
// outside the panel's login and cross-origin checks (a token, no cookie),
// with the panel's tokens.
func TestAPIMounted(t *testing.T) {
	base := startDemoServer(t, monday10)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	secret, _, err := panel.NewTokens(pool, nil).Create(ctx, panel.NewToken{Name: "test", Login: "admin",
		Scope: panel.ScopeWrite, ExpiresAt: time.Now().Add(time.Hour), CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, token, body string) (*http.Response, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", "https://crm.example") // another site: the panel would refuse it
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %v", method, path, res.StatusCode, err)
		}
		return res, v
	}
	if res, doc := do(http.MethodGet, "/api/v1/openapi.json", "", ""); res.StatusCode != http.StatusOK || doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %d %v", res.StatusCode, doc["openapi"])
	}
	if res, p := do(http.MethodGet, "/api/v1/tickets", "", ""); res.StatusCode != http.StatusUnauthorized ||
		res.Header.Get("Content-Type") != "application/problem+json" || p["code"] != "unauthorized" {
		t.Fatalf("no token: %d %s %v", res.StatusCode, res.Header.Get("Content-Type"), p)
	}
	res, created := do(http.MethodPost, "/api/v1/tickets", secret, `{"subject": "Dal CRM", "group": "lotto2"}`)
	if res.StatusCode != http.StatusCreated || created["subject"] != "Dal CRM" {
		t.Fatalf("create: %d %v", res.StatusCode, created)
	}
	res, page := do(http.MethodGet, "/api/v1/tickets?q=CRM", secret, "")
	if list, _ := page["tickets"].([]any); res.StatusCode != http.StatusOK || len(list) != 1 {
		t.Fatalf("search: %d %v", res.StatusCode, page)
	}
}

// TestAPIPublishConfig: with -publish-config, an administrator's admin
// token publishes a configuration: written over the file and in force at
// once (the queues show the group's new name); one that does not
// validate changes nothing, file included.
func TestAPIPublishConfig(t *testing.T) {
	src, err := os.ReadFile("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "helpdesk.yaml")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	base := startDemoServerWith(t, flags{config: path, demo: true, demoClock: monday10, dataDir: t.TempDir(),
		drainTimeout: 5 * time.Second, publishConfig: true})
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	secret, _, err := panel.NewTokens(pool, nil).Create(ctx, panel.NewToken{Name: "test", Login: "admin",
		Scope: panel.ScopeAdmin, ExpiresAt: time.Now().Add(time.Hour), CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(body []byte) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+"/api/v1/config/versions", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/yaml")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	groupName := func() string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/queues", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v struct {
			Queues []struct{ Group, Name string } `json:"queues"`
		}
		if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		for _, q := range v.Queues {
			if q.Group == "lotto2" {
				return q.Name
			}
		}
		return ""
	}
	if got := groupName(); got != "Lotto 2 – Area Nord" {
		t.Fatalf("lotto2 is %q before", got)
	}
	bad := bytes.Replace(src, []byte("groups:"), []byte("groupz:"), 1)
	if code := publish(bad); code != http.StatusBadRequest {
		t.Fatalf("an invalid configuration: %d", code)
	}
	if on, _ := os.ReadFile(path); !bytes.Equal(on, src) {
		t.Fatal("an invalid configuration changed the file")
	}
	changed := bytes.Replace(src, []byte(`"Lotto 2 – Area Nord"`), []byte(`"Lotto 2 – Nord"`), 1)
	if code := publish(changed); code != http.StatusCreated {
		t.Fatalf("publish: %d", code)
	}
	if got := groupName(); got != "Lotto 2 – Nord" {
		t.Fatalf("lotto2 is %q after the publication", got)
	}
	if on, _ := os.ReadFile(path); !bytes.Equal(on, changed) {
		t.Fatal("the file is not the published configuration")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("the file's mode became %v", st.Mode().Perm())
	}
}
