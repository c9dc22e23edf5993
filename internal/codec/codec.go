// Package codec encrypts every Temporal payload with AES-256-GCM before it leaves the
// process, so the engine's database and its histories hold only ciphertext. Keys live in a
// key ring: the current key encrypts, every key decrypts, so keys rotate without losing old
// histories.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Payload metadata the codec writes. The key ID tells which key of the ring decrypts.
const (
	EncodingEncrypted = "binary/encrypted"
	MetadataKeyID     = "encryption-key-id"
)

// Keyring holds the codec keys by ID; Current names the key that encrypts.
type Keyring struct {
	Current string
	keys    map[string]cipher.AEAD
}

// ParseKeyring reads "id:base64key,id2:base64key2". The first key encrypts; all decrypt.
// Each key is 32 bytes (AES-256). Errors never include key material.
func ParseKeyring(s string) (*Keyring, error) {
	ring := &Keyring{keys: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(s, ",") {
		id, encoded, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("key %d: want ID:BASE64KEY", i+1)
		}
		key, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			return nil, fmt.Errorf("key %q: not base64", id)
		}
		if err := ring.Add(id, key); err != nil {
			return nil, err
		}
		if i == 0 {
			ring.Current = id
		}
	}
	return ring, nil
}

// Add puts a key in the ring; the first key added becomes current.
func (r *Keyring) Add(id string, key []byte) error {
	if len(key) != 32 {
		return fmt.Errorf("key %q: want 32 bytes, got %d", id, len(key))
	}
	if _, dup := r.keys[id]; dup {
		return fmt.Errorf("key %q: given twice", id)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	if r.keys == nil {
		r.keys = map[string]cipher.AEAD{}
	}
	r.keys[id] = aead
	if r.Current == "" {
		r.Current = id
	}
	return nil
}

// Codec is a converter.PayloadCodec over a key ring.
type Codec struct{ ring *Keyring }

// New returns the codec for ring.
func New(ring *Keyring) *Codec { return &Codec{ring: ring} }

// DataConverter wraps Temporal's default converter so every payload is encrypted.
func DataConverter(ring *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(ring))
}

// Encode encrypts each payload whole (metadata and data) under the current key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.ring.keys[c.ring.Current]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(c.ring.Current),
			},
			// The key ID is bound as additional data, so a payload moved under another
			// key's label fails to open instead of decrypting garbage.
			Data: aead.Seal(nonce, nonce, plain, []byte(c.ring.Current)),
		}
	}
	return out, nil
}

// Decode decrypts payloads this codec encrypted and passes others through, so histories
// written before encryption was turned on still read.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.ring.keys[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload encrypted with unknown key %q", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, fmt.Errorf("codec: payload too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: payload does not decrypt with key %q", id)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return nil, fmt.Errorf("codec: decrypted payload is not a payload: %w", err)
		}
		out[i] = &decoded
	}
	return out, nil
}
