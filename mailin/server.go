package mailin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// Protocol is how the mail server in front hands mail over.
type Protocol string

const (
	LMTP Protocol = "lmtp" // RFC 2033: Postfix's lmtp transport, a status per recipient
	SMTP Protocol = "smtp" // a relay's smtp transport
)

// ParseListen reads a listen setting, "lmtp:HOST:PORT" or
// "smtp:HOST:PORT"; an empty host is 127.0.0.1 (listening on other
// addresses must be asked for by name, e.g. 0.0.0.0).
func ParseListen(s string) (Protocol, string, error) {
	proto, addr, ok := strings.Cut(s, ":")
	if !ok || (Protocol(proto) != LMTP && Protocol(proto) != SMTP) {
		return "", "", fmt.Errorf("mail listen %q: want lmtp:HOST:PORT or smtp:HOST:PORT", s)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("mail listen %q: %w", s, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return Protocol(proto), net.JoinHostPort(host, port), nil
}

// ServerOptions configure a listener.
type ServerOptions struct {
	Protocol Protocol // default LMTP
	// Domain is the name in the greeting; default "localhost".
	Domain string
	// Timeout bounds each command's read and write and the handling of
	// one message; default 5 minutes.
	Timeout time.Duration
}

// Server is an LMTP or SMTP listener delivering into a Service.
type Server struct {
	srv *smtp.Server
}

// NewServer returns a listener for s; Serve it on a net.Listener.
func (s *Service) NewServer(opts ServerOptions) *Server {
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Minute
	}
	srv := smtp.NewServer(backend{s: s, timeout: opts.Timeout})
	srv.LMTP = opts.Protocol != SMTP
	srv.Domain = cmpStr(opts.Domain, "localhost")
	srv.MaxMessageBytes = s.cfg.MaxMessageBytes
	srv.MaxRecipients = 100
	srv.ReadTimeout, srv.WriteTimeout = opts.Timeout, opts.Timeout
	srv.ErrorLog = slogPrinter{s.log}
	return &Server{srv: srv}
}

// Serve accepts connections on ln until Shutdown or Close.
func (sv *Server) Serve(ln net.Listener) error {
	err := sv.srv.Serve(ln)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for those open to end,
// until ctx ends (then they are closed).
func (sv *Server) Shutdown(ctx context.Context) error {
	err := sv.srv.Shutdown(ctx)
	if err != nil {
		_ = sv.srv.Close()
	}
	return err
}

type backend struct {
	s       *Service
	timeout time.Duration
}

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{backend: b, remote: c.Conn().RemoteAddr().String()}, nil
}

type session struct {
	backend
	remote  string
	from    string
	hasRcpt bool
}

func (x *session) Reset()        { x.from, x.hasRcpt = "", false }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if len(x.s.cfg.Addresses) > 0 && !slices.Contains(x.s.cfg.Addresses, strings.ToLower(to)) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	}
	x.hasRcpt = true
	return nil
}

// Data delivers the message once, whatever the number of recipients (each
// of them gets the same status over LMTP).
func (x *session) Data(r io.Reader) error {
	ctx, cancel := context.WithTimeout(context.Background(), x.timeout)
	defer cancel()
	er := &errReader{r: r}
	_, err := x.s.Deliver(ctx, x.from, er)
	_, _ = io.Copy(io.Discard, er) // the whole message is read before the reply
	var se *smtp.SMTPError
	switch {
	case errors.As(er.err, &se):
		// The connection's own verdict (the size limit), whatever the
		// parser made of the message cut short.
		x.s.log.Warn("mail_refused", "remote", x.remote, "error", se.Error())
		return se
	case err == nil:
		return nil
	case errors.Is(err, ErrMalformed):
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message not readable as e-mail"}
	}
	x.s.log.Error("mail_delivery_failed", "remote", x.remote, "error", err.Error())
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
}

// slogPrinter is go-smtp's error log on slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Warn("mail_server_error", "error", fmt.Sprintf(format, v...))
}

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("mail_server_error", "error", strings.TrimSpace(fmt.Sprintln(v...)))
}

// errReader keeps the first error of the message's reader other than EOF.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}
