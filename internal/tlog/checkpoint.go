package tlog

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/dsr-project/dsr/internal/keys"
)

// Checkpoint is a C2SP tlog-checkpoint body: the log's origin, its size and root hash.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// String returns the checkpoint's text, the note body that is signed.
func (c Checkpoint) String() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root))
}

// ParseCheckpoint reads a checkpoint body; extension lines after the root are ignored.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w: want origin, size and root lines", ErrInvalid)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w size", ErrInvalid)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != sha256.Size {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w root", ErrInvalid)
	}
	return Checkpoint{Origin: lines[0], Size: size, Root: root}, nil
}

// OpenCheckpoint checks a signed checkpoint note against the log's verifier key and returns
// its body. The note's origin must be the key's name, as C2SP asks.
func OpenCheckpoint(signed []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("log public key: %w", err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w: origin is not the key's name", ErrInvalid)
	}
	return c, nil
}

// VerifierKey returns the verifier key of the log named origin whose checkpoints are signed
// with the key derived from secret, the string Log.VerifierKey returns, without a database.
func VerifierKey(secret keys.Secret, origin string) (string, error) {
	_, vkey, err := newKeys(secret, origin)
	return vkey, err
}

// newKeys derives the log's Ed25519 note signer and its verifier key string from the
// server secret, so every process of a deployment signs with the same key and nothing new
// is stored. name is the log's origin.
func newKeys(secret keys.Secret, name string) (note.Signer, string, error) {
	seed := secret.Derive("tlog-signing-key")[:ed25519.SeedSize]
	skey, vkey := noteKeys(name, algEd25519, seed)
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("log signing key: %w", err)
	}
	return signer, vkey, nil
}

// Key types of the signed-note format: plain Ed25519 note signatures, and the timestamped
// Ed25519 cosignatures of C2SP tlog-cosignature that witnesses make.
const (
	algEd25519            = 0x01
	algCosignatureEd25519 = 0x04
)

// noteKeys returns the signer and verifier key strings of an Ed25519 seed under name. The
// key hash names the key in signatures: the first four bytes of SHA-256(name, "\n", alg,
// public key), as the note format defines it.
func noteKeys(name string, alg byte, seed []byte) (skey, vkey string) {
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	h := sha256.Sum256(append(append([]byte(name+"\n"), alg), pub...))
	hash := binary.BigEndian.Uint32(h[:4])
	skey = fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, hash, base64.StdEncoding.EncodeToString(append([]byte{alg}, seed...)))
	vkey = fmt.Sprintf("%s+%08x+%s", name, hash, base64.StdEncoding.EncodeToString(append([]byte{alg}, pub...)))
	return skey, vkey
}
