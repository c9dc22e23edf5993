package drp

import (
	"github.com/dsr-project/dsr/internal/domain"
)

// Rights actions of section 3.01.
const (
	ActionSaleOptOut       = "sale:opt-out"
	ActionSaleOptIn        = "sale:opt-in"
	ActionDeletion         = "deletion"
	ActionAccess           = "access"
	ActionAccessCategories = "access:categories"
	ActionAccessSpecific   = "access:specific"
)

// rightsActions maps each rights action dsr honours to the request it opens. sale:opt-in is
// missing on purpose: dsr records opt-outs and restrictions but has no request that lifts
// one, so it answers that action as unsupported (section 3.06) rather than pretend.
var rightsActions = map[string]struct {
	Type    domain.RequestType
	Details domain.Details
}{
	// The CCPA's opt-out of sale is, in dsr's terms, the opt-out of sharing with affiliates
	// (policy 4.e), the only disclosure the company makes for value.
	ActionSaleOptOut: {domain.TypeRestrict, domain.Details{Limits: []domain.RestrictLimit{domain.LimitAffiliateSharing}}},
	ActionDeletion:   {domain.TypeSuppress, domain.Details{Scope: &domain.SuppressScope{All: true}}},
	ActionAccess:     {domain.TypeReview, domain.Details{}},
	// dsr's review reports the categories held with the records, which answers a request to
	// know categories; 3.01 leaves the semantics of both access variants to a later version.
	ActionAccessCategories: {domain.TypeReview, domain.Details{}},
	ActionAccessSpecific:   {domain.TypeReview, domain.Details{}},
}

// SupportedActions lists the rights actions dsr honours, for the business discovery
// document (section 3.05.2), in the order of section 3.01.
func SupportedActions() []string {
	var out []string
	for _, a := range []string{ActionSaleOptOut, ActionSaleOptIn, ActionDeletion, ActionAccess, ActionAccessCategories, ActionAccessSpecific} {
		if _, ok := rightsActions[a]; ok {
			out = append(out, a)
		}
	}
	return out
}

// jurisdictionOf maps a request's regime (section 2.01) to the law whose deadlines apply:
// ccpa, or none for a voluntary request, which dsr answers under its default deadlines.
// Section 3.01 admits no other regime in 1.0.
func jurisdictionOf(regime string) (domain.Jurisdiction, bool) {
	switch regime {
	case "ccpa":
		return domain.JurisdictionCCPA, true
	case "":
		return domain.JurisdictionDefault, true
	}
	return "", false
}
