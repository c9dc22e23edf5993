package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/dsr-project/dsr/internal/keys"
)

// signingKeyPurpose separates the derived signing key from every other use of the secret.
const signingKeyPurpose = "evidence-signing-key"

// SigningKey returns the key that signs evidence bundles: the configured one
// (DSR_SIGNING_KEY), or else one derived from the server secret, so that every process of a
// deployment, and `dsr dev` across restarts, signs with the same key without more setup.
func SigningKey(configured ed25519.PrivateKey, secret keys.Secret) (ed25519.PrivateKey, error) {
	if configured != nil {
		return configured, nil
	}
	if len(secret) == 0 {
		return nil, errors.New("no evidence signing key: set DSR_SIGNING_KEY or DSR_SECRET_KEY")
	}
	return ed25519.NewKeyFromSeed(secret.Derive(signingKeyPurpose)), nil
}

// PublicKeyInfo is the public half of the signing key as it is published, so auditors can
// pin it and check bundles against it.
type PublicKeyInfo struct {
	Algorithm string `json:"algorithm"`
	// PublicKey is the 32-byte Ed25519 public key, standard base64.
	PublicKey string `json:"public_key"`
	// Fingerprint is "SHA256:" and the hex SHA-256 of the 32 key bytes, for comparing by eye.
	Fingerprint string `json:"fingerprint"`
}

// PublicKey describes the public half of signer.
func PublicKey(signer ed25519.PrivateKey) PublicKeyInfo {
	pub := signer.Public().(ed25519.PublicKey)
	return PublicKeyInfo{Algorithm: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub), Fingerprint: Fingerprint(pub)}
}

// Fingerprint identifies a public key: "SHA256:" and the hex SHA-256 of its bytes.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + hex.EncodeToString(sum[:])
}

// ParsePublicKey accepts standard or URL base64, padded or not, of a 32-byte Ed25519
// public key, as PublicKeyInfo.PublicKey gives it.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
			return ed25519.PublicKey(b), nil
		}
	}
	return nil, fmt.Errorf("public key: want base64 of %d bytes", ed25519.PublicKeySize)
}
