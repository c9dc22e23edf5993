package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/workflows"
)

// call sends JSON with an optional bearer token and decodes the answer into out.
func call(t *testing.T, method, url, token string, body, out any) int {
	t.Helper()
	return testenv.CallJSON(t, method, url, token, body, out)
}

// waitStatus polls the requester's status view until it shows want, asking again after a
// 503, as the API tells callers to.
func waitStatus(t *testing.T, base, id, token string, want string) api.RequesterView {
	t.Helper()
	var view api.RequesterView
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var raw json.RawMessage
		code := call(t, http.MethodGet, base+"/api/v1/requests/"+id, token, nil, &raw)
		if code == http.StatusServiceUnavailable {
			// "Try again shortly": the workflow query timed out on a busy machine.
			continue
		}
		if code != http.StatusOK {
			t.Fatalf("status view: %d %s", code, raw)
		}
		view = api.RequesterView{}
		if err := json.Unmarshal(raw, &view); err != nil {
			t.Fatal(err)
		}
		if string(view.Status) == want {
			return view
		}
	}
	t.Fatalf("request %s stayed %s (%s), want %s", id, view.Status, view.StatusReason, want)
	return view
}

var codeInMail = regexp.MustCompile(`\b(\d{6})\b`)

// The production shape end to end: two API processes and two workers on one Temporal server
// and PostgreSQL, mail over a real SMTP server, the demo store on PostgreSQL. A review is
// confirmed by the mailed code and data points on file; a correction is approved by an
// analyst holding a token made with `dsr token create`.
func TestRequestsRunEndToEndAcrossProcessesWithMailOverSMTP(t *testing.T) {
	logs := &syncBuffer{}
	s := newStack(t)
	dbURL, smtp, common := s.dbURL, s.smtp, s.common
	if err := run(t.Context(), []string{"migrate", "--database-url", dbURL}, logs, logs); err != nil {
		t.Fatal(err)
	}
	demoStore := demoTarget(t) // the demo company's systems, shared by both workers
	for range 2 {
		start(t, s.workerArgs("--demo-store", demoStore)...)
	}
	var bases []string
	for range 2 {
		port := freePort(t)
		p := start(t, append([]string{"api", "--http", "127.0.0.1:" + port}, common...)...)
		bases = append(bases, "http://127.0.0.1:"+port)
		waitReady(t, p, bases[len(bases)-1])
	}
	alice, bob := demo.DemoPeople()[0], demo.DemoPeople()[1]
	// The paper archive opens a task for every request; an analyst completes it.
	var tokenOut syncBuffer
	if err := run(t.Context(), []string{"token", "create", "--role", "analyst", "--name", "ana", "--database-url", dbURL}, &tokenOut, &tokenOut); err != nil {
		t.Fatalf("token create: %v\n%s", err, tokenOut.String())
	}
	tokenLines := strings.Split(strings.TrimSpace(tokenOut.String()), "\n")
	analystToken := tokenLines[len(tokenLines)-1]
	archiveFound := map[string]any{"not_found": true}

	var reviewID, correctionID string
	t.Run("review confirmed by mailed code and data points", func(t *testing.T) {
		var intake api.IntakeAnswer
		code := call(t, http.MethodPost, bases[0]+"/api/v1/requests", "", map[string]any{
			"type": "review", "email": alice.Email, "jurisdiction": "gdpr"}, &intake)
		if code != http.StatusAccepted || intake.StatusToken == "" {
			t.Fatalf("intake: %d %+v", code, intake)
		}
		msg := smtp.WaitFor(t, alice.Email, 30*time.Second)
		m := codeInMail.FindStringSubmatch(msg.Text)
		if m == nil {
			t.Fatalf("no code in the mail: %q", msg.Text)
		}
		var verified api.VerifyAnswer
		if code := call(t, http.MethodPost, bases[1]+"/api/v1/requests/"+intake.ID+"/verify", intake.StatusToken,
			map[string]string{"code": m[1]}, &verified); code != http.StatusOK || verified.Result != "confirmed" {
			t.Fatalf("verify: %d %+v", code, verified)
		}
		waitStatus(t, bases[0], intake.ID, intake.StatusToken, "awaiting_identity_verification")
		var identity api.IdentityAnswer
		if code := call(t, http.MethodPost, bases[0]+"/api/v1/requests/"+intake.ID+"/identity", intake.StatusToken,
			map[string]any{"answers": alice.DataPoints}, &identity); code != http.StatusOK || !identity.Verified {
			t.Fatalf("identity: %d %+v", code, identity)
		}
		reviewID = intake.ID
		completeTask(t, bases[0], analystToken, intake.ID, archiveFound)
		view := waitStatus(t, bases[1], intake.ID, intake.StatusToken, "completed")
		if len(view.Outcome.Found) == 0 || view.Stores.Done != 9 {
			t.Errorf("outcome %+v, stores %+v: want the findings of the demo's 9 stores", view.Outcome, view.Stores)
		}
		// The completion notice goes out just after the status changes.
		var subjects []string
		for deadline := time.Now().Add(10 * time.Second); len(subjects) < 3 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			subjects = subjects[:0]
			for _, got := range smtp.Messages() {
				if slices.Contains(got.Rcpt, alice.Email) {
					subjects = append(subjects, got.Subject)
				}
			}
		}
		if len(subjects) != 3 {
			t.Errorf("alice received %d mails %q, want code, acknowledgement and completion", len(subjects), subjects)
		}
	})

	// Intake never asks the stores, so its answer cannot tell whether an address is known.
	t.Run("intake answers alike for known and unknown addresses", func(t *testing.T) {
		shape := func(email string) (int, []string, string) {
			var body map[string]any
			code := call(t, http.MethodPost, bases[0]+"/api/v1/requests", "", map[string]any{"type": "restrict", "email": email,
				"details": map[string]any{"limits": []string{"marketing_email"}}}, &body)
			var keys []string
			for k := range body {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			return code, keys, fmt.Sprint(body["status"])
		}
		c1, k1, s1 := shape(demo.DemoPeople()[5].Email)
		c2, k2, s2 := shape("nobody-known@example.net")
		if c1 != c2 || !slices.Equal(k1, k2) || s1 != s2 {
			t.Errorf("known address: %d %v %s; unknown: %d %v %s", c1, k1, s1, c2, k2, s2)
		}
	})

	t.Run("correction approved by an analyst", func(t *testing.T) {
		token := analystToken
		var intake api.IntakeAnswer
		call(t, http.MethodPost, bases[1]+"/api/v1/requests", "", map[string]any{"type": "correct", "email": bob.Email,
			"details": map[string]any{"changes": []map[string]string{{"field": "occupation", "value": "Lighthouse keeper"}}}}, &intake)
		m := codeInMail.FindStringSubmatch(smtp.WaitFor(t, bob.Email, 30*time.Second).Text)
		if m == nil {
			t.Fatal("no code in the mail")
		}
		call(t, http.MethodPost, bases[0]+"/api/v1/requests/"+intake.ID+"/verify", intake.StatusToken, map[string]string{"code": m[1]}, nil)
		waitStatus(t, bases[0], intake.ID, intake.StatusToken, "pending_review")
		var body map[string]any
		if code := call(t, http.MethodPost, bases[1]+"/api/v1/admin/requests/"+intake.ID+"/approve", token,
			map[string]string{"reason": "matches the customer file"}, &body); code != http.StatusOK {
			t.Fatalf("approve: %d %v", code, body)
		}
		correctionID = intake.ID
		completeTask(t, bases[0], analystToken, intake.ID, archiveFound)
		view := waitStatus(t, bases[0], intake.ID, intake.StatusToken, "completed")
		if len(view.Outcome.Changed) != 1 || view.Outcome.Changed[0] != "occupation" {
			t.Errorf("changed %v, want occupation", view.Outcome.Changed)
		}
		// The demo store shares account data with two affiliates only while a person's
		// sharing is on. Bob's is off: they never received his data, and a notice would
		// disclose it, so neither is told.
		if len(view.Recipients) != 0 {
			t.Errorf("recipients told %+v, want none: bob's data was never shared with the affiliates", view.Recipients)
		}
	})

	t.Run("suppression lists the address and starts purge timers", func(t *testing.T) {
		erin := demo.DemoPeople()[4]
		var intake api.IntakeAnswer
		call(t, http.MethodPost, bases[0]+"/api/v1/requests", "", map[string]any{"type": "suppress", "email": erin.Email,
			"details": map[string]any{"scope": map[string]any{"all": true}}}, &intake)
		m := codeInMail.FindStringSubmatch(smtp.WaitFor(t, erin.Email, 30*time.Second).Text)
		if m == nil {
			t.Fatal("no code in the mail")
		}
		call(t, http.MethodPost, bases[0]+"/api/v1/requests/"+intake.ID+"/verify", intake.StatusToken, map[string]string{"code": m[1]}, nil)
		waitStatus(t, bases[0], intake.ID, intake.StatusToken, "awaiting_identity_verification")
		call(t, http.MethodPost, bases[0]+"/api/v1/requests/"+intake.ID+"/identity", intake.StatusToken, map[string]any{"answers": erin.DataPoints}, nil)
		completeTask(t, bases[0], analystToken, intake.ID, archiveFound)
		view := waitStatus(t, bases[0], intake.ID, intake.StatusToken, "completed")
		if len(view.Outcome.Retained) == 0 {
			t.Fatalf("outcome %+v: want the orders kept for tax law", view.Outcome)
		}
		desc, err := s.client(t).DescribeWorkflowExecution(t.Context(), workflows.RetentionPurgeID(intake.ID, 1), "")
		if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Errorf("purge timer of the first kept record: %v, %v", desc, err)
		}
		var out syncBuffer
		args := []string{"suppression", "check", "--database-url", dbURL, "--secret-key", strings.Repeat("5e", 32), strings.ToUpper(erin.Email), bob.Email, "not-an-address"}
		if err := run(t.Context(), args, &out, &out); err != nil {
			t.Fatal(err)
		}
		want := "suppressed\t" + strings.ToUpper(erin.Email) + "\nok\t" + bob.Email + "\ninvalid\tnot-an-address\n"
		if out.String() != want {
			t.Errorf("suppression check printed %q, want %q", out.String(), want)
		}
	})

	// The issue's own check: a review of the demo person lists what is held, a suppression
	// then leaves only the order under retention, and a new review shows exactly that.
	t.Run("suppression leaves only what the law keeps", func(t *testing.T) {
		ada := demo.DemoPeople()[6]
		var out syncBuffer
		if err := run(t.Context(), []string{"token", "create", "--role", "analyst", "--name", "ida", "--database-url", dbURL}, &out, &out); err != nil {
			t.Fatalf("token create: %v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		analystToken := lines[len(lines)-1]
		// After the suppression her data points are erased, so an analyst verifies her.
		byAnalyst := false
		runRequest := func(typ string, details map[string]any) (api.IntakeAnswer, api.RequesterView) {
			var intake api.IntakeAnswer
			call(t, http.MethodPost, bases[1]+"/api/v1/requests", "", map[string]any{"type": typ, "email": ada.Email, "details": details}, &intake)
			var code []string
			for deadline := time.Now().Add(30 * time.Second); code == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				for _, m := range smtp.Messages() {
					if slices.Contains(m.Rcpt, ada.Email) && strings.Contains(m.Text, intake.ID) {
						code = codeInMail.FindStringSubmatch(m.Text)
					}
				}
			}
			if code == nil {
				t.Fatalf("no code mailed for the %s request", typ)
			}
			call(t, http.MethodPost, bases[1]+"/api/v1/requests/"+intake.ID+"/verify", intake.StatusToken, map[string]string{"code": code[1]}, nil)
			waitStatus(t, bases[1], intake.ID, intake.StatusToken, "awaiting_identity_verification")
			var identity json.RawMessage
			if byAnalyst {
				if code := call(t, http.MethodPost, bases[0]+"/api/v1/admin/requests/"+intake.ID+"/verify-identity", analystToken,
					map[string]string{"reason": "called her back"}, &identity); code != http.StatusOK {
					t.Fatalf("analyst verification: %d %s", code, identity)
				}
			} else if code := call(t, http.MethodPost, bases[1]+"/api/v1/requests/"+intake.ID+"/identity", intake.StatusToken, map[string]any{"answers": ada.DataPoints}, &identity); code != http.StatusOK {
				t.Fatalf("identity for the %s request: %d %s", typ, code, identity)
			}
			completeTask(t, bases[0], analystToken, intake.ID, archiveFound)
			return intake, waitStatus(t, bases[1], intake.ID, intake.StatusToken, "completed")
		}
		_, before := runRequest("review", nil)
		if !slices.Contains(before.Outcome.Found, "name") || !slices.Contains(before.Outcome.Found, "server_logs") {
			t.Fatalf("first review found %v", before.Outcome.Found)
		}
		_, suppressed := runRequest("suppress", map[string]any{"scope": map[string]any{"all": true}})
		if len(suppressed.Outcome.Retained) != 1 || !strings.Contains(suppressed.Outcome.Retained[0].What, "DEMO-70002") {
			t.Fatalf("suppression kept %+v, want only order DEMO-70002", suppressed.Outcome.Retained)
		}
		byAnalyst = true
		review, after := runRequest("review", nil)
		if !slices.Equal(after.Outcome.Found, []string{"name", "postal_address", "order_history", "payment_card_last4"}) {
			t.Errorf("review after suppression found %v, want only the kept order's categories", after.Outcome.Found)
		}
		var report map[string]any
		call(t, http.MethodGet, bases[0]+"/api/v1/requests/"+review.ID+"/report", review.StatusToken, nil, &report)
		raw, _ := json.Marshal(report)
		// The kept order's invoice keeps its billing address; her profile, posts and logs are gone.
		if !strings.Contains(string(raw), "DEMO-70002") || strings.Contains(string(raw), "DEMO-70001") ||
			strings.Contains(string(raw), "ada_l") || strings.Contains(string(raw), "198.51.100") {
			t.Errorf("report after suppression: %s", raw)
		}
	})

	// What the engine stores, read with no codec as the stock CLI would: the address, the
	// data points given and the corrected value must not appear in clear.
	t.Run("engine holds no personal data in clear", func(t *testing.T) {
		raw := dial(t, s.temporal.Address)
		secrets := []string{alice.Email, bob.Email, "Lighthouse keeper"}
		for _, v := range alice.DataPoints {
			secrets = append(secrets, v)
		}
		for _, id := range []string{reviewID, correctionID} {
			history := rawPayloads(t, raw, workflows.RequestID(id))
			for _, secret := range secrets {
				if strings.Contains(history, secret) {
					t.Errorf("history of %s holds %q in clear", id, secret)
				}
			}
			if !strings.Contains(history, codec.EncodingEncrypted) {
				t.Errorf("history of %s has no encrypted payloads", id)
			}
		}
	})
}

// rawPayloads returns every payload of a workflow's history (data and metadata) as the
// engine stores them, read without a codec like the stock CLI. Only payloads are searched:
// the events' own timestamps and IDs would match short data points by chance.
func rawPayloads(t *testing.T, c client.Client, workflowID string) string {
	t.Helper()
	var out strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if d, ok := x["data"].(string); ok {
				if raw, err := base64.StdEncoding.DecodeString(d); err == nil {
					out.Write(raw)
					out.WriteByte(0)
				}
			}
			if meta, ok := x["metadata"].(map[string]any); ok {
				for _, m := range meta {
					if s, ok := m.(string); ok {
						if raw, err := base64.StdEncoding.DecodeString(s); err == nil {
							out.Write(raw)
							out.WriteByte(0)
						}
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	it := c.GetWorkflowHistory(t.Context(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		event, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, err := protojson.Marshal(event)
		if err != nil {
			t.Fatal(err)
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			t.Fatal(err)
		}
		walk(generic)
	}
	return out.String()
}
