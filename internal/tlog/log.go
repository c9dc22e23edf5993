package tlog

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"gorm.io/gorm"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
)

// MaxEntries is the most entries one read returns.
const MaxEntries = 1000

// Log appends milestones and answers the public's questions about the log. It is safe for
// concurrent use.
type Log struct {
	db          *database.DB
	secret      keys.Secret
	origin      string
	signer      note.Signer
	verifierKey string
	// witnesses cosign the log's checkpoints when set (see WithWitnesses).
	witnesses []*witnessClient
	http      *http.Client
}

// New returns the log kept in db, signing checkpoints with a key derived from secret under
// the name origin (a schema-less URL naming the log, such as "dsr.example.com/log").
func New(db *database.DB, secret keys.Secret, origin string) (*Log, error) {
	signer, vkey, err := newKeys(secret, origin)
	if err != nil {
		return nil, err
	}
	return &Log{db: db, secret: secret, origin: origin, signer: signer, verifierKey: vkey}, nil
}

// VerifierKey returns the log's public key as a note verifier string.
func (l *Log) VerifierKey() string { return l.verifierKey }

// RequestSecret returns the secret the requester of requestID is given.
func (l *Log) RequestSecret(requestID string) string { return RequestSecret(l.secret, requestID) }

// Milestone is what a step that reaches a milestone tells the log.
type MilestoneStep struct {
	RequestID   string
	Milestone   Milestone
	At          time.Time
	DueAt       time.Time
	RequestType domain.RequestType
}

// AppendTx appends the milestone in tx, the transaction that records the step, so that the
// log holds it exactly when the audit trail does. A request's milestone is logged once,
// however often it is appended; the result says whether this call stored it.
func (l *Log) AppendTx(tx *gorm.DB, m MilestoneStep) (bool, error) {
	e := Entry{
		RequestHash: RequestHash(l.RequestSecret(m.RequestID), m.RequestID),
		Milestone:   m.Milestone, At: m.At.UTC().Truncate(time.Second),
		DueAt: m.DueAt.UTC().Truncate(time.Second), RequestType: m.RequestType,
	}
	stored, err := appendEntry(tx, l.db.Kind, e)
	if err != nil {
		return false, fmt.Errorf("log %s milestone of request %s: %w", m.Milestone, m.RequestID, err)
	}
	return stored, nil
}

// Checkpoint returns the latest checkpoint as a signed note. A log with witnesses returns
// the newest checkpoint that one of them cosigned, with every cosignature stored for it,
// and its own latest only until a witness first answers.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	if len(l.witnesses) > 0 {
		n, ok, err := latestCosignedSize(ctx, l.db.DB, l.witnessIDs())
		if err != nil || ok {
			return l.cosignedCheckpoint(ctx, n, err)
		}
	}
	n, err := size(ctx, l.db.DB)
	if err != nil {
		return nil, err
	}
	return l.checkpointAt(ctx, n)
}

func (l *Log) cosignedCheckpoint(ctx context.Context, n uint64, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	signed, err := l.checkpointAt(ctx, n)
	if err != nil {
		return nil, err
	}
	lines, err := cosignatures(ctx, l.db.DB, n, l.witnessIDs())
	if err != nil {
		return nil, err
	}
	// In the order the witnesses are configured, so the same cosignatures read the same.
	for _, w := range l.witnesses {
		signed = append(signed, lines[w.id]...)
	}
	return signed, nil
}

func (l *Log) checkpointAt(ctx context.Context, n uint64) ([]byte, error) {
	root, err := l.subtreeHash(ctx, 0, n)
	if err != nil {
		return nil, err
	}
	body := Checkpoint{Origin: l.origin, Size: n, Root: root}.String()
	signed, err := note.Sign(&note.Note{Text: body}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return signed, nil
}

// Entries returns the entries [begin, end), at most MaxEntries of them. Like the proofs, it
// returns a domain error coded invalid for a range that makes no sense and not found for
// one past the tree's end.
func (l *Log) Entries(ctx context.Context, begin, end uint64) ([]Entry, error) {
	if end <= begin {
		return nil, domain.Errorf(domain.CodeInvalid, "the range of entries [%d, %d) is empty", begin, end)
	}
	if err := l.within(ctx, end); err != nil {
		return nil, err
	}
	return entries(ctx, l.db.DB, begin, min(end, begin+MaxEntries))
}

// InclusionProof returns the proof that entry index is in the tree of the given size.
func (l *Log) InclusionProof(ctx context.Context, index, treeSize uint64) ([][]byte, error) {
	if index >= treeSize {
		return nil, domain.Errorf(domain.CodeInvalid, "entry %d is not in a tree of %d entries", index, treeSize)
	}
	if err := l.within(ctx, treeSize); err != nil {
		return nil, err
	}
	nodes, err := proof.Inclusion(index, treeSize)
	if err != nil {
		return nil, domain.Errorf(domain.CodeInvalid, "no inclusion proof of entry %d in a tree of %d entries", index, treeSize)
	}
	return l.proofHashes(ctx, nodes)
}

// ConsistencyProof returns the proof that the tree of size1 is a prefix of that of size2.
func (l *Log) ConsistencyProof(ctx context.Context, size1, size2 uint64) ([][]byte, error) {
	if size1 > size2 {
		return nil, domain.Errorf(domain.CodeInvalid, "the first tree size %d is larger than the second %d", size1, size2)
	}
	if err := l.within(ctx, size2); err != nil {
		return nil, err
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, domain.Errorf(domain.CodeInvalid, "no consistency proof from %d to %d entries", size1, size2)
	}
	return l.proofHashes(ctx, nodes)
}

// within returns a not-found error when the tree is smaller than n.
func (l *Log) within(ctx context.Context, n uint64) error {
	current, err := size(ctx, l.db.DB)
	if err != nil {
		return err
	}
	if n > current {
		return domain.Errorf(domain.CodeNotFound, "the log has %d entries, fewer than %d", current, n)
	}
	return nil
}

// proofHashes computes the hashes of a proof's nodes from the stored leaf hashes; at the
// log's scale that is cheaper than keeping the tree's inner nodes.
func (l *Log) proofHashes(ctx context.Context, nodes proof.Nodes) ([][]byte, error) {
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		begin, end := id.Coverage()
		var err error
		if hashes[i], err = l.subtreeHash(ctx, begin, end); err != nil {
			return nil, err
		}
	}
	out, err := nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("proof hashes: %w", err)
	}
	return out, nil
}

// subtreeHash returns the Merkle tree hash of leaves [begin, end): the whole tree when
// begin is 0, otherwise a perfect subtree, whose hash does not depend on where it sits.
func (l *Log) subtreeHash(ctx context.Context, begin, end uint64) ([]byte, error) {
	if begin == end {
		return rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	leaves, err := leafHashes(ctx, l.db.DB, begin, end)
	if err != nil {
		return nil, err
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := rf.NewEmptyRange(0)
	for _, h := range leaves {
		if err := r.Append(h, nil); err != nil {
			return nil, fmt.Errorf("log tree: %w", err)
		}
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return nil, fmt.Errorf("log tree: %w", err)
	}
	return root, nil
}
