package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/tlog"
)

// recordMilestone applies a workflow step named after a milestone, as the worker does.
func (h *harness) recordMilestone(id string, seq int64, action string) {
	h.t.Helper()
	_, err := h.requests.ApplyStep(context.Background(), requestdb.Step{RequestID: id, Seq: seq,
		Event: requestdb.AuditEvent{At: h.now, Actor: "system", Action: action}})
	if err != nil {
		h.t.Fatal(err)
	}
}

func TestAReceiptFromTheAPIVerifiesWithThePublishedKey(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	if a := h.do(http.MethodGet, "/api/v1/requests/"+req.ID+"/receipt", "", "", req.StatusToken); a.code != http.StatusNotFound {
		t.Fatalf("receipt before any milestone = %d %s, want 404", a.code, a.body)
	}
	other := h.open()
	h.recordMilestone(req.ID, 1, "received")
	h.recordMilestone(other.ID, 1, "received")
	h.recordMilestone(req.ID, 2, "email_verified")

	a := h.do(http.MethodGet, "/api/v1/requests/"+req.ID+"/receipt", "", "", req.StatusToken)
	if a.code != http.StatusOK {
		t.Fatalf("receipt = %d %s", a.code, a.body)
	}
	var receipt tlog.Receipt
	if err := json.Unmarshal([]byte(a.body), &receipt); err != nil {
		t.Fatal(err)
	}
	key := h.do(http.MethodGet, "/api/v1/log/public-key", "", "", "")
	if key.code != http.StatusOK {
		t.Fatalf("public key = %d %s", key.code, key.body)
	}
	if err := receipt.Verify(strings.TrimSpace(key.body)); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if receipt.Entry.Milestone != tlog.EmailVerified || receipt.TreeSize != 3 {
		t.Fatalf("receipt of %s in %d entries, want email_verified in 3", receipt.Entry.Milestone, receipt.TreeSize)
	}
}

func TestThePublicLogServesCheckpointsEntriesAndProofs(t *testing.T) {
	h := newHarness(t, false)
	for range 3 {
		h.recordMilestone(h.open().ID, 1, "received")
	}
	key := strings.TrimSpace(h.do(http.MethodGet, "/api/v1/log/public-key", "", "", "").body)
	checkpointAt := func() tlog.Checkpoint {
		a := h.do(http.MethodGet, "/api/v1/log/checkpoint", "", "", "")
		if a.code != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
			t.Fatalf("checkpoint = %d %s %s", a.code, a.header.Get("Content-Type"), a.body)
		}
		c, err := tlog.OpenCheckpoint([]byte(a.body), key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := checkpointAt()
	h.recordMilestone(h.open().ID, 1, "received")
	h.recordMilestone(h.open().ID, 1, "received")
	second := checkpointAt()
	if first.Size != 3 || second.Size != 5 {
		t.Fatalf("sizes %d, %d, want 3, 5", first.Size, second.Size)
	}

	var p api.LogProof
	getJSON(t, h, fmt.Sprintf("/api/v1/log/proof/consistency?first=%d&second=%d", first.Size, second.Size), &p)
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, first.Size, second.Size, p.Hashes, first.Root, second.Root); err != nil {
		t.Fatalf("consistency: %v", err)
	}
	var entries api.LogEntries
	getJSON(t, h, "/api/v1/log/entries?start=0&end=5", &entries)
	if len(entries.Entries) != 5 {
		t.Fatalf("%d entries, want 5", len(entries.Entries))
	}
	leaf, err := entries.Entries[3].LeafHash()
	if err != nil {
		t.Fatal(err)
	}
	getJSON(t, h, "/api/v1/log/proof/inclusion?index=3&tree_size=5", &p)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 3, 5, leaf, p.Hashes, second.Root); err != nil {
		t.Fatalf("inclusion: %v", err)
	}
	for path, want := range map[string]int{
		"/api/v1/log/entries?start=0&end=6":               http.StatusNotFound,
		"/api/v1/log/entries?start=2&end=2":               http.StatusUnprocessableEntity,
		"/api/v1/log/entries?start=x&end=2":               http.StatusBadRequest,
		"/api/v1/log/proof/inclusion?index=5&tree_size=5": http.StatusUnprocessableEntity,
		"/api/v1/log/proof/consistency?first=4&second=3":  http.StatusUnprocessableEntity,
		"/api/v1/log/proof/consistency?first=3&second=9":  http.StatusNotFound,
	} {
		if a := h.do(http.MethodGet, path, "", "", ""); a.code != want {
			t.Errorf("%s = %d %s, want %d", path, a.code, a.body, want)
		} else {
			a.errorBody(t)
		}
	}
}

func getJSON(t *testing.T, h *harness, path string, out any) {
	t.Helper()
	a := h.do(http.MethodGet, path, "", "", "")
	if a.code != http.StatusOK {
		t.Fatalf("%s = %d %s", path, a.code, a.body)
	}
	if err := json.Unmarshal([]byte(a.body), out); err != nil {
		t.Fatal(err)
	}
}

// The status page offers the receipt once the log holds a milestone of the request, and the
// file it downloads with the page's cookie verifies with the published key.
func TestTheStatusPageOffersAReceiptThatVerifies(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	cookie := http.Header{"Cookie": {"dsr_status=" + req.StatusToken}}
	if page := h.send(http.MethodGet, "/requests/"+req.ID, "", "", cookie); page.code != http.StatusOK || strings.Contains(page.body, `id="receipt-download"`) {
		t.Fatalf("status page before any milestone = %d, offers a receipt: %v", page.code, strings.Contains(page.body, "receipt-download"))
	}
	h.recordMilestone(req.ID, 1, "received")

	page := h.send(http.MethodGet, "/requests/"+req.ID, "", "", cookie)
	for _, want := range []string{`href="/requests/` + req.ID + `/receipt.json" download>Download a receipt you can check yourself<`, "dsr receipt verify", `href="/api/v1/log/public-key"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("status page lacks %s", want)
		}
	}
	nb := h.send(http.MethodGet, "/requests/"+req.ID+"?lang=nb", "", "", cookie)
	if !strings.Contains(nb.body, ">Last ned en kvittering du kan kontrollere selv<") {
		t.Error("the Norwegian status page lacks the receipt link in Norwegian")
	}

	a := h.send(http.MethodGet, "/requests/"+req.ID+"/receipt.json", "", "", cookie)
	if a.code != http.StatusOK || !strings.Contains(a.header.Get("Content-Disposition"), `filename="dsr-receipt-`+req.ID+`.json"`) {
		t.Fatalf("receipt download = %d %q %s", a.code, a.header.Get("Content-Disposition"), a.body)
	}
	var receipt tlog.Receipt
	if err := json.Unmarshal([]byte(a.body), &receipt); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(h.do(http.MethodGet, "/api/v1/log/public-key", "", "", "").body)
	if err := receipt.Verify(key); err != nil || receipt.RequestID != req.ID {
		t.Fatalf("receipt of %s: verify: %v", receipt.RequestID, err)
	}
	if other := h.open(); h.send(http.MethodGet, "/requests/"+other.ID+"/receipt.json", "", "", cookie).code == http.StatusOK {
		t.Error("one request's cookie downloaded another's receipt")
	}
}
