package domain

import "strings"

// Details says precisely what a request wants, because the policy asks requesters to
// "clearly indicate" it; vague requests are sent back rather than guessed at. Each part
// belongs to one kind of request and must be empty for the others.
type Details struct {
	Changes []FieldChange   `json:"changes,omitempty"` // correct, update
	Scope   *SuppressScope  `json:"scope,omitempty"`   // suppress
	Limits  []RestrictLimit `json:"limits,omitempty"`  // restrict
	// Lift turns a restriction around: the limits it names are lifted, so the use they
	// stopped may start again (an opt-in to sale, the end of an Art. 18 restriction).
	Lift bool `json:"lift,omitempty"` // restrict
	// CategoriesOnly asks a review for the kinds of data held and how many records of
	// each, not the values (a CCPA request to know the categories).
	CategoriesOnly bool   `json:"categories_only,omitempty"` // review
	Reason         string `json:"reason,omitempty"`          // child_erasure
}

// Wording is the catalogue's key for what a request of type t with these details asks:
// the type, restrict_lift for a restriction that lifts its limits, which people must not
// read as one that sets them, or review_categories for a review of the categories only.
func (d Details) Wording(t RequestType) string {
	switch {
	case t == TypeRestrict && d.Lift:
		return "restrict_lift"
	case t == TypeReview && d.CategoriesOnly:
		return "review_categories"
	}
	return string(t)
}

// FieldChange names one category of PII and the value it should hold from now on.
type FieldChange struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// SuppressScope is either everything held about the requester or a list of categories.
type SuppressScope struct {
	All        bool     `json:"all"`
	Categories []string `json:"categories,omitempty"`
}

// RestrictLimit is one limit on the use of PII (policy 4.e and 4.f). It decodes any string
// so that ValidateIntake can name a bad entry by its path instead of failing the whole body.
type RestrictLimit string

// Restriction limits: the two opt-outs of policy 4.e, and a general GDPR Art. 18 restriction.
const (
	LimitMarketingEmail   RestrictLimit = "marketing_email"
	LimitAffiliateSharing RestrictLimit = "affiliate_sharing"
	LimitAllProcessing    RestrictLimit = "all_processing"
)

var restrictLimits = []RestrictLimit{LimitMarketingEmail, LimitAffiliateSharing, LimitAllProcessing}

// ParseRestrictLimit returns the limit named s, or an error wrapping ErrInvalid.
func ParseRestrictLimit(s string) (RestrictLimit, error) {
	return parseEnum("restriction limit", s, restrictLimits)
}

func (l RestrictLimit) String() string { return string(l) }

// liftedPrefix marks a limit a store lifted in a result's changed list, so that the result
// says which way the flag moved without the request beside it.
const liftedPrefix = "lifted:"

// LiftedChange is how a result's changed list names a limit that was lifted.
func LiftedChange(l RestrictLimit) string { return liftedPrefix + string(l) }

// ChangedLimit reads an entry of a result's changed list as a limit set or lifted; ok is
// false for an entry that names a category instead.
func ChangedLimit(s string) (l RestrictLimit, lifted, ok bool) {
	name, lifted := strings.CutPrefix(s, liftedPrefix)
	l, err := ParseRestrictLimit(name)
	return l, lifted, err == nil
}
