// Command smtpsink is the mail server of deploy/local-cluster.sh when no DSR_SMTP_HOST is
// given: it accepts every message on a loopback port and writes each one, as received, to a
// numbered .eml file in a directory, so that codes can be read from there. It is a local
// tool for tests and benchmarks, not a mail server.
//
//	smtpsink --listen 127.0.0.1:2525 --dir DIR/mail
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:2525", "loopback address to accept mail on")
	dir := flag.String("dir", "mail", "directory the messages are written to")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		log.Fatal(err)
	}
	srv := smtp.NewServer(&backend{dir: *dir})
	srv.Addr, srv.Domain = *listen, "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	log.Printf("smtpsink: accepting mail on %s, writing it to %s", *listen, *dir)
	log.Fatal(srv.ListenAndServe())
}

type backend struct {
	dir  string
	seen atomic.Int64
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct {
	b    *backend
	rcpt []string
}

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpt = append(s.rcpt, to)
	return nil
}

// Data writes the message with its envelope recipients first, so a reader can find a
// person's mail without parsing headers. The file appears whole (written, then renamed).
func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	n := s.b.seen.Add(1)
	name := filepath.Join(s.b.dir, fmt.Sprintf("%06d-%d.eml", n, os.Getpid()))
	var envelope []byte
	for _, to := range s.rcpt {
		envelope = fmt.Appendf(envelope, "X-Envelope-To: %s\r\n", to)
	}
	if err := os.WriteFile(name+".tmp", append(envelope, raw...), 0o600); err != nil {
		return err
	}
	return os.Rename(name+".tmp", name)
}

func (s *session) Reset()        { s.rcpt = nil }
func (s *session) Logout() error { return nil }
