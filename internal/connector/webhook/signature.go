package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers that sign a message, in either direction.
const (
	HeaderKeyID     = "Dsr-Key-Id"
	HeaderTimestamp = "Dsr-Timestamp"
	HeaderSignature = "Dsr-Signature"
)

// DefaultWindow is how far a message's timestamp may be from the receiver's clock, either
// way, before the message is taken for a replay.
const DefaultWindow = 5 * time.Minute

// ErrSignature marks a message whose key, timestamp or signature does not check out, so
// that an endpoint can answer 401 with errors.Is.
var ErrSignature = errors.New("webhook not authenticated")

// maxSignatures bounds the comparisons one header can ask for.
const maxSignatures = 8

// Sign returns the Dsr-Signature value of a body sent at timestamp (unix seconds):
// "v1=" and the hex HMAC-SHA256, keyed with secret, of the timestamp, a dot and the body.
func Sign(secret []byte, timestamp int64, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	var buf [24]byte
	m.Write(append(strconv.AppendInt(buf[:0], timestamp, 10), '.'))
	m.Write(body)
	return m.Sum(nil)
}

// SignHeader sets the three signature headers of a body sent now with the key keyID.
func SignHeader(h http.Header, keyID string, secret, body []byte, now time.Time) {
	ts := now.Unix()
	h.Set(HeaderKeyID, keyID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Sign(secret, ts, body))
}

// Verify checks that header signs body with secret and that its timestamp lies within
// window of now (DefaultWindow when window is not positive). A Dsr-Signature may list
// several comma-separated signatures; one matching v1 signature suffices, so that a sender
// can sign with an old and a new secret while a key is rotated. Errors wrap ErrSignature
// and say which check failed, never what the signature was.
func Verify(secret []byte, header http.Header, body []byte, now time.Time, window time.Duration) error {
	if window <= 0 {
		window = DefaultWindow
	}
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to verify with", ErrSignature)
	}
	raw := header.Get(HeaderTimestamp)
	if raw == "" {
		return fmt.Errorf("%w: missing %s header", ErrSignature, HeaderTimestamp)
	}
	ts, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not a number of unix seconds", ErrSignature, HeaderTimestamp)
	}
	if skew := now.Sub(time.Unix(ts, 0)); skew > window || skew < -window {
		return fmt.Errorf("%w: %s is outside the %s replay window", ErrSignature, HeaderTimestamp, window)
	}
	candidates := signatures(header.Values(HeaderSignature))
	if len(candidates) == 0 {
		return fmt.Errorf("%w: missing v1 signature in %s header", ErrSignature, HeaderSignature)
	}
	want := mac(secret, ts, body)
	for _, c := range candidates {
		if got, err := hex.DecodeString(c); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s does not match the body and timestamp", ErrSignature, HeaderSignature)
}

// signatures returns the hex parts of the v1 entries of Dsr-Signature values, at most
// maxSignatures of them.
func signatures(values []string) []string {
	var out []string
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			scheme, sig, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && scheme == "v1" && len(out) < maxSignatures {
				out = append(out, sig)
			}
		}
	}
	return out
}
