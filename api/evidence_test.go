package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/tlog"
)

// codeFor reads the verification code mailed for one request; code reads the first one to
// an address, and a demo person here sends several requests.
func (s *stack) codeFor(to, requestID string) string {
	s.t.Helper()
	var code string
	s.eventually("a verification code mail for "+requestID, func() (bool, string) {
		var msgs []api.DevMail
		s.must(http.StatusOK, http.MethodGet, "/api/v1/dev/mail?to="+url.QueryEscape(to), "", "", &msgs)
		for _, m := range msgs {
			if strings.Contains(m.Subject, "verification code") && strings.Contains(m.Text, requestID) {
				code = codeInMail.FindString(m.Text)
				return code != "", m.Text
			}
		}
		return false, "no code mail yet"
	})
	return code
}

// verifyMailbox is verify for a request whose address has had codes mailed before.
func (s *stack) verifyMailbox(req api.IntakeAnswer, to string) {
	s.t.Helper()
	code := s.codeFor(to, req.ID)
	s.eventually("the workflow to hold the code", func() (bool, string) {
		var view api.RequesterView
		s.must(http.StatusOK, http.MethodGet, "/api/v1/requests/"+req.ID, "", req.StatusToken, &view)
		return view.CodeAttemptsLeft > 0, string(view.Status)
	})
	var out api.VerifyAnswer
	s.must(http.StatusOK, http.MethodPost, "/api/v1/requests/"+req.ID+"/verify", `{"code":"`+code+`"}`, req.StatusToken, &out)
	if out.Result != domain.CheckConfirmed {
		s.t.Fatalf("verify = %+v, want confirmed", out)
	}
}

// bundleFiles opens an evidence bundle into its files' text. A payload the history holds
// in base64 (not JSON) is decoded too and added under the file's name, so that a scan
// reads every byte the bundle holds as text.
func bundleFiles(t *testing.T, bundle []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		t.Fatalf("bundle is not a zip: %v", err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		var doc any
		if json.Unmarshal(data, &doc) == nil {
			for _, d := range base64Payloads(doc) {
				text += "\n" + d
			}
		}
		out[f.Name] = text
	}
	return out
}

// base64Payloads returns the decoded data of every payload written in base64: an object
// with metadata and data, as protojson writes a payload that is not JSON.
func base64Payloads(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if data, ok := v["data"].(string); ok && v["metadata"] != nil {
			if b, err := base64.StdEncoding.DecodeString(data); err == nil {
				out = append(out, string(b))
			}
		}
		for _, x := range v {
			out = append(out, base64Payloads(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, base64Payloads(x)...)
		}
	}
	return out
}

var uuidPattern = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// leaks names the values found in text. Values are matched case-insensitively; a value of
// digits only (a phone's last 4, a numeric postal code) must stand alone, not inside a
// longer run of letters and digits such as a hash, and UUIDs are left out of the search,
// so that an ID that happens to contain 0815 is not taken for a phone number.
func leaks(text string, values []string) []string {
	text = uuidPattern.ReplaceAllString(text, "<uuid>")
	var found []string
	for _, v := range values {
		pattern := regexp.QuoteMeta(v)
		if regexp.MustCompile(`^[0-9]+$`).MatchString(v) {
			pattern = `(^|[^0-9A-Za-z])` + pattern + `($|[^0-9A-Za-z])`
		}
		if regexp.MustCompile(`(?i)` + pattern).MatchString(text) {
			found = append(found, v)
		}
	}
	return found
}

// personalData are what a bundle must not hold of a demo person: the address, the name and
// every data point.
func personalData(p demo.DemoPerson, extra ...string) []string {
	out := []string{p.Email, p.Name}
	for _, v := range p.DataPoints {
		out = append(out, v)
	}
	return append(out, extra...)
}

// An auditor's evidence bundle holds no personal data: for every demo person's request that
// checked identity by data points, carried a staff note, corrected data or suppressed it,
// no file of the bundle, payloads decoded, holds the person's address, name, data points,
// the values given for a correction or the note's text (beyond the audit log's own record
// of the note, which its hash chain covers). Asked for personal data, the bundle holds
// them and its manifest says so.
func TestEvidenceBundleHoldsNoPersonalDataOfTheDemoPeople(t *testing.T) {
	ctx := context.Background()
	m, err := demo.Setup(ctx, "sqlite:"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stores, closeStores, err := sqlstore.OpenAll(ctx, m, sqlstore.WithHashKey([]byte("evidence-test-hash-key-32-bytes!")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStores() })
	s := startStack(t, func(_ *api.Options, a *activities.Activities) { a.Stores = stores })
	analyst := s.token("Ana Lyst", auth.RoleAnalyst)
	auditor := s.token("Audrey Tor", auth.RoleAuditor)

	type checked struct {
		id      string
		person  demo.DemoPerson
		note    string
		private []string
	}
	var done []checked
	evidence := func(id string) map[string]string {
		t.Helper()
		a := s.do(http.MethodGet, "/api/v1/audit/requests/"+id+"/evidence", "", auditor)
		if a.code != http.StatusOK {
			t.Fatalf("evidence of %s = %d %s", id, a.code, a.body)
		}
		return bundleFiles(t, []byte(a.body))
	}
	// byDataPoints runs one request of p that proves identity with p's data points and
	// carries a staff note.
	byDataPoints := func(p demo.DemoPerson, typ, details string) checked {
		t.Helper()
		body := fmt.Sprintf(`{"type":%q,"email":%q,"jurisdiction":"gdpr"%s}`, typ, p.Email, details)
		req := s.open(body)
		s.verifyMailbox(req, p.Email)
		s.awaitRequesterStatus(req, domain.StatusAwaitingIdentityVerification)
		note := "staff note " + req.ID[:8] + ": the requester called"
		s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+req.ID+"/notes", fmt.Sprintf(`{"text":%q}`, note), analyst, nil)
		answers, err := json.Marshal(map[string]any{"answers": p.DataPoints})
		if err != nil {
			t.Fatal(err)
		}
		var identity api.IdentityAnswer
		s.must(http.StatusOK, http.MethodPost, "/api/v1/requests/"+req.ID+"/identity", string(answers), req.StatusToken, &identity)
		if !identity.Verified {
			t.Fatalf("%s's data points did not verify: %+v", p.Email, identity)
		}
		s.awaitRequesterStatus(req, domain.StatusCompleted)
		return checked{id: req.ID, person: p, note: note}
	}
	for _, p := range demo.DemoPeople() {
		done = append(done, byDataPoints(p, "review", ""))
	}
	// A suppression keeps an order for tax law and starts its purge timer.
	ada := demo.Ada()
	suppressed := byDataPoints(ada, "suppress", `,"details":{"scope":{"all":true}}`)
	done = append(done, suppressed)

	// A correction is approved by an analyst; its new values are personal data too.
	frank := demo.DemoPeople()[slices.IndexFunc(demo.DemoPeople(), func(p demo.DemoPerson) bool { return p.Email == "frank@example.com" })]
	newPhone, newAddress := "+49 30 9988 7766", "Unter den Linden 77, Berlin"
	req := s.open(fmt.Sprintf(`{"type":"correct","email":%q,"jurisdiction":"gdpr","details":{"changes":[{"field":"phone","value":%q},{"field":"postal_address","value":%q}]}}`,
		frank.Email, newPhone, newAddress))
	s.verifyMailbox(req, frank.Email)
	s.awaitRequesterStatus(req, domain.StatusPendingReview)
	note := "staff note " + req.ID[:8] + ": checked the new address"
	s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+req.ID+"/notes", fmt.Sprintf(`{"text":%q}`, note), analyst, nil)
	s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+req.ID+"/approve", `{"reason":"documents seen"}`, analyst, nil)
	s.awaitRequesterStatus(req, domain.StatusCompleted)
	done = append(done, checked{id: req.ID, person: frank, note: note, private: []string{newPhone, newAddress, "9988 7766"}})

	for _, c := range done {
		files := evidence(c.id)
		if len(files) == 0 {
			t.Fatalf("evidence of %s: an empty bundle", c.id)
		}
		private := personalData(c.person, c.private...)
		for name, text := range files {
			if found := leaks(text, private); len(found) > 0 {
				t.Errorf("evidence of %s's request %s: %s holds %q", c.person.Email, c.id, name, found)
			}
			// The audit log records the note's text, and its hash chain covers it.
			if name != "audit_events.json" && strings.Contains(text, c.note) {
				t.Errorf("evidence of %s's request %s: %s holds the staff note's text", c.person.Email, c.id, name)
			}
		}
		// The log's entries ride along, each proven against the checkpoint the bundle carries.
		var logged tlog.RequestEvidence
		if err := json.Unmarshal([]byte(files["transparency.json"]), &logged); err != nil {
			t.Fatalf("evidence of %s: transparency.json: %v", c.id, err)
		}
		if err := logged.Verify(s.transparencyLog.VerifierKey()); err != nil || len(logged.Entries) < 2 {
			t.Errorf("evidence of %s: transparency.json has %d entries, verified: %v", c.id, len(logged.Entries), err)
		}
		if !strings.Contains(files["manifest.json"], `"personal_data": false`) {
			t.Errorf("evidence of %s: manifest = %s, want personal_data false", c.id, files["manifest.json"])
		}
		// Still evidence: the history shows what ran and how the identity check went.
		wants := []string{"EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED", `"submit-identity"`, "CheckIdentity", `"verified": true`}
		if c.private != nil {
			wants = []string{"EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED", `"approve"`, "RunStores"}
		}
		for _, want := range wants {
			if !strings.Contains(files["history.json"], want) {
				t.Errorf("evidence of %s: history.json lacks %s", c.id, want)
			}
		}
	}

	// Every entry of the public log, read as anyone reads it, is free of every demo person's
	// address, name, phone, postal address, user name and data points, and of the values a
	// correction gave.
	var logSize uint64
	checkpoint := s.do(http.MethodGet, "/api/v1/log/checkpoint", "", "")
	if _, err := fmt.Sscanf(strings.SplitN(checkpoint.body, "\n", 3)[1], "%d", &logSize); err != nil || logSize < uint64(3*len(done)) {
		t.Fatalf("checkpoint %q: %d entries (%v), want at least 3 per request", checkpoint.body, logSize, err)
	}
	var page api.LogEntries
	s.must(http.StatusOK, http.MethodGet, fmt.Sprintf("/api/v1/log/entries?start=0&end=%d", logSize), "", "", &page)
	if uint64(len(page.Entries)) != logSize {
		t.Fatalf("%d entries served, want %d", len(page.Entries), logSize)
	}
	var everyone []string
	for _, p := range demo.DemoPeople() {
		everyone = append(everyone, personalData(p, p.Address, p.Phone, p.UserName)...)
	}
	everyone = append(everyone, newPhone, newAddress, "9988 7766")
	for _, e := range page.Entries {
		raw, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if found := leaks(string(raw), everyone); len(found) > 0 {
			t.Errorf("log entry %d holds %q", e.Index, found)
		}
	}

	// Asked for personal data, the bundle has them, and says so.
	_, signer, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := audit.Export(ctx, audit.ExportDeps{
		Requests: s.requests, History: audit.TemporalHistory(s.temporal, nil), Signer: signer,
	}, suppressed.id, audit.ExportOptions{IncludePII: true})
	if err != nil {
		t.Fatal(err)
	}
	files := bundleFiles(t, bundle)
	if !strings.Contains(files["manifest.json"], `"personal_data": true`) {
		t.Errorf("bundle with personal data: manifest = %s, want personal_data true", files["manifest.json"])
	}
	var points []string
	for _, v := range ada.DataPoints {
		points = append(points, v)
	}
	if found := leaks(files["history.json"], points); len(found) != len(points) {
		t.Errorf("bundle with personal data: history.json holds %q of Ada's data points, want all", found)
	}
	if !strings.Contains(files["history.json"], suppressed.note) || !strings.Contains(files["retention.json"], "DEMO-70002") {
		t.Error("bundle with personal data lacks the staff note in its history or the kept order in retention.json")
	}
}
