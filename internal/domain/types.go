// Package domain holds the vocabulary and the pure rules of data-subject requests:
// request types and statuses, intake validation, deadlines, identity-verification
// policy and one-time e-mail codes. It does no I/O, so workflows may call it freely.
package domain

import (
	"errors"
	"fmt"
	"slices"
)

// ErrInvalid marks input that breaks a domain rule, so that callers can map every such
// error to one answer (HTTP 400) with errors.Is instead of matching messages.
var ErrInvalid = errors.New("invalid")

// RequestType is what a data subject asks for. The five public types come from section 4.f
// of the privacy policy; child_erasure is opened by staff on a child's behalf.
type RequestType string

// Request types.
const (
	TypeReview       RequestType = "review"
	TypeCorrect      RequestType = "correct"
	TypeUpdate       RequestType = "update"
	TypeSuppress     RequestType = "suppress"
	TypeRestrict     RequestType = "restrict"
	TypeChildErasure RequestType = "child_erasure"
)

var requestTypes = []RequestType{TypeReview, TypeCorrect, TypeUpdate, TypeSuppress, TypeRestrict, TypeChildErasure}

// ParseRequestType returns the request type named s, or an error wrapping ErrInvalid.
func ParseRequestType(s string) (RequestType, error) {
	return parseEnum("request type", s, requestTypes)
}

// StaffOnly reports whether only staff may open the type, because a child cannot be
// expected to prove control of a mailbox and the erasure needs a second person's approval.
func (t RequestType) StaffOnly() bool { return t == TypeChildErasure }

// ChangesOnly reports whether the type's stores say what they changed but not what they
// hold, so an empty outcome means nothing needed changing, not that nothing was found.
func (t RequestType) ChangesOnly() bool {
	return t == TypeCorrect || t == TypeUpdate || t == TypeRestrict
}

// Planned reports whether the type changes data, so that each store's change is planned,
// and shown, before it is made. A review only reads.
func (t RequestType) Planned() bool { return t != TypeReview && slices.Contains(requestTypes, t) }

func (t RequestType) String() string                { return string(t) }
func (t RequestType) MarshalText() ([]byte, error)  { return []byte(t), nil }
func (t *RequestType) UnmarshalText(b []byte) error { return unmarshalEnum(t, ParseRequestType, b) }

// Status is where a request stands in its workflow.
type Status string

// Statuses, in roughly the order a request passes through them.
const (
	StatusReceived                     Status = "received"
	StatusAwaitingEmailVerification    Status = "awaiting_email_verification"
	StatusAwaitingIdentityVerification Status = "awaiting_identity_verification"
	StatusPendingReview                Status = "pending_review"
	StatusInProgress                   Status = "in_progress"
	StatusAwaitingManualTasks          Status = "awaiting_manual_tasks"
	StatusNeedsAttention               Status = "needs_attention"
	StatusCompleted                    Status = "completed"
	StatusDenied                       Status = "denied"
	StatusCancelled                    Status = "cancelled"
	StatusExpired                      Status = "expired"
)

var statuses = []Status{
	StatusReceived, StatusAwaitingEmailVerification, StatusAwaitingIdentityVerification,
	StatusPendingReview, StatusInProgress, StatusAwaitingManualTasks, StatusNeedsAttention,
	StatusCompleted, StatusDenied, StatusCancelled, StatusExpired,
}

// ParseStatus returns the status named s, or an error wrapping ErrInvalid.
func ParseStatus(s string) (Status, error) { return parseEnum("status", s, statuses) }

// Terminal reports whether the request is finished, so that no deadline alert or
// reminder should fire for it any more.
func (s Status) Terminal() bool {
	switch s {
	case StatusCompleted, StatusDenied, StatusCancelled, StatusExpired:
		return true
	}
	return false
}

func (s Status) String() string                { return string(s) }
func (s Status) MarshalText() ([]byte, error)  { return []byte(s), nil }
func (s *Status) UnmarshalText(b []byte) error { return unmarshalEnum(s, ParseStatus, b) }

// Jurisdiction selects the law whose deadlines apply to a request.
type Jurisdiction string

// Jurisdictions; their limits live in jurisdictions.yaml. Default applies the
// deployment's own DeadlinePolicy.
const (
	JurisdictionGDPR    Jurisdiction = "gdpr"
	JurisdictionCCPA    Jurisdiction = "ccpa"
	JurisdictionVCDPA   Jurisdiction = "vcdpa"
	JurisdictionCPA     Jurisdiction = "cpa"
	JurisdictionCTDPA   Jurisdiction = "ctdpa"
	JurisdictionDefault Jurisdiction = "default"
)

var jurisdictions = []Jurisdiction{
	JurisdictionGDPR, JurisdictionCCPA, JurisdictionVCDPA, JurisdictionCPA, JurisdictionCTDPA, JurisdictionDefault,
}

// AllJurisdictions lists every jurisdiction, in the order forms offer them.
func AllJurisdictions() []Jurisdiction { return append([]Jurisdiction(nil), jurisdictions...) }

// ParseJurisdiction returns the jurisdiction named s, or an error wrapping ErrInvalid.
func ParseJurisdiction(s string) (Jurisdiction, error) {
	return parseEnum("jurisdiction", s, jurisdictions)
}

func (j Jurisdiction) String() string                { return string(j) }
func (j Jurisdiction) MarshalText() ([]byte, error)  { return []byte(j), nil }
func (j *Jurisdiction) UnmarshalText(b []byte) error { return unmarshalEnum(j, ParseJurisdiction, b) }

// parseEnum leaves the rejected input out of the error, because a requester may have typed
// anything, an e-mail address included, into any field.
func parseEnum[T ~string](what, s string, valid []T) (T, error) {
	for _, v := range valid {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown %s, want one of %v: %w", what, valid, ErrInvalid)
}

func unmarshalEnum[T ~string](dst *T, parse func(string) (T, error), b []byte) error {
	v, err := parse(string(b))
	if err != nil {
		return err
	}
	*dst = v
	return nil
}
