// Package connector defines how dsr reaches the company's internal systems: each system of
// the data map is a Connector that finds, changes or restricts one person's data there.
package connector

import (
	"context"
	"errors"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
)

// Operation is one request's work in one system. Connectors act only on records keyed to
// Email, the address that proved control of its mailbox.
type Operation struct {
	RequestID string
	Type      domain.RequestType
	Email     string
	Details   domain.Details
	// Plan, when set, is what the operation was planned to change: a store that plans
	// applies it only if the person's rows still match it (see ErrPlanStale).
	Plan *ChangePlan
}

// Retention is data a system must keep despite the request, with its legal ground and the
// date it will be purged. A zero Until is a legal hold (or an end no one knows yet): the
// record is kept until the hold is lifted, and until is left out of the JSON rather than
// shown as the year 1.
type Retention struct {
	What   string    `json:"what"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until,omitzero"`
	// Ref names the record inside its store, for the purge when Until passes.
	Ref string `json:"ref,omitempty"`
}

// Purger erases a record a store kept once its retention has ended. Callers find a
// store's purger in its Capabilities.
type Purger interface {
	Purge(ctx context.Context, ref string) (PurgeOutcome, error)
}

// PurgeOutcome says whether a kept record is gone, or why it stays: a legal hold (until
// lifted) or a retention period that now runs to HeldUntil.
type PurgeOutcome struct {
	Purged    bool      `json:"purged"`
	LegalHold bool      `json:"legal_hold,omitempty"`
	HeldUntil time.Time `json:"held_until,omitempty"`
}

// Result is what one system found and did. Export holds the person's data for a review and
// never leaves the application database.
type Result struct {
	Store    string         `json:"store"`
	Found    []string       `json:"found,omitempty"`
	Changed  []string       `json:"changed,omitempty"`
	Retained []Retention    `json:"retained,omitempty"`
	Notes    []string       `json:"notes,omitempty"`
	NotFound bool           `json:"not_found,omitempty"`
	Export   map[string]any `json:"export,omitempty"`
	// Before holds the values a correction replaced. Like Export it never leaves the
	// application database, where it is kept encrypted as audit evidence.
	Before []PriorValue `json:"before,omitempty"`
	// DisclosedTo lists the recipients with a disclosed_when rule in the data map that the
	// store says received the person's data, as things stood before the request changed
	// them (a restriction may stop the sharing that made them recipients).
	DisclosedTo []Disclosure `json:"disclosed_to,omitempty"`
}

// Disclosure is a recipient that received the person's data from a store, and since when;
// Since is zero when the store does not say.
type Disclosure struct {
	Recipient string    `json:"recipient"`
	Since     time.Time `json:"since,omitzero"`
}

// PriorValue is one field's value in one table before a correction changed it.
type PriorValue struct {
	Table string `json:"table"`
	Field string `json:"field"`
	Value any    `json:"value"`
}

// Connector runs operations against one system. Apply must be idempotent per request: a
// second call with the same request ID returns the first result and changes nothing.
type Connector interface {
	Name() string
	Apply(ctx context.Context, op Operation) (Result, error)
	// Capabilities says what else the system can do. Every connector answers, so that
	// callers ask it instead of guessing from its Go type, which a wrapper would hide.
	Capabilities() Capabilities
}

// Capabilities are what a system can do besides Apply. A nil field means it cannot; a
// connector wrapping another passes on the capabilities of the one inside.
type Capabilities struct {
	// IdentityChecker matches the data points a requester gives against the system's
	// records; nil when the system holds none to match.
	IdentityChecker IdentityChecker
	// Purger erases the records the system kept once their retention ends; nil when dsr
	// cannot erase them there.
	Purger Purger
	// Planner works out what an operation would change before it changes anything; nil
	// when the system cannot say.
	Planner Planner
}

// ErrPending is what Apply returns, wrapped, when the store will answer later: a service
// that calls back, or a person completing a task. The result then arrives on its own.
var ErrPending = errors.New("the store answers later")

// ErrPermanent is what a connector returns, wrapped, when the store refused the operation
// and retrying the same request will not help: the store rejected it, answered outside
// its protocol, or is misconfigured. dsr then stops retrying the operation; every other
// error is worth retrying.
var ErrPermanent = errors.New("permanent failure, not retried")

// IdentityChecker answers whether data points a requester gave match what a system holds.
// Callers find a system's checker in its Capabilities.
type IdentityChecker interface {
	MatchDataPoints(ctx context.Context, email string, answers map[string]string) (int, error)
}

// IdentityCheckers asks several systems. The best single match counts: the same data point
// is often held in more than one system and must not count twice.
type IdentityCheckers []IdentityChecker

// IdentityCheckersOf gathers the checkers of the systems that can check identities.
func IdentityCheckersOf(systems []Connector) IdentityCheckers {
	var out IdentityCheckers
	for _, c := range systems {
		if ic := c.Capabilities().IdentityChecker; ic != nil {
			out = append(out, ic)
		}
	}
	return out
}

// MatchDataPoints returns the highest count any system matched.
func (cs IdentityCheckers) MatchDataPoints(ctx context.Context, email string, answers map[string]string) (int, error) {
	best := 0
	for _, c := range cs {
		n, err := c.MatchDataPoints(ctx, email, answers)
		if err != nil {
			return 0, err
		}
		best = max(best, n)
	}
	return best, nil
}

// timeLayouts are the ways a date comes back as text: SQLite and MySQL without parseTime
// return text, and an export holds a date as JSON text.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", time.DateOnly}

// ParseTime reads a date as a store or its export holds it: a time, or text in one of the
// layouts stores write.
func ParseTime(v any) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v, true
	case string:
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, v); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}
