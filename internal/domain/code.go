package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Defaults for one-time e-mail codes. The life is longer than Fides' 10 minutes because
// mail is often delayed; 5 attempts over a million codes still leaves guessing hopeless.
const (
	DefaultCodeDigits     = 6
	DefaultCodeLife       = 30 * time.Minute
	DefaultCodeAttempts   = 5
	DefaultResendCooldown = 60 * time.Second
	codeSaltBytes         = 16
)

// NewVerificationCode returns a random code of 6 to 8 decimal digits. crypto/rand.Int draws
// by rejection sampling, so every code is equally likely (no modulo bias).
func NewVerificationCode(digits int) (string, error) {
	if digits < 6 || digits > 8 {
		return "", fmt.Errorf("verification code needs 6 to 8 digits: %w", ErrInvalid)
	}
	n, err := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil))
	if err != nil {
		return "", fmt.Errorf("new verification code: %w", err)
	}
	return fmt.Sprintf("%0*d", digits, n), nil
}

// HashCode returns SHA-256(salt || code), the only form of a code that is ever stored, so
// that workflow history and databases never hold a usable code. The salt stops one
// precomputed table of all codes from serving every request.
func HashCode(salt []byte, code string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(code))
	return h.Sum(nil)
}

// CodeChallenge is a code that was sent, held as a salted hash. Check is a pure function of
// the challenge, the answer and the time, so it can run inside a deterministic workflow.
type CodeChallenge struct {
	Hash        []byte    `json:"hash"`
	Salt        []byte    `json:"salt"`
	IssuedAt    time.Time `json:"issued_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts"`
}

// IssueCode returns a fresh code with the defaults and its challenge. It reads crypto/rand,
// so call it from an activity that mails the code and returns only the challenge.
func IssueCode(now time.Time) (string, CodeChallenge, error) {
	code, err := NewVerificationCode(DefaultCodeDigits)
	if err != nil {
		return "", CodeChallenge{}, err
	}
	salt := make([]byte, codeSaltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", CodeChallenge{}, fmt.Errorf("issue code: %w", err)
	}
	return code, CodeChallenge{
		Hash: HashCode(salt, code), Salt: salt,
		IssuedAt: now.UTC(), ExpiresAt: now.UTC().Add(DefaultCodeLife),
		MaxAttempts: DefaultCodeAttempts,
	}, nil
}

// CheckResult is the outcome of one attempt at a code; a string so it reads in workflow history.
type CheckResult string

// Check results. CheckLocked is also returned for the wrong answer that uses the last
// attempt, so the requester learns at once that a new code is needed.
const (
	CheckConfirmed CheckResult = "confirmed"
	CheckWrongCode CheckResult = "wrong_code"
	CheckExpired   CheckResult = "expired"
	CheckLocked    CheckResult = "locked"
)

// Check compares code with the challenge at time now and returns the challenge with the
// attempt counted, which the caller must keep. Expired and locked challenges count nothing.
// A challenge with no MaxAttempts is locked, failing closed. The hashes are compared in
// constant time so response timing reveals nothing about how close a guess was.
func (c CodeChallenge) Check(code string, now time.Time) (CodeChallenge, CheckResult) {
	switch {
	case c.Attempts >= c.MaxAttempts:
		return c, CheckLocked
	case !now.Before(c.ExpiresAt):
		return c, CheckExpired
	}
	c.Attempts++
	if subtle.ConstantTimeCompare(HashCode(c.Salt, strings.TrimSpace(code)), c.Hash) == 1 {
		return c, CheckConfirmed
	}
	if c.Attempts >= c.MaxAttempts {
		return c, CheckLocked
	}
	return c, CheckWrongCode
}

// CanResend reports whether a new code may be sent, so that one request cannot be used to
// flood a mailbox.
func CanResend(lastIssued, now time.Time, cooldown time.Duration) bool {
	return !now.Before(lastIssued.Add(cooldown))
}
