package audit

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/requestdb"
)

// chainOf links events for request r1 at the given positions into a chain of n positions,
// returning the bundle's view: r1's events, the other positions as links, and the head.
func chainOf(n int64, own ...int64) eventsFile {
	f := eventsFile{ChainFormat: requestdb.ChainFormat}
	prev, seq := "", int64(0)
	for pos := int64(1); pos <= n; pos++ {
		e := requestdb.AuditEvent{RequestID: "other", ID: "other:x", Seq: 1, At: time.Unix(pos, 0).UTC(), Action: "step", ChainSeq: pos, PrevHash: prev}
		mine := false
		for _, o := range own {
			mine = mine || o == pos
		}
		if mine {
			seq++
			e.RequestID, e.Seq = "r1", seq
			e.ID = fmt.Sprintf("r1:%d", seq)
		}
		e.Hash = e.ChainHash()
		if mine {
			f.Events = append(f.Events, toBundleEvent(e))
		} else {
			f.Links = append(f.Links, requestdb.ChainLink{ChainSeq: pos, PrevHash: e.PrevHash, Hash: e.Hash})
		}
		prev = e.Hash
	}
	f.ChainHead = chainPoint{n, prev}
	return f
}

func TestCheckChainAcceptsEventsLinkedThroughOtherRequests(t *testing.T) {
	if n, _, err := checkChain(chainOf(5, 1, 3, 5), "r1"); err != nil || n != 3 {
		t.Errorf("checked %d events, err %v; want 3, nil", n, err)
	}
}

func TestCheckChainRefusesABundleThatBreaksTheChain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f *eventsFile)
		want   string
	}{
		{"altered event", func(f *eventsFile) { f.Events[1].Actor = "mallory" }, "event r1:2 (chain position 3): stored hash"},
		{"missing link", func(f *eventsFile) { f.Links = f.Links[1:] }, "event r1:1 (chain position 1): the link at position 2 after it is missing"},
		{"rewritten link", func(f *eventsFile) { f.Links[1].PrevHash = f.Links[0].Hash }, "position 4 links to"},
		{"other head", func(f *eventsFile) { f.ChainHead.Hash = f.Links[0].Hash }, "it is the chain head"},
		{"event of another request", func(f *eventsFile) { f.Events[0].RequestID = "r2" }, "belongs to request r2"},
		{"duplicate position", func(f *eventsFile) { f.Links = append(f.Links, f.Links[0]) }, "duplicated"},
	} {
		f := chainOf(5, 1, 3, 5)
		tc.change(&f)
		if _, _, err := checkChain(f, "r1"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}
