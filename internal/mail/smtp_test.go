package mail_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/mail/smtptest"
)

const (
	to     = "ada@example.org"
	secret = "private words only the requester should see"
)

func newSender(t *testing.T, srv *smtptest.Server, edit func(*mail.SMTPConfig)) *mail.SMTPSender {
	t.Helper()
	cfg := mail.SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: mail.TLSNone,
		From: "Privacy Team <privacy@example.com>", Timeout: 5 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	s, err := mail.NewSMTPSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func message() mail.Message {
	return mail.Message{To: to, Subject: "Hello", Text: "Text: " + secret, HTML: "<p>HTML: " + secret + "</p>"}
}

// assertNoPII fails if err is nil or mentions the recipient or the message text.
func assertNoPII(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error")
	}
	if msg := err.Error(); strings.Contains(msg, to) || strings.Contains(msg, secret) || strings.Contains(msg, "example.org") {
		t.Errorf("error leaks PII: %q", msg)
	}
}

func TestSendDeliversTextAndHTMLParts(t *testing.T) {
	srv := smtptest.Start(t)
	msg, err := mail.Render(mail.Notice{Kind: mail.KindVerificationCode, To: to, RequestID: "req-42",
		Data: mail.VerificationCode{Code: "123456", ValidMinutes: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if err := newSender(t, srv, nil).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, to, 5*time.Second)
	if got.Subject != "Your verification code" || got.To != "<"+to+">" {
		t.Errorf("subject %q, to %q", got.Subject, got.To)
	}
	if !strings.Contains(got.Text, "123456") || !strings.Contains(got.HTML, "<strong>123456</strong>") {
		t.Errorf("code missing from a part:\ntext: %s\nhtml: %s", got.Text, got.HTML)
	}
	for _, h := range []string{"Message-Id", "Date", "Auto-Submitted"} {
		if got.Header.Get(h) == "" {
			t.Errorf("header %s is missing", h)
		}
	}
}

func TestSendOverTLSWithAuth(t *testing.T) {
	for mode, opt := range map[mail.TLSMode]smtptest.Option{
		mail.TLSStartTLS: smtptest.WithSTARTTLS(), mail.TLSImplicit: smtptest.WithImplicitTLS()} {
		srv := smtptest.Start(t, opt, smtptest.WithAuth("dsr", "s3cret"))
		s := newSender(t, srv, func(c *mail.SMTPConfig) {
			c.TLS, c.Username, c.Password, c.InsecureSkipVerify = mode, "dsr", "s3cret", true
		})
		if err := s.Send(context.Background(), message()); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if got := srv.WaitFor(t, to, 5*time.Second); !strings.Contains(got.Text, secret) || !strings.Contains(got.HTML, secret) {
			t.Errorf("%s: got text %q, html %q", mode, got.Text, got.HTML)
		}
	}
}

func TestSendNeverFallsBackToCleartextOrUntrustedTLS(t *testing.T) {
	for want, srv := range map[string]*smtptest.Server{
		"server does not offer STARTTLS": smtptest.Start(t),
		"TLS certificate rejected":       smtptest.Start(t, smtptest.WithSTARTTLS()),
	} {
		err := newSender(t, srv, func(c *mail.SMTPConfig) { c.TLS = mail.TLSStartTLS }).Send(context.Background(), message())
		assertNoPII(t, err)
		if !strings.Contains(err.Error(), want) || len(srv.Messages()) != 0 {
			t.Errorf("got %v, want %q and no message", err, want)
		}
	}
}

func TestSendWithWrongPasswordFailsWithoutPII(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("dsr", "s3cret"))
	s := newSender(t, srv, func(c *mail.SMTPConfig) {
		c.TLS, c.Username, c.Password, c.InsecureSkipVerify = mail.TLSStartTLS, "dsr", "wrong", true
	})
	err := s.Send(context.Background(), message())
	assertNoPII(t, err)
	if want := "smtp send: authentication failed (code 535)"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if mail.IsPermanent(err) {
		t.Error("an authentication failure is a configuration problem and should be retried")
	}
}

func TestRecipientRejectionPermanenceFollowsReplyCode(t *testing.T) {
	for code, permanent := range map[int]bool{550: true, 450: false} {
		srv := smtptest.Start(t, smtptest.WithRejectRecipient(to, code))
		err := newSender(t, srv, nil).Send(context.Background(), message())
		assertNoPII(t, err)
		if !strings.Contains(err.Error(), "recipient rejected") || mail.IsPermanent(err) != permanent {
			t.Errorf("code %d: got %q, permanent %v", code, err, mail.IsPermanent(err))
		}
	}
}

func TestSendInvalidRecipientIsPermanent(t *testing.T) {
	srv := smtptest.Start(t)
	m := message()
	m.To = "ada at example.org"
	err := newSender(t, srv, nil).Send(context.Background(), m)
	assertNoPII(t, err)
	if !mail.IsPermanent(err) {
		t.Errorf("got %v, want permanent", err)
	}
}

func TestSendStopsWhenContextEnds(t *testing.T) {
	// A server that greets and then never answers, to hold the client mid-exchange.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
			_, _ = conn.Write([]byte("220 localhost ESMTP\r\n"))
		}
	}()
	s, err := mail.NewSMTPSender(mail.SMTPConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port,
		TLS: mail.TLSNone, From: "privacy@example.com", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Send(ctx, message())
	assertNoPII(t, err)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("got %v after %s, want a prompt deadline error", err, time.Since(start))
	}
}

func TestValidateRejectsUnsafeConfig(t *testing.T) {
	ok := mail.SMTPConfig{Host: "smtp.example.com", Port: 587, TLS: mail.TLSStartTLS, From: "privacy@example.com",
		Username: "dsr", Password: "Pa55-xyzzy"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*mail.SMTPConfig){
		"no host":                  func(c *mail.SMTPConfig) { c.Host = "" },
		"bad port":                 func(c *mail.SMTPConfig) { c.Port = 70000 },
		"no TLS mode":              func(c *mail.SMTPConfig) { c.TLS = "" },
		"bad from":                 func(c *mail.SMTPConfig) { c.From = "privacy" },
		"password in clear text":   func(c *mail.SMTPConfig) { c.TLS = mail.TLSNone },
		"password without account": func(c *mail.SMTPConfig) { c.Username = "" },
	} {
		c := ok
		edit(&c)
		if err := c.Validate(); err == nil || strings.Contains(err.Error(), "xyzzy") {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if _, err := mail.ParseTLSMode("ssl"); err == nil {
		t.Error("ParseTLSMode accepted ssl")
	}
}
