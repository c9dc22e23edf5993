package domain_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/dsr-project/dsr/internal/domain"
)

func TestRequestTypeRoundTripsThroughJSON(t *testing.T) {
	for _, want := range []domain.RequestType{domain.TypeReview, domain.TypeCorrect, domain.TypeUpdate,
		domain.TypeSuppress, domain.TypeRestrict, domain.TypeChildErasure} {
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var got domain.RequestType
		if err := json.Unmarshal(b, &got); err != nil || got != want {
			t.Errorf("round trip of %s: got %q, %v", want, got, err)
		}
	}
}

func TestParseRequestTypeRejectsUnknownWithoutEchoingInput(t *testing.T) {
	_, err := domain.ParseRequestType("alice@example.com")
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	if got := err.Error(); contains(got, "alice") {
		t.Errorf("error %q repeats the input", got)
	}
}

func TestOnlyChildErasureIsStaffOnly(t *testing.T) {
	if !domain.TypeChildErasure.StaffOnly() || domain.TypeReview.StaffOnly() {
		t.Error("got wrong StaffOnly, want only child_erasure")
	}
}

func TestTerminalStatuses(t *testing.T) {
	want := map[domain.Status]bool{domain.StatusCompleted: true, domain.StatusDenied: true,
		domain.StatusCancelled: true, domain.StatusExpired: true}
	for _, s := range []string{"received", "awaiting_email_verification", "awaiting_identity_verification",
		"pending_review", "in_progress", "awaiting_manual_tasks", "needs_attention",
		"completed", "denied", "cancelled", "expired"} {
		st, err := domain.ParseStatus(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Terminal(); got != want[st] {
			t.Errorf("%s.Terminal() = %v, want %v", st, got, want[st])
		}
	}
}

func TestJurisdictionUnmarshalTextRejectsUnknown(t *testing.T) {
	var j domain.Jurisdiction
	if err := j.UnmarshalText([]byte("lgpd")); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("got %v, want ErrInvalid", err)
	}
	if err := j.UnmarshalText([]byte("ccpa")); err != nil || j != domain.JurisdictionCCPA {
		t.Errorf("got %q, %v, want ccpa", j, err)
	}
}

func TestParseRoleKnowsEveryActorsRole(t *testing.T) {
	for _, want := range []domain.Role{domain.RoleAnalyst, domain.RoleAdmin, domain.RoleAuditor, domain.RoleRequester, domain.RoleSystem} {
		if got, err := domain.ParseRole(want.String()); err != nil || got != want {
			t.Errorf("ParseRole(%s) = %q, %v", want, got, err)
		}
	}
	if _, err := domain.ParseRole("root"); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("ParseRole(root) err = %v, want ErrInvalid", err)
	}
	for _, r := range []domain.Role{domain.RoleAuditor, domain.RoleRequester, domain.RoleSystem, ""} {
		if r.Staff() {
			t.Errorf("%q counts as staff; only analysts and admins act on requests", r)
		}
	}
	if !domain.RoleAnalyst.Staff() || !domain.RoleAdmin.Staff() {
		t.Error("analysts and admins must count as staff")
	}
}
