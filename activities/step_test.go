package activities

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// Workers before StepChange sent a requestdb.Patch as RecordStepInput.Patch. Such inputs,
// in histories and in activities scheduled before an upgrade, must decode into StepChange
// and apply the same change.
func TestStepChangeDecodesAndAppliesAnOlderWorkersPatch(t *testing.T) {
	status, at, text := domain.StatusNeedsAttention, time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC), "x"
	accepted := requestdb.PermissionAccepted
	old := requestdb.Patch{
		Status: &status, DueAt: &at, ExtendedAt: &at, ExtensionReason: &text, Assignee: &text,
		StatusReason: &text, JoinedTo: &text, CompletedAt: &at, AgentPermission: &accepted,
		Progress: &requestdb.Progress{EmailVerified: true, CodeAttemptsLeft: 2, IdentityRequirement: "data_points",
			IdentityVerified: true, IdentityMethod: "analyst", IdentityAttemptsLeft: 1},
		FailedStores: map[string]string{"shop": "timed out"}, Suppress: true, ReleaseClaim: true,
	}
	// A field this fixture leaves zero is one the test cannot see StepChange drop.
	v := reflect.ValueOf(old)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("the fixture leaves requestdb.Patch.%s unset; set it, and give StepChange the field too", v.Type().Field(i).Name)
		}
	}
	payload, err := json.Marshal(struct {
		RequestID string
		Seq       int64
		Patch     requestdb.Patch
	}{"r1", 3, old})
	if err != nil {
		t.Fatal(err)
	}
	var in RecordStepInput
	if err := json.Unmarshal(payload, &in); err != nil {
		t.Fatal(err)
	}
	if got := in.Patch.patch(); !reflect.DeepEqual(got, old) {
		t.Errorf("decoded change applies %+v, want %+v", got, old)
	}
}
