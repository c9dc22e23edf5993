package activities

import (
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// StepChange is what one workflow step changes on the request row; a nil field leaves the
// column as it is. It belongs to the workflows' side so they need not know the database
// package; RecordStep turns it into a requestdb.Patch. Its field names and JSON are those of
// the requestdb.Patch that older workers put in RecordStepInput.Patch, so steps they
// scheduled, and the histories that hold them, still decode.
type StepChange struct {
	Status          *domain.Status
	DueAt           *time.Time
	ExtendedAt      *time.Time
	ExtensionReason *string
	Assignee        *string
	StatusReason    *string
	JoinedTo        *string
	CompletedAt     *time.Time
	// AgentPermission records staff's decision on an agent's permission.
	AgentPermission *requestdb.PermissionDecision `json:",omitempty"`
	// Progress, when set, replaces the request's progress on the mailbox and identity.
	Progress *StepProgress
	// FailedStores marks systems failed, with the error staff see, unless already done.
	FailedStores map[string]string
	// Suppress and ReleaseClaim close the request in the step's transaction: its address
	// goes on the suppression list, and its duplicate claim is released.
	Suppress     bool `json:",omitempty"`
	ReleaseClaim bool `json:",omitempty"`
}

// StepProgress is the state of the mailbox and identity checks as the row keeps it.
type StepProgress struct {
	EmailVerified        bool   `json:"email_verified"`
	CodeAttemptsLeft     int    `json:"code_attempts_left"`
	IdentityRequirement  string `json:"identity_requirement"`
	IdentityVerified     bool   `json:"identity_verified"`
	IdentityMethod       string `json:"identity_method,omitempty"`
	IdentityAttemptsLeft int    `json:"identity_attempts_left"`
}

// patch is the change as the request repository applies it.
func (c StepChange) patch() requestdb.Patch {
	p := requestdb.Patch{
		Status: c.Status, DueAt: c.DueAt, ExtendedAt: c.ExtendedAt, ExtensionReason: c.ExtensionReason,
		Assignee: c.Assignee, StatusReason: c.StatusReason, JoinedTo: c.JoinedTo, CompletedAt: c.CompletedAt,
		FailedStores: c.FailedStores, Suppress: c.Suppress, ReleaseClaim: c.ReleaseClaim,
		AgentPermission: c.AgentPermission,
	}
	if c.Progress != nil {
		// A conversion, not a copy by field: it stops compiling if the two drift apart.
		progress := requestdb.Progress(*c.Progress)
		p.Progress = &progress
	}
	return p
}
