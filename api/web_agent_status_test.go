package api_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// seedAgentRequest stores a request an authorized agent made, which the token opens.
func (h *harness) seedAgentRequest(status domain.Status, token, agent string) string {
	h.t.Helper()
	row := &requestdb.Request{
		ID: uuid.NewString(), Type: domain.TypeReview, Jurisdiction: domain.JurisdictionCCPA, Status: status,
		Email: "pat@example.com", EmailHash: "h", StatusTokenHash: keys.HashToken(token),
		ReceivedAt: h.now.AddDate(0, 0, -10), DueAt: h.now.AddDate(0, 0, 20), OriginalDueAt: h.now.AddDate(0, 0, 20), UpdatedAt: h.now,
		Agent: requestdb.Agent{AgentName: agent, AgentContact: "desk@rightshelper.example", AgentKind: requestdb.AgentByForm,
			AgentPermission: requestdb.PermissionAccepted},
	}
	if status.Terminal() {
		done := h.now.Add(-time.Hour)
		row.CompletedAt = &done
	}
	if err := h.requests.CreateRequest(context.Background(), row); err != nil {
		h.t.Fatal(err)
	}
	return row.ID
}

func TestTheStatusPageTellsThePersonWhichAgentAskedAndThatTheirDataGoesOnlyToThem(t *testing.T) {
	h := newHarness(t, false)
	id := h.seedAgentRequest(domain.StatusInProgress, "tok", "Rights & Helper Ltd")
	for lang, want := range map[string]string{
		"en": "Rights &amp; Helper Ltd made this request for you, as your authorized agent. Your personal information goes only to you",
		"nb": "Rights &amp; Helper Ltd har sendt denne henvendelsen for deg, som din autoriserte representant. Personopplysningene dine går bare til deg",
	} {
		a := h.send(http.MethodGet, "/requests/"+id, "", "", http.Header{"Cookie": {"dsr_status=tok; dsr_lang=" + lang}})
		if a.code != http.StatusOK || !strings.Contains(a.body, `id="agent-note"`) || !strings.Contains(a.body, want) {
			t.Errorf("%s status page = %d, want the agent named in the person's words:\n%s", lang, a.code, a.body)
		}
	}
	own := h.seedWithToken(domain.StatusInProgress, "own")
	if a := h.send(http.MethodGet, "/requests/"+own, "", "", http.Header{"Cookie": {"dsr_status=own"}}); strings.Contains(a.body, `id="agent-note"`) {
		t.Error("the page of a request the person made themselves speaks of an agent")
	}
}

func TestTheQueueExportNamesTheAgentOfEachRequestAnAgentMade(t *testing.T) {
	h := newHarness(t, false)
	admin := h.token("dana", auth.RoleAdmin)
	byAgent := h.seedAgentRequest(domain.StatusInProgress, "tok", "=Rights Helper")
	own := h.seedWithToken(domain.StatusInProgress, "own")
	a := h.do(http.MethodGet, "/api/v1/admin/requests?format=csv", "", "", admin)
	records, err := csv.NewReader(strings.NewReader(a.body)).ReadAll()
	if err != nil || a.code != http.StatusOK {
		t.Fatalf("export = %d %v", a.code, err)
	}
	col := slices.Index(records[0], "agent")
	if col < 0 || len(records) != 3 {
		t.Fatalf("export = %v, want an agent column and two requests", records)
	}
	got := map[string]string{}
	for _, r := range records[1:] {
		got[r[0]] = r[col]
	}
	if got[byAgent] != "'=Rights Helper" || got[own] != "" {
		t.Errorf("agent cells = %v, want the agent's name (defused) and none", got)
	}
}
