package tlog

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// RequestEvidence is every logged milestone of one request with its inclusion proof
// against one signed checkpoint, for an evidence bundle. Like a receipt, it carries the
// request secret that ties the entries to the request.
type RequestEvidence struct {
	RequestID     string `json:"request_id"`
	RequestSecret string `json:"request_secret"`
	TreeSize      uint64 `json:"tree_size"`
	Checkpoint    string `json:"checkpoint"`
	// LogPublicKey is the key the log signed the checkpoint with, as the log published it;
	// a verifier compares it with the key it got elsewhere, or checks against that one.
	LogPublicKey string        `json:"log_public_key,omitempty"`
	Entries      []ProvenEntry `json:"entries"`
}

// ProvenEntry is an entry and its inclusion proof in the tree of RequestEvidence.TreeSize.
type ProvenEntry struct {
	Entry          Entry    `json:"entry"`
	InclusionProof [][]byte `json:"inclusion_proof"`
}

// RequestEvidence returns the request's entries, each proven against the latest checkpoint.
// A request with no logged milestone has no entries.
func (l *Log) RequestEvidence(ctx context.Context, requestID string) (RequestEvidence, error) {
	n, err := size(ctx, l.db.DB)
	if err != nil {
		return RequestEvidence{}, err
	}
	secret := l.RequestSecret(requestID)
	es, err := requestEntries(ctx, l.db.DB, RequestHash(secret, requestID), n)
	if err != nil {
		return RequestEvidence{}, fmt.Errorf("log evidence of request %s: %w", requestID, err)
	}
	ev := RequestEvidence{RequestID: requestID, RequestSecret: secret, TreeSize: n, LogPublicKey: l.verifierKey, Entries: []ProvenEntry{}}
	for _, e := range es {
		p, err := l.InclusionProof(ctx, e.Index, n)
		if err != nil {
			return RequestEvidence{}, fmt.Errorf("log evidence of request %s: %w", requestID, err)
		}
		ev.Entries = append(ev.Entries, ProvenEntry{Entry: e, InclusionProof: p})
	}
	cp, err := l.checkpointAt(ctx, n)
	if err != nil {
		return RequestEvidence{}, fmt.Errorf("log evidence of request %s: %w", requestID, err)
	}
	ev.Checkpoint = string(cp)
	return ev, nil
}

// Verify checks the evidence offline: the checkpoint is signed by verifierKey and covers
// TreeSize entries, and every entry names the request and is included in that tree.
func (ev RequestEvidence) Verify(verifierKey string) error {
	cp, err := OpenCheckpoint([]byte(ev.Checkpoint), verifierKey)
	if err != nil {
		return fmt.Errorf("verify log evidence: %w", err)
	}
	if cp.Size != ev.TreeSize {
		return fmt.Errorf("verify log evidence: %w: the checkpoint is of %d entries, the evidence says %d", ErrInvalid, cp.Size, ev.TreeSize)
	}
	hash := RequestHash(ev.RequestSecret, ev.RequestID)
	for _, pe := range ev.Entries {
		if pe.Entry.RequestHash != hash {
			return fmt.Errorf("verify log evidence: %w: entry %d does not name this request", ErrInvalid, pe.Entry.Index)
		}
		leaf, err := pe.Entry.LeafHash()
		if err != nil {
			return fmt.Errorf("verify log evidence: %w", err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, pe.Entry.Index, ev.TreeSize, leaf, pe.InclusionProof, cp.Root); err != nil {
			return fmt.Errorf("verify log evidence: %w: entry %d is not in the checkpoint's tree: %v", ErrInvalid, pe.Entry.Index, err)
		}
	}
	return nil
}
