package codec

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// ErrNoKey is what Seal returns on a ring without keys.
var ErrNoKey = errors.New("codec: no encryption key")

// Seal encrypts plain under the current key, binding additional data ad, and returns the
// ID of the key used with the nonce-prefixed ciphertext. The application database seals
// what it must not hold in clear with the same ring as Temporal's payloads, so one key
// list rotates both.
func (r *Keyring) Seal(plain, ad []byte) (keyID string, sealed []byte, err error) {
	if r == nil || r.Current == "" {
		return "", nil, ErrNoKey
	}
	aead := r.keys[r.Current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, err
	}
	return r.Current, aead.Seal(nonce, nonce, plain, ad), nil
}

// Open decrypts what Seal returned under keyID with the same additional data. Errors name
// the key, never content.
func (r *Keyring) Open(keyID string, sealed, ad []byte) ([]byte, error) {
	if r == nil {
		return nil, ErrNoKey
	}
	aead, ok := r.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("codec: sealed with unknown key %q", keyID)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, fmt.Errorf("codec: sealed data too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], ad)
	if err != nil {
		return nil, fmt.Errorf("codec: sealed data does not open with key %q", keyID)
	}
	return plain, nil
}
