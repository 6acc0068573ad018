package mailin_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/internal/smtptest"
	"github.com/helpdesk-ivr/ivr/internal/testkit"
	"github.com/helpdesk-ivr/ivr/mailin"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

func TestMain(m *testing.M) { pgtest.Main(m, tickets.Migrate, notify.Migrate, mailin.Migrate) }

var (
	ctx      = context.Background()
	rome     = testkit.MustLoad("Europe/Rome")
	t0       = time.Date(2026, 11, 23, 9, 0, 0, 0, rome)
	operator = tickets.Actor{Kind: tickets.ActorOperator, ID: "op301"}
	system   = tickets.Viewer{Kind: tickets.ViewerSystem}
	msgSeq   atomic.Int64
)

// env is the help desk's mail: the store with the notifications' hook,
// the Service behind a real listener on loopback, and the outbox sent to a
// real SMTP server.
type env struct {
	pool     *pgxpool.Pool
	clk      *testkit.Clock
	store    *tickets.Store
	notifier *notify.Notifier
	svc      *mailin.Service
	addr     string
	proto    mailin.Protocol
	out      *smtptest.Server
	sender   *notify.Sender
	reg      *prometheus.Registry
}

func newEnv(t *testing.T, proto mailin.Protocol, cfg mailin.Config) *env {
	t.Helper()
	e := &env{pool: pgtest.Pool(t), clk: testkit.NewClock(t0), proto: proto, out: smtptest.Start(t), reg: prometheus.NewRegistry()}
	conf, err := configfile.Load("../configs/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ncfg := notify.Config{SMTP: notify.SMTPConfig{Host: e.out.Host(), Port: e.out.Port(), TLS: notify.TLSNone},
		From: "Help desk <help@helpdesk.test>", Service: "Help desk Giustizia"}
	dir := notify.MenuDirectory(func() *menu.Config { return conf })
	if e.notifier, err = notify.NewNotifier(ncfg, dir, rome, nil); err != nil {
		t.Fatal(err)
	}
	e.store = tickets.New(e.pool, tickets.Options{Location: rome, Now: e.clk.Now, Hook: e.notifier.Hook,
		HookOnMessage: e.notifier.WantsMessage})
	if e.sender, err = notify.NewSender(e.pool, ncfg, notify.NewSMTP(ncfg.SMTP, nil), notify.SenderOptions{Now: e.clk.Now}); err != nil {
		t.Fatal(err)
	}
	e.svc, err = mailin.New(cfg, mailin.Options{Pool: e.pool, Tickets: e.store, Notifier: e.notifier,
		Config: func() *menu.Config { return conf }, Now: e.clk.Now, Registerer: e.reg})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	srv := e.svc.NewServer(mailin.ServerOptions{Protocol: proto, Domain: "helpdesk.test", Timeout: time.Minute})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return e
}

// send has one conversation with the listener: LHLO or EHLO, MAIL FROM
// returnPath, RCPT TO help@helpdesk.test, DATA msg.
func (e *env) send(t *testing.T, returnPath, msg string) error {
	t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	var c *smtp.Client
	if e.proto == mailin.LMTP {
		c = smtp.NewClientLMTP(conn)
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if err := c.Hello("mx.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(returnPath, nil); err != nil {
		return err
	}
	if err := c.Rcpt("help@helpdesk.test", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// msg builds a message with CRLF line ends and a fresh Message-ID unless
// it has one.
func msg(s string) string {
	s = strings.TrimPrefix(s, "\n")
	if !strings.Contains(s, "Message-ID:") {
		s = fmt.Sprintf("Message-ID: <m%d.%d@example.org>\n", msgSeq.Add(1), time.Now().UnixNano()) + s
	}
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func (e *env) countTickets(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM tickets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) outbox(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM notify_outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) onlyTicket(t *testing.T) tickets.Ticket {
	t.Helper()
	page, err := e.store.FindTickets(ctx, tickets.TicketFilter{}, system)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tickets) != 1 {
		t.Fatalf("%d tickets, want 1", len(page.Tickets))
	}
	return page.Tickets[0]
}

// sendOutbox sends what is due and waits for the test server to hold want
// messages in all.
func (e *env) sendOutbox(t *testing.T, want int) []smtptest.Message {
	t.Helper()
	if _, err := e.sender.SendPending(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msgs, err := e.out.Wait(wctx, func(m []smtptest.Message) bool { return len(m) >= want })
	if err != nil {
		t.Fatalf("%d messages sent, want %d: %v", len(msgs), want, err)
	}
	if len(msgs) != want {
		t.Fatalf("%d messages sent, want %d", len(msgs), want)
	}
	return msgs
}

const firstMail = `
From: "Mario Rossì" <Mario.Rossi@tribunale-roma.example>
To: Help desk <help@helpdesk.test>
Subject: =?ISO-8859-1?Q?Stampante_guasta_in_cancelleria_=E8_urgente?=
Message-ID: <first.1@tribunale-roma.example>
Date: Mon, 23 Nov 2026 09:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed"

--mixed
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

Buongiorno, la stampante della cancelleria non funziona pi=F9 e perch=E9 =
non si sa.
--alt
Content-Type: text/html; charset=ISO-8859-1

<p>Buongiorno, la stampante <b>HTML</b></p>
--alt--
--mixed
Content-Type: application/pdf; name="errore.pdf"
Content-Disposition: attachment; filename="errore.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK
--mixed
Content-Type: application/octet-stream; name="setup.exe"
Content-Disposition: attachment; filename="setup.exe"
Content-Transfer-Encoding: base64

TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA=
--mixed--
`

// TestConversation is a whole exchange over LMTP, as Postfix delivers: a
// new mail (multipart/alternative in ISO-8859-1 quoted-printable, a base64
// PDF, an .exe) opens a ticket of the sender's Administration with the PDF
// and the sender's acknowledgement; an operator's internal note is not
// mailed, their public answer is, threaded under the sender's mail; the
// sender's reply to it, matched by its Message-ID alone (no number in the
// subject), reopens the closed ticket.
func TestConversation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mailin.LMTP, mailin.Config{})
	if err := e.send(t, "mario.rossi@tribunale-roma.example", msg(firstMail)); err != nil {
		t.Fatal(err)
	}
	tk := e.onlyTicket(t)
	if tk.Source != tickets.SourceMail || tk.Organization != "tribunale-roma-demo" || tk.Group != "lotto3" ||
		tk.Subject != "Stampante guasta in cancelleria è urgente" || tk.Status != tickets.StatusNew ||
		tk.Category != "stampa" { // the shipped mail_rules file it
		t.Fatalf("ticket %+v", tk)
	}
	if !strings.Contains(tk.Description, "non funziona più e perché non si sa.") || strings.Contains(tk.Description, "HTML") ||
		!strings.Contains(tk.Description, "[attachment refused: setup.exe") {
		t.Errorf("description:\n%s", tk.Description)
	}
	atts, err := e.store.Attachments(ctx, tk.ID, system)
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || atts[0].Name != "errore.pdf" || atts[0].ContentType != "application/pdf" || atts[0].Size != 54 {
		t.Fatalf("attachments %+v", atts)
	}
	ct, data, err := mailin.OpenAttachment(ctx, e.pool, atts[0].URI)
	if err != nil || ct != "application/pdf" || !strings.HasPrefix(string(data), "%PDF-1.4") || len(data) != 54 {
		t.Fatalf("attachment content %q %q %v", ct, data, err)
	}

	// The opening notice to the Administration and the acknowledgement to
	// the sender.
	msgs := e.sendOutbox(t, 2)
	var ack smtptest.Message
	for _, m := range msgs {
		if m.To[0] == "mario.rossi@tribunale-roma.example" {
			ack = m
		}
	}
	tag := "[Ticket#" + string(tk.Number) + "]"
	if !strings.HasPrefix(ack.Subject(), tag) || ack.Header.Get("In-Reply-To") != "<first.1@tribunale-roma.example>" ||
		ack.Header.Get("Auto-Submitted") != "auto-replied" ||
		!strings.Contains(ack.Body, string(tk.Number)) {
		t.Fatalf("acknowledgement %q In-Reply-To %q:\n%s", ack.Subject(), ack.Header.Get("In-Reply-To"), ack.Body)
	}

	// An internal note is never mailed; a public answer is.
	e.clk.Advance(time.Hour)
	if _, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Internal: true, Body: "Nota interna: toner finito"}, operator); err != nil {
		t.Fatal(err)
	}
	e.sendOutbox(t, 2)
	answer, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "Abbiamo inviato un tecnico."}, operator)
	if err != nil {
		t.Fatal(err)
	}
	msgs = e.sendOutbox(t, 3)
	reply := msgs[2]
	wantID := fmt.Sprintf("<ticket.%s.a%d@helpdesk.test>", tk.Number, answer.ID)
	root := "<ticket." + string(tk.Number) + "@helpdesk.test>"
	ackID := "<ticket." + string(tk.Number) + ".received@helpdesk.test>"
	switch {
	case strings.Join(reply.To, ",") != "mario.rossi@tribunale-roma.example":
		t.Errorf("answer to %v", reply.To)
	case reply.Header.Get("Message-Id") != wantID:
		t.Errorf("answer Message-ID %q, want %q", reply.Header.Get("Message-Id"), wantID)
	case reply.Header.Get("In-Reply-To") != ackID:
		t.Errorf("answer In-Reply-To %q, want the last mail %s", reply.Header.Get("In-Reply-To"), ackID)
	case reply.Header.Get("References") != root+" <first.1@tribunale-roma.example> "+ackID:
		t.Errorf("answer References %q", reply.Header.Get("References"))
	case !strings.HasPrefix(reply.Subject(), tag+" Re: Stampante"):
		t.Errorf("answer subject %q", reply.Subject())
	case !strings.Contains(reply.Body, "Abbiamo inviato un tecnico.") || strings.Contains(reply.Body, "toner"):
		t.Errorf("answer body:\n%s", reply.Body)
	}

	// Closed meanwhile; the sender answers the answer, the subject
	// without the number.
	tk, err = e.store.FindTicketByID(ctx, tk.ID, system)
	if err != nil {
		t.Fatal(err)
	}
	closed := tickets.StatusClosed
	if tk, err = e.store.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Status: &closed}, operator); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Hour)
	err = e.send(t, "mario.rossi@tribunale-roma.example", msg(`
From: Mario.Rossi@tribunale-roma.example
To: help@helpdesk.test
Subject: Re: stampante
In-Reply-To: `+wantID+`
References: <first.1@tribunale-roma.example> `+wantID+`
Content-Type: text/plain; charset=utf-8

Il tecnico non è arrivato.

> Abbiamo inviato un tecnico.
`))
	if err != nil {
		t.Fatal(err)
	}
	if n := e.countTickets(t); n != 1 {
		t.Fatalf("%d tickets after the reply, want 1", n)
	}
	arts, err := e.store.Articles(ctx, tk.ID, system)
	if err != nil {
		t.Fatal(err)
	}
	last := arts[len(arts)-1]
	if len(arts) != 3 || last.Internal || !strings.HasPrefix(last.Body, "Il tecnico non è arrivato.") ||
		last.Author != "mario.rossi@tribunale-roma.example" {
		t.Fatalf("articles %+v", arts)
	}
	if tk, err = e.store.FindTicketByID(ctx, tk.ID, system); err != nil || tk.Status != tickets.StatusNew {
		t.Fatalf("after the reply: status %q, %v; want reopened as new", tk.Status, err)
	}
	hist, err := e.store.History(ctx, tk.ID, system)
	if err != nil {
		t.Fatal(err)
	}
	reopened := slices.IndexFunc(hist, func(h tickets.Change) bool {
		return h.Field == "status" && h.Old == "closed" && h.New == "new" && h.Actor.Kind == tickets.ActorCaller
	})
	if reopened < 0 {
		t.Errorf("no reopening by the caller in the history %+v", hist)
	}
	// The sender's own message is not mailed back to them; the closing
	// notice goes to the Administration.
	msgs = e.sendOutbox(t, 4)
	if m := msgs[3]; m.To[0] != "referente.it@tribunale-roma.example" {
		t.Errorf("after the reply, a mail to %v: %q", m.To, m.Subject())
	}
	if got := e.received(t, "reply"); got != 1 {
		t.Errorf("replies counted %v", got)
	}
}

// received is ivr_mail_received_total of outcome.
func (e *env) received(t *testing.T, outcome string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ivr_mail_received_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestMatching over SMTP: the ticket number in the subject is taken with
// a right check digit only (a wrong one opens a new ticket and leaves the
// real one alone); a number of no ticket opens a new one too; the same
// mail delivered twice is taken once; a ticket waiting on the caller goes
// back in progress when they answer.
func TestMatching(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mailin.SMTP, mailin.Config{})
	tk, err := e.store.CreateTicket(ctx, tickets.NewTicket{Subject: "Casella PEC", Group: "lotto3"}, operator)
	if err != nil {
		t.Fatal(err)
	}
	waiting := tickets.StatusWaiting
	if tk, err = e.store.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Status: &waiting}, operator); err != nil {
		t.Fatal(err)
	}
	n := string(tk.Number)
	last := n[len(n)-1] - '0'
	forged := n[:len(n)-1] + string(rune('0'+(last+1)%10))
	if _, err := tickets.ParseNumber(forged); !errors.Is(err, tickets.ErrBadCheckDigit) {
		t.Fatalf("forged number %s: %v", forged, err)
	}
	// A well-formed number of a ticket that does not exist.
	other := tickets.NewNumber(t0, 9999)

	byNumber := msg(`
From: anna@ca-milano.example
Subject: Re: [Ticket#` + n + `] Casella PEC
Content-Type: text/plain

Ancora bloccata.
`)
	for _, m := range []string{
		byNumber,
		byNumber, // delivered again
		msg("From: anna@ca-milano.example\nSubject: Ticket " + forged + " casella\n\nNumero sbagliato.\n"),
		msg("From: anna@ca-milano.example\nSubject: [Ticket#" + string(other) + "]\n\nNessuno.\n"),
	} {
		if err := e.send(t, "anna@ca-milano.example", m); err != nil {
			t.Fatal(err)
		}
	}
	arts, err := e.store.Articles(ctx, tk.ID, system)
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 1 || arts[0].Body != "Ancora bloccata." {
		t.Fatalf("articles of the ticket named %+v", arts)
	}
	// It waited on the caller, who answered: back in progress.
	if tk, err = e.store.FindTicketByID(ctx, tk.ID, system); err != nil || tk.Status != tickets.StatusInProgress {
		t.Errorf("status %q, %v; want in_progress", tk.Status, err)
	}
	page, err := e.store.FindTickets(ctx, tickets.TicketFilter{Organization: "corte-appello-milano-demo"}, system)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tickets) != 2 {
		t.Fatalf("%d new tickets from the wrong and the unknown number, want 2", len(page.Tickets))
	}
	for _, nt := range page.Tickets {
		if nt.Source != tickets.SourceMail || nt.Group != "lotto2" {
			t.Errorf("new ticket %+v", nt)
		}
	}
	if got := e.received(t, "duplicate"); got != 1 {
		t.Errorf("duplicates counted %v, want 1", got)
	}
}

// TestAutomaticMail: auto-replies, bounces, bulk mail and our own mail
// come back are accepted (the mail server neither retries nor bounces
// them) and make no message, no ticket and no answer, even when they name
// a ticket.
func TestAutomaticMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mailin.LMTP, mailin.Config{})
	tk, err := e.store.CreateTicket(ctx, tickets.NewTicket{Subject: "Casella PEC", Group: "lotto3"}, operator)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "Risposta"}, operator); err != nil {
		t.Fatal(err)
	}
	ours := "<ticket." + string(tk.Number) + ".a1@helpdesk.test>"
	subject := "Subject: Re: [Ticket#" + string(tk.Number) + "]\n"
	tests := []struct{ name, returnPath, msg, outcome string }{
		{"auto-reply", "anna@ca-milano.example", "From: anna@ca-milano.example\n" + subject + "In-Reply-To: " + ours +
			"\nAuto-Submitted: auto-replied\n\nSono in ferie.\n", "automatic"},
		{"vacation with Precedence", "anna@ca-milano.example", "From: anna@ca-milano.example\n" + subject +
			"Precedence: junk\n\nSono in ferie.\n", "automatic"},
		{"bounce", "", "From: MAILER-DAEMON@mx.ca-milano.example\nSubject: Undelivered Mail Returned to Sender\nIn-Reply-To: " + ours +
			"\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\n\n--r\nContent-Type: text/plain\n\n" +
			"could not deliver\n--r\nContent-Type: message/delivery-status\n\nAction: failed\n--r--\n", "automatic"},
		{"empty return path", "", "From: anna@ca-milano.example\n" + subject + "\nbody\n", "automatic"},
		{"our own mail back", "help@helpdesk.test", "Message-ID: " + ours + "\nFrom: Help desk <help@helpdesk.test>\n" +
			subject + "\nRisposta\n", "loop"},
		{"from our address", "help@helpdesk.test", "From: help@helpdesk.test\n" + subject + "\nRisposta\n", "loop"},
	}
	before := e.outbox(t)
	for _, tc := range tests {
		if err := e.send(t, tc.returnPath, msg(tc.msg)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	if n := e.countTickets(t); n != 1 {
		t.Errorf("%d tickets, want 1", n)
	}
	arts, err := e.store.Articles(ctx, tk.ID, system)
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 1 {
		t.Errorf("%d articles, want the operator's only", len(arts))
	}
	if n := e.outbox(t); n != before {
		t.Errorf("outbox %d, was %d: automatic mail was answered", n, before)
	}
	if a, l := e.received(t, "automatic"), e.received(t, "loop"); a != 4 || l != 2 {
		t.Errorf("counted %v automatic, %v loops; want 4, 2", a, l)
	}
}

// TestRefusals: a message over the size limit is refused by the listener
// (552) and leaves nothing; so are recipients other than the help desk's
// addresses, and mail that is not mail (554).
func TestRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mailin.SMTP, mailin.Config{Addresses: []string{"Help desk <help@helpdesk.test>"}, MaxMessageBytes: 4096})
	big := msg("From: anna@ca-milano.example\nSubject: big\n\n" + strings.Repeat("x", 76) + "\n")
	big += strings.Repeat(strings.Repeat("y", 76)+"\r\n", 100)
	err := e.send(t, "anna@ca-milano.example", big)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 552 {
		t.Errorf("oversized message: %v, want 552", err)
	}
	if err := e.send(t, "anna@ca-milano.example", msg("Subject: no sender\n\nx\n")); !errors.As(err, &se) || se.Code != 554 {
		t.Errorf("message without From: %v, want 554", err)
	}
	if n := e.countTickets(t); n != 0 {
		t.Errorf("%d tickets", n)
	}
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Mail("anna@ca-milano.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("someone.else@helpdesk.test", nil); !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("RCPT to another address: %v, want 550", err)
	}
	if err := c.Rcpt("HELP@helpdesk.test", nil); err != nil {
		t.Errorf("RCPT to the help desk: %v", err)
	}
}

// TestDatabaseAway: with the database away the listener answers 451, a
// temporary failure, so that the mail server keeps the mail and retries.
func TestDatabaseAway(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mailin.LMTP, mailin.Config{})
	e.pool.Close()
	err := e.send(t, "anna@ca-milano.example", msg("From: anna@ca-milano.example\nSubject: x\n\nbody\n"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("database away: %v, want 451", err)
	}
}

// TestStrangerIsNotAnswered: anyone may write with a ticket's number, and
// their mail is kept on the ticket, but the answers keep going to the
// ticket's contact; someone of the ticket's Administration who writes
// becomes its contact.
func TestStrangerIsNotAnswered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mailin.SMTP, mailin.Config{})
	if err := e.send(t, "mario.rossi@tribunale-roma.example", msg(firstMail)); err != nil {
		t.Fatal(err)
	}
	tk := e.onlyTicket(t)
	e.sendOutbox(t, 2) // the opening notice and the acknowledgement
	answer := func(want string, sent int) {
		t.Helper()
		if _, err := e.store.AddArticle(ctx, tk.ID, tickets.Article{Body: "Risposta per " + want}, operator); err != nil {
			t.Fatal(err)
		}
		msgs := e.sendOutbox(t, sent)
		if got := strings.Join(msgs[sent-1].To, ","); got != want {
			t.Errorf("answer to %s, want %s", got, want)
		}
	}
	tag := "[Ticket#" + string(tk.Number) + "]"
	if err := e.send(t, "eve@attacker.example", msg("From: eve@attacker.example\nSubject: Re: "+tag+
		"\n\nMandatemi le credenziali.\n")); err != nil {
		t.Fatal(err)
	}
	arts, err := e.store.Articles(ctx, tk.ID, system)
	if err != nil || len(arts) != 1 || arts[0].Author != "eve@attacker.example" {
		t.Fatalf("the stranger's mail on the ticket: %+v, %v", arts, err)
	}
	answer("mario.rossi@tribunale-roma.example", 3)
	if err := e.send(t, "lucia.verdi@tribunale-roma.example", msg("From: lucia.verdi@tribunale-roma.example\nSubject: Re: "+tag+
		"\n\nSeguo io la richiesta.\n")); err != nil {
		t.Fatal(err)
	}
	answer("lucia.verdi@tribunale-roma.example", 4)
}
