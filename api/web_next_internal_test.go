package api

import (
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/requests"
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

// A closed request's page gives the day it closed, not the day it was due by, however many
// appeal steps came after.
func TestStatusPageGivesTheDayAClosedRequestClosed(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 9, 0, 0, 0, time.UTC) }
	steps := []requests.StatusStep{
		{Action: "received", At: day(1), Status: domain.StatusReceived},
		{Action: "denied", At: day(4), Status: domain.StatusDenied},
		{Action: "appealed", At: day(9), Status: domain.StatusDenied},
	}
	closed := statusPageData{View: RequesterView{Status: domain.StatusDenied, Steps: steps}}
	if at := closed.ClosedAt(); at == nil || !at.Equal(day(4)) {
		t.Errorf("closed at %v, want %v", at, day(4))
	}
	open := statusPageData{View: RequesterView{Status: domain.StatusPendingReview, Steps: steps[:1]}}
	if at := open.ClosedAt(); at != nil {
		t.Errorf("an open request closed at %v", at)
	}
}
