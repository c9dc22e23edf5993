package faults

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dsr-project/dsr/internal/mail"
)

// mailbox reads what the SMTP sink filed: one .eml file per message received, its
// envelope recipients first. Each person of the load has an address of their own, so the
// recipient names the request; the subject names the kind of notice.
type mailbox struct {
	dir  string
	mu   sync.Mutex
	seen map[string]sinkMail // by file name; files never change once there
}

type sinkMail struct {
	to, kind, text string
}

func newMailbox(dir string) *mailbox { return &mailbox{dir: dir, seen: map[string]sinkMail{}} }

// kinds maps the start of each English subject to the notice kind the mail log records.
var kinds = []struct{ prefix, kind string }{
	{"Your verification code", string(mail.KindVerificationCode)},
	{"We received your privacy request", string(mail.KindAcknowledgement)},
	{"Please confirm your privacy request", string(mail.KindReminder)},
	{"More time needed for your privacy request", string(mail.KindExtension)},
	{"Decision on your privacy request", string(mail.KindDenial)},
	{"Your privacy request", string(mail.KindCompletion)}, // "… is complete"; after the longer prefixes
}

// scan reads the files not read before and returns every message so far.
func (m *mailbox) scan() ([]sinkMail, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	files, err := filepath.Glob(filepath.Join(m.dir, "*.eml"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if _, ok := m.seen[f]; ok {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		msg, err := parseSinkFile(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		m.seen[f] = msg
	}
	out := make([]sinkMail, 0, len(m.seen))
	for _, msg := range m.seen {
		out = append(out, msg)
	}
	return out, nil
}

func parseSinkFile(raw []byte) (sinkMail, error) {
	var s sinkMail
	for bytes.HasPrefix(raw, []byte("X-Envelope-To: ")) {
		line, rest, _ := bytes.Cut(raw, []byte("\r\n"))
		s.to = strings.ToLower(strings.TrimPrefix(string(line), "X-Envelope-To: "))
		raw = rest
	}
	read, err := mail.ReadMessage(raw)
	if err != nil {
		return s, err
	}
	s.text = read.Text
	subject := read.Subject
	s.kind = "unknown: " + subject
	for _, k := range kinds {
		if strings.HasPrefix(subject, k.prefix) {
			s.kind = k.kind
			break
		}
	}
	return s, nil
}

// byKind counts the messages to one address by kind.
func (m *mailbox) byKind(email string) (map[string]int, error) {
	all, err := m.scan()
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, msg := range all {
		if msg.to == strings.ToLower(email) {
			counts[msg.kind]++
		}
	}
	return counts, nil
}

var codeInMail = regexp.MustCompile(`\b(\d{6})\b`)

// code waits for the one-time code mailed to the address.
func (m *mailbox) code(ctx context.Context, email string) (string, error) {
	for {
		all, err := m.scan()
		if err != nil {
			return "", err
		}
		for _, msg := range all {
			if msg.to == strings.ToLower(email) && msg.kind == string(mail.KindVerificationCode) {
				if c := codeInMail.FindStringSubmatch(msg.text); c != nil {
					return c[1], nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
