package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// permissionPDF is a signed permission as an agent sends it; it names the person.
var permissionPDF = []byte("%PDF-1.4\nI, Pat Person of 1 Elm Row, let Rights Helper Ltd act for me.\n%%EOF\n")

// seedAgentRequest adds r3, a request an authorized agent made with a signed permission.
func seedAgentRequest(t *testing.T, repo *requestdb.Repo) {
	t.Helper()
	ctx := context.Background()
	err := repo.CreateRequest(ctx, &requestdb.Request{
		ID: "r3", Type: domain.TypeRestrict, Jurisdiction: domain.JurisdictionCCPA, Status: domain.StatusPendingReview,
		Email: address, EmailHash: "keyed-hash-of-r3", Details: `{"limits":["marketing_email"]}`,
		ReceivedAt: day, DueAt: day.AddDate(0, 1, 0), OriginalDueAt: day.AddDate(0, 1, 0),
		Agent: requestdb.Agent{AgentName: "Rights Helper Ltd", AgentContact: "desk@rightshelper.example", AgentKind: requestdb.AgentByForm,
			AgentPermission: requestdb.PermissionAccepted},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.SavePermission(ctx, "r3", requestdb.Permission{ContentType: "application/pdf", Data: permissionPDF}); err != nil {
		t.Fatal(err)
	}
}

func TestBundleOfAnAgentsRequestNamesTheAgentAndThePermissionsDigestAndHoldsTheFileOnlyWithPersonalData(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo, key := seed(t, db), newKey(t)
		seedAgentRequest(t, repo)
		sum := sha256.Sum256(permissionPDF)
		digest := hex.EncodeToString(sum[:])

		plain := export(t, repo, key, "r3", audit.ExportOptions{})
		files := unzip(t, plain)
		agent := string(files["agent.json"])
		for _, want := range []string{`"name": "Rights Helper Ltd"`, `"kind": "form"`, `"permission_decision": "accepted"`, `"sha256": "` + digest + `"`, `"withheld": true`} {
			if !strings.Contains(agent, want) {
				t.Errorf("agent.json lacks %s:\n%s", want, agent)
			}
		}
		if bytes.Contains(plain, []byte("Pat Person")) || files["agent_permission.pdf"] != nil {
			t.Error("a bundle without personal data holds the permission file")
		}
		if _, err := audit.VerifyBundle(plain, key.Public().(ed25519.PublicKey)); err != nil {
			t.Errorf("plain bundle: %v", err)
		}

		full := export(t, repo, key, "r3", audit.ExportOptions{IncludePII: true})
		files = unzip(t, full)
		if !bytes.Equal(files["agent_permission.pdf"], permissionPDF) || !strings.Contains(string(files["agent.json"]), `"file": "agent_permission.pdf"`) {
			t.Errorf("a bundle with personal data lacks the permission file, or agent.json does not name it:\n%s", files["agent.json"])
		}
		if _, err := audit.VerifyBundle(full, key.Public().(ed25519.PublicKey)); err != nil {
			t.Errorf("full bundle: %v", err)
		}

		// Another file under the permission's name does not verify.
		swapped := bytes.Replace(full, []byte("Pat Person"), []byte("Sam Person"), 1)
		if _, err := audit.VerifyBundle(swapped, key.Public().(ed25519.PublicKey)); err == nil {
			t.Error("a bundle whose permission file was changed verified")
		}
	})
}
