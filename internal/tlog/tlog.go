// Package tlog is dsr's public transparency log of request milestones: an append-only
// RFC 6962 Merkle tree whose signed checkpoints anyone may fetch, and whose inclusion and
// consistency proofs let a requester, an agent or a regulator check that a milestone was
// logged and that the log only ever grew. Entries hold no personal data: a request is named
// by a hash keyed with a secret only its requester is given.
package tlog

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
)

// Sentinel errors, so callers can map them to an answer with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
)

// Milestone is a point in a request's life that the log records.
type Milestone string

const (
	Received         Milestone = "received"
	EmailVerified    Milestone = "email_verified"
	IdentityVerified Milestone = "identity_verified"
	Completed        Milestone = "completed"
	Denied           Milestone = "denied"
	Cancelled        Milestone = "cancelled"
	Expired          Milestone = "expired"
	Extended         Milestone = "extended"
	// An appeal of a refusal, and its decision; the entry's due date is the appeal's.
	Appealed      Milestone = "appealed"
	AppealGranted Milestone = "appeal_granted"
	AppealDenied  Milestone = "appeal_denied"
)

// Milestones are every milestone the log records, in the order a request meets them.
var Milestones = []Milestone{Received, EmailVerified, IdentityVerified, Extended, Completed, Denied,
	Cancelled, Expired, Appealed, AppealGranted, AppealDenied}

// MilestoneOf returns the milestone an audit action records, and false for an action that
// is none. The workflow names its steps after the milestones.
func MilestoneOf(action string) (Milestone, bool) {
	if m := Milestone(action); slices.Contains(Milestones, m) {
		return m, true
	}
	return "", false
}

// Entry is one leaf of the log. Times are UTC to the second.
type Entry struct {
	Index       uint64             `json:"index"`
	RequestHash string             `json:"request_hash"`
	Milestone   Milestone          `json:"milestone"`
	At          time.Time          `json:"at"`
	DueAt       time.Time          `json:"due_at"`
	RequestType domain.RequestType `json:"request_type"`
}

// EntryFormat names the leaf encoding; it is the leaf's first line, so that a future
// encoding can never produce the leaf of this one.
const EntryFormat = "dsr-tlog-entry/v1"

// Leaf returns the entry's leaf bytes: EntryFormat, request_hash, milestone, at, due_at
// (RFC 3339 in UTC, to the second) and request_type, each followed by a newline. No field
// may hold a newline, so the encoding is unambiguous. Index is not part of the leaf: the
// tree places it.
func (e Entry) Leaf() ([]byte, error) {
	fields := []string{EntryFormat, e.RequestHash, string(e.Milestone),
		e.At.UTC().Format(time.RFC3339), e.DueAt.UTC().Format(time.RFC3339), string(e.RequestType)}
	var b strings.Builder
	for _, f := range fields {
		if f == "" || strings.ContainsAny(f, "\n\r") {
			return nil, fmt.Errorf("log entry %d: %w field", e.Index, ErrInvalid)
		}
		b.WriteString(f)
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// LeafHash returns the entry's RFC 6962 leaf hash.
func (e Entry) LeafHash() ([]byte, error) {
	leaf, err := e.Leaf()
	if err != nil {
		return nil, err
	}
	return rfc6962.DefaultHasher.HashLeaf(leaf), nil
}

// RequestSecret returns the secret given to the requester of a request, which keys the hash
// that names the request in the log. It is derived, not stored, like the other per-request
// keys.
func RequestSecret(secret keys.Secret, requestID string) string {
	m := hmac.New(sha256.New, secret.Derive("tlog-request-secret"))
	m.Write([]byte(requestID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// RequestHash is the name of a request in the log: the hex HMAC-SHA256 of its ID keyed with
// its request secret. Without the secret an entry cannot be tied to a request ID.
func RequestHash(requestSecret, requestID string) string {
	m := hmac.New(sha256.New, []byte(requestSecret))
	m.Write([]byte("dsr-tlog-request:" + requestID))
	return hex.EncodeToString(m.Sum(nil))
}

// Origin names the log served at publicURL: the URL without its scheme, and "/log", as
// C2SP checkpoints name logs.
func Origin(publicURL string) string {
	host := publicURL
	if _, rest, ok := strings.Cut(publicURL, "://"); ok {
		host = rest
	}
	return strings.TrimRight(host, "/") + "/log"
}
