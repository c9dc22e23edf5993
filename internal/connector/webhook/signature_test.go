package webhook_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/domain"
)

var (
	now  = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	body = []byte(`{"request_id":"req-1","operation":"review","email":"ada@example.com"}`)
)

func signed(secret, body []byte, at time.Time) http.Header {
	h := http.Header{}
	webhook.SignHeader(h, keyID, secret, body, at)
	return h
}

func TestSignIsHMACSHA256OfTimestampDotBody(t *testing.T) {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(now.Unix(), 10) + "." + string(body)))
	same(t, "signature", webhook.Sign(secret, now.Unix(), body), "v1="+hex.EncodeToString(m.Sum(nil)))

	h := signed(secret, body, now)
	same(t, "headers", []string{h.Get("Dsr-Key-Id"), h.Get("Dsr-Timestamp"), h.Get("Dsr-Signature")},
		[]string{keyID, strconv.FormatInt(now.Unix(), 10), webhook.Sign(secret, now.Unix(), body)})
}

func TestSignMatchesTheExampleOfTheProtocol(t *testing.T) {
	b, err := json.Marshal(webhook.Request{RequestID: "0b9f8c1e-5a4d-4d0e-9a57-2f1f1f4c6a10", Operation: domain.TypeReview,
		Email: "ada.lovelace@example.com", IdempotencyKey: webhook.IdempotencyKey("0b9f8c1e-5a4d-4d0e-9a57-2f1f1f4c6a10", domain.TypeReview, "newsletter")})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	sig := webhook.Sign([]byte("example-secret-do-not-use-0123456789"), 1767225600, b)
	for _, want := range []string{"\n" + string(b) + "\n", "`Dsr-Signature: " + sig + "`"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("PROTOCOL.md lacks %s", want)
		}
	}
}

func TestVerifyAcceptsASignatureWithinTheReplayWindow(t *testing.T) {
	for _, skew := range []time.Duration{0, 4*time.Minute + 59*time.Second, -4*time.Minute - 59*time.Second} {
		if err := webhook.Verify(secret, signed(secret, body, now.Add(-skew)), body, now, 0); err != nil {
			t.Errorf("signed %s ago: %v", skew, err)
		}
	}
	h := signed(secret, body, now.Add(-9*time.Minute))
	if err := webhook.Verify(secret, h, body, now, 10*time.Minute); err != nil {
		t.Errorf("wider window: %v", err)
	}
}

func TestVerifyAcceptsAnyOfSeveralSignaturesDuringKeyRotation(t *testing.T) {
	h := signed(secret, body, now)
	h.Set("Dsr-Signature", "v0=abc, "+webhook.Sign([]byte("old secret"), now.Unix(), body)+", "+h.Get("Dsr-Signature"))
	if err := webhook.Verify(secret, h, body, now, 0); err != nil {
		t.Error(err)
	}
}

func TestVerifyRejectsWhatItCannotTrust(t *testing.T) {
	sig := signed(secret, body, now).Get("Dsr-Signature")
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		secret []byte
		want   string
	}{
		{"tampered body", signed(secret, body, now), bytes.Replace(body, []byte("review"), []byte("suppress"), 1), secret,
			"Dsr-Signature does not match the body and timestamp"},
		{"wrong key", signed([]byte("another secret of sixteen"), body, now), body, secret,
			"Dsr-Signature does not match the body and timestamp"},
		{"old timestamp", signed(secret, body, now.Add(-5*time.Minute-time.Second)), body, secret,
			"Dsr-Timestamp is outside the 5m0s replay window"},
		{"future timestamp", signed(secret, body, now.Add(6*time.Minute)), body, secret,
			"Dsr-Timestamp is outside the 5m0s replay window"},
		{"timestamp changed after signing", header(signed(secret, body, now.Add(-10*time.Second)), "Dsr-Timestamp", strconv.FormatInt(now.Unix(), 10)), body, secret,
			"Dsr-Signature does not match the body and timestamp"},
		{"no timestamp", header(signed(secret, body, now), "Dsr-Timestamp", ""), body, secret,
			"missing Dsr-Timestamp header"},
		{"timestamp not a number", header(signed(secret, body, now), "Dsr-Timestamp", "2026-03-14T15:09:26Z"), body, secret,
			"Dsr-Timestamp is not a number of unix seconds"},
		{"no signature", header(signed(secret, body, now), "Dsr-Signature", ""), body, secret,
			"missing v1 signature in Dsr-Signature header"},
		{"unknown scheme", header(signed(secret, body, now), "Dsr-Signature", "v2="+strings.TrimPrefix(sig, "v1=")), body, secret,
			"missing v1 signature in Dsr-Signature header"},
		{"signature not hex", header(signed(secret, body, now), "Dsr-Signature", "v1=not-hex"), body, secret,
			"Dsr-Signature does not match the body and timestamp"},
		{"empty secret", signed(nil, body, now), body, nil, "no secret to verify with"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secret, tt.header, tt.body, now, 0)
			if !errors.Is(err, webhook.ErrSignature) {
				t.Fatalf("got %v, want an error wrapping ErrSignature", err)
			}
			same(t, "error", err.Error(), "webhook not authenticated: "+tt.want)
			if sig := strings.TrimPrefix(tt.header.Get("Dsr-Signature"), "v1="); sig != "" && strings.Contains(err.Error(), sig) {
				t.Errorf("error quotes the signature")
			}
		})
	}
}

func header(h http.Header, key, value string) http.Header {
	if value == "" {
		h.Del(key)
	} else {
		h.Set(key, value)
	}
	return h
}

func BenchmarkSign(b *testing.B) {
	payload := bytes.Repeat([]byte(`{"field":"value"},`), 256) // 4.5 kB, a typical request
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		webhook.Sign(secret, now.Unix(), payload)
	}
}
