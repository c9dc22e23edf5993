package domain

// Details says precisely what a request wants, because the policy asks requesters to
// "clearly indicate" it; vague requests are sent back rather than guessed at. Each part
// belongs to one kind of request and must be empty for the others.
type Details struct {
	Changes []FieldChange   `json:"changes,omitempty"` // correct, update
	Scope   *SuppressScope  `json:"scope,omitempty"`   // suppress
	Limits  []RestrictLimit `json:"limits,omitempty"`  // restrict
	Reason  string          `json:"reason,omitempty"`  // child_erasure
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
