package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/panel"
)

// TestWebhookFromIvrd: ivrd runs the webhooks: a subscription made through
// the API gets the ticket.updated of a ticket changed through the API (the
// store's Hook, composed with the notifications'), signed with its
// secret, from ivrd's own worker.
func TestWebhookFromIvrd(t *testing.T) {
	base := startDemoServer(t, monday10)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	token, _, err := panel.NewTokens(pool, nil).Create(ctx, panel.NewToken{Name: "hooks", Login: "admin",
		Scope: panel.ScopeAdmin, ExpiresAt: time.Now().Add(time.Hour), CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 100)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
	}))
	defer rcv.Close()
	send := func(method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(res.Body).Decode(&v)
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, v)
		}
		return v
	}
	sub := send(http.MethodPost, "/webhooks", `{"url": "`+rcv.URL+`/in", "events": ["ticket.updated"]}`, http.StatusCreated)
	secret, _ := sub["secret"].(string)
	tk := send(http.MethodPost, "/tickets", `{"subject": "Per il webhook", "group": "lotto2"}`, http.StatusCreated)
	send(http.MethodPatch, fmt.Sprintf("/tickets/%v", tk["id"]), fmt.Sprintf(`{"version": %v, "status": "in_progress"}`, tk["version"]),
		http.StatusOK)
	deadline := time.After(60 * time.Second)
	for {
		select {
		case d := <-got:
			var ev struct {
				Type string `json:"type"`
				Data struct {
					Ticket struct {
						Subject string `json:"subject"`
					} `json:"ticket"`
				} `json:"data"`
			}
			if err := json.Unmarshal(d.body, &ev); err != nil {
				t.Fatalf("body %s: %v", d.body, err)
			}
			m := hmac.New(sha256.New, []byte(secret))
			m.Write([]byte(d.header.Get("Webhook-Timestamp") + "." + string(d.body)))
			if d.header.Get("Webhook-Signature") != "v1="+hex.EncodeToString(m.Sum(nil)) {
				t.Fatalf("bad signature %q", d.header.Get("Webhook-Signature"))
			}
			if ev.Type == "ticket.updated" && ev.Data.Ticket.Subject == "Per il webhook" {
				return
			}
		case <-deadline:
			t.Fatal("no ticket.updated delivered within 60 s")
		}
	}
}
