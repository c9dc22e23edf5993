// Package keys holds dsr's server secret and what it derives: keyed hashes of e-mail
// addresses (so people can be looked up without storing the address in an index, a log or
// the engine) and one-time codes. It also makes the bearer tokens given to requesters.
package keys

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MinSecretBytes is the shortest secret accepted: 256 bits.
const MinSecretBytes = 32

// Secret is the server key shared by every dsr process of one deployment.
type Secret []byte

// ParseSecret accepts a hex or standard/URL base64 encoding of at least 32 bytes.
func ParseSecret(s string) (Secret, error) {
	s = strings.TrimSpace(s)
	for _, decode := range []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
	} {
		if b, err := decode(s); err == nil && len(b) >= MinSecretBytes {
			return Secret(b), nil
		}
	}
	return nil, fmt.Errorf("want at least %d random bytes, hex or base64 encoded (e.g. `openssl rand -hex 32`)", MinSecretBytes)
}

// LoadOrCreate reads the secret kept at path, creating a new random one on first use.
// `dsr dev` keeps its secret in the data directory this way.
func LoadOrCreate(path string) (Secret, error) {
	raw, err := os.ReadFile(path)
	if err == nil {
		return ParseSecret(string(raw))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	b := make([]byte, MinSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write secret: %w", err)
	}
	return Secret(b), nil
}

func (s Secret) mac(purpose string, parts ...string) []byte {
	m := hmac.New(sha256.New, s)
	m.Write([]byte(purpose))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// EmailHash is the keyed hash of a normalised address, hex encoded.
func (s Secret) EmailHash(normalizedEmail string) string {
	return hex.EncodeToString(s.mac("email", normalizedEmail))
}

// Code derives the one-time code number n for a request. Deriving instead of drawing it
// makes the activity that mails it idempotent: a retry mails the same code, so the code the
// person holds is always the one the workflow checks.
func (s Secret) Code(requestID string, n, digits int) string {
	limit := uint64(1)
	for range digits {
		limit *= 10
	}
	sum := s.mac("code", requestID, strconv.Itoa(n))
	// 2^64 / 10^8 is so large that the modulo bias is below 1e-10.
	v := binary.BigEndian.Uint64(sum[:8]) % limit
	return fmt.Sprintf("%0*d", digits, v)
}

// CodeSalt is the salt the workflow hashes code n with; derived for the same reason as Code.
func (s Secret) CodeSalt(requestID string, n int) []byte {
	return s.mac("code-salt", requestID, strconv.Itoa(n))[:16]
}

// StatusLinkKey is the key a mailed link to a request's status page carries, so the link
// opens that one request in any browser. The mail activity makes it and the page checks it.
func (s Secret) StatusLinkKey(requestID string) string {
	m := hmac.New(sha256.New, s.Derive("status-link"))
	m.Write([]byte("status-link:" + requestID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Derive returns a key for one purpose, so that one secret serves several uses without a
// hash made for one being valid for another.
func (s Secret) Derive(purpose string) []byte { return s.mac("derive", purpose) }

// NewToken returns a random bearer token and the hash to store in its place.
func NewToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is how a bearer token is stored: its SHA-256, hex encoded. Tokens are random and
// long, so an unkeyed hash suffices.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
