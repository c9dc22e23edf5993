// Package mail renders the e-mails dsr sends to requesters and data recipients, and sends
// them over SMTP. Errors from this package never contain a recipient address or message
// text, so they may be logged and stored in workflow history.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"time"
)

// Message is one e-mail ready to send. Text is required; HTML is an optional alternative.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender delivers messages. Send returns a *SendError on failure; see IsPermanent.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// TLSMode says how the connection to the SMTP server is encrypted.
type TLSMode string

// TLS modes. There is no opportunistic mode: a server that drops STARTTLS must not be able
// to downgrade the connection silently.
const (
	TLSNone     TLSMode = "none"     // plain text; for a relay on localhost
	TLSStartTLS TLSMode = "starttls" // STARTTLS is mandatory, usually port 587
	TLSImplicit TLSMode = "tls"      // TLS from the first byte, usually port 465
)

// ParseTLSMode returns the mode named s: none, starttls or tls.
func ParseTLSMode(s string) (TLSMode, error) {
	switch m := TLSMode(s); m {
	case TLSNone, TLSStartTLS, TLSImplicit:
		return m, nil
	}
	return "", fmt.Errorf("smtp TLS mode: want none, starttls or tls, got %q", s)
}

func (m TLSMode) String() string               { return string(m) }
func (m TLSMode) MarshalText() ([]byte, error) { return []byte(m), nil }
func (m *TLSMode) UnmarshalText(b []byte) error {
	v, err := ParseTLSMode(string(b))
	*m = v
	return err
}

// DefaultTimeout bounds each SMTP step (dial, and every command) when SMTPConfig.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// SMTPConfig says how to reach the outgoing mail server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // AUTH PLAIN or LOGIN is used when set
	Password string
	TLS      TLSMode
	From     string        // envelope and header sender, e.g. "Privacy Team <privacy@example.com>"
	Timeout  time.Duration // per SMTP step; 0 means DefaultTimeout
	// InsecureSkipVerify accepts any server certificate. Only for tests.
	InsecureSkipVerify bool
}

// Validate reports the first setting that cannot work. It never echoes the password.
func (c SMTPConfig) Validate() error {
	var problem string
	switch {
	case c.Host == "":
		problem = "host is required"
	case c.Port < 1 || c.Port > 65535:
		problem = fmt.Sprintf("port %d is out of range", c.Port)
	case c.TLS != TLSNone && c.TLS != TLSStartTLS && c.TLS != TLSImplicit:
		problem = fmt.Sprintf("TLS mode %q is not none, starttls or tls", c.TLS)
	case c.From == "":
		problem = "from address is required"
	case c.Timeout < 0:
		problem = "timeout must not be negative"
	case c.Username == "" && c.Password != "":
		problem = "password is set without a username"
	case c.Username != "" && c.TLS == TLSNone && !isLoopback(c.Host):
		problem = "credentials would be sent unencrypted; use starttls or tls"
	}
	if problem == "" {
		if _, err := netmail.ParseAddress(c.From); err != nil {
			problem = "from address is not a valid address"
		}
	}
	if problem != "" {
		return errors.New("smtp config: " + problem)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
