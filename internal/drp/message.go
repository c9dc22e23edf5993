// Package drp is dsr as a Covered Business of the Data Rights Protocol 1.0
// (consumer-reports-innovation-lab/data-rights-protocol, data-rights-protocol.md): the
// signed messages of authorized agents and their checks, the agent directory, the business
// discovery document, the mapping of rights actions to dsr's request types and of dsr's
// statuses to the protocol's, and the status callbacks owed to agents. Section numbers in
// comments are the 1.0 text's; where the repository's openapi.yaml (still 0.4) disagrees,
// the 1.0 text wins.
package drp

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"time"
)

// Version is the protocol version dsr speaks, as the drp.version claim carries it.
const Version = "1.0"

// SignMessage signs payload as an agent does (section 3.07.1): libsodium's combined mode,
// the 64-byte Ed25519 signature followed by the message, base64-encoded. dsr signs nothing
// itself; tests and tools play agents with it.
func SignMessage(key ed25519.PrivateKey, payload []byte) string {
	signed := append(ed25519.Sign(key, payload), payload...)
	return base64.StdEncoding.EncodeToString(signed)
}

// Errors of OpenMessage, in the order section 3.07 checks.
var (
	errNotBase64    = errors.New("the body is not base64")
	errBadSignature = errors.New("the signature does not verify against the agent's key")
)

// openMessage decodes a signed body and checks its signature against key, returning the
// JSON it carries and the signature. Whitespace around the body, such as a final newline,
// is tolerated; nothing else is.
func openMessage(body []byte, key ed25519.PublicKey) (payload, signature []byte, err error) {
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(body)))
	if err != nil {
		return nil, nil, errNotBase64
	}
	if len(raw) < ed25519.SignatureSize || !ed25519.Verify(key, raw[ed25519.SignatureSize:], raw[:ed25519.SignatureSize]) {
		return nil, nil, errBadSignature
	}
	return raw[ed25519.SignatureSize:], raw[:ed25519.SignatureSize], nil
}

// parseTime reads the ISO 8601 timestamps agents send (sections 2.01, 3.07): RFC 3339 with
// an offset, as PyNaCl's reference agent writes them, or without one, read as UTC.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
