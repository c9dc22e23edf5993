package tlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/dsr-project/dsr/internal/domain"
)

// Receipt lets a requester prove, offline, that the log holds their request's latest
// milestone: the entry, its inclusion proof against a signed checkpoint, and what ties the
// entry to the request (its ID and the request secret).
type Receipt struct {
	RequestID      string   `json:"request_id"`
	RequestSecret  string   `json:"request_secret"`
	Entry          Entry    `json:"entry"`
	TreeSize       uint64   `json:"tree_size"`
	InclusionProof [][]byte `json:"inclusion_proof"`
	Checkpoint     string   `json:"checkpoint"`
}

// Receipt returns the receipt for the request's latest logged milestone, or an error
// coded not found when none is logged yet.
func (l *Log) Receipt(ctx context.Context, requestID string) (Receipt, error) {
	return l.receipt(ctx, requestID, "")
}

// MilestoneReceipt returns the receipt for one milestone of the request, proved against the
// latest checkpoint, which a milestone's mail links to; an error coded not found when that
// milestone is not logged.
func (l *Log) MilestoneReceipt(ctx context.Context, requestID string, m Milestone) (Receipt, error) {
	if _, ok := MilestoneOf(string(m)); !ok {
		return Receipt{}, domain.Errorf(domain.CodeInvalid, "the log records no such milestone")
	}
	return l.receipt(ctx, requestID, m)
}

// receipt is the receipt of milestone m, or of the latest when m is empty.
func (l *Log) receipt(ctx context.Context, requestID string, m Milestone) (Receipt, error) {
	n, err := size(ctx, l.db.DB)
	if err != nil {
		return Receipt{}, err
	}
	secret := l.RequestSecret(requestID)
	e, err := requestEntry(ctx, l.db.DB, RequestHash(secret, requestID), m, n)
	if errors.Is(err, ErrNotFound) {
		if m != "" {
			return Receipt{}, domain.Errorf(domain.CodeNotFound, "this step of the request is not logged yet")
		}
		return Receipt{}, domain.Errorf(domain.CodeNotFound, "no milestone of this request is logged yet")
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("receipt of request %s: %w", requestID, err)
	}
	p, err := l.InclusionProof(ctx, e.Index, n)
	if err != nil {
		return Receipt{}, fmt.Errorf("receipt of request %s: %w", requestID, err)
	}
	cp, err := l.checkpointAt(ctx, n)
	if err != nil {
		return Receipt{}, fmt.Errorf("receipt of request %s: %w", requestID, err)
	}
	return Receipt{RequestID: requestID, RequestSecret: secret, Entry: e, TreeSize: n,
		InclusionProof: p, Checkpoint: string(cp)}, nil
}

// Verify checks the receipt without the server: the checkpoint is signed by verifierKey
// and covers TreeSize entries, the entry is included in that tree, and the entry names the
// receipt's request. It needs nothing but the receipt and the log's public key.
func (r Receipt) Verify(verifierKey string) error {
	cp, err := OpenCheckpoint([]byte(r.Checkpoint), verifierKey)
	if err != nil {
		return fmt.Errorf("verify receipt: %w", err)
	}
	if cp.Size != r.TreeSize {
		return fmt.Errorf("verify receipt: %w: the checkpoint is of %d entries, the receipt says %d", ErrInvalid, cp.Size, r.TreeSize)
	}
	if RequestHash(r.RequestSecret, r.RequestID) != r.Entry.RequestHash {
		return fmt.Errorf("verify receipt: %w: the entry does not name this request", ErrInvalid)
	}
	leaf, err := r.Entry.LeafHash()
	if err != nil {
		return fmt.Errorf("verify receipt: %w", err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, r.Entry.Index, r.TreeSize, leaf, r.InclusionProof, cp.Root); err != nil {
		return fmt.Errorf("verify receipt: %w: the entry is not in the checkpoint's tree: %v", ErrInvalid, err)
	}
	return nil
}
