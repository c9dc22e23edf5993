package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// SMTPSender sends each message over its own SMTP connection. It is safe for concurrent use.
type SMTPSender struct {
	cfg    SMTPConfig
	domain string // of the From address, for Message-IDs
	tls    *tls.Config
}

var _ Sender = (*SMTPSender)(nil)

// NewSMTPSender checks cfg and returns a sender; it does not connect.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	from, _ := netmail.ParseAddress(cfg.From) // checked by Validate
	return &SMTPSender{
		cfg:    cfg,
		domain: from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		tls: &tls.Config{
			ServerName:         cfg.Host,
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // tests only, see SMTPConfig
		},
	}, nil
}

// SendError says which SMTP step failed. Its message never holds the recipient address or
// message text, which servers and go-mail like to echo.
type SendError struct {
	Step      string // what failed, e.g. "recipient rejected"
	Code      int    // SMTP reply code, 0 when the server gave none
	Permanent bool   // retrying the same message cannot succeed
	cause     error  // only causes known to be free of PII: context and network errors
}

func (e *SendError) Error() string {
	msg := "smtp send: " + e.Step
	if e.Code != 0 {
		msg += fmt.Sprintf(" (code %d)", e.Code)
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *SendError) Unwrap() error { return e.cause }

// IsPermanent reports whether err is a failure that retrying cannot fix: a 5xx reply to the
// message or its recipient, or a message that cannot be built. Authentication and connection
// failures are not permanent, so that mail waits while an operator fixes the configuration.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// Send delivers m. It stops when ctx is done, even in the middle of an SMTP exchange.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	stop := func() bool { return false }
	defer func() { stop() }()
	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(dialCtx, network, addr)
		if err != nil {
			return nil, err
		}
		// go-mail only uses ctx while dialling; closing the socket when ctx ends aborts
		// whatever command is waiting for the server.
		stop = context.AfterFunc(ctx, func() { raw.Close() })
		if s.cfg.TLS != TLSImplicit {
			return raw, nil
		}
		conn := tls.Client(raw, s.tls.Clone())
		if err := conn.HandshakeContext(dialCtx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}
	client, err := gomail.NewClient(s.cfg.Host, s.options(dial)...)
	if err != nil {
		return &SendError{Step: "configure client"}
	}
	err = client.DialAndSendWithContext(ctx, msg)
	switch {
	case err == nil || msg.IsDelivered():
		return nil // a failed RSET or QUIT after the server accepted the message is no failure
	case ctx.Err() != nil:
		return &SendError{Step: "stopped", cause: ctx.Err()}
	}
	return classify(err)
}

func (s *SMTPSender) options(dial gomail.DialContextFunc) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(s.tls),
		gomail.WithTLSPolicy(gomail.NoTLS), // implicit TLS is done in dial
	}
	if s.cfg.TLS == TLSStartTLS {
		opts[len(opts)-1] = gomail.WithTLSPolicy(gomail.TLSMandatory)
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
	}
	return opts
}

func (s *SMTPSender) build(m Message) (*gomail.Msg, error) {
	invalid := func(what string) error { return &SendError{Step: "invalid message: " + what, Permanent: true} }
	if m.Text == "" {
		return nil, invalid("text is empty")
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, invalid("bad from address")
	}
	if err := msg.To(m.To); err != nil || m.To == "" {
		return nil, invalid("bad recipient address")
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, &SendError{Step: "generate message ID"}
	}
	msg.SetMessageIDWithValue(hex.EncodeToString(id) + "@" + s.domain)
	msg.SetDate()
	// Auto-Submitted keeps out-of-office replies from answering a notice (RFC 3834).
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

var sendSteps = map[gomail.SendErrReason]string{
	gomail.ErrGetSender:     "bad from address",
	gomail.ErrGetRcpts:      "bad recipient address",
	gomail.ErrSMTPMailFrom:  "sender rejected",
	gomail.ErrSMTPRcptTo:    "recipient rejected",
	gomail.ErrSMTPData:      "message rejected",
	gomail.ErrWriteContent:  "message transfer failed",
	gomail.ErrSMTPDataClose: "message rejected",
	gomail.ErrConnCheck:     "connection lost",
	gomail.ErrNoUnencoded:   "server cannot take 8-bit text",
}

// classify turns a go-mail error into a SendError, keeping only the SMTP code and causes
// whose text cannot hold an address (the server's reply text may).
func classify(err error) *SendError {
	code := 0
	var reply *textproto.Error
	if errors.As(err, &reply) {
		code = reply.Code
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		step, ok := sendSteps[se.Reason]
		if !ok {
			step = "delivery failed"
		}
		if c := se.ErrorCode(); c != 0 {
			code = c
		}
		return &SendError{Step: step, Code: code, Permanent: code >= 500 && code < 600}
	}
	// go-mail returns plain wrapped errors for the connect, STARTTLS and AUTH phase.
	text := err.Error()
	var netErr *net.OpError
	var certErr *tls.CertificateVerificationError
	switch {
	case strings.Contains(text, "SMTP AUTH failed"):
		return &SendError{Step: "authentication failed", Code: code}
	case strings.Contains(text, "AUTH"):
		return &SendError{Step: "server offers no usable AUTH mechanism", Code: code}
	case strings.Contains(text, "does not support STARTTLS"):
		return &SendError{Step: "server does not offer STARTTLS"}
	case errors.As(err, &certErr):
		return &SendError{Step: "TLS certificate rejected", cause: certErr}
	case errors.As(err, &netErr):
		return &SendError{Step: "connection failed", cause: netErr}
	}
	return &SendError{Step: "connection failed", Code: code}
}
