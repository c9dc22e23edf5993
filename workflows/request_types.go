package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
)

// RequestID is the workflow ID of a privacy request: "dsr-" and the request's UUID, never PII.
func RequestID(requestUUID string) string { return "dsr-" + requestUUID }

// Typed keys for dsr's search attributes.
var (
	StatusKey       = temporal.NewSearchAttributeKeyKeyword(AttrStatus)
	RequestTypeKey  = temporal.NewSearchAttributeKeyKeyword(AttrRequestType)
	JurisdictionKey = temporal.NewSearchAttributeKeyKeyword(AttrJurisdiction)
	DueDateKey      = temporal.NewSearchAttributeKeyTime(AttrDueDate)
)

// VerificationSettings govern the e-mail-address match; intake fixes them per request so a
// configuration change never alters a request already running.
type VerificationSettings struct {
	CodeDigits     int
	CodeLife       time.Duration
	MaxAttempts    int
	ResendCooldown time.Duration
	// Window is how long a request waits for its address (and identity) to be proven.
	Window        time.Duration
	ReminderAfter time.Duration
	// IdentityAttempts is how many sets of data points a requester may submit.
	IdentityAttempts int
}

// DefaultVerificationSettings follow DataGrail's 7 days with a reminder after 24 hours.
func DefaultVerificationSettings() VerificationSettings {
	return VerificationSettings{
		CodeDigits:       domain.DefaultCodeDigits,
		CodeLife:         domain.DefaultCodeLife,
		MaxAttempts:      domain.DefaultCodeAttempts,
		ResendCooldown:   domain.DefaultResendCooldown,
		Window:           7 * 24 * time.Hour,
		ReminderAfter:    24 * time.Hour,
		IdentityAttempts: 3,
	}
}

// RequestInput starts a request workflow. It carries no PII: the address and details stay
// in the application database, read by activities through the request ID.
type RequestInput struct {
	RequestID    string
	Type         domain.RequestType
	Jurisdiction domain.Jurisdiction
	ReceivedAt   time.Time
	DueAt        time.Time
	Deadline     domain.DeadlinePolicy
	Identity     domain.IdentityRule
	Verification VerificationSettings
	// OpenedBy names the staff member who opened a staff-only request; such requests skip
	// the mailbox proof and need a second staff member's approval.
	OpenedBy string
	// OpenedByID is the opener's token ID, the principal the approver must differ from.
	// Requests started before it was recorded lack it.
	OpenedByID string
	// ReviewPermission marks a request an authorized agent made with a signed permission:
	// once the person confirms by the mailed code, staff accept or refuse the permission
	// before anything else happens. Who the agent is stays in the database.
	ReviewPermission bool `json:",omitempty"`
}

// Actor is who asked for a change: a staff member's token name and role, the requester, or
// dsr itself. Every staff update's input carries one under "actor"; those inputs keep the
// JSON keys of the one argument all staff updates once shared (actor, reason, text,
// assignee, store), so the updates in recorded histories decode.
type Actor struct {
	Name string      `json:"name"`
	Role domain.Role `json:"role"`
	// ID is a staff member's token ID: unlike the name, stable and unique. Updates sent
	// before it was recorded lack it.
	ID string `json:"id,omitempty"`
}

// Step is one entry of a request's timeline.
type Step struct {
	Seq    int64         `json:"seq"`
	Action string        `json:"action"`
	At     time.Time     `json:"at"`
	Actor  Actor         `json:"actor"`
	Status domain.Status `json:"status"`
}

// RequestState is everything the workflow knows; the state query returns it whole.
type RequestState struct {
	RequestID           string              `json:"request_id"`
	Type                domain.RequestType  `json:"type"`
	Jurisdiction        domain.Jurisdiction `json:"jurisdiction"`
	Status              domain.Status       `json:"status"`
	StatusReason        string              `json:"status_reason"`
	ReceivedAt          time.Time           `json:"received_at"`
	DueAt               time.Time           `json:"due_at"`
	OriginalDueAt       time.Time           `json:"original_due_at"`
	Extended            bool                `json:"extended"`
	ExtensionReason     string              `json:"extension_reason"`
	EmailVerified       bool                `json:"email_verified"`
	CodeExpiresAt       time.Time           `json:"code_expires_at"`
	CodeAttemptsLeft    int                 `json:"code_attempts_left"`
	CodesIssued         int                 `json:"codes_issued"`
	IdentityRequirement string              `json:"identity_requirement"`
	IdentityVerified    bool                `json:"identity_verified"`
	IdentityMethod      string              `json:"identity_method"`
	DataPointsMatched   int                 `json:"data_points_matched"`
	IdentityAttempts    int                 `json:"identity_attempts"`
	Approved            bool                `json:"approved"`
	ApprovedBy          string              `json:"approved_by"`
	// PermissionPending is set while staff review an agent's permission; PermissionAccepted
	// once they accepted it.
	PermissionPending  bool           `json:"permission_pending,omitempty"`
	PermissionAccepted bool           `json:"permission_accepted,omitempty"`
	OpenedBy           string         `json:"opened_by"`
	Assignee           string         `json:"assignee"`
	JoinedTo           string         `json:"joined_to"`
	DeadlineAlerted    bool           `json:"deadline_alerted"`
	Notes              []Note         `json:"notes"`
	Steps              []Step         `json:"steps"`
	Stores             []StoreOutcome `json:"stores"`
	// Recipients are the affiliates and third parties told of the change.
	Recipients []activities.RecipientNotice `json:"recipients,omitempty"`
}
