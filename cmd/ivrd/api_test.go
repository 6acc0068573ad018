package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
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
