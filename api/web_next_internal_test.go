package api

import (
	"testing"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
)

// The status page says who must act: the requester while a code or identity answers are
// awaited from them, the privacy team otherwise.
func TestStatusPageSaysWhoMustActNext(t *testing.T) {
	nb := i18n.Default().ForCode("nb")
	for _, tc := range []struct {
		name   string
		view   RequesterView
		actor  string
		status string
	}{
		{"code awaited", RequesterView{Status: domain.StatusAwaitingEmailVerification}, "requester", "Venter på at du bekrefter e-postadressen din"},
		{"answers awaited", RequesterView{Status: domain.StatusAwaitingIdentityVerification, IdentityRequirement: "data_points:2", IdentityAttemptsLeft: 3},
			"requester", "Venter på at du bekrefter hvem du er"},
		{"tries used up", RequesterView{Status: domain.StatusAwaitingIdentityVerification, IdentityRequirement: "data_points:2"},
			"us", "Venter på at vi bekrefter hvem du er"},
		{"staff review", RequesterView{Status: domain.StatusPendingReview}, "us", "Til gjennomgang hos personvernteamet vårt"},
		{"done", RequesterView{Status: domain.StatusCompleted}, "none", "Ferdigbehandlet"},
	} {
		p := statusPageData{webPage: webPage{loc: nb}, View: tc.view}
		next := p.Next()
		if next.Actor != tc.actor || next.What == "" || p.StatusWords() != tc.status {
			t.Errorf("%s: next = %+v, status %q; want %s acting and status %q", tc.name, next, p.StatusWords(), tc.actor, tc.status)
		}
	}
}
