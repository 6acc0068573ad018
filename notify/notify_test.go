package notify_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) { pgtest.Main(m, tickets.Migrate, notify.Migrate) }

var (
	ctx      = context.Background()
	rome     = mustLoad("Europe/Rome")
	t0       = time.Date(2026, 11, 23, 9, 0, 0, 0, rome) // a Monday
	operator = tickets.Actor{Kind: tickets.ActorOperator, ID: "mrossi"}
	channels atomic.Int64
)

var mustLoad = testkit.MustLoad

type clock = testkit.Clock

// directory is a fixed Directory.
type directory struct{ orgs, groups map[string][]string }

func (d directory) OrganizationEmails(o string) []string { return d.orgs[o] }
func (d directory) GroupEmails(g string) []string        { return d.groups[g] }

var dir = directory{
	orgs:   map[string][]string{"giustizia": {"referente@giustizia.it", "Ufficio CED <ced@giustizia.it>"}},
	groups: map[string][]string{"lotto6": {"lotto6@helpdesk.test"}},
}

type env struct {
	pool     *pgxpool.Pool
	clk      *clock
	store    *tickets.Store
	notifier *notify.Notifier
	server   *mailServer
	cfg      notify.Config
}

func smtpConfig(addr string) notify.SMTPConfig {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return notify.SMTPConfig{Host: host, Port: p, TLS: notify.TLSNone}
}

func newEnv(t *testing.T, configure func(*notify.Config)) *env {
	t.Helper()
	e := &env{pool: pgtest.Pool(t), clk: testkit.NewClock(t0)}
	e.server = startMailServer(t, nil)
	e.cfg = notify.Config{
		SMTP: smtpConfig(e.server.addr), From: "Help desk <helpdesk@helpdesk.test>", Service: "Help desk Giustizia",
		Supervisors: []string{"sup@helpdesk.test"}, BackoffBase: time.Minute, BackoffMax: time.Hour,
	}
	if configure != nil {
		configure(&e.cfg)
	}
	var err error
	e.notifier, err = notify.NewNotifier(e.cfg, dir, rome, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.store = tickets.New(e.pool, tickets.Options{Location: rome, Now: e.clk.Now, Hook: e.notifier.Hook})
	return e
}

func (e *env) sender(t *testing.T, reg prometheus.Registerer) *notify.Sender {
	t.Helper()
	s, err := notify.NewSender(e.pool, e.cfg, notify.NewSMTP(e.cfg.SMTP, nil), notify.SenderOptions{Now: e.clk.Now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) open(t *testing.T, nc tickets.NewCall) tickets.Ticket {
	t.Helper()
	nc.ChannelID = fmt.Sprintf("n.%d", channels.Add(1))
	_, tk, err := e.store.OpenCall(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func (e *env) update(t *testing.T, tk tickets.Ticket, upd tickets.TicketUpdate, actor tickets.Actor) tickets.Ticket {
	t.Helper()
	upd.Version = tk.Version
	tk, err := e.store.UpdateTicket(ctx, tk.ID, upd, actor)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func sendAll(t *testing.T, s *notify.Sender, want int) {
	t.Helper()
	n, err := s.SendPending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("sent %d, want %d", n, want)
	}
}

func ptr[T any](v T) *T { return &v }

// TestOpenAndClose: opening and closing a ticket of a known Administration
// mail its addresses through a real SMTP server, with the ticket's tag in
// the subject and the closing notice threaded under the opening one;
// nothing is sent twice, even by a second sender (a restart).
func TestOpenAndClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	reg := prometheus.NewRegistry()
	s := e.sender(t, reg)
	tk := e.open(t, tickets.NewCall{Organization: "giustizia", Subject: "Casella PEC bloccata"})
	e.open(t, tickets.NewCall{}) // unknown caller: nobody to tell
	sendAll(t, s, 1)
	e.clk.Advance(time.Hour)
	closed := e.update(t, tk, tickets.TicketUpdate{Status: ptr(tickets.StatusClosed)}, operator)
	sendAll(t, s, 1)
	sendAll(t, s, 0)
	sendAll(t, e.sender(t, nil), 0)

	msgs := e.server.messages()
	if len(msgs) != 2 {
		t.Fatalf("server got %d messages, want 2", len(msgs))
	}
	tag := "[Ticket#" + string(tk.Number) + "]"
	open, cl := msgs[0], msgs[1]
	for _, m := range msgs {
		if !strings.HasPrefix(m.Msg.Header.Get("Subject"), tag) {
			t.Errorf("subject %q lacks %s", m.Msg.Header.Get("Subject"), tag)
		}
		if got := strings.Join(m.To, ","); got != "referente@giustizia.it,ced@giustizia.it" {
			t.Errorf("recipients %s", got)
		}
		if m.From != "helpdesk@helpdesk.test" {
			t.Errorf("envelope sender %s", m.From)
		}
	}
	root := "<ticket." + string(tk.Number) + "@helpdesk.test>"
	if got := open.Msg.Header.Get("Message-Id"); got != root {
		t.Errorf("opening Message-ID %s, want %s", got, root)
	}
	if got := cl.Msg.Header.Get("References"); got != root || cl.Msg.Header.Get("In-Reply-To") != root {
		t.Errorf("closing References %q, want %s", got, root)
	}
	if !strings.Contains(open.Body, "Casella PEC bloccata") || !strings.Contains(open.Body, string(tk.Number)) {
		t.Errorf("opening body:\n%s", open.Body)
	}
	if !strings.Contains(cl.Body, "chiusa") || !strings.Contains(cl.Body, closed.ClosedAt.Format("02/01/2006 15:04")) {
		t.Errorf("closing body:\n%s", cl.Body)
	}
	if got := testkit.MetricValue(t, reg, "ivr_notify_emails_sent_total"); got != 2 {
		t.Errorf("ivr_notify_emails_sent_total %v, want 2", got)
	}
}

// TestServerDownThenBack: with the mail server down the notice stays in
// the outbox and is retried after its backoff, and once the server is back
// it arrives exactly once.
func TestServerDownThenBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	s := e.sender(t, nil)
	e.server.stop()
	tk := e.open(t, tickets.NewCall{Organization: "giustizia"})

	if _, err := s.SendPending(ctx); err == nil {
		t.Fatal("SendPending succeeded with the server down")
	}
	var attempts int
	var next time.Time
	if err := e.pool.QueryRow(ctx, `SELECT attempts, next_attempt_at FROM notify_outbox`).Scan(&attempts, &next); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after a failure: attempts %d, next attempt %v; want 1, %v", attempts, next, t0.Add(time.Minute))
	}
	e.clk.Advance(time.Minute)
	if _, err := s.SendPending(ctx); err == nil {
		t.Fatal("second attempt succeeded with the server down")
	}
	// Second failure: twice the wait.
	if err := e.pool.QueryRow(ctx, `SELECT next_attempt_at FROM notify_outbox`).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if want := e.clk.Now().Add(2 * time.Minute); !next.Equal(want) {
		t.Fatalf("next attempt %v, want %v", next, want)
	}

	e.server.start()
	sendAll(t, s, 0) // not due yet
	e.clk.Advance(2 * time.Minute)
	sendAll(t, s, 1)
	sendAll(t, e.sender(t, nil), 0)
	msgs := e.server.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Msg.Header.Get("Subject"), string(tk.Number)) {
		t.Fatalf("server got %d messages, want the opening notice once", len(msgs))
	}
}

// TestConcurrentSenders: two senders (two ivrd instances) draining one
// outbox deliver every message exactly once.
func TestConcurrentSenders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const n = 20
	for range n {
		e.open(t, tickets.NewCall{Organization: "giustizia"})
	}
	a, b := e.sender(t, nil), e.sender(t, nil)
	var wg sync.WaitGroup
	var total atomic.Int64
	for _, s := range []*notify.Sender{a, b} {
		wg.Go(func() {
			k, err := s.SendPending(ctx)
			if err != nil {
				t.Error(err)
			}
			total.Add(int64(k))
		})
	}
	wg.Wait()
	msgs := e.server.messages()
	ids := map[string]int{}
	for _, m := range msgs {
		ids[m.Msg.Header.Get("Message-Id")]++
	}
	if total.Load() != n || len(msgs) != n || len(ids) != n {
		t.Fatalf("sent %d, server got %d messages with %d distinct ids; want %d each", total.Load(), len(msgs), len(ids), n)
	}
}

// TestRecipientsByEvent: a request left after hours goes to its group, a
// status change only when configured, an escalation (priority raised by the
// system) to the supervisors, a priority changed by an operator to nobody;
// an Administration recognised after the opening gets the opening notice
// then, once.
func TestRecipientsByEvent(t *testing.T) {
	t.Parallel()
	// As ivrd runs it, the store asks WantsUpdated first: the updates it
	// declines are written without the Hook, and no notice may be lost.
	for _, filtered := range []bool{false, true} {
		t.Run(map[bool]string{false: "every update", true: "WantsUpdated"}[filtered], func(t *testing.T) {
			t.Parallel()
			recipientsByEvent(t, filtered)
		})
	}
}

func recipientsByEvent(t *testing.T, filtered bool) {
	e := newEnv(t, func(c *notify.Config) {
		c.StatusChanges = []tickets.Status{tickets.StatusInProgress}
		c.Language = "en"
	})
	if filtered {
		e.store = tickets.New(e.pool, tickets.Options{Location: rome, Now: e.clk.Now, Hook: e.notifier.Hook,
			HookOnCreate: e.notifier.WantsCreated, HookOnUpdate: e.notifier.WantsUpdated})
	}
	s := e.sender(t, nil)
	tk := e.open(t, tickets.NewCall{})
	tk = e.update(t, tk, tickets.TicketUpdate{Organization: ptr("giustizia")}, tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"})
	tk = e.update(t, tk, tickets.TicketUpdate{Source: ptr(tickets.SourceAfterHours), Group: ptr("lotto6")}, tickets.Actor{Kind: tickets.ActorSystem, ID: "ivr"})
	tk = e.update(t, tk, tickets.TicketUpdate{Priority: ptr(tickets.PriorityHigh)}, tickets.Actor{Kind: tickets.ActorSystem, ID: "escalation"})
	tk = e.update(t, tk, tickets.TicketUpdate{Priority: ptr(tickets.PriorityLow)}, operator)
	tk = e.update(t, tk, tickets.TicketUpdate{Status: ptr(tickets.StatusWaiting)}, operator)
	tk = e.update(t, tk, tickets.TicketUpdate{Status: ptr(tickets.StatusInProgress)}, operator)
	e.update(t, tk, tickets.TicketUpdate{Organization: ptr("")}, operator)
	sendAll(t, s, 4)

	var got []string
	for _, m := range e.server.messages() {
		subj := strings.TrimPrefix(m.Msg.Header.Get("Subject"), "[Ticket#"+string(tk.Number)+"] ")
		got = append(got, subj+" -> "+strings.Join(m.To, ","))
	}
	want := []string{
		"Support request opened -> referente@giustizia.it,ced@giustizia.it",
		"Request left after hours -> lotto6@helpdesk.test",
		"Escalation: priority High -> sup@helpdesk.test",
		"Update: In progress -> referente@giustizia.it,ced@giustizia.it",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStartTLSAuth: STARTTLS with a certificate the client checks, and
// AUTH PLAIN; wrong credentials leave the message queued for a retry.
func TestStartTLSAuth(t *testing.T) {
	t.Parallel()
	serverTLS, roots := selfSigned(t)
	srv := startMailServer(t, func(m *mailServer) { m.tls, m.user, m.pass = serverTLS, "helpdesk", "s3cret" })
	e := newEnv(t, nil)
	cfg := e.cfg
	cfg.SMTP = smtpConfig(srv.addr)
	cfg.SMTP.TLS, cfg.SMTP.Username, cfg.SMTP.Password = notify.TLSStartTLS, "helpdesk", "wrong"
	bad, err := notify.NewSender(e.pool, cfg, notify.NewSMTP(cfg.SMTP, roots2tls(roots)), notify.SenderOptions{Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.open(t, tickets.NewCall{Organization: "giustizia"})
	if _, err := bad.SendPending(ctx); err == nil {
		t.Fatal("sent with a wrong password")
	}
	cfg.SMTP.Password = "s3cret"
	good, err := notify.NewSender(e.pool, cfg, notify.NewSMTP(cfg.SMTP, roots2tls(roots)), notify.SenderOptions{Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	sendAll(t, good, 1)
	if len(srv.messages()) != 1 {
		t.Fatalf("server got %d messages", len(srv.messages()))
	}
}

// TestTemplateOverride: a template in the configured directory replaces
// the embedded one; a broken one is refused at start.
func TestTemplateOverride(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	if err := os.MkdirAll(filepath.Join(d, "it"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(d, "it", "created.tmpl"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{{define "subject"}}Presa in carico {{.Ticket.Number}}{{end}}{{define "body"}}Personalizzato.{{end}}`)
	e := newEnv(t, func(c *notify.Config) { c.TemplateDir = d })
	tk := e.open(t, tickets.NewCall{Organization: "giustizia"})
	sendAll(t, e.sender(t, nil), 1)
	m := e.server.messages()[0]
	if got, want := m.Msg.Header.Get("Subject"), "[Ticket#"+string(tk.Number)+"] Presa in carico "+string(tk.Number); got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	if strings.TrimSpace(m.Body) != "Personalizzato." {
		t.Errorf("body %q", m.Body)
	}
	for _, bad := range []string{`{{define "subject"}}x{{end}}`, `{{define "subject"}}{{.Nope}`} {
		write(bad)
		if _, err := notify.NewNotifier(notify.Config{From: "a@b.c", TemplateDir: d}, dir, rome, nil); err == nil {
			t.Errorf("template %q accepted", bad)
		}
	}
}

// WantsUpdated declines the updates a call makes to every ticket (menu
// path, group, assignee, in progress when not notified) so that they skip
// the Hook's transaction, and takes those that notify.
func TestWantsUpdated(t *testing.T) {
	n, err := notify.NewNotifier(notify.Config{From: "h@helpdesk.test", Service: "Help desk", Language: "en",
		SMTP: notify.SMTPConfig{Host: "127.0.0.1", Port: 25, TLS: notify.TLSNone}}, dir, rome, nil)
	if err != nil {
		t.Fatal(err)
	}
	tk := tickets.Ticket{Number: "2026120700011", Organization: "giustizia", Status: tickets.StatusInProgress, Group: "lotto3"}
	for _, c := range []struct {
		name    string
		changes []tickets.Change
		want    bool
	}{
		{"menu path and group", []tickets.Change{{Field: "menu_path"}, {Field: "group", Old: "", New: "lotto3"}}, false},
		{"assignee and in progress (not notified)", []tickets.Change{{Field: "assignee", New: "op1"}, {Field: "status", Old: "new", New: "in_progress"}}, false},
		{"Administration recognised", []tickets.Change{{Field: "organization", Old: "", New: "giustizia"}}, true},
	} {
		ev := tickets.TicketEvent{Kind: tickets.TicketUpdated, Ticket: tk, Changes: c.changes}
		if got := n.WantsUpdated(ev); got != c.want {
			t.Errorf("%s: WantsUpdated = %v, want %v", c.name, got, c.want)
		}
	}
	closed := tk
	closed.Status = tickets.StatusClosed
	if !n.WantsUpdated(tickets.TicketEvent{Kind: tickets.TicketUpdated, Ticket: closed,
		Changes: []tickets.Change{{Field: "status", Old: "new", New: "closed"}}}) {
		t.Error("a closing is not wanted")
	}
}
