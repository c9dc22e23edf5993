package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/connector"
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

// Update and query names of the request workflow.
const (
	UpdateVerifyEmail    = "verify-email"
	UpdateResendCode     = "resend-code"
	UpdateSubmitIdentity = "submit-identity"
	UpdateApprove        = "approve"
	UpdateDeny           = "deny"
	UpdateVerifyIdentity = "verify-identity"
	UpdateExtend         = "extend"
	UpdateCancel         = "cancel"
	UpdateRetryStore     = "retry-store"
	UpdateAddNote        = "add-note"
	UpdateAssign         = "assign"
	UpdateStoreResult    = "store-result"
	QueryState           = "state"
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
}

// Actor is who asked for a change: a staff member's token name and role, the requester, or
// dsr itself.
type Actor struct {
	Name string      `json:"name"`
	Role domain.Role `json:"role"`
}

// The staff updates each take their own input. Their JSON keys are those of the one
// argument all staff updates once shared (actor, reason, text, assignee, store), so the
// updates in recorded histories decode.

// ApproveInput lets a request in pending_review proceed.
type ApproveInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// DenyInput ends a request; the reason is mailed to the requester.
type DenyInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// VerifyIdentityInput records that a staff member verified the requester's identity.
type VerifyIdentityInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// ExtendInput moves the due date once, as far as the law allows; the reason is mailed.
type ExtendInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// CancelInput ends a request that is waiting.
type CancelInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// RetryStoreInput runs one failed store again.
type RetryStoreInput struct {
	Actor Actor  `json:"actor"`
	Store string `json:"store"`
}

// AddNoteInput adds a staff member's note to the request.
type AddNoteInput struct {
	Actor Actor  `json:"actor"`
	Text  string `json:"text"`
}

// AssignInput names who works on the request; empty unassigns it.
type AssignInput struct {
	Actor    Actor  `json:"actor"`
	Assignee string `json:"assignee"`
}

// VerifyEmailInput carries the code the requester typed.
type VerifyEmailInput struct {
	Code string `json:"code"`
}

// VerifyEmailResult says what became of a code.
type VerifyEmailResult struct {
	Result       domain.CheckResult `json:"result"`
	AttemptsLeft int                `json:"attempts_left"`
}

// ResendCodeResult says when the new code expires.
type ResendCodeResult struct {
	ExpiresAt time.Time `json:"expires_at"`
}

// SubmitIdentityInput carries data points such as postal_code, phone_last4, order_number.
type SubmitIdentityInput struct {
	Answers map[string]string `json:"answers"`
}

// SubmitIdentityResult says whether the answers verified the requester.
type SubmitIdentityResult struct {
	Verified     bool `json:"verified"`
	AttemptsLeft int  `json:"attempts_left"`
}

// StoreResultInput delivers a result that came later: a store's signed callback, or a
// staff member completing a manual task.
type StoreResultInput struct {
	Store  string           `json:"store"`
	Result connector.Result `json:"result"`
	Actor  Actor            `json:"actor"`
}

// StoreAnswerWindow is how long a request waits for stores that answer later; DataGrail
// gives processors contacted by e-mail 14 days.
const StoreAnswerWindow = 14 * 24 * time.Hour

// Step is one entry of a request's timeline.
type Step struct {
	Seq    int64         `json:"seq"`
	Action string        `json:"action"`
	At     time.Time     `json:"at"`
	Actor  Actor         `json:"actor"`
	Status domain.Status `json:"status"`
}

// Note is a staff member's note on a request.
type Note struct {
	Author string    `json:"author"`
	Text   string    `json:"text"`
	At     time.Time `json:"at"`
}

// StoreOutcome is one system's result, or its error while it is failing.
type StoreOutcome struct {
	Store   string           `json:"store"`
	Done    bool             `json:"done"`
	Pending bool             `json:"pending,omitempty"`
	Error   string           `json:"error"`
	Result  connector.Result `json:"result"`
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
	OpenedBy            string              `json:"opened_by"`
	Assignee            string              `json:"assignee"`
	JoinedTo            string              `json:"joined_to"`
	DeadlineAlerted     bool                `json:"deadline_alerted"`
	Notes               []Note              `json:"notes"`
	Steps               []Step              `json:"steps"`
	Stores              []StoreOutcome      `json:"stores"`
	// Recipients are the affiliates and third parties told of the change.
	Recipients []activities.RecipientNotice `json:"recipients,omitempty"`
}
