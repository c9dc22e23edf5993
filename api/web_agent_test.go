package api_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// agentForm is the agent form's multipart body with fields and, when not nil, the file.
func agentForm(t *testing.T, fields map[string][]string, file []byte) (string, http.Header) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for name, values := range fields {
		for _, v := range values {
			if err := w.WriteField(name, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if file != nil {
		part, err := w.CreateFormFile("permission", "permission.pdf")
		if err != nil {
			t.Fatal(err)
		}
		part.Write(file)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String(), http.Header{"Content-Type": {w.FormDataContentType()}}
}

// newSealingHarness is a harness whose database seals what it stores, as the API's does.
func newSealingHarness(t *testing.T) *harness {
	t.Helper()
	ring := newCodecRing(t)
	return newHarness(t, false, func(o *api.Options) { o.Requests = o.Requests.WithResultKeys(ring) })
}

func TestAgentFormShowsErrorsBesideTheirFieldsAndKeepsWhatWasTyped(t *testing.T) {
	h := newSealingHarness(t)
	body, headers := agentForm(t, map[string][]string{
		"type": {"restrict"}, "limit": {"marketing_email"}, "email": {"pat@example.com"}, "jurisdiction": {"ccpa"},
		"agent_name": {""}, "agent_contact": {"desk@rightshelper.example"}, "idempotency_key": {"k1"},
	}, []byte("just words, not a signed file"))
	a := h.send(http.MethodPost, "/agent", body, "", headers)
	if a.code != http.StatusUnprocessableEntity {
		t.Fatalf("invalid agent form = %d, want 422", a.code)
	}
	for _, want := range []string{
		`id="agent-name-error"`, `id="permission-error"`, `value="desk@rightshelper.example"`, `value="pat@example.com"`,
		`id="limit-marketing_email" value="marketing_email" checked`, `<option value="ccpa" selected>`, `enctype="multipart/form-data"`,
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("form answer lacks %s", want)
		}
	}
	if strings.Contains(a.body, `id="agent-contact-error"`) || len(h.engine.started) != 0 {
		t.Error("a valid contact was refused, or an invalid form started a workflow")
	}
}

func TestAgentFormOpensTheRequestWithoutHandingTheAgentTheStatusCookie(t *testing.T) {
	h := newSealingHarness(t)
	body, headers := agentForm(t, map[string][]string{
		"type": {"restrict"}, "limit": {"marketing_email"}, "email": {"pat@example.com"},
		"agent_name": {"Rights Helper Ltd"}, "agent_contact": {"desk@rightshelper.example"}, "idempotency_key": {"k2"},
	}, signedPermission)
	a := h.send(http.MethodPost, "/agent", body, "", headers)
	if a.code != http.StatusOK || !strings.Contains(a.body, `id="agent-sent"`) || !strings.Contains(a.body, "desk@rightshelper.example") {
		t.Fatalf("agent form = %d, want the page that says what happens next:\n%s", a.code, a.body)
	}
	if c := a.header.Get("Set-Cookie"); strings.Contains(c, "dsr_status") {
		t.Errorf("the agent's browser got the person's status cookie: %s", c)
	}
	if len(h.engine.inputs) != 1 || !h.engine.inputs[0].ReviewPermission {
		t.Fatalf("workflows started: %+v, want one that reviews the permission", h.engine.inputs)
	}
	id := h.engine.inputs[0].RequestID
	row, err := h.requests.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if row.AgentName != "Rights Helper Ltd" || row.AgentKind != "form" || row.AgentPermission != requestdb.PermissionPending || row.StatusTokenHash != "" {
		t.Errorf("row agent = %+v, token hash %q", row.Agent, row.StatusTokenHash)
	}
}
