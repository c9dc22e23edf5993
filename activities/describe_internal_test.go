package activities

import (
	"testing"

	"github.com/dsr-project/dsr/internal/domain"
)

// A recipient is told in plain words what to do: to stop a use, or that it may resume.
func TestRecipientsAreToldWhatARestrictionOrItsLiftAsks(t *testing.T) {
	limits := []domain.RestrictLimit{domain.LimitMarketingEmail, domain.LimitAffiliateSharing}
	for _, tc := range []struct {
		details domain.Details
		want    string
	}{
		{domain.Details{Limits: limits}, "Restrict use of this person's data: stop sending marketing e-mail; stop receiving this person's data from us for your own use."},
		{domain.Details{Limits: limits, Lift: true}, "The person has lifted a restriction on their data: marketing e-mail may be sent again; this person's data may be shared with you again."},
	} {
		if got := describeChange(domain.TypeRestrict, tc.details); got != tc.want {
			t.Errorf("describeChange(%+v) = %q, want %q", tc.details, got, tc.want)
		}
	}
}
