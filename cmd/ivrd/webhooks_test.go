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
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/tickets"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

// TestWebhookFromIvrd: ivrd runs the webhooks: a subscription made through
// the API gets, signed with its secret, from ivrd's own worker, the
// ticket.updated of a ticket changed through the API (the store's Hook,
// composed with the notifications'), and a demo call's call.started,
// ticket.created and call.ended (the controller's steps; call.ended is
// matched by the call_id of call.started).
func TestWebhookFromIvrd(t *testing.T) {
	// The receiver is on loopback, which deliveries refuse unless allowed.
	base := startDemoServerWith(t, flags{config: "../../configs/helpdesk.yaml", demo: true, demoClock: monday10,
		dataDir: t.TempDir(), drainTimeout: 5 * time.Second, webhookNets: "127.0.0.1"})
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
	sub := send(http.MethodPost, "/webhooks", `{"url": "`+rcv.URL+`/in", "events": ["ticket.updated", "ticket.created", "call.started", "call.ended"]}`, http.StatusCreated)
	secret, _ := sub["secret"].(string)
	tk := send(http.MethodPost, "/tickets", `{"subject": "Per il webhook", "group": "lotto2"}`, http.StatusCreated)
	send(http.MethodPatch, fmt.Sprintf("/tickets/%v", tk["id"]), fmt.Sprintf(`{"version": %v, "status": "in_progress"}`, tk["version"]),
		http.StatusOK)
	c := logIn(t, base, "supervisore")
	if status, body := c.postForm("/demo/call?caller=3331234567&keys=h", url.Values{}); status != http.StatusOK {
		t.Fatalf("demo call: %d %s", status, body)
	}
	var seen []string
	var callID string
	deadline := time.After(60 * time.Second)
	for {
		select {
		case d := <-got:
			var ev struct {
				Type string `json:"type"`
				Data struct {
					Ticket struct {
						Subject string `json:"subject"`
						Caller  string `json:"caller"`
					} `json:"ticket"`
					Caller string `json:"caller"`
					CallID string `json:"call_id"`
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
			switch {
			case ev.Type == "ticket.updated" && ev.Data.Ticket.Subject == "Per il webhook",
				ev.Type == "ticket.created" && ev.Data.Ticket.Caller == "+393331234567",
				ev.Type == "call.started" && ev.Data.Caller == "+393331234567",
				ev.Type == "call.ended" && ev.Data.CallID != "" && ev.Data.CallID == callID:
				if ev.Type == "call.started" {
					callID = ev.Data.CallID
				}
				if !slices.Contains(seen, ev.Type) {
					seen = append(seen, ev.Type)
				}
			}
			if len(seen) == 4 {
				return
			}
		case <-deadline:
			t.Fatalf("within 60 s only %v delivered", seen)
		}
	}
}

type oneOrg struct{}

func (oneOrg) OrganizationEmails(org string) []string {
	if org == "tribunale-roma-demo" {
		return []string{"urp@tribunale.example"}
	}
	return nil
}
func (oneOrg) GroupEmails(string) []string { return nil }

// TestWebhookHooksComposed: with the two Hooks composed, a ticket opening
// queues both its e-mail and its webhook in its transaction, and an
// update that only the webhooks want still reaches them (and queues no
// e-mail).
func TestWebhookHooksComposed(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	for _, m := range []func(context.Context, *pgxpool.Pool) error{notify.Migrate, webhooks.Migrate} {
		if err := m(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	n, err := notify.NewNotifier(notify.Config{From: "Help desk <helpdesk@example.org>"}, oneOrg{}, time.UTC, nil)
	if err != nil {
		t.Fatal(err)
	}
	hooks := webhooks.New(pool, webhooks.Options{})
	if _, _, err := hooks.Create(ctx, webhooks.NewSubscription{URL: "https://crm.example/in",
		Events: []string{webhooks.TicketCreated, webhooks.TicketUpdated}, CreatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	store := tickets.New(pool, ticketHooks(n, hooks, nil))
	_, tk, err := store.OpenCall(ctx, tickets.NewCall{ChannelID: "1795320990.1", Caller: "+390612345678",
		Subject: "Composti", Group: "lotto2", Organization: "tribunale-roma-demo", CallerRole: tickets.CallerReferent})
	if err != nil {
		t.Fatal(err)
	}
	prio := tickets.PriorityHigh
	if _, err := store.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Priority: &prio},
		tickets.Actor{Kind: tickets.ActorOperator, ID: "op2"}); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		t.Helper()
		var c int
		if err := pool.QueryRow(ctx, q).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := count(`SELECT count(*) FROM notify_outbox WHERE kind = 'created'`); got != 1 {
		t.Errorf("%d opening e-mails, want 1", got)
	}
	if got := count(`SELECT count(*) FROM notify_outbox`); got != 1 {
		t.Errorf("%d e-mails, want 1 (the priority change notifies nobody)", got)
	}
	if got := count(`SELECT count(*) FROM webhook_deliveries WHERE event = 'ticket.created'`); got != 1 {
		t.Errorf("%d ticket.created deliveries, want 1", got)
	}
	if got := count(`SELECT count(*) FROM webhook_deliveries WHERE event = 'ticket.updated'`); got != 1 {
		t.Errorf("%d ticket.updated deliveries, want 1", got)
	}
}
