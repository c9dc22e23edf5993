package keys_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/keys"
)

var secret = keys.Secret([]byte(strings.Repeat("k", 32)))

func TestParseSecretNeedsThirtyTwoBytes(t *testing.T) {
	if _, err := keys.ParseSecret(strings.Repeat("ab", 32)); err != nil {
		t.Errorf("64 hex chars refused: %v", err)
	}
	if _, err := keys.ParseSecret(strings.Repeat("ab", 16)); err == nil {
		t.Error("16 bytes accepted")
	}
	if _, err := keys.ParseSecret("not a key"); err == nil {
		t.Error("garbage accepted")
	}
}

func TestLoadOrCreateKeepsTheSameSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	first, err := keys.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := keys.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Error("a second load made a new secret")
	}
}

func TestCodesAreDerivedPerRequestAndNumber(t *testing.T) {
	a := secret.Code("req-1", 1, 6)
	if !regexp.MustCompile(`^\d{6}$`).MatchString(a) {
		t.Fatalf("code %q is not 6 digits", a)
	}
	if secret.Code("req-1", 1, 6) != a {
		t.Error("same request and number gave another code")
	}
	if secret.Code("req-1", 2, 6) == a && secret.Code("req-2", 1, 6) == a {
		t.Error("codes do not vary with request or number")
	}
	if got := secret.Code("req-1", 1, 8); len(got) != 8 {
		t.Errorf("8-digit code %q", got)
	}
	other := keys.Secret([]byte(strings.Repeat("o", 32)))
	if other.Code("req-1", 1, 8) == secret.Code("req-1", 1, 8) {
		t.Error("code does not depend on the secret")
	}
}

func TestEmailHashIsKeyedAndStable(t *testing.T) {
	h := secret.EmailHash("alice@example.com")
	if h != secret.EmailHash("alice@example.com") || len(h) != 64 {
		t.Fatalf("hash %q unstable or not hex SHA-256", h)
	}
	if strings.Contains(h, "alice") {
		t.Error("hash leaks the address")
	}
	other := keys.Secret([]byte(strings.Repeat("o", 32)))
	if other.EmailHash("alice@example.com") == h {
		t.Error("hash is not keyed")
	}
}

func TestTokensAreRandomAndStoredHashed(t *testing.T) {
	tok1, hash1, err := keys.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	tok2, _, _ := keys.NewToken()
	if tok1 == tok2 {
		t.Error("two tokens alike")
	}
	if keys.HashToken(tok1) != hash1 || hash1 == tok1 {
		t.Error("hash does not match its token")
	}
}
