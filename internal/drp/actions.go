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

// rightsActions maps each rights action dsr honours to the request it opens.
var rightsActions = map[string]struct {
	Type    domain.RequestType
	Details domain.Details
}{
	// The CCPA's opt-out of sale is, in dsr's terms, the opt-out of sharing with affiliates
	// (policy 4.e), the only disclosure the company makes for value.
	ActionSaleOptOut: {domain.TypeRestrict, domain.Details{Limits: []domain.RestrictLimit{domain.LimitAffiliateSharing}}},
	// The opt-in undoes that opt-out: the same restriction, lifted.
	ActionSaleOptIn: {domain.TypeRestrict, domain.Details{Limits: []domain.RestrictLimit{domain.LimitAffiliateSharing}, Lift: true}},
	ActionDeletion:  {domain.TypeSuppress, domain.Details{Scope: &domain.SuppressScope{All: true}}},
	ActionAccess:    {domain.TypeReview, domain.Details{}},
	// A request to know the categories held gets their names and counts, no values; 3.01
	// leaves access:specific to a later version, so it is a whole review.
	ActionAccessCategories: {domain.TypeReview, domain.Details{CategoriesOnly: true}},
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
