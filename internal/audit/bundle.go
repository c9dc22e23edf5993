package audit

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dsr-project/dsr/internal/requestdb"
)

// BundleFormat names the layout of an evidence bundle; manifest.json carries it.
const BundleFormat = "dsr-evidence-bundle/v1"

// The files of a bundle. The content files are listed in the manifest with their SHA-256;
// manifest.sig is the Ed25519 signature of manifest.json, and public_key the key that made
// it, both standard base64 and a newline.
const (
	fileRequest      = "request.json"
	fileHistory      = "history.json"
	fileEvents       = "audit_events.json"
	fileStoreResults = "store_results.json"
	fileRetention    = "retention.json"
	fileNotices      = "notices.json"
	fileTransparency = "transparency.json"
	fileAppeal       = "appeal.json"
	fileStorePlans   = "store_plans.json"
	fileManifest     = "manifest.json"
	fileSignature    = "manifest.sig"
	filePublicKey    = "public_key"
)

var contentFiles = []string{fileRequest, fileHistory, fileEvents, fileStoreResults, fileRetention, fileNotices}

// manifest lists the content files with their digests. It is what the signature covers.
type manifest struct {
	Format    string    `json:"format"`
	RequestID string    `json:"request_id"`
	CreatedAt time.Time `json:"created_at"`
	// PersonalData says whether the exporter asked for personal data to be included.
	PersonalData bool           `json:"personal_data"`
	PublicKey    string         `json:"public_key"`
	Files        []manifestFile `json:"files"`
}

type manifestFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

// eventsFile is audit_events.json: the request's events with their chain fields, the links
// on either side of them that belong to other requests, and the chain head at export time.
// With these, every event's hash can be recomputed and its neighbours' links checked
// without the other requests' contents.
type eventsFile struct {
	ChainFormat string                `json:"chain_format"`
	ChainHead   chainPoint            `json:"chain_head"`
	Events      []bundleEvent         `json:"events"`
	Links       []requestdb.ChainLink `json:"links"`
}

type chainPoint struct {
	ChainSeq int64  `json:"chain_seq"`
	Hash     string `json:"hash"`
}

// bundleEvent is an audit event as a bundle holds it. Details stays the stored text, byte
// for byte, because the hash covers it; chain_seq is 0 for an event older than the chain.
type bundleEvent struct {
	ID         string `json:"id"`
	RequestID  string `json:"request_id"`
	Seq        int64  `json:"seq"`
	At         string `json:"at"`
	Actor      string `json:"actor"`
	Role       string `json:"role"`
	Action     string `json:"action"`
	FromStatus string `json:"from_status"`
	ToStatus   string `json:"to_status"`
	Details    string `json:"details"`
	ChainSeq   int64  `json:"chain_seq"`
	PrevHash   string `json:"prev_hash"`
	Hash       string `json:"hash"`
}

func toBundleEvent(e requestdb.AuditEvent) bundleEvent {
	return bundleEvent{
		ID: e.ID, RequestID: e.RequestID, Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339Nano),
		Actor: e.Actor, Role: e.Role, Action: e.Action, FromStatus: e.FromStatus, ToStatus: e.ToStatus,
		Details: e.Details, ChainSeq: e.ChainSeq, PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

func (b bundleEvent) auditEvent() (requestdb.AuditEvent, error) {
	at, err := time.Parse(time.RFC3339Nano, b.At)
	if err != nil {
		return requestdb.AuditEvent{}, fmt.Errorf("event %s: time %q: %w", b.ID, b.At, err)
	}
	return requestdb.AuditEvent{
		ID: b.ID, RequestID: b.RequestID, Seq: b.Seq, At: at, Actor: b.Actor, Role: b.Role,
		Action: b.Action, FromStatus: b.FromStatus, ToStatus: b.ToStatus, Details: b.Details,
		ChainSeq: b.ChainSeq, PrevHash: b.PrevHash, Hash: b.Hash,
	}, nil
}

// bundleFile is one named file of a bundle.
type bundleFile struct {
	name string
	data []byte
}

// zipEpoch is the modification time of every entry, so that the same files always make the
// same archive.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// writeZip stores files uncompressed, in order, with fixed metadata. The archive is a pure
// function of the files, which is what lets VerifyBundle refuse any change to the container
// that the digests do not cover: it rebuilds the archive and compares bytes.
func writeZip(files []bundleFile) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Store, Modified: zipEpoch})
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", f.name, err)
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, fmt.Errorf("zip %s: %w", f.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	return buf.Bytes(), nil
}

// marshalFile is how every JSON file of a bundle is written: indented, newline at the end.
func marshalFile(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
