package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/smtptest"
)

// TestMailBothWays: ivrd with -mail-listen takes a mail delivered over
// LMTP into a new ticket; a supervisor's public message on it in the
// panel is mailed to the sender by ivrd's own sender (the store's
// HookOnMessage composed with the webhooks'), threaded under the mail;
// their internal note is not.
func TestMailBothWays(t *testing.T) {
	out := smtptest.Start(t)
	ops := filepath.Join(t.TempDir(), "ops.yaml")
	err := os.WriteFile(ops, fmt.Appendf(nil, `notifications:
  smtp: {host: %s, port: %d, tls: none}
  from: "Help desk <help@helpdesk.test>"
  poll_interval: 50ms
mail:
  addresses: [help@helpdesk.test]
`, out.Host(), out.Port()), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	mailAddr := freeAddr(t)
	base := startDemoServerWith(t, flags{config: "../../configs/helpdesk.yaml", demo: true, demoClock: monday10,
		dataDir: t.TempDir(), drainTimeout: 5 * time.Second, ops: ops, mailListen: "lmtp:" + mailAddr})

	conn, err := net.Dial("tcp", mailAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	msg := strings.ReplaceAll(`From: Referente <referente.it@tribunale-roma.example>
To: help@helpdesk.test
Subject: Il portale non risponde
Message-ID: <q1@tribunale-roma.example>
Content-Type: text/plain; charset=utf-8

Da stamattina il portale non risponde.
`, "\n", "\r\n")
	if err := c.SendMail("referente.it@tribunale-roma.example", []string{"help@helpdesk.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var (
		id     int64
		number string
	)
	if err := pool.QueryRow(ctx, `SELECT id, number FROM tickets WHERE source = 'mail'`).Scan(&id, &number); err != nil {
		t.Fatalf("the mail's ticket: %v", err)
	}

	sup := logIn(t, base, "supervisore")
	for kind, body := range map[string]string{"internal": "Nota riservata sul server", "public": "Stiamo riavviando il portale."} {
		if status, page := sup.postForm(fmt.Sprintf("/tickets/%d/articles", id), url.Values{"kind": {kind}, "body": {body}}); status != 200 {
			t.Fatalf("%s message: %d\n%s", kind, status, page)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	isReply := func(m smtptest.Message) bool { return strings.Contains(m.Header.Get("Message-Id"), ".a") }
	msgs, err := out.Wait(wctx, func(ms []smtptest.Message) bool {
		for _, m := range ms {
			if isReply(m) {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("no answer mailed (%d messages): %v", len(msgs), err)
	}
	for _, m := range msgs {
		if strings.Contains(m.Body, "riservata") {
			t.Errorf("the internal note was mailed: %q", m.Subject())
		}
		if !isReply(m) {
			continue
		}
		if strings.Join(m.To, ",") != "referente.it@tribunale-roma.example" || !strings.Contains(m.Body, "Stiamo riavviando") ||
			!strings.HasPrefix(m.Subject(), "[Ticket#"+number+"]") || !strings.Contains(m.Header.Get("References"), "<q1@tribunale-roma.example>") {
			t.Errorf("answer to %v %q References %q:\n%s", m.To, m.Subject(), m.Header.Get("References"), m.Body)
		}
	}
}
