package domain

import (
	"fmt"
	"strconv"
	"strings"
)

// IdentityRequirement is how much proof of identity a request needs beyond the e-mail match,
// because policy 4.f warns that "we may need to verify your identity" for riskier requests.
type IdentityRequirement string

// Identity requirements, from weakest to strongest.
const (
	// IdentityMailbox needs only proof of control of the sending mailbox.
	IdentityMailbox IdentityRequirement = "mailbox"
	// IdentityDataPoints needs N data points matching those on file, or an analyst's check.
	IdentityDataPoints IdentityRequirement = "data_points"
	// IdentityAnalyst always needs an analyst's review.
	IdentityAnalyst IdentityRequirement = "analyst"
)

var identityRequirements = []IdentityRequirement{IdentityMailbox, IdentityDataPoints, IdentityAnalyst}

// MaxDataPoints bounds the data points a rule may ask for; more than the system holds
// would make a request impossible to verify automatically.
const MaxDataPoints = 10

// IdentityRule is the requirement for one request type. DataPoints is used only with
// IdentityDataPoints.
type IdentityRule struct {
	Requirement IdentityRequirement `json:"requirement"`
	DataPoints  int                 `json:"data_points,omitempty"`
}

// ParseIdentityRule reads "mailbox", "analyst" or "data_points:N".
func ParseIdentityRule(s string) (IdentityRule, error) {
	name, n, hasN := strings.Cut(s, ":")
	req, err := parseEnum("identity requirement", name, identityRequirements)
	if err != nil {
		return IdentityRule{}, err
	}
	if req != IdentityDataPoints {
		if hasN {
			return IdentityRule{}, fmt.Errorf("%s takes no data point count: %w", req, ErrInvalid)
		}
		return IdentityRule{Requirement: req}, nil
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 1 || count > MaxDataPoints {
		return IdentityRule{}, fmt.Errorf("data_points needs a count from 1 to %d, as in data_points:2: %w", MaxDataPoints, ErrInvalid)
	}
	return IdentityRule{Requirement: req, DataPoints: count}, nil
}

func (r IdentityRule) String() string {
	if r.Requirement == IdentityDataPoints {
		return fmt.Sprintf("%s:%d", r.Requirement, r.DataPoints)
	}
	return string(r.Requirement)
}

// Satisfied reports whether the evidence meets the rule. Mailbox proof is the caller's
// check, because staff-opened requests have none and every other request needs it first.
func (r IdentityRule) Satisfied(matchedDataPoints int, analystVerified bool) bool {
	switch r.Requirement {
	case IdentityMailbox:
		return true
	case IdentityDataPoints:
		return analystVerified || (r.DataPoints > 0 && matchedDataPoints >= r.DataPoints)
	}
	return analystVerified
}

// IdentityPolicy maps each request type to its rule.
type IdentityPolicy map[RequestType]IdentityRule

// DefaultIdentityPolicy follows the CCPA regulations (§§7060-7062): opt-outs need no
// verification beyond the mailbox, requests to know or delete need two matching data points,
// and changes to data or a child's erasure need a person, since a mistake there harms someone.
func DefaultIdentityPolicy() IdentityPolicy {
	return IdentityPolicy{
		TypeRestrict:     {Requirement: IdentityMailbox},
		TypeReview:       {Requirement: IdentityDataPoints, DataPoints: 2},
		TypeSuppress:     {Requirement: IdentityDataPoints, DataPoints: 2},
		TypeCorrect:      {Requirement: IdentityAnalyst},
		TypeUpdate:       {Requirement: IdentityAnalyst},
		TypeChildErasure: {Requirement: IdentityAnalyst},
	}
}

// Rule returns the rule for t, failing closed to an analyst's review for a type the policy
// does not mention.
func (p IdentityPolicy) Rule(t RequestType) IdentityRule {
	if r, ok := p[t]; ok {
		return r
	}
	return IdentityRule{Requirement: IdentityAnalyst}
}

// ParseIdentityPolicy reads comma-separated overrides of the default policy, such as
// "review=data_points:3,restrict=mailbox". Errors name the bad entry. child_erasure must stay
// analyst, because it is opened without mailbox proof.
func ParseIdentityPolicy(s string) (IdentityPolicy, error) {
	p := DefaultIdentityPolicy()
	if strings.TrimSpace(s) == "" {
		return p, nil
	}
	seen := map[RequestType]bool{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		bad := func(err error) error { return fmt.Errorf("identity policy entry %q: %w", entry, err) }
		name, value, ok := strings.Cut(entry, "=")
		if !ok {
			return nil, bad(fmt.Errorf("want type=requirement: %w", ErrInvalid))
		}
		t, err := ParseRequestType(strings.TrimSpace(name))
		if err != nil {
			return nil, bad(err)
		}
		rule, err := ParseIdentityRule(strings.TrimSpace(value))
		switch {
		case err != nil:
			return nil, bad(err)
		case seen[t]:
			return nil, bad(fmt.Errorf("%s is set twice: %w", t, ErrInvalid))
		case t == TypeChildErasure && rule.Requirement != IdentityAnalyst:
			return nil, bad(fmt.Errorf("child_erasure must be analyst: %w", ErrInvalid))
		}
		seen[t] = true
		p[t] = rule
	}
	return p, nil
}
