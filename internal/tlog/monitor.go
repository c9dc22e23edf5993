package tlog

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Monitor checks a log from outside, over its public endpoints: that each checkpoint is
// signed, and cosigned by every witness it names, that the served entries hash to its
// root, and that it extends the checkpoint seen before. A log rewritten behind its back
// fails one of these.
type Monitor struct {
	// BaseURL is the server's URL, such as https://dsr.example.com.
	BaseURL     string
	VerifierKey string
	// WitnessKeys are the witnesses whose cosignature every checkpoint must carry.
	WitnessKeys []string
	HTTP        *http.Client
}

// Observation is a checkpoint a monitor checked.
type Observation struct {
	// Signed is the checkpoint as served, to be kept as the next check's prev.
	Signed       []byte
	Checkpoint   Checkpoint
	Cosignatures []Cosignature
}

// Check fetches the latest checkpoint and checks it against the entries and, when prev (a
// signed checkpoint seen before) is not empty, that it extends prev.
func (m Monitor) Check(ctx context.Context, prev []byte) (Observation, error) {
	signed, err := m.get(ctx, "/api/v1/log/checkpoint")
	if err != nil {
		return Observation{}, err
	}
	cp, err := OpenCheckpoint(signed, m.VerifierKey)
	if err != nil {
		return Observation{}, err
	}
	cosigs, err := CheckCosignatures(signed, m.VerifierKey, m.WitnessKeys)
	if err != nil {
		return Observation{}, err
	}
	if err := m.checkEntries(ctx, cp); err != nil {
		return Observation{}, err
	}
	obs := Observation{Signed: signed, Checkpoint: cp, Cosignatures: cosigs}
	if len(prev) == 0 {
		return obs, nil
	}
	old, err := OpenCheckpoint(prev, m.VerifierKey)
	if err != nil {
		return Observation{}, fmt.Errorf("the checkpoint seen before: %w", err)
	}
	if old.Size > cp.Size {
		return Observation{}, fmt.Errorf("consistency: the log shrank from %d to %d entries", old.Size, cp.Size)
	}
	var p struct {
		Hashes [][]byte `json:"hashes"`
	}
	if err := m.getJSON(ctx, fmt.Sprintf("/api/v1/log/proof/consistency?first=%d&second=%d", old.Size, cp.Size), &p); err != nil {
		return Observation{}, err
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.Size, cp.Size, p.Hashes, old.Root, cp.Root); err != nil {
		return Observation{}, fmt.Errorf("consistency: the log of %d entries does not extend the one of %d seen before: %w", cp.Size, old.Size, err)
	}
	return obs, nil
}

// checkEntries recomputes the root from the served entries.
func (m Monitor) checkEntries(ctx context.Context, cp Checkpoint) error {
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := rf.NewEmptyRange(0)
	for r.End() < cp.Size {
		var page struct {
			Entries []Entry `json:"entries"`
		}
		end := min(cp.Size, r.End()+MaxEntries)
		if err := m.getJSON(ctx, fmt.Sprintf("/api/v1/log/entries?start=%d&end=%d", r.End(), end), &page); err != nil {
			return err
		}
		if len(page.Entries) == 0 {
			return fmt.Errorf("entries: none served from %d", r.End())
		}
		for _, e := range page.Entries {
			if e.Index != r.End() {
				return fmt.Errorf("entries: entry %d served where %d belongs", e.Index, r.End())
			}
			leaf, err := e.LeafHash()
			if err != nil {
				return err
			}
			if err := r.Append(leaf, nil); err != nil {
				return err
			}
		}
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return err
	}
	if cp.Size == 0 {
		root = rfc6962.DefaultHasher.EmptyRoot()
	}
	if string(root) != string(cp.Root) {
		return fmt.Errorf("entries: the %d served entries do not hash to the checkpoint's root", cp.Size)
	}
	return nil
}

func (m Monitor) getJSON(ctx context.Context, path string, out any) error {
	body, err := m.get(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

func (m Monitor) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(m.BaseURL, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	client := m.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, nil
}
