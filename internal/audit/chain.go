// Package audit proves what happened to requests: it verifies the hash chain of the audit
// log, and exports a request's evidence as a signed bundle that anyone can verify offline
// with the public half of the signing key.
package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/dsr-project/dsr/internal/requestdb"
)

// ErrChainBroken is what Report.Err wraps when the audit log fails verification.
var ErrChainBroken = errors.New("audit log chain is broken")

// Report is the outcome of walking the audit chain.
type Report struct {
	// Events is how many chained events were checked.
	Events int64
	// Unchained counts events stored before the chain existed; nothing vouches for them.
	Unchained int64
	// Head is the last link as the database records it.
	Head requestdb.ChainLink
	// Break is the first link that does not hold, or nil when the whole chain does.
	Break *Break
}

// Break names the first place where the chain does not hold.
type Break struct {
	ChainSeq int64  // chain position of the event at fault
	EventID  string // empty when the fault is past the last event
	Problem  string
}

func (b Break) String() string {
	if b.EventID == "" {
		return fmt.Sprintf("chain position %d: %s", b.ChainSeq, b.Problem)
	}
	return fmt.Sprintf("event %s (chain position %d): %s", b.EventID, b.ChainSeq, b.Problem)
}

// Err returns nil for an intact chain, or an error wrapping ErrChainBroken that names the
// first broken link.
func (r Report) Err() error {
	if r.Break == nil {
		return nil
	}
	return fmt.Errorf("%w at %s", ErrChainBroken, r.Break)
}

// pageSize is how many events VerifyChain reads at a time.
const pageSize = 500

// VerifyChain walks the audit chain from its first event to the head recorded when the walk
// starts, and reports the first event whose position, link to its predecessor or contents
// do not match; events appended meanwhile are left for the next walk. A removed event shows
// as a gap or a broken link, a changed one as a hash that no longer matches its contents,
// and events lost from the end as a head that names a later position. The error is only
// for failures to read the database.
func VerifyChain(ctx context.Context, repo *requestdb.Repo) (Report, error) {
	var rep Report
	head, err := repo.ChainHead(ctx)
	if err != nil {
		return rep, fmt.Errorf("verify audit chain: %w", err)
	}
	rep.Head = head
	if rep.Unchained, err = repo.UnchainedEvents(ctx); err != nil {
		return rep, fmt.Errorf("verify audit chain: %w", err)
	}
	last := requestdb.AuditEvent{}
walk:
	for last.ChainSeq < head.ChainSeq {
		page, err := repo.ChainEvents(ctx, last.ChainSeq, pageSize)
		if err != nil {
			return rep, fmt.Errorf("verify audit chain: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.ChainSeq > head.ChainSeq {
				break walk
			}
			if b := checkLink(last, e); b != nil {
				rep.Break = b
				return rep, nil
			}
			rep.Events++
			last = e
		}
	}
	if last.ChainSeq != head.ChainSeq || last.Hash != head.Hash {
		rep.Break = &Break{ChainSeq: last.ChainSeq + 1, Problem: fmt.Sprintf(
			"the chain head records position %d with hash %s, but the chain ends at position %d with hash %s: events are missing from its end or the head was altered",
			head.ChainSeq, orNone(head.Hash), last.ChainSeq, orNone(last.Hash))}
	}
	return rep, nil
}

// checkLink checks e against the event before it in the chain (the zero event before the first).
func checkLink(prev, e requestdb.AuditEvent) *Break {
	brk := func(format string, args ...any) *Break {
		return &Break{ChainSeq: e.ChainSeq, EventID: e.ID, Problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case e.ChainSeq != prev.ChainSeq+1:
		return brk("follows position %d: the events at positions %d to %d are missing", prev.ChainSeq, prev.ChainSeq+1, e.ChainSeq-1)
	case e.PrevHash != prev.Hash && prev.ID == "":
		return brk("prev_hash is %s, but the first event of the chain must have none", orNone(e.PrevHash))
	case e.PrevHash != prev.Hash:
		return brk("prev_hash %s does not match hash %s of the event before it (%s): one of the two was altered", orNone(e.PrevHash), orNone(prev.Hash), prev.ID)
	}
	if got := e.ChainHash(); got != e.Hash {
		return brk("stored hash %s does not match the hash of its contents %s: the event was altered", orNone(e.Hash), got)
	}
	return nil
}

func orNone(hash string) string {
	if hash == "" {
		return "(none)"
	}
	return hash
}
