package tlog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Witness cosigns the checkpoints of one log as C2SP tlog-witness describes: it keeps the
// latest checkpoint it cosigned in a state file and cosigns a new one only when a
// consistency proof shows that it extends that one. A log rewritten behind its back can
// therefore never collect its cosignature again. It is safe for concurrent use.
type Witness struct {
	signer      note.Signer
	verifierKey string
	log         note.Verifier
	stateFile   string

	// mu makes checking a submission against the latest checkpoint and persisting the new
	// one a single step, so that two submissions can never roll the state back.
	mu     sync.Mutex
	latest Checkpoint
	// cosigned is the latest checkpoint as a note with the log's signature and the
	// witness's own, served to monitors.
	cosigned []byte
}

// maxProofLines is the most consistency proof lines a submission may carry.
const maxProofLines = 63

// NewWitnessKey returns a new signer key string for a witness named name (a schema-less
// URL such as "witness.example/w1"), of the timestamped Ed25519 cosignature type.
func NewWitnessKey(name string) (string, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return "", err
	}
	skey, _ := noteKeys(name, algCosignatureEd25519, seed)
	if _, err := fnote.NewSignerForCosignatureV1(skey); err != nil {
		return "", fmt.Errorf("witness key: %w", err)
	}
	return skey, nil
}

// NewWitness returns the witness that signs with skey (from NewWitnessKey) for the log
// whose checkpoints verify with logKey, keeping its state in stateFile. A state file left
// by an earlier run must hold a checkpoint of that log cosigned by this witness.
func NewWitness(skey, logKey, stateFile string) (*Witness, error) {
	signer, vkey, err := witnessKeys(skey)
	if err != nil {
		return nil, err
	}
	logVerifier, err := note.NewVerifier(logKey)
	if err != nil {
		return nil, fmt.Errorf("log public key: %w", err)
	}
	own, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		return nil, fmt.Errorf("witness key: %w", err)
	}
	w := &Witness{signer: signer, verifierKey: vkey, log: logVerifier, stateFile: stateFile,
		latest: Checkpoint{Origin: logVerifier.Name(), Root: rfc6962.DefaultHasher.EmptyRoot()}}
	state, err := os.ReadFile(stateFile)
	if errors.Is(err, os.ErrNotExist) {
		return w, nil
	}
	if err != nil {
		return nil, fmt.Errorf("witness state: %w", err)
	}
	n, err := note.Open(state, note.VerifierList(logVerifier, own))
	if err != nil {
		return nil, fmt.Errorf("witness state %s: %w", stateFile, err)
	}
	if w.latest, err = ParseCheckpoint(n.Text); err != nil {
		return nil, fmt.Errorf("witness state %s: %w", stateFile, err)
	}
	w.cosigned = state
	return w, nil
}

// witnessKeys returns the cosignature signer of skey and its verifier key string.
func witnessKeys(skey string) (note.Signer, string, error) {
	signer, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		return nil, "", fmt.Errorf("witness key: %w", err)
	}
	// PRIVATE+KEY+name+hash+key, where only the base64 key may hold a "+".
	fields := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(fields[len(fields)-1])
	if len(fields) != 5 || err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != algCosignatureEd25519 {
		return nil, "", errors.New("witness key: want a timestamped Ed25519 cosignature key")
	}
	_, vkey := noteKeys(signer.Name(), algCosignatureEd25519, raw[1:])
	return signer, vkey, nil
}

// VerifierKey returns the witness's public key as a note verifier string, for logs and
// monitors to configure.
func (w *Witness) VerifierKey() string { return w.verifierKey }

// Handler serves the witness's HTTP interface: POST /add-checkpoint, and GET
// /<hex SHA-256 of the origin>/checkpoint for monitors.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", w.serveAddCheckpoint)
	mux.HandleFunc("GET /{origin}/checkpoint", w.serveCheckpoint)
	return mux
}

// witnessRefusal is an answer of add-checkpoint other than a cosignature.
type witnessRefusal struct {
	status int
	reason string
}

func (r *witnessRefusal) Error() string { return r.reason }

func refuse(status int, format string, args ...any) *witnessRefusal {
	return &witnessRefusal{status: status, reason: fmt.Sprintf(format, args...)}
}

func (w *Witness) serveAddCheckpoint(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, 64<<10))
	if err != nil {
		http.Error(rw, "the request body is too large", http.StatusRequestEntityTooLarge)
		return
	}
	sig, err := w.AddCheckpoint(body)
	var refusal *witnessRefusal
	switch {
	case errors.As(err, &refusal) && refusal.status == http.StatusConflict:
		// The body tells the log which size to prove consistency from.
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%s\n", refusal.reason)
	case errors.As(err, &refusal):
		http.Error(rw, refusal.reason, refusal.status)
	case err != nil:
		http.Error(rw, "the witness could not record the checkpoint", http.StatusInternalServerError)
	default:
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = rw.Write(sig)
	}
}

func (w *Witness) serveCheckpoint(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	cosigned, origin := w.cosigned, w.latest.Origin
	w.mu.Unlock()
	h := sha256.Sum256([]byte(origin))
	if cosigned == nil || r.PathValue("origin") != hex.EncodeToString(h[:]) {
		http.NotFound(rw, r)
		return
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = rw.Write(cosigned)
}

// AddCheckpoint handles one add-checkpoint body: the old size line, the consistency proof
// lines, an empty line and the signed checkpoint. It returns the witness's cosignature
// line, or a *witnessRefusal with the HTTP status the protocol gives.
func (w *Witness) AddCheckpoint(body []byte) ([]byte, error) {
	old, hashes, signed, err := parseAddCheckpoint(body)
	if err != nil {
		return nil, err
	}
	origin, _, _ := bytes.Cut(signed, []byte("\n"))
	if string(origin) != w.log.Name() {
		return nil, refuse(http.StatusNotFound, "this witness does not know the log %q", origin)
	}
	n, err := note.Open(signed, note.VerifierList(w.log))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified), errors.As(err, &invalid):
		return nil, refuse(http.StatusForbidden, "the checkpoint is not signed by the log's key")
	case err != nil:
		return nil, refuse(http.StatusBadRequest, "the checkpoint is not a signed note")
	}
	cp, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%v", err)
	}
	if old > cp.Size {
		return nil, refuse(http.StatusBadRequest, "the old size %d is larger than the checkpoint's %d", old, cp.Size)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if old != w.latest.Size {
		return nil, refuse(http.StatusConflict, "%d", w.latest.Size)
	}
	switch {
	case cp.Size == 0 && !bytes.Equal(cp.Root, rfc6962.DefaultHasher.EmptyRoot()):
		return nil, refuse(http.StatusUnprocessableEntity, "a checkpoint of no entries must have the empty tree's root")
	case old == 0 && len(hashes) > 0:
		return nil, refuse(http.StatusUnprocessableEntity, "no consistency proof is due from an empty tree")
	case old > 0:
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old, cp.Size, hashes, w.latest.Root, cp.Root); err != nil {
			return nil, refuse(http.StatusUnprocessableEntity, "the checkpoint of %d entries is not consistent with the one of %d this witness cosigned", cp.Size, old)
		}
	}
	cosigned, err := note.Sign(n, w.signer)
	if err != nil {
		return nil, fmt.Errorf("cosign: %w", err)
	}
	if err := writeFileAtomic(w.stateFile, cosigned); err != nil {
		return nil, fmt.Errorf("witness state: %w", err)
	}
	w.latest, w.cosigned = cp, cosigned
	return ownSignatureLines(cosigned, w.signer)
}

// parseAddCheckpoint splits an add-checkpoint body, refusing with 400 what is malformed.
func parseAddCheckpoint(body []byte) (uint64, [][]byte, []byte, error) {
	head, signed, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, refuse(http.StatusBadRequest, "want an old size line, proof lines, an empty line and the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	sizeText, ok := strings.CutPrefix(lines[0], "old ")
	old, err := strconv.ParseUint(sizeText, 10, 64)
	if !ok || err != nil || strconv.FormatUint(old, 10) != sizeText {
		return 0, nil, nil, refuse(http.StatusBadRequest, "the first line must be \"old\" and a tree size")
	}
	if len(lines)-1 > maxProofLines {
		return 0, nil, nil, refuse(http.StatusBadRequest, "more than %d consistency proof lines", maxProofLines)
	}
	var hashes [][]byte
	for _, line := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(h) != sha256.Size {
			return 0, nil, nil, refuse(http.StatusBadRequest, "a consistency proof line is not a base64 hash")
		}
		hashes = append(hashes, h)
	}
	return old, hashes, signed, nil
}

// ownSignatureLines returns the signature lines of signer in a signed note.
func ownSignatureLines(signed []byte, signer note.Signer) ([]byte, error) {
	_, sigs, _ := bytes.Cut(signed, []byte("\n\n"))
	var out []byte
	for line := range bytes.Lines(sigs) {
		if bytes.HasPrefix(line, []byte("— "+signer.Name()+" ")) {
			out = append(out, line...)
		}
	}
	if out == nil {
		return nil, errors.New("cosign: no signature line of the witness")
	}
	return out, nil
}

// writeFileAtomic replaces path with data so that a crash leaves the old or the new
// contents, never part of either, and the new contents are on disk before it returns.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
