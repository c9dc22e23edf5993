package audit

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/tlog"
)

// ErrBundleInvalid is wrapped by every VerifyBundle error that is about the bundle itself.
var ErrBundleInvalid = errors.New("evidence bundle does not verify")

// BundleReport describes a bundle that verified.
type BundleReport struct {
	RequestID    string
	CreatedAt    time.Time
	PersonalData bool
	// Events counts the chained events whose hashes and links were checked; Unchained those
	// older than the chain, which only the signature covers.
	Events    int
	Unchained int
	// ChainSeq and ChainHash are the chain head the bundle was exported at, to compare with
	// the live log.
	ChainSeq  int64
	ChainHash string
	// KeyFingerprint identifies the key that signed the bundle. KeyTrusted is false when no
	// trusted key was given and the bundle's own key was used: the bundle is then intact,
	// but only the fingerprint says whose it is.
	KeyFingerprint string
	KeyTrusted     bool
	// Plans counts the store plans whose digests the chain records; with personal data,
	// each plan's digest was also recomputed from the plan itself. UnchainedPlans names the
	// stores whose plan the chain does not record yet: a fan-out still running records its
	// plans when it reports.
	Plans          int
	UnchainedPlans []string
	// Log is what transparency.json proved, when the bundle has one.
	Log *LogReport
}

// LogReport says what a bundle's transparency.json proved: Entries milestones of the
// request, each included in the tree of TreeSize entries whose checkpoint the log Origin
// signed with LogKey. KeyTrusted is false when no log key was given and the one the
// evidence carries was used.
type LogReport struct {
	Entries    int
	TreeSize   uint64
	Origin     string
	LogKey     string
	KeyTrusted bool
}

// Trust is what a bundle is checked against: the key that must have signed it and the
// transparency log's verifier key. Either may be empty, and the key the bundle carries is
// then used and reported as not trusted.
type Trust struct {
	Signer ed25519.PublicKey
	LogKey string
}

// VerifyBundle checks an evidence bundle offline: that the container is exactly what Export
// writes for its files, that manifest.sig is a signature of manifest.json by trusted (or,
// when trusted is nil, by the key the bundle carries, which the report then says), that
// every file has the digest the manifest lists and none is missing or extra, and that every
// audit event's hash matches its contents and links to its neighbours in the chain. Any
// change to any byte fails. The error wraps ErrBundleInvalid and names the first thing that
// does not match.
func VerifyBundle(bundle []byte, trusted ed25519.PublicKey) (BundleReport, error) {
	return VerifyBundleTrusting(bundle, Trust{Signer: trusted})
}

// VerifyBundleTrusting is VerifyBundle that also checks transparency.json, when the bundle
// has one, against trust.LogKey: the checkpoint's signature, and every entry's inclusion
// proof against it and its tie to the request.
func VerifyBundleTrusting(bundle []byte, trust Trust) (BundleReport, error) {
	rep, err := verifyBundle(bundle, trust)
	if err != nil {
		return BundleReport{}, fmt.Errorf("%w: %w", ErrBundleInvalid, err)
	}
	return rep, nil
}

func verifyBundle(bundle []byte, trust Trust) (BundleReport, error) {
	trusted := trust.Signer
	var rep BundleReport
	files, err := readZip(bundle)
	if err != nil {
		return rep, err
	}
	byName := map[string][]byte{}
	for _, f := range files {
		byName[f.name] = f.data
	}
	for _, name := range []string{fileManifest, fileSignature, filePublicKey} {
		if _, ok := byName[name]; !ok {
			return rep, fmt.Errorf("%s is missing", name)
		}
	}
	key, err := signerKey(byName[filePublicKey], trusted)
	if err != nil {
		return rep, err
	}
	rep.KeyFingerprint, rep.KeyTrusted = Fingerprint(key), trusted != nil
	sig, err := decodeBase64Line(byName[fileSignature], ed25519.SignatureSize)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", fileSignature, err)
	}
	if !ed25519.Verify(key, byName[fileManifest], sig) {
		return rep, fmt.Errorf("%s is not a signature of %s by key %s: the manifest or the signature was altered", fileSignature, fileManifest, rep.KeyFingerprint)
	}
	m, err := checkManifest(byName, key)
	if err != nil {
		return rep, err
	}
	rep.RequestID, rep.CreatedAt, rep.PersonalData = m.RequestID, m.CreatedAt, m.PersonalData
	var events eventsFile
	if err := decodeStrict(byName[fileEvents], &events); err != nil {
		return rep, fmt.Errorf("%s: %w", fileEvents, err)
	}
	if rep.Events, rep.Unchained, err = checkChain(events, m.RequestID); err != nil {
		return rep, fmt.Errorf("%s: %w", fileEvents, err)
	}
	rep.ChainSeq, rep.ChainHash = events.ChainHead.ChainSeq, events.ChainHead.Hash
	if plans, ok := byName[fileStorePlans]; ok {
		if rep.Plans, rep.UnchainedPlans, err = checkPlans(plans, events, m.PersonalData); err != nil {
			return rep, fmt.Errorf("%s: %w", fileStorePlans, err)
		}
	}
	if data, ok := byName[fileTransparency]; ok {
		if rep.Log, err = checkTransparency(data, m.RequestID, trust.LogKey); err != nil {
			return rep, fmt.Errorf("%s: %w", fileTransparency, err)
		}
	}
	rebuilt, err := writeZip(files)
	if err != nil {
		return rep, err
	}
	if !bytes.Equal(rebuilt, bundle) {
		return rep, fmt.Errorf("the zip container was altered outside its files (it differs from the canonical archive of them at byte %d)", firstDifference(rebuilt, bundle))
	}
	return rep, nil
}

// readZip returns the archive's files in order. Bundles store files uncompressed, which
// also bounds what reading them can cost.
func readZip(bundle []byte) ([]bundleFile, error) {
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		return nil, fmt.Errorf("not a readable zip archive: %w", err)
	}
	seen := map[string]bool{}
	var files []bundleFile
	for _, f := range zr.File {
		if seen[f.Name] {
			return nil, fmt.Errorf("%s appears twice", f.Name)
		}
		seen[f.Name] = true
		if f.Method != zip.Store {
			return nil, fmt.Errorf("%s is compressed, but bundles store files as they are", f.Name)
		}
		r, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		files = append(files, bundleFile{f.Name, data})
	}
	return files, nil
}

// signerKey returns the key to check the signature with: trusted, which the bundle must
// name, or else the one it carries.
func signerKey(publicKeyFile []byte, trusted ed25519.PublicKey) (ed25519.PublicKey, error) {
	raw, err := decodeBase64Line(publicKeyFile, ed25519.PublicKeySize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filePublicKey, err)
	}
	embedded := ed25519.PublicKey(raw)
	if trusted == nil {
		return embedded, nil
	}
	if !embedded.Equal(trusted) {
		return nil, fmt.Errorf("the bundle is signed by key %s, not by the trusted key %s", Fingerprint(embedded), Fingerprint(trusted))
	}
	return trusted, nil
}

// decodeBase64Line reads a file of standard base64 and one newline, accepting only the one
// canonical spelling of size bytes, so that no edit of the file leaves its meaning intact.
func decodeBase64Line(file []byte, size int) ([]byte, error) {
	text, ok := bytes.CutSuffix(file, []byte("\n"))
	if !ok {
		return nil, errors.New("want base64 and a newline")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(string(text))
	if err != nil || len(b) != size || base64.StdEncoding.EncodeToString(b) != string(text) {
		return nil, fmt.Errorf("want the base64 of %d bytes and a newline", size)
	}
	return b, nil
}

// checkManifest checks the manifest's own fields and every file against it.
func checkManifest(files map[string][]byte, key ed25519.PublicKey) (manifest, error) {
	var m manifest
	if err := decodeStrict(files[fileManifest], &m); err != nil {
		return m, fmt.Errorf("%s: %w", fileManifest, err)
	}
	if m.Format != BundleFormat {
		return m, fmt.Errorf("%s: format is %q, want %q", fileManifest, m.Format, BundleFormat)
	}
	if m.PublicKey != base64.StdEncoding.EncodeToString(key) {
		return m, fmt.Errorf("%s names another signing key than %s holds", fileManifest, filePublicKey)
	}
	listed := map[string]bool{fileManifest: true, fileSignature: true, filePublicKey: true}
	for _, f := range m.Files {
		if listed[f.Name] {
			return m, fmt.Errorf("%s lists %s twice or lists itself", fileManifest, f.Name)
		}
		listed[f.Name] = true
		data, ok := files[f.Name]
		if !ok {
			return m, fmt.Errorf("%s is listed in the manifest but missing", f.Name)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != f.SHA256 || len(data) != f.Size {
			return m, fmt.Errorf("%s has SHA-256 %s and %d bytes, but the manifest says %s and %d bytes: the file was altered", f.Name, got, len(data), f.SHA256, f.Size)
		}
	}
	for name := range files {
		if !listed[name] {
			return m, fmt.Errorf("%s is not listed in the manifest", name)
		}
	}
	for _, name := range contentFiles {
		if !listed[name] {
			return m, fmt.Errorf("%s does not list %s", fileManifest, name)
		}
	}
	return m, nil
}

// checkChain recomputes every chained event's hash and checks that it links to the
// positions on either side: its own request's events, the links of other requests' events
// or, at the end, the chain head the bundle was exported at.
func checkChain(f eventsFile, requestID string) (chained, unchained int, err error) {
	if f.ChainFormat != requestdb.ChainFormat {
		return 0, 0, fmt.Errorf("chain format is %q, want %q", f.ChainFormat, requestdb.ChainFormat)
	}
	known := map[int64]requestdb.ChainLink{}
	add := func(l requestdb.ChainLink) error {
		if _, dup := known[l.ChainSeq]; dup || l.ChainSeq < 1 || l.ChainSeq > f.ChainHead.ChainSeq {
			return fmt.Errorf("chain position %d is duplicated or outside the chain (head at %d)", l.ChainSeq, f.ChainHead.ChainSeq)
		}
		known[l.ChainSeq] = l
		return nil
	}
	var events []requestdb.AuditEvent
	for _, be := range f.Events {
		e, err := be.auditEvent()
		if err != nil {
			return 0, 0, err
		}
		if e.RequestID != requestID {
			return 0, 0, fmt.Errorf("event %s belongs to request %s, not %s", e.ID, e.RequestID, requestID)
		}
		if e.ChainSeq == 0 {
			unchained++
			continue
		}
		if got := e.ChainHash(); got != e.Hash {
			return 0, 0, fmt.Errorf("event %s (chain position %d): stored hash %s does not match the hash of its contents %s: the event was altered", e.ID, e.ChainSeq, orNone(e.Hash), got)
		}
		if err := add(requestdb.ChainLink{ChainSeq: e.ChainSeq, PrevHash: e.PrevHash, Hash: e.Hash}); err != nil {
			return 0, 0, err
		}
		events = append(events, e)
	}
	for _, l := range f.Links {
		if err := add(l); err != nil {
			return 0, 0, err
		}
	}
	for _, e := range events {
		if err := checkNeighbours(e, known, f.ChainHead); err != nil {
			return 0, 0, fmt.Errorf("event %s (chain position %d): %w", e.ID, e.ChainSeq, err)
		}
	}
	return len(events), unchained, nil
}

func checkNeighbours(e requestdb.AuditEvent, known map[int64]requestdb.ChainLink, head chainPoint) error {
	if e.ChainSeq == 1 && e.PrevHash != "" {
		return fmt.Errorf("the first event of the chain has prev_hash %s", e.PrevHash)
	}
	if e.ChainSeq > 1 {
		prev, ok := known[e.ChainSeq-1]
		if !ok {
			return fmt.Errorf("the link at position %d before it is missing", e.ChainSeq-1)
		}
		if prev.Hash != e.PrevHash {
			return fmt.Errorf("prev_hash %s does not match hash %s at position %d", orNone(e.PrevHash), orNone(prev.Hash), prev.ChainSeq)
		}
	}
	if e.ChainSeq == head.ChainSeq {
		if e.Hash != head.Hash {
			return fmt.Errorf("it is the chain head, but the head's hash is %s", orNone(head.Hash))
		}
		return nil
	}
	next, ok := known[e.ChainSeq+1]
	if !ok {
		return fmt.Errorf("the link at position %d after it is missing", e.ChainSeq+1)
	}
	if next.PrevHash != e.Hash {
		return fmt.Errorf("position %d links to %s, not to this event's hash", next.ChainSeq, orNone(next.PrevHash))
	}
	return nil
}

// decodeStrict decodes one JSON value and refuses unknown fields and trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// checkPlans checks each plan of the bundle: when the bundle holds the plans whole
// (personal data), that its digest is the SHA-256 of the plan's JSON; and whether a
// store_planned event of its store in the chain records that digest. It returns how many
// plans the chain records, and the stores of those it does not.
func checkPlans(data []byte, events eventsFile, personal bool) (int, []string, error) {
	var plans []storePlan
	if err := decodeStrict(data, &plans); err != nil {
		return 0, nil, err
	}
	chained := map[[2]string]bool{}
	for _, e := range events.Events {
		var details []string
		if e.Action != "store_planned" || e.ChainSeq == 0 || json.Unmarshal([]byte(e.Details), &details) != nil || len(details) != 2 {
			continue
		}
		chained[[2]string{details[0], details[1]}] = true
	}
	n, unchained := 0, []string(nil)
	for _, p := range plans {
		if personal {
			raw, err := json.Marshal(p.Plan)
			if err != nil {
				return 0, nil, err
			}
			if got := requestdb.PlanDigest(raw); got != p.SHA256 {
				return 0, nil, fmt.Errorf("the plan of store %s has SHA-256 %s, not the %s it was kept with: the plan was altered", p.Store, got, p.SHA256)
			}
		}
		if chained[[2]string{p.Store, "sha256:" + p.SHA256}] {
			n++
		} else {
			unchained = append(unchained, p.Store)
		}
	}
	return n, unchained, nil
}

// checkTransparency checks the request's log evidence against logKey, or else the key it
// carries.
func checkTransparency(data []byte, requestID, logKey string) (*LogReport, error) {
	var ev tlog.RequestEvidence
	if err := decodeStrict(data, &ev); err != nil {
		return nil, err
	}
	if ev.RequestID != requestID {
		return nil, fmt.Errorf("the log evidence is of request %s, not %s", ev.RequestID, requestID)
	}
	rep := &LogReport{Entries: len(ev.Entries), TreeSize: ev.TreeSize, LogKey: logKey, KeyTrusted: logKey != ""}
	if logKey == "" {
		if ev.LogPublicKey == "" {
			return nil, errors.New("the log evidence names no log key: give the log's public key")
		}
		rep.LogKey = ev.LogPublicKey
	}
	if err := ev.Verify(rep.LogKey); err != nil {
		return nil, err
	}
	cp, err := tlog.OpenCheckpoint([]byte(ev.Checkpoint), rep.LogKey)
	if err != nil {
		return nil, err
	}
	rep.Origin = cp.Origin
	return rep, nil
}
