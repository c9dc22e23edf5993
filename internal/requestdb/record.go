package requestdb

import (
	"encoding/json"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
)

// Record is a request as staff and auditors see it: the row without the hash of the
// requester's status token, with the stored details as JSON.
type Record struct {
	ID              string              `json:"id"`
	Type            domain.RequestType  `json:"type"`
	Jurisdiction    domain.Jurisdiction `json:"jurisdiction"`
	Status          domain.Status       `json:"status"`
	Email           string              `json:"email,omitempty"`
	EmailHash       string              `json:"email_hash"`
	Details         json.RawMessage     `json:"details"`
	ReceivedAt      time.Time           `json:"received_at"`
	DueAt           time.Time           `json:"due_at"`
	OriginalDueAt   time.Time           `json:"original_due_at"`
	AcknowledgeBy   *time.Time          `json:"acknowledge_by,omitempty"`
	ExtendedAt      *time.Time          `json:"extended_at,omitempty"`
	ExtensionReason string              `json:"extension_reason,omitempty"`
	Assignee        string              `json:"assignee,omitempty"`
	OpenedBy        string              `json:"opened_by,omitempty"`
	StatusReason    string              `json:"status_reason,omitempty"`
	JoinedTo        string              `json:"joined_to,omitempty"`
	StepSeq         int64               `json:"step_seq"`
	UpdatedAt       time.Time           `json:"updated_at"`
	CompletedAt     *time.Time          `json:"completed_at,omitempty"`
	// Agent is the authorized agent who made the request, if one did.
	Agent *RecordAgent `json:"agent,omitempty"`
	Progress
}

// RecordAgent is the agent of a request as staff see it.
type RecordAgent struct {
	Name    string `json:"name"`
	Contact string `json:"contact"`
	Kind    string `json:"kind"`
	// Permission is staff's decision on a form agent's signed permission.
	Permission PermissionDecision `json:"permission,omitempty"`
}

// Record returns the request as staff and auditors see it.
func (r *Request) Record() Record {
	return Record{
		ID: r.ID, Type: r.Type, Jurisdiction: r.Jurisdiction, Status: r.Status,
		Email: r.Email, EmailHash: r.EmailHash, Details: RawJSON(r.Details),
		ReceivedAt: r.ReceivedAt, DueAt: r.DueAt, OriginalDueAt: r.OriginalDueAt,
		AcknowledgeBy: r.AcknowledgeBy, ExtendedAt: r.ExtendedAt, ExtensionReason: r.ExtensionReason,
		Assignee: r.Assignee, OpenedBy: r.OpenedBy, StatusReason: r.StatusReason,
		JoinedTo: r.JoinedTo, StepSeq: r.StepSeq,
		UpdatedAt: r.UpdatedAt, CompletedAt: r.CompletedAt, Progress: r.Progress,
		Agent: r.recordAgent(),
	}
}

func (r *Request) recordAgent() *RecordAgent {
	if !r.ByAgent() {
		return nil
	}
	return &RecordAgent{Name: r.AgentName, Contact: r.AgentContact, Kind: r.AgentKind, Permission: r.AgentPermission}
}

// RawJSON passes stored JSON text through, or null when there is none or it is not JSON.
func RawJSON(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}
