package notify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/mail"
	"strconv"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Transport delivers one message.
type Transport interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// PermanentError marks a refusal that retrying will not change (an SMTP
// 5xx reply): the message is given up at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SMTP is a Transport to a mail server, one connection per message.
type SMTP struct {
	cfg SMTPConfig
	tls *tls.Config
}

// NewSMTP returns a Transport to the server of cfg. tlsConfig may be nil
// (system roots, cfg.ServerName or cfg.Host as the name).
func NewSMTP(cfg SMTPConfig, tlsConfig *tls.Config) *SMTP {
	cfg = Config{SMTP: cfg}.withDefaults().SMTP
	if tlsConfig == nil {
		tlsConfig = &tls.Config{}
	} else {
		tlsConfig = tlsConfig.Clone()
	}
	tlsConfig.ServerName = cmp.Or(tlsConfig.ServerName, cfg.ServerName, cfg.Host)
	return &SMTP{cfg: cfg, tls: tlsConfig}
}

// Send delivers msg from the envelope sender from to every address of to.
func (s *SMTP) Send(ctx context.Context, from string, to []string, msg []byte) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var c *smtp.Client
	switch s.cfg.TLS {
	case TLSImplicit:
		c = smtp.NewClient(tls.Client(conn, s.tls))
	case TLSStartTLS:
		if c, err = smtp.NewClientStartTLS(conn, s.tls); err != nil {
			conn.Close()
			return fmt.Errorf("smtp starttls: %w", err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HeloName); err != nil {
		return smtpError("hello", err)
	}
	if s.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
			return smtpError("auth", err)
		}
	}
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return smtpError("send", err)
	}
	if err := c.Quit(); err != nil {
		// Delivered: the server accepted the data before QUIT.
		return nil
	}
	return nil
}

func smtpError(op string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 && op != "auth" {
		return &PermanentError{Err: fmt.Errorf("smtp %s: %w", op, err)}
	}
	return fmt.Errorf("smtp %s: %w", op, err)
}

// SenderOptions configure a Sender.
type SenderOptions struct {
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are not registered
}

// Sender sends the outbox's due messages.
type Sender struct {
	pool      *pgxpool.Pool
	cfg       Config
	from      string // envelope
	header    string // From header, for messages queued without one
	transport Transport
	now       func() time.Time
	log       *slog.Logger
	metrics   senderMetrics
}

type senderMetrics struct {
	sent     prometheus.Counter
	failures *prometheus.CounterVec
	duration prometheus.Histogram
}

// NewSender returns a Sender of the outbox in pool through transport.
func NewSender(pool *pgxpool.Pool, cfg Config, transport Transport, opts SenderOptions) (*Sender, error) {
	cfg = cfg.withDefaults()
	from, err := envelopeAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("notify sender: from: %w", err)
	}
	header, _ := mail.ParseAddress(cfg.From) // parsed above
	s := &Sender{pool: pool, cfg: cfg, from: from, header: header.String(), transport: transport,
		now: opts.Now, log: cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))}
	if s.now == nil {
		s.now = time.Now
	}
	s.metrics = senderMetrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "ivr_notify_emails_sent_total",
			Help: "E-mails accepted by the mail server."}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivr_notify_email_failures_total",
			Help: "Failed e-mail delivery attempts, by outcome (retry or given_up)."}, []string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ivr_notify_send_duration_seconds",
			Help: "Time to deliver one e-mail to the mail server.", Buckets: prometheus.DefBuckets}),
	}
	// Exported at 0 from the start: Prometheus sees no increase in a
	// series whose first sample is already 1, and an alert on the first
	// e-mail given up would miss it.
	for _, o := range []string{"retry", "given_up"} {
		s.metrics.failures.WithLabelValues(o)
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.metrics.sent, s.metrics.failures, s.metrics.duration} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("notify sender: register metrics: %w", err)
			}
		}
	}
	return s, nil
}

func envelopeAddress(s string) (string, error) {
	a, err := parseAddress(s)
	if err != nil {
		return "", err
	}
	return a, nil
}

// Run sends due messages every PollInterval until ctx is cancelled.
func (s *Sender) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		if _, err := s.SendPending(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("notify_send_pending_failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SendPending sends the messages due now, one at a time, and returns how
// many the server accepted. Each message is claimed with FOR UPDATE SKIP
// LOCKED (another instance's Sender skips it), sent, and marked sent or
// rescheduled in the same transaction; a crash between the server's
// acceptance and the commit can send it again, with the same Message-ID,
// which mail systems use to drop duplicates. When the server cannot be
// reached SendPending stops at the first message and returns the error:
// the others would fail the same way.
func (s *Sender) SendPending(ctx context.Context) (int, error) {
	sent := 0
	for {
		more, ok, err := s.sendOne(ctx)
		if ok {
			sent++
		}
		if err != nil || !more {
			return sent, err
		}
	}
}

// sendOne handles the next due message: more is false when there was
// none, ok when it was sent; err when the server could not be reached.
func (s *Sender) sendOne(ctx context.Context) (more, ok bool, err error) {
	var sendErr error
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.now()
		var (
			id       int64
			msgID    string
			to       []string
			msg      []byte
			attempts int
		)
		err := tx.QueryRow(ctx, `SELECT id, message_id, recipients, message, attempts FROM notify_outbox
			WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
			ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, now).Scan(&id, &msgID, &to, &msg, &attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		more = true
		rcpt := make([]string, 0, len(to))
		for _, a := range to {
			if addr, err := parseAddress(a); err == nil {
				rcpt = append(rcpt, addr)
			}
		}
		start := time.Now()
		sendErr = s.transport.Send(ctx, s.from, rcpt, withFrom(msg, s.header))
		s.metrics.duration.Observe(time.Since(start).Seconds())
		attempts++
		if sendErr == nil {
			ok = true
			s.metrics.sent.Inc()
			_, err = tx.Exec(ctx, `UPDATE notify_outbox SET sent_at = $2, attempts = $3, last_error = '' WHERE id = $1`,
				id, now, attempts)
			s.log.Info("notice_sent", "message_id", msgID, "attempts", attempts)
			return err
		}
		var perm *PermanentError
		if errors.As(sendErr, &perm) || attempts >= s.cfg.MaxAttempts {
			s.metrics.failures.WithLabelValues("given_up").Inc()
			s.log.Error("notice_given_up", "message_id", msgID, "attempts", attempts, "error", sendErr.Error())
			_, err = tx.Exec(ctx, `UPDATE notify_outbox SET failed_at = $2, attempts = $3, last_error = $4 WHERE id = $1`,
				id, now, attempts, sendErr.Error())
			sendErr = nil // that message is settled; go on with the others
			return err
		}
		s.metrics.failures.WithLabelValues("retry").Inc()
		next := now.Add(s.backoff(attempts))
		s.log.Warn("notice_send_failed", "message_id", msgID, "attempts", attempts, "retry_at", next, "error", sendErr.Error())
		_, err = tx.Exec(ctx, `UPDATE notify_outbox SET next_attempt_at = $2, attempts = $3, last_error = $4 WHERE id = $1`,
			id, next, attempts, sendErr.Error())
		return err
	})
	if err != nil {
		return false, false, fmt.Errorf("send notice: %w", err)
	}
	if sendErr != nil {
		return false, false, fmt.Errorf("send notice: %w", sendErr)
	}
	return more, ok, nil
}

// backoff is the wait after the n-th failed attempt.
func (s *Sender) backoff(n int) time.Duration {
	d := float64(s.cfg.BackoffBase) * math.Pow(2, float64(n-1))
	if d > float64(s.cfg.BackoffMax) {
		return s.cfg.BackoffMax
	}
	return time.Duration(d)
}
