// Package requestdb is the application's store of privacy requests: the request rows, their
// audit trail, duplicate-detection claims, the log of notices sent, the dev mailbox and the
// workers' self-check records.
// Errors never contain an e-mail address or a field value, so they may be logged and kept
// in workflow history.
package requestdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/tlog"
)

// Sentinel errors, so callers can map them to an answer with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Repo reads and writes requests and their records. It is safe for concurrent use.
type Repo struct {
	db *database.DB
	// resultKeys seal store results; see WithResultKeys.
	resultKeys *codec.Keyring
	// log, when set, receives the milestones of stored steps; see WithLog.
	log *tlog.Log
}

// New returns a Repo on a migrated database.
func New(db *database.DB) *Repo { return &Repo{db: db} }

// Request is one privacy request as the application stores it. Details is JSON text; times are UTC with microsecond precision, which both engines keep exactly.
type Request struct {
	ID              string `gorm:"primaryKey"`
	Type            domain.RequestType
	Jurisdiction    domain.Jurisdiction
	Status          domain.Status
	Email           string // normalised address, which records are matched on; PII
	MailboxEmail    string // the address as typed, which mail goes to; empty on older rows; PII
	EmailHash       string // hex keyed hash, for lookups that must not expose the address
	Details         string
	Language        string // BCP 47 tag of the language the requester's pages and mail speak
	StatusTokenHash string // hex SHA-256 of the requester's bearer token
	ReceivedAt      time.Time
	DueAt           time.Time
	OriginalDueAt   time.Time
	AcknowledgeBy   *time.Time
	ExtendedAt      *time.Time
	ExtensionReason string
	Assignee        string
	OpenedBy        string // staff member who opened a staff-only request
	StatusReason    string // why a request was denied or cancelled
	JoinedTo        string // the request a duplicate joined
	Agent
	Progress
	StepSeq     int64 // last workflow step applied; see ApplyStep
	UpdatedAt   time.Time
	CompletedAt *time.Time
}

func (Request) TableName() string { return "requests" }

// MailTo is the address to send the requester's mail to: as they typed it, or the
// normalised one on rows stored before the typed form was kept.
func (req *Request) MailTo() string {
	if req.MailboxEmail != "" {
		return req.MailboxEmail
	}
	return req.Email
}

// Agent is the authorized agent who made a request for the person, when one did; the
// person's own address stays in Email. PII: kept out of workflows and logs.
type Agent struct {
	AgentName    string
	AgentContact string // the agent's e-mail address, where the outcome goes
	AgentKind    string // "form" or "drp"; empty when the person asked themselves
	// AgentPermission is where staff stand on a form agent's signed permission.
	AgentPermission PermissionDecision
}

// PermissionDecision is staff's decision on an agent's signed permission.
type PermissionDecision string

// A form agent's permission waits for staff, who accept or refuse it.
const (
	PermissionPending  PermissionDecision = "pending"
	PermissionAccepted PermissionDecision = "accepted"
	PermissionRefused  PermissionDecision = "refused"
)

// Kinds of agent, as AgentKind holds them.
const (
	AgentByForm = "form"
	AgentByDRP  = "drp"
)

// ByAgent reports whether an authorized agent made the request.
func (req *Request) ByAgent() bool { return req.AgentKind != "" }

// Progress is how far a request has got with proving the mailbox and the requester's
// identity. The workflow writes it with every step, so status pages read it from the row.
type Progress struct {
	EmailVerified        bool   `json:"email_verified"`
	CodeAttemptsLeft     int    `json:"code_attempts_left"`
	IdentityRequirement  string `json:"identity_requirement"`
	IdentityVerified     bool   `json:"identity_verified"`
	IdentityMethod       string `json:"identity_method,omitempty"`
	IdentityAttemptsLeft int    `json:"identity_attempts_left"`
}

// CreateRequest stores a new request, filling in a random ID when it has none. The caller
// usually chooses the ID, so that a retried create returns ErrConflict instead of storing a
// second copy. Times in r are normalised in place to what the database keeps.
func (r *Repo) CreateRequest(ctx context.Context, req *Request) error {
	if req.ID == "" {
		req.ID = uuid.NewString()
	}
	if req.UpdatedAt.IsZero() {
		req.UpdatedAt = time.Now()
	}
	req.normalize()
	res := r.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(req)
	if res.Error != nil {
		return fmt.Errorf("create request: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("create request %s: %w", req.ID, ErrConflict)
	}
	return nil
}

// GetRequest returns the request with the given ID, or ErrNotFound.
func (r *Repo) GetRequest(ctx context.Context, id string) (*Request, error) {
	var req Request
	err := r.db.WithContext(ctx).Take(&req, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("get request %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get request %s: %w", id, err)
	}
	req.normalize()
	return &req, nil
}

func (req *Request) normalize() {
	for _, t := range []*time.Time{&req.ReceivedAt, &req.DueAt, &req.OriginalDueAt, &req.UpdatedAt} {
		*t = utc(*t)
	}
	req.AcknowledgeBy = utcPtr(req.AcknowledgeBy)
	req.ExtendedAt = utcPtr(req.ExtendedAt)
	req.CompletedAt = utcPtr(req.CompletedAt)
}

// utc returns t as the database will give it back: in UTC, truncated to microseconds, so
// that a value read back compares equal to the value written on either engine.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := utc(*t)
	return &v
}
