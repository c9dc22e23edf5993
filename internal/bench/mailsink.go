package bench

import (
	"context"
	"io"
	"net"
	"sync"

	"github.com/emersion/go-smtp"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
)

// MailSink is an SMTP server on loopback that keeps the last one-time code mailed to each
// address. A worker running as its own process sends mail by SMTP, not to the dev mailbox,
// and the harness reads its codes here.
type MailSink struct {
	ln    net.Listener
	srv   *smtp.Server
	mu    sync.Mutex
	codes map[string]string
}

// StartMailSink listens on a free loopback port.
func StartMailSink() (*MailSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &MailSink{ln: ln, codes: map[string]string{}}
	s.srv = smtp.NewServer(sinkBackend{s})
	s.srv.Domain = "localhost"
	go s.srv.Serve(ln)
	return s, nil
}

// Host and Port are where the worker sends mail.
func (s *MailSink) Host() string { return "127.0.0.1" }
func (s *MailSink) Port() int    { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops the server.
func (s *MailSink) Close() error { return s.srv.Close() }

// ReadCode returns the code last mailed to email, or "" while none has arrived.
func (s *MailSink) ReadCode(_ context.Context, email string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[domain.FoldEmail(email)], nil
}

func (s *MailSink) keep(rcpt []string, raw []byte) {
	read, err := mail.ReadMessage(raw)
	if err != nil {
		return
	}
	text := read.Text
	code := codeInMail.FindStringSubmatch(text)
	if code == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, to := range rcpt {
		s.codes[domain.FoldEmail(to)] = code[1]
	}
}

type sinkBackend struct{ sink *MailSink }

func (b sinkBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &sinkSession{sink: b.sink}, nil
}

type sinkSession struct {
	sink *MailSink
	rcpt []string
}

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.rcpt = append(ss.rcpt, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.sink.keep(ss.rcpt, raw)
	return nil
}
func (ss *sinkSession) Reset()        { ss.rcpt = nil }
func (ss *sinkSession) Logout() error { return nil }
