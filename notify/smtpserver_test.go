package notify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message the test server accepted.
type received struct {
	From string
	To   []string
	Msg  *mail.Message
	Body string
}

// mailServer is a real SMTP server (go-smtp) on loopback that keeps what it
// receives. It can be stopped and started again on the same address.
type mailServer struct {
	t    *testing.T
	addr string
	tls  *tls.Config // STARTTLS offered when set
	user string      // AUTH PLAIN required when set
	pass string

	mu   sync.Mutex
	msgs []received
	srv  *smtp.Server
	up   bool
}

func startMailServer(t *testing.T, configure func(*mailServer)) *mailServer {
	t.Helper()
	m := &mailServer{t: t, addr: "127.0.0.1:0"}
	if configure != nil {
		configure(m)
	}
	// One listener for the whole test: "down" hangs up on every
	// connection rather than freeing the port, which another test's
	// server could take and answer for it.
	l, err := net.Listen("tcp", m.addr)
	if err != nil {
		t.Fatalf("mail server: %v", err)
	}
	m.addr = l.Addr().String()
	conns := &chanListener{addr: l.Addr(), c: make(chan net.Conn), done: make(chan struct{})}
	s := smtp.NewServer(m)
	s.Domain = "mx.test"
	s.TLSConfig = m.tls
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	m.srv = s
	m.start()
	go s.Serve(conns)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			m.mu.Lock()
			up := m.up
			m.mu.Unlock()
			if !up {
				c.Close()
				continue
			}
			select {
			case conns.c <- c:
			case <-conns.done:
				c.Close()
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		s.Close()
		conns.Close()
	})
	return m
}

// start brings the server (back) up; stop takes it down.
func (m *mailServer) start() {
	m.mu.Lock()
	m.up = true
	m.mu.Unlock()
}

func (m *mailServer) stop() {
	m.mu.Lock()
	m.up = false
	m.mu.Unlock()
}

// chanListener hands the SMTP server the connections accepted above.
type chanListener struct {
	addr net.Addr
	c    chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.c:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

func (m *mailServer) messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.msgs...)
}

func (m *mailServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &mailSession{m: m}, nil
}

type mailSession struct {
	m      *mailServer
	authed bool
	from   string
	to     []string
}

func (s *mailSession) AuthMechanisms() []string {
	if s.m.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *mailSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.m.user || pass != s.m.pass {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.m.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	var br io.Reader = msg.Body
	if msg.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		br = quotedprintable.NewReader(br)
	}
	body, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, received{From: s.from, To: s.to, Msg: msg, Body: string(body)})
	s.m.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

// selfSigned returns a server certificate for 127.0.0.1 and a pool
// trusting it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"mx.test"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func roots2tls(roots *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: roots} }
