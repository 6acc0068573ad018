package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/panel"
)

// TestConnectorFromIvrd: with a connector.zammad section, ivrd sends a
// ticket opened through the API to Zammad (token from the environment,
// group mapped), links it, and pulls back the state an agent set there
// as the actor zammad, without sending that change back.
func TestConnectorFromIvrd(t *testing.T) {
	const token = "zt-from-env"
	var mu sync.Mutex
	titles := map[int64]string{}
	created := make(chan map[string]any, 10)
	puts := 0
	zammad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Token token="+token {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"Authentication failed"}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var in map[string]any
		_ = json.Unmarshal(b, &in)
		mu.Lock()
		defer mu.Unlock()
		now := time.Now().UTC().Format(time.RFC3339)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/tickets":
			id := int64(len(titles) + 7)
			titles[id] = fmt.Sprint(in["title"])
			created <- in
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"id": %d, "number": "310%02d", "title": %q, "state": "new", "updated_at": %q}`, id, id, titles[id], now)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/tickets/search":
			var list []map[string]any
			for id, title := range titles {
				state := "new"
				if strings.Contains(title, "Per Zammad") {
					state = "closed" // an agent closed it
				}
				list = append(list, map[string]any{"id": id, "number": fmt.Sprintf("310%02d", id), "title": title,
					"state": state, "updated_at": now})
			}
			_ = json.NewEncoder(w).Encode(list)
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/tags/add":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, "true")
		default:
			if r.Method == http.MethodPut {
				puts++
			}
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"error":"unexpected"}`)
		}
	}))
	defer zammad.Close()

	src, err := os.ReadFile("../../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src = append(src, fmt.Appendf(nil, `
connector:
  zammad:
    url: %s
    token_env: ZAMMAD_TEST_TOKEN
    customer: centralino@comune.example.it
    default_group: Users
    groups: {lotto2: "Secondo livello"}
    poll_interval: 5s
`, zammad.URL)...)
	path := filepath.Join(t.TempDir(), "helpdesk.yaml")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ZAMMAD_TEST_TOKEN", token)
	base := startDemoServerWith(t, flags{config: path, demo: true, demoClock: monday10, dataDir: t.TempDir(),
		drainTimeout: 5 * time.Second})
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
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/tickets", strings.NewReader(`{"subject": "Per Zammad", "group": "lotto2"}`))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tk struct {
		ID     int64  `json:"id"`
		Number string `json:"number"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tk)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", res.StatusCode)
	}
	select {
	case in := <-created:
		if in["group"] != "Secondo livello" || in["title"] != "["+tk.Number+"] Per Zammad" {
			t.Fatalf("sent %+v", in)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("nothing sent to Zammad")
	}
	// The agent's close comes back with a pull.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var status, actor string
		err := pool.QueryRow(ctx, `SELECT t.status, coalesce((SELECT h.actor_kind || ':' || h.actor_id FROM ticket_history h
			WHERE h.ticket_id = t.id AND h.field = 'status' ORDER BY h.id DESC LIMIT 1), '') FROM tickets t WHERE t.id = $1`, tk.ID).
			Scan(&status, &actor)
		if err != nil {
			t.Fatal(err)
		}
		if status == "closed" {
			if actor != "system:zammad" {
				t.Fatalf("closed by %q", actor)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %s: the state was not pulled", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM connector_outbox WHERE ticket_id = $1`, tk.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if rows != 1 || puts != 0 {
		t.Fatalf("%d outbox rows, %d updates sent: the pulled close went back", rows, puts)
	}
	mu.Unlock()
	// The ticket page shows Zammad's number, as its agents know it.
	status, page := logIn(t, base, "admin").get(fmt.Sprintf("/tickets/%d", tk.ID))
	want := fmt.Sprintf(`zammad 310%02d</a> (closed)`, 7)
	if status != http.StatusOK || !strings.Contains(page, `data-testid="ticket-external"`) || !strings.Contains(page, want) {
		t.Fatalf("ticket page %d lacks %q:\n%s", status, want, page)
	}
}
