// Package smtptest is a real SMTP server on loopback for tests (go-smtp,
// plain text, no authentication): it keeps every message it accepts, and it
// can be taken down and brought back. Down, it keeps its port and hangs up
// on every connection before the greeting, as a mail server that is not
// there: a client sees its connection fail, and no other test's server
// can take the port and answer in its place.
package smtptest

import (
	"context"
	"io"
	"log"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From   string   // envelope sender (MAIL FROM)
	To     []string // envelope recipients (RCPT TO)
	Header mail.Header
	Body   string // decoded from quoted-printable when so encoded
	Raw    []byte
}

// Subject is the Subject header, RFC 2047 words decoded.
func (m Message) Subject() string {
	var d mime.WordDecoder
	s, err := d.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}

// Server is a running SMTP server.
type Server struct {
	addr *net.TCPAddr
	srv  *smtp.Server
	ln   net.Listener

	mu      sync.Mutex
	msgs    []Message
	down    bool
	refused int
	changed chan struct{} // closed and replaced at each message
}

// Start starts a server on a free loopback port; it stops when the test
// ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := New()
	if err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// New starts a server on a free loopback port; Close stops it.
func New() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{addr: ln.Addr().(*net.TCPAddr), changed: make(chan struct{})}
	s.ln = &gate{Listener: ln, s: s}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "mx.smtptest"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = s.srv.Serve(s.ln) }()
	return s, nil
}

// Close stops the server and frees its port.
func (s *Server) Close() { _ = s.srv.Close() }

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr.String() }

// Host is the server's address, 127.0.0.1.
func (s *Server) Host() string { return s.addr.IP.String() }

// Port is the server's port.
func (s *Server) Port() int { return s.addr.Port }

// SetDown takes the server down (true) or brings it back (false).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// Refused counts the connections hung up on while down.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Messages returns the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait waits until done holds for the messages accepted so far and
// returns them; on ctx's end it returns the messages with ctx's error.
func (s *Server) Wait(ctx context.Context, done func([]Message) bool) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs, changed := append([]Message(nil), s.msgs...), s.changed
		s.mu.Unlock()
		if done(msgs) {
			return msgs, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return msgs, ctx.Err()
		}
	}
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// gate hands the SMTP server the connections that come while the server
// is up and hangs up on the others.
type gate struct {
	net.Listener
	s *Server
}

func (g *gate) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		g.s.mu.Lock()
		down := g.s.down
		if down {
			g.s.refused++
		}
		g.s.mu.Unlock()
		if !down {
			return c, nil
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, as a closed port gives
		}
		c.Close()
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable message: " + err.Error()}
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable body: " + err.Error()}
	}
	x.s.add(Message{From: x.from, To: append([]string(nil), x.to...), Header: msg.Header, Body: string(text), Raw: raw})
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
