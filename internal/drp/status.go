package drp

import (
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
)

// State is a request state of section 3.02.
type State string

// States of section 3.02.
const (
	StateOpen       State = "open"
	StateInProgress State = "in_progress"
	StateFulfilled  State = "fulfilled"
	StateRevoked    State = "revoked"
	StateDenied     State = "denied"
	StateExpired    State = "expired"
)

// Reason qualifies a state (section 3.02).
type Reason string

// Reasons of section 3.02.
const (
	ReasonNeedUserVerification Reason = "need_user_verification"
	ReasonSuspectedFraud       Reason = "suspected_fraud"
	ReasonInsufVerification    Reason = "insuf_verification"
	ReasonNoMatch              Reason = "no_match"
	ReasonClaimNotCovered      Reason = "claim_not_covered"
	ReasonOutsideJurisdiction  Reason = "outside_jurisdiction"
	ReasonTooManyRequests      Reason = "too_many_requests"
	ReasonOther                Reason = "other"
)

// staffDenialReasons are the denial reasons staff may give by starting their reason with
// one, as in "outside_jurisdiction: we serve California residents only"; a reason that
// starts with none is reported as other.
var staffDenialReasons = []Reason{
	ReasonSuspectedFraud, ReasonInsufVerification, ReasonNoMatch, ReasonClaimNotCovered,
	ReasonOutsideJurisdiction, ReasonTooManyRequests, ReasonOther,
}

// ExerciseStatus is the Exercise Status object of section 3.03: the answer of every
// endpoint about a request, and the body of every status callback.
type ExerciseStatus struct {
	RequestID           string `json:"request_id"`
	ReceivedAt          string `json:"received_at"`
	ExpectedBy          string `json:"expected_by,omitempty"`
	AgentRequestID      string `json:"agent_request_id,omitempty"`
	ProcessingDetails   string `json:"processing_details,omitempty"`
	Status              State  `json:"status"`
	Reason              Reason `json:"reason,omitempty"`
	UserVerificationURL string `json:"user_verification_url,omitempty"`
}

// Facts are what decides a request's state in the protocol's terms.
type Facts struct {
	Status domain.Status
	// Revoked says the agent revoked the request (section 2.04).
	Revoked bool
	// Joined says the request joined an earlier open one of its kind from the same address.
	Joined bool
	// EndedBySystem says dsr itself, not a person, took the step that ended the request.
	EndedBySystem bool
	// StatusReason is why the request was denied or cancelled, as staff or dsr wrote it.
	StatusReason    string
	ExtensionReason string
}

// mapping is a state and reason of the protocol with the processing details that go with
// them when the facts give none better.
type mapping struct {
	State   State
	Reason  Reason
	Details string
}

// statusTable maps each dsr status to the protocol's (section 3.02). dsr runs the
// requests itself, so a stored request is acknowledged at once (3.03 note 1): only a request
// not yet taken up by its workflow is open. Denials and cancellations are refined by
// MapStatus from who ended the request and why.
var statusTable = map[domain.Status]mapping{
	domain.StatusReceived: {State: StateOpen},
	domain.StatusAwaitingEmailVerification: {State: StateInProgress, Reason: ReasonNeedUserVerification,
		Details: "The person must confirm their e-mail address with the code we mailed them, at the user verification URL."},
	domain.StatusAwaitingIdentityVerification: {State: StateInProgress, Reason: ReasonNeedUserVerification,
		Details: "The person must confirm who they are with details we hold about them, at the user verification URL."},
	domain.StatusPendingReview:       {State: StateInProgress, Details: "The privacy team is reviewing the request."},
	domain.StatusInProgress:          {State: StateInProgress},
	domain.StatusAwaitingManualTasks: {State: StateInProgress},
	domain.StatusNeedsAttention:      {State: StateInProgress},
	domain.StatusCompleted:           {State: StateFulfilled},
	// dsr expires a request whose mailbox or identity was not confirmed in time: the
	// verification stage "failed or timed out" (3.02).
	domain.StatusExpired: {State: StateDenied, Reason: ReasonInsufVerification,
		Details: "The person did not confirm their e-mail address or identity in time."},
	domain.StatusDenied:    {State: StateDenied, Reason: ReasonOther},
	domain.StatusCancelled: {State: StateDenied, Reason: ReasonOther},
}

// MapStatus returns the state, reason and processing details of a request with the facts.
func MapStatus(f Facts) (State, Reason, string) {
	m, ok := statusTable[f.Status]
	if !ok {
		return StateInProgress, "", ""
	}
	switch f.Status {
	case domain.StatusDenied:
		if f.EndedBySystem {
			// dsr denies by itself only when the data points given did not match (3.02:
			// the need_user_verification stage failed).
			return StateDenied, ReasonInsufVerification, "The details given did not match those we hold."
		}
		reason, details := staffDenial(f.StatusReason)
		return StateDenied, reason, details
	case domain.StatusCancelled:
		switch {
		case f.Revoked:
			return StateRevoked, "", ""
		case f.Joined:
			return StateDenied, ReasonTooManyRequests, "An earlier request of the same kind from the same person is still open; it answers this one."
		}
		return StateDenied, ReasonOther, f.StatusReason
	}
	if (m.State == StateOpen || m.State == StateInProgress) && f.ExtensionReason != "" {
		// 3.08: an extended request says why in processing_details.
		return m.State, m.Reason, f.ExtensionReason
	}
	return m.State, m.Reason, m.Details
}

// staffDenial reads a staff member's denial reason: a leading reason code of section 3.02
// names the reason, and the rest is the processing details.
func staffDenial(text string) (Reason, string) {
	text = strings.TrimSpace(text)
	for _, r := range staffDenialReasons {
		if rest, ok := strings.CutPrefix(text, string(r)+":"); ok {
			return r, strings.TrimSpace(rest)
		}
	}
	return ReasonOther, text
}

// timestamp writes a time as section 3.03 asks: ISO 8601, here RFC 3339 in UTC.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
