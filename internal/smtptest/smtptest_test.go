package smtptest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/smtptest"
	"github.com/helpdesk-ivr/ivr/notify"
)

const msg = "From: Help desk <helpdesk@example.org>\r\nTo: a@example.org\r\n" +
	"Subject: =?utf-8?q?Priorit=C3=A0_alta?=\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"Buongiorno, il ticket =C3=A8 aperto.\r\n"

func transport(s *smtptest.Server) *notify.SMTP {
	return notify.NewSMTP(notify.SMTPConfig{Host: s.Host(), Port: s.Port(), TLS: notify.TLSNone, Timeout: 5 * time.Second}, nil)
}

// A message sent over SMTP arrives whole, with its envelope; while the
// server is down every delivery fails and nothing is kept; back up, it
// accepts again on the same port.
func TestReceiveDownAndBack(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr := transport(s)
	if err := tr.Send(ctx, "helpdesk@example.org", []string{"a@example.org", "b@example.org"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Wait(ctx, func(m []smtptest.Message) bool { return len(m) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	m := got[0]
	if m.From != "helpdesk@example.org" || strings.Join(m.To, " ") != "a@example.org b@example.org" {
		t.Errorf("envelope %q → %q", m.From, m.To)
	}
	if m.Subject() != "Priorità alta" || m.Body != "Buongiorno, il ticket è aperto.\r\n" {
		t.Errorf("subject %q body %q", m.Subject(), m.Body)
	}

	s.SetDown(true)
	if err := tr.Send(ctx, "helpdesk@example.org", []string{"a@example.org"}, []byte(msg)); err == nil {
		t.Fatal("sent to a server that is down")
	}
	if s.Refused() != 1 || len(s.Messages()) != 1 {
		t.Errorf("down: %d refused, %d messages", s.Refused(), len(s.Messages()))
	}

	s.SetDown(false)
	if err := tr.Send(ctx, "helpdesk@example.org", []string{"c@example.org"}, []byte(msg)); err != nil {
		t.Fatalf("back up: %v", err)
	}
	if got := s.Messages(); len(got) != 2 || got[1].To[0] != "c@example.org" {
		t.Errorf("messages %+v", got)
	}
}

// Wait gives up with the context and returns what it has.
func TestWaitTimesOut(t *testing.T) {
	t.Parallel()
	s := smtptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if got, err := s.Wait(ctx, func(m []smtptest.Message) bool { return len(m) > 0 }); err == nil || len(got) != 0 {
		t.Errorf("Wait on no message: %v %v", got, err)
	}
}
