package audit_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// historyOf answers like Temporal for the workflows of the seeded requests.
func historyOf(_ context.Context, workflowID string) (*historypb.History, error) {
	if workflowID != "dsr-r1" && workflowID != "dsr-r2" {
		return nil, fmt.Errorf("workflow %s: %w", workflowID, audit.ErrHistoryNotFound)
	}
	return &historypb.History{Events: []*historypb.HistoryEvent{{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED}}}, nil
}

func export(t *testing.T, repo *requestdb.Repo, key ed25519.PrivateKey, requestID string, opts audit.ExportOptions) []byte {
	t.Helper()
	bundle, err := audit.Export(context.Background(), audit.ExportDeps{Requests: repo, History: historyOf, Signer: key}, requestID, opts)
	if err != nil {
		t.Fatal(err)
	}
	return bundle
}

// unzip returns the bundle's files by name.
func unzip(t *testing.T, bundle []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func TestExportedBundleVerifiesAgainstTheSigningKey(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo, key := seed(t, db), newKey(t)
		for _, id := range []string{"r1", "r2"} {
			rep, err := audit.VerifyBundle(export(t, repo, key, id, audit.ExportOptions{}), key.Public().(ed25519.PublicKey))
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			want := map[string]int{"r1": 3, "r2": 2}[id]
			if rep.RequestID != id || rep.Events != want || !rep.KeyTrusted || rep.ChainSeq != 5 || rep.PersonalData {
				t.Errorf("%s: report = %+v, want %d trusted events up to head 5", id, rep, want)
			}
		}
	})
}

func TestBundleHoldsTheRequestsEvidence(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		files := unzip(t, export(t, seed(t, db), newKey(t), "r1", audit.ExportOptions{}))
		var names []string
		for name := range files {
			names = append(names, name)
		}
		if len(files) != 10 {
			t.Errorf("files = %v, want the seven evidence files, manifest.json, manifest.sig and public_key", names)
		}
		for name, want := range map[string]string{
			"history.json":       `"eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"`,
			"audit_events.json":  `"id": "r1:3"`,
			"store_results.json": `"store": "crm"`,
			"retention.json":     `"reason": "tax law"`,
			"notices.json":       `"kind": "acknowledgement"`,
			"request.json":       `"email_hash": "keyed-hash-of-r1"`,
			"store_plans.json":   `"table": "invoices"`,
		} {
			if !strings.Contains(string(files[name]), want) {
				t.Errorf("%s lacks %s:\n%s", name, want, files[name])
			}
		}
		var events struct {
			Links []requestdb.ChainLink `json:"links"`
		}
		if err := json.Unmarshal(files["audit_events.json"], &events); err != nil {
			t.Fatal(err)
		}
		if len(events.Links) != 2 || events.Links[0].ChainSeq != 2 || events.Links[1].ChainSeq != 4 {
			t.Errorf("links = %+v, want r2's positions 2 and 4 between r1's events", events.Links)
		}
	})
}

func TestBundleWithholdsPersonalDataUnlessAsked(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo, key := seed(t, db), newKey(t)
		plain := export(t, repo, key, "r1", audit.ExportOptions{})
		for _, secret := range []string{address, newAddress, reviewValue, oldAddress, keptOrder, "token-hash-of-r1"} {
			if bytes.Contains(plain, []byte(secret)) {
				t.Errorf("bundle holds %q", secret)
			}
		}
		if req := string(unzip(t, plain)["request.json"]); !strings.Contains(req, `"field": "postal_address"`) || !strings.Contains(req, `"withheld"`) {
			t.Errorf("request.json = %s, want the changed field named and its value withheld", req)
		}
		if res := string(unzip(t, plain)["store_results.json"]); !strings.Contains(res, `"field": "postal_address"`) || !strings.Contains(res, `"(withheld)"`) {
			t.Errorf("store_results.json = %s, want the corrected field named and its old value withheld", res)
		}
		full := export(t, repo, key, "r1", audit.ExportOptions{IncludePII: true})
		for _, want := range []string{address, newAddress, reviewValue, oldAddress, keptOrder} {
			if !bytes.Contains(full, []byte(want)) {
				t.Errorf("bundle with personal data lacks %q", want)
			}
		}
		if bytes.Contains(full, []byte("token-hash-of-r1")) {
			t.Error("bundle holds the status token's hash")
		}
		if rep, err := audit.VerifyBundle(full, nil); err != nil || !rep.PersonalData {
			t.Errorf("report = %+v, %v; want a valid bundle marked as holding personal data", rep, err)
		}
	})
}

func TestChangingAnyByteOfABundleFailsVerification(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		key := newKey(t)
		bundle := export(t, seed(t, db), key, "r2", audit.ExportOptions{})
		trusted := key.Public().(ed25519.PublicKey)
		for i := range bundle {
			for _, flip := range []byte{0x01, 0x80} {
				changed := bytes.Clone(bundle)
				changed[i] ^= flip
				if _, err := audit.VerifyBundle(changed, trusted); !errors.Is(err, audit.ErrBundleInvalid) {
					t.Fatalf("byte %d ^ %#x: err = %v, want ErrBundleInvalid", i, flip, err)
				}
				if _, err := audit.VerifyBundle(changed, nil); err == nil {
					t.Fatalf("byte %d ^ %#x passed against the bundle's own key", i, flip)
				}
			}
		}
		if _, err := audit.VerifyBundle(append(bytes.Clone(bundle), 0), trusted); err == nil {
			t.Error("a byte appended to the bundle passed")
		}
	})
}

// A file changed and packed again with a valid zip checksum is caught by its digest.
func TestRepackedBundleNamesTheChangedFile(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		key := newKey(t)
		files := unzip(t, export(t, seed(t, db), key, "r1", audit.ExportOptions{}))
		files["retention.json"] = bytes.Replace(files["retention.json"], []byte("tax law"), []byte("tax lax"), 1)
		_, err := audit.VerifyBundle(repack(t, files), key.Public().(ed25519.PublicKey))
		if !errors.Is(err, audit.ErrBundleInvalid) || !strings.Contains(err.Error(), "retention.json") {
			t.Errorf("err = %v, want retention.json named", err)
		}
	})
}

func TestBundleSignedByAnotherKeyFailsAgainstTheTrustedKey(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ours, theirs := newKey(t), newKey(t)
		bundle := export(t, seed(t, db), theirs, "r1", audit.ExportOptions{})
		_, err := audit.VerifyBundle(bundle, ours.Public().(ed25519.PublicKey))
		if !errors.Is(err, audit.ErrBundleInvalid) || !strings.Contains(err.Error(), "not by the trusted key") {
			t.Errorf("err = %v, want a signature by another key", err)
		}
		rep, err := audit.VerifyBundle(bundle, nil)
		if err != nil || rep.KeyTrusted || rep.KeyFingerprint != audit.Fingerprint(theirs.Public().(ed25519.PublicKey)) {
			t.Errorf("without a trusted key: report = %+v, %v; want intact, untrusted, their fingerprint", rep, err)
		}
	})
}

func TestExportReportsAMissingRequest(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		_, err := audit.Export(context.Background(), audit.ExportDeps{Requests: seed(t, db), History: historyOf, Signer: newKey(t)}, "r9", audit.ExportOptions{})
		if !errors.Is(err, requestdb.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
}

// Temporal forgets closed workflows after the namespace's retention; the rest of the
// evidence must still be exportable then.
func TestBundleSaysWhenTheEngineNoLongerHoldsTheHistory(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		key := newKey(t)
		gone := func(context.Context, string) (*historypb.History, error) { return nil, audit.ErrHistoryNotFound }
		bundle, err := audit.Export(context.Background(), audit.ExportDeps{Requests: seed(t, db), History: gone, Signer: key}, "r1", audit.ExportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audit.VerifyBundle(bundle, key.Public().(ed25519.PublicKey)); err != nil {
			t.Fatal(err)
		}
		if h := string(unzip(t, bundle)["history.json"]); !strings.Contains(h, "unavailable") {
			t.Errorf("history.json = %s, want it marked unavailable", h)
		}
	})
}

// repack zips files again in the order Export uses, uncompressed.
func repack(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"request.json", "history.json", "audit_events.json", "store_results.json", "retention.json", "notices.json", "manifest.json", "manifest.sig", "public_key"} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A bundle carries each store's plan with the digest the chain records; with personal data
// the verifier recomputes the digest from the plan itself. A plan the chain does not record
// yet (a fan-out still running) is named, not taken for tampering.
func TestABundlesPlansAreCheckedAgainstTheChain(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo, key := seed(t, db), newKey(t)
		for _, opts := range []audit.ExportOptions{{}, {IncludePII: true}} {
			rep, err := audit.VerifyBundle(export(t, repo, key, "r1", opts), key.Public().(ed25519.PublicKey))
			if err != nil || rep.Plans != 1 || len(rep.UnchainedPlans) != 0 {
				t.Errorf("with personal data %v: report %+v, %v; want the one plan chained", opts.IncludePII, rep, err)
			}
		}
		if _, err := repo.SaveStorePlan(context.Background(), "r2", "crm", connector.ChangePlan{Store: "crm"}); err != nil {
			t.Fatal(err)
		}
		rep, err := audit.VerifyBundle(export(t, repo, key, "r2", audit.ExportOptions{IncludePII: true}), key.Public().(ed25519.PublicKey))
		if err != nil || rep.Plans != 0 || !slices.Equal(rep.UnchainedPlans, []string{"crm"}) {
			t.Errorf("r2: report %+v, %v; want its plan named as not chained yet", rep, err)
		}
	})
}
