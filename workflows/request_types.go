package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"

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

// Actor is who asked for a change: a staff member's token name and role, or the requester.
type Actor struct {
	Name string
	Role string
}

// Roles allowed to act on requests.
const (
	RoleAnalyst   = "analyst"
	RoleAdmin     = "admin"
	RoleRequester = "requester"
	RoleSystem    = "system"
)

// StaffAction is the argument of every staff update.
type StaffAction struct {
	Actor    Actor
	Reason   string
	Text     string
	Assignee string
	Store    string
}

// VerifyEmailInput carries the code the requester typed.
type VerifyEmailInput struct{ Code string }

// VerifyEmailResult says what became of a code.
type VerifyEmailResult struct {
	Result       domain.CheckResult
	AttemptsLeft int
}

// ResendCodeResult says when the new code expires.
type ResendCodeResult struct{ ExpiresAt time.Time }

// SubmitIdentityInput carries data points such as postal_code, phone_last4, order_number.
type SubmitIdentityInput struct{ Answers map[string]string }

// SubmitIdentityResult says whether the answers verified the requester.
type SubmitIdentityResult struct {
	Verified     bool
	AttemptsLeft int
}

// Step is one entry of a request's timeline.
type Step struct {
	Seq    int64
	Action string
	At     time.Time
	Actor  Actor
	Status domain.Status
}

// Note is a staff member's note on a request.
type Note struct {
	Author string
	Text   string
	At     time.Time
}

// StoreOutcome is one system's result, or its error while it is failing.
type StoreOutcome struct {
	Store  string
	Done   bool
	Error  string
	Result connector.Result
}

// RequestState is everything the workflow knows; the state query returns it whole.
type RequestState struct {
	RequestID           string
	Type                domain.RequestType
	Jurisdiction        domain.Jurisdiction
	Status              domain.Status
	StatusReason        string
	ReceivedAt          time.Time
	DueAt               time.Time
	OriginalDueAt       time.Time
	Extended            bool
	ExtensionReason     string
	EmailVerified       bool
	CodeExpiresAt       time.Time
	CodeAttemptsLeft    int
	CodesIssued         int
	IdentityRequirement string
	IdentityVerified    bool
	IdentityMethod      string
	DataPointsMatched   int
	IdentityAttempts    int
	Approved            bool
	ApprovedBy          string
	OpenedBy            string
	Assignee            string
	JoinedTo            string
	DeadlineAlerted     bool
	Notes               []Note
	Steps               []Step
	Stores              []StoreOutcome
}
