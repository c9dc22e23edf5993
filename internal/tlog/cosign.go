package tlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// WitnessInterval is how often a serving process asks the witnesses to cosign the log's
// newest checkpoint; the checkpoint it serves lags the log by about that much.
const WitnessInterval = 15 * time.Second

// witnessTimeout bounds one call to a witness, so that a slow one delays only itself.
const witnessTimeout = 10 * time.Second

// WitnessEndpoint is a witness the log asks for cosignatures: its verifier key (a
// timestamped Ed25519 cosignature key) and the URL prefix of its add-checkpoint.
type WitnessEndpoint struct {
	VerifierKey string
	URL         string
}

// witnessClient is a witness as the log talks to it.
type witnessClient struct {
	url      string
	verifier note.Verifier
	// id names the witness's key in storage: its name and key hash.
	id string

	mu sync.Mutex
	// size is the tree size the witness last cosigned, as far as this process knows; a
	// 409 answer corrects it.
	size uint64
}

func (w *witnessClient) knownSize() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

func (w *witnessClient) setSize(n uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.size = n
}

// keyID names a note key by its name and hash, as signature lines do.
func keyID(v note.Verifier) string { return fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash()) }

// WithWitnesses returns a copy of the log that asks ws to cosign its checkpoints (see
// CollectCosignatures) and whose Checkpoint is then the newest one a witness cosigned,
// with every cosignature collected for it. client makes the calls; nil means the default.
func (l *Log) WithWitnesses(ws []WitnessEndpoint, client *http.Client) (*Log, error) {
	out := *l
	out.witnesses = nil
	out.http = client
	if out.http == nil {
		out.http = http.DefaultClient
	}
	for _, w := range ws {
		v, err := fnote.NewVerifierForCosignatureV1(w.VerifierKey)
		if err != nil {
			return nil, fmt.Errorf("witness key %q: %w", w.VerifierKey, err)
		}
		out.witnesses = append(out.witnesses, &witnessClient{url: strings.TrimRight(w.URL, "/"), verifier: v, id: keyID(v)})
	}
	return &out, nil
}

// RunWitnessing collects cosignatures every interval until ctx ends, logging the
// witnesses that failed. A log without witnesses returns at once.
func (l *Log) RunWitnessing(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if len(l.witnesses) == 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := l.CollectCosignatures(ctx); err != nil && ctx.Err() == nil {
			log.Warn("transparency log: a witness did not cosign", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CollectCosignatures asks every witness that has not cosigned the log's current
// checkpoint to cosign it, in parallel, and stores each cosignature returned. A witness
// that is down or refuses is named in the error and asked again next time; appends,
// receipts and proofs never wait for witnesses.
func (l *Log) CollectCosignatures(ctx context.Context) error {
	n, err := size(ctx, l.db.DB)
	if err != nil {
		return err
	}
	signed, err := l.checkpointAt(ctx, n)
	if err != nil {
		return err
	}
	have, err := cosignatures(ctx, l.db.DB, n, l.witnessIDs())
	if err != nil {
		return err
	}
	errs := make([]error, len(l.witnesses))
	var wg sync.WaitGroup
	for i, w := range l.witnesses {
		if _, ok := have[w.id]; ok {
			continue
		}
		wg.Go(func() { errs[i] = l.askWitness(ctx, w, signed, n) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (l *Log) witnessIDs() []string {
	ids := make([]string, len(l.witnesses))
	for i, w := range l.witnesses {
		ids[i] = w.id
	}
	return ids
}

// askWitness submits the checkpoint of size n with a consistency proof from the size the
// witness last cosigned, learning that size from a 409 answer when this process does not
// know it yet, and stores the cosignature returned.
func (l *Log) askWitness(ctx context.Context, w *witnessClient, signed []byte, n uint64) error {
	for range 2 {
		old := w.knownSize()
		if old > n {
			return fmt.Errorf("witness %s: it cosigned %d entries, more than the %d this process sees", w.id, old, n)
		}
		body, err := l.addCheckpointBody(ctx, old, n, signed)
		if err != nil {
			return err
		}
		status, answer, err := l.post(ctx, w.url+"/add-checkpoint", body)
		if err != nil {
			return fmt.Errorf("witness %s: %w", w.id, err)
		}
		switch status {
		case http.StatusOK:
			line, err := cosignatureLine(signed, answer, w.verifier)
			if err != nil {
				return fmt.Errorf("witness %s: %w", w.id, err)
			}
			if err := saveCosignature(ctx, l.db.DB, n, w.id, line); err != nil {
				return err
			}
			w.setSize(n)
			return nil
		case http.StatusConflict:
			size, err := strconv.ParseUint(strings.TrimSpace(string(answer)), 10, 64)
			if err != nil {
				return fmt.Errorf("witness %s: 409 without a tree size", w.id)
			}
			w.setSize(size)
		default:
			return fmt.Errorf("witness %s refused the checkpoint of %d entries: %d %s", w.id, n, status, firstLine(answer))
		}
	}
	return fmt.Errorf("witness %s: its cosigned tree size kept changing", w.id)
}

// addCheckpointBody is the tlog-witness request: the old size, the consistency proof
// from it, an empty line and the signed checkpoint.
func (l *Log) addCheckpointBody(ctx context.Context, old, n uint64, signed []byte) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	if old > 0 {
		hashes, err := l.ConsistencyProof(ctx, old, n)
		if err != nil {
			return nil, err
		}
		for _, h := range hashes {
			b.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(signed)
	return b.Bytes(), nil
}

func (l *Log) post(ctx context.Context, url string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, witnessTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := l.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, answer, err
}

// cosignatureLine checks the witness's answer as the protocol suggests, by appending it to
// the checkpoint and opening the note with the witness's key, and returns its line.
func cosignatureLine(signed, answer []byte, witness note.Verifier) (string, error) {
	n, err := note.Open(append(bytes.Clone(signed), answer...), note.VerifierList(witness))
	if err != nil {
		return "", fmt.Errorf("its answer holds no valid cosignature: %w", err)
	}
	for _, s := range n.Sigs {
		if s.Name == witness.Name() && s.Hash == witness.KeyHash() {
			return "— " + s.Name + " " + s.Base64 + "\n", nil
		}
	}
	return "", errors.New("its answer holds no cosignature by its key")
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}

// Cosignature is a witness's cosignature found on a checkpoint.
type Cosignature struct {
	Witness string
	At      time.Time
}

// CheckCosignatures checks that the signed checkpoint carries a valid cosignature by each
// of witnessKeys, and returns them. A cosignature changed by a byte, or missing, fails.
func CheckCosignatures(signed []byte, logKey string, witnessKeys []string) ([]Cosignature, error) {
	logVerifier, err := note.NewVerifier(logKey)
	if err != nil {
		return nil, fmt.Errorf("log public key: %w", err)
	}
	verifiers := []note.Verifier{logVerifier}
	for _, k := range witnessKeys {
		v, err := fnote.NewVerifierForCosignatureV1(k)
		if err != nil {
			return nil, fmt.Errorf("witness key %q: %w", k, err)
		}
		verifiers = append(verifiers, v)
	}
	n, err := note.Open(signed, note.VerifierList(verifiers...))
	if err != nil {
		return nil, fmt.Errorf("checkpoint signatures: %w", err)
	}
	var out []Cosignature
	for _, v := range verifiers[1:] {
		i := -1
		for j, s := range n.Sigs {
			if s.Name == v.Name() && s.Hash == v.KeyHash() {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("checkpoint: %w: no cosignature by witness %s", ErrInvalid, v.Name())
		}
		at, err := fnote.CoSigV1Timestamp(n.Sigs[i])
		if err != nil {
			return nil, fmt.Errorf("cosignature by witness %s: %w", v.Name(), err)
		}
		out = append(out, Cosignature{Witness: v.Name(), At: at.UTC()})
	}
	return out, nil
}
