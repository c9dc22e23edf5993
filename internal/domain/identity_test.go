package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/domain"
)

func TestDefaultIdentityPolicy(t *testing.T) {
	p := domain.DefaultIdentityPolicy()
	want := map[domain.RequestType]string{"restrict": "mailbox", "review": "data_points:2", "suppress": "data_points:2",
		"correct": "analyst", "update": "analyst", "child_erasure": "analyst"}
	for rt, w := range want {
		if got := p.Rule(rt).String(); got != w {
			t.Errorf("%s: got %s, want %s", rt, got, w)
		}
	}
}

func TestParseIdentityPolicyOverridesDefaults(t *testing.T) {
	p, err := domain.ParseIdentityPolicy(" review = data_points:3 , correct=data_points:4")
	if err != nil {
		t.Fatal(err)
	}
	for rt, want := range map[domain.RequestType]string{"review": "data_points:3", "correct": "data_points:4", "suppress": "data_points:2"} {
		if got := p.Rule(rt).String(); got != want {
			t.Errorf("%s: got %s, want %s", rt, got, want)
		}
	}
}

func TestParseIdentityPolicyErrorsNameTheEntry(t *testing.T) {
	for _, in := range []string{"review", "erase=mailbox", "review=psychic", "review=data_points",
		"review=data_points:0", "review=data_points:x", "review=mailbox:2", "review=analyst,review=mailbox",
		"child_erasure=mailbox", "review=analyst,"} {
		_, err := domain.ParseIdentityPolicy(in)
		if !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ParseIdentityPolicy(%q) = %v, want ErrInvalid", in, err)
			continue
		}
		last := in[strings.LastIndex(in, ",")+1:]
		if !contains(err.Error(), `"`+last+`"`) {
			t.Errorf("error %q does not name entry %q", err, last)
		}
	}
}

func TestUnlistedTypeFailsClosedToAnalyst(t *testing.T) {
	if got := (domain.IdentityPolicy{}).Rule(domain.TypeReview).Requirement; got != domain.IdentityAnalyst {
		t.Errorf("got %s, want analyst", got)
	}
}

func TestDataPointsRuleIsMetByMatchesOrAnalyst(t *testing.T) {
	r := domain.IdentityRule{Requirement: domain.IdentityDataPoints, DataPoints: 2}
	if r.Satisfied(1, false) || !r.Satisfied(2, false) || !r.Satisfied(0, true) {
		t.Error("got wrong Satisfied, want 2 matches or an analyst")
	}
}

func TestAnalystRuleIgnoresDataPoints(t *testing.T) {
	r := domain.IdentityRule{Requirement: domain.IdentityAnalyst}
	if r.Satisfied(10, false) || !r.Satisfied(0, true) {
		t.Error("got wrong Satisfied, want only an analyst")
	}
}
