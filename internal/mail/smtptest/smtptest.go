// Package smtptest runs a real SMTP server in the test process, so that tests anywhere in the
// repository can send mail over the wire and read back what arrived.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/mail"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/dsr-project/dsr/internal/domain"
	dsrmail "github.com/dsr-project/dsr/internal/mail"
)

// Received is one message the server accepted.
type Received struct {
	From    string   // envelope sender
	Rcpt    []string // envelope recipients
	To      string   // To header
	Subject string   // decoded
	Text    string   // text/plain part, decoded
	HTML    string   // text/html part, decoded
	Header  mail.Header
	Raw     []byte
}

// Option configures the server.
type Option func(*Server)

// WithAuth requires AUTH PLAIN with these credentials before MAIL FROM.
func WithAuth(username, password string) Option {
	return func(s *Server) { s.username, s.password = username, password }
}

// WithSTARTTLS offers STARTTLS with a self-signed certificate for 127.0.0.1, and then
// allows AUTH only after STARTTLS.
func WithSTARTTLS() Option { return func(s *Server) { s.startTLS = true } }

// WithImplicitTLS speaks TLS from the first byte, as on port 465, with a self-signed certificate.
func WithImplicitTLS() Option { return func(s *Server) { s.implicitTLS = true } }

// WithRejectRecipient answers RCPT TO for addr with code, e.g. 550 or 450.
func WithRejectRecipient(addr string, code int) Option {
	return func(s *Server) { s.reject[domain.FoldEmail(addr)] = code }
}

// Server is a running SMTP server on 127.0.0.1.
type Server struct {
	username, password string
	startTLS           bool
	implicitTLS        bool
	reject             map[string]int

	srv     *smtp.Server
	ln      net.Listener
	mu      sync.Mutex
	msgs    []Received
	arrived chan struct{} // closed and replaced whenever a message arrives
}

// Start runs a server on a free port until the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{reject: map[string]int{}, arrived: make(chan struct{})}
	for _, opt := range opts {
		opt(s)
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{server: s}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.AllowInsecureAuth = !s.startTLS && !s.implicitTLS
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	if s.startTLS {
		s.srv.TLSConfig = tlsConfig
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	if s.implicitTLS {
		ln = tls.NewListener(ln, tlsConfig)
	}
	s.ln = ln
	go func() { _ = s.srv.Serve(ln) }() // returns nil once Close is called
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// Addr returns host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host returns the address the server listens on, 127.0.0.1.
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Messages returns every message accepted so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// WaitFor returns the first message to the address to (envelope or To header), failing the
// test if none arrives within timeout.
func (s *Server) WaitFor(t testing.TB, to string, timeout time.Duration) Received {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		arrived, msgs := s.arrived, s.msgs
		s.mu.Unlock()
		for _, m := range msgs {
			if m.isFor(to) {
				return m
			}
		}
		select {
		case <-arrived:
		case <-deadline:
			t.Fatalf("smtptest: no message to %s within %s", to, timeout)
		}
	}
}

func (m Received) isFor(to string) bool {
	addrs := slices.Clone(m.Rcpt)
	if list, err := mail.ParseAddressList(m.To); err == nil {
		for _, a := range list {
			addrs = append(addrs, a.Address)
		}
	}
	to = domain.FoldEmail(to)
	return slices.ContainsFunc(addrs, func(a string) bool { return domain.FoldEmail(a) == to })
}

func (s *Server) add(m Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

type session struct {
	server *Server
	authed bool
	from   string
	rcpt   []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.server.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.server.username || password != ss.server.password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.server.username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if code, ok := ss.server.reject[domain.FoldEmail(to)]; ok {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 1, 1},
			Message: "Mailbox unavailable: " + to} // echoes the address, as real servers do
	}
	ss.rcpt = append(ss.rcpt, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	m.From, m.Rcpt = ss.from, ss.rcpt
	ss.server.add(m)
	return nil
}

func (ss *session) Reset()        { ss.from, ss.rcpt = "", nil }
func (ss *session) Logout() error { return nil }

func parse(raw []byte) (Received, error) {
	read, err := dsrmail.ReadMessage(raw)
	if err != nil {
		return Received{}, err
	}
	return Received{To: read.Header.Get("To"), Subject: read.Subject, Text: read.Text, HTML: read.HTML, Header: read.Header, Raw: raw}, nil
}

func selfSigned(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("smtptest: generate key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smtptest"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtptest: create certificate: %v", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
