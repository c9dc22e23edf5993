package domain_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/domain"
)

// fields returns the paths that ValidateIntake complains about, or nil when it accepts.
func fields(t *testing.T, rt domain.RequestType, d domain.Details) []string {
	t.Helper()
	err := domain.ValidateIntake(rt, d, domain.DefaultCategories())
	if err == nil {
		return nil
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("got %T %v, want *ValidationError wrapping ErrInvalid", err, err)
	}
	var paths []string
	for p := range ve.Fields {
		paths = append(paths, p)
	}
	return paths
}

func check(t *testing.T, rt domain.RequestType, d domain.Details, want ...string) {
	t.Helper()
	if got := fields(t, rt, d); !reflect.DeepEqual(got, want) {
		t.Errorf("got errors at %v, want %v", got, want)
	}
}

func change(field, value string) domain.FieldChange {
	return domain.FieldChange{Field: field, Value: value}
}

func TestDetailsDecodeFromSnakeCaseJSON(t *testing.T) {
	var d domain.Details
	in := `{"changes":[{"field":"phone","value":"1"}],"scope":{"all":true},"limits":["marketing_email"],"lift":true,"reason":"r"}`
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	want := domain.Details{Changes: []domain.FieldChange{change("phone", "1")},
		Scope: &domain.SuppressScope{All: true}, Limits: []domain.RestrictLimit{"marketing_email"}, Lift: true, Reason: "r"}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got %+v, want %+v", d, want)
	}
}

func TestValidCorrectionIsAccepted(t *testing.T) {
	check(t, domain.TypeCorrect, domain.Details{Changes: []domain.FieldChange{change("phone", "+1 555 0100")}})
}

func TestUpdateNamingNothingIsRejected(t *testing.T) {
	check(t, domain.TypeUpdate, domain.Details{}, "details.changes")
}

func TestChangeToUnknownFieldIsRejected(t *testing.T) {
	check(t, domain.TypeCorrect, domain.Details{Changes: []domain.FieldChange{change("shoe_size", "9")}},
		"details.changes[0].field")
}

func TestChangeToNonCorrectableFieldIsRejected(t *testing.T) {
	check(t, domain.TypeCorrect, domain.Details{Changes: []domain.FieldChange{change("order_history", "x")}},
		"details.changes[0].field")
}

func TestChangeWithBlankValueIsRejected(t *testing.T) {
	check(t, domain.TypeCorrect, domain.Details{Changes: []domain.FieldChange{change("name", "  ")}},
		"details.changes[0].value")
}

func TestChangeWithOverlongValueIsRejected(t *testing.T) {
	long := strings.Repeat("é", domain.MaxValueLength+1)
	check(t, domain.TypeCorrect, domain.Details{Changes: []domain.FieldChange{change("name", long)}},
		"details.changes[0].value")
}

// Control characters would be written into the stores as they are; a value is one line of text.
func TestChangeWithControlCharacterIsRejected(t *testing.T) {
	for _, v := range []string{"Ada\x00", "Ada\tLovelace", "12 High St\nLondon", "Ada\x7f", "Ada\u0085", "\x1b[31mAda"} {
		check(t, domain.TypeCorrect, domain.Details{Changes: []domain.FieldChange{change("name", v)}},
			"details.changes[0].value")
	}
	err := domain.ValidateIntake(domain.TypeUpdate, domain.Details{Changes: []domain.FieldChange{change("name", "Ada"), change("phone", "0\x00")}}, domain.DefaultCategories())
	var ve *domain.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Changes[1].Value, "control character") || ve.Changes[1].Field != "" {
		t.Errorf("got %v, want the second row's value named for its control character", err)
	}
}

// The privacy policy promises card numbers are never held, so none may come in as a value.
func TestChangeThatLooksLikeACardNumberIsRejected(t *testing.T) {
	for _, v := range []string{"4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "6011 0009 9013 9424"} {
		err := domain.ValidateIntake(domain.TypeCorrect, domain.Details{Changes: []domain.FieldChange{change("profile", v)}}, domain.DefaultCategories())
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Fields["details.changes[0].value"], "card number") {
			t.Errorf("value like a card number: got %v, want it refused as a card number", err)
		}
		if err != nil && strings.Contains(err.Error(), v[len(v)-4:]) {
			t.Errorf("the refusal %q repeats the number", err)
		}
	}
	// Not card numbers: a failed Luhn check, other characters, too few or too many digits.
	for _, v := range []string{"4111 1111 1111 1112", "+1 555 0100", "411111111111", "41111111111111111111"} {
		check(t, domain.TypeCorrect, domain.Details{Changes: []domain.FieldChange{change("profile", v)}})
	}
}

func TestDuplicateFieldIsRejectedAtSecondMention(t *testing.T) {
	check(t, domain.TypeCorrect, domain.Details{Changes: []domain.FieldChange{change("name", "A"), change("name", "B")}},
		"details.changes[1].field")
}

func TestTooManyChangesAreRejected(t *testing.T) {
	changes := make([]domain.FieldChange, domain.MaxItems+1)
	check(t, domain.TypeCorrect, domain.Details{Changes: changes}, "details.changes")
}

func TestValidationMessagesDoNotRepeatValues(t *testing.T) {
	err := domain.ValidateIntake(domain.TypeCorrect,
		domain.Details{Changes: []domain.FieldChange{change("secret-field", "secret-value")}}, domain.DefaultCategories())
	if err == nil || contains(err.Error(), "secret") {
		t.Errorf("got %v, want an error that does not repeat the input", err)
	}
}

func TestSuppressWithoutScopeIsRejected(t *testing.T) {
	check(t, domain.TypeSuppress, domain.Details{}, "details.scope")
}

func TestSuppressWithEmptyScopeIsRejected(t *testing.T) {
	check(t, domain.TypeSuppress, domain.Details{Scope: &domain.SuppressScope{}}, "details.scope")
}

func TestSuppressEverythingIsAccepted(t *testing.T) {
	check(t, domain.TypeSuppress, domain.Details{Scope: &domain.SuppressScope{All: true}})
}

func TestSuppressUnknownCategoryIsRejectedNamingTheKnownOnes(t *testing.T) {
	scope := &domain.SuppressScope{Categories: []string{"cookies", "dreams"}}
	err := domain.ValidateIntake(domain.TypeSuppress, domain.Details{Scope: scope}, domain.DefaultCategories())
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	if got := ve.Fields["details.scope.categories[1]"]; got != "unknown category" {
		t.Errorf("details.scope.categories[1] = %q, want unknown category", got)
	}
	list := ve.Fields["details.scope.categories"]
	if !strings.Contains(list, "server_logs, cookies, analytics") || strings.Contains(list, "dreams") {
		t.Errorf("details.scope.categories = %q, want the known categories and not the unknown one", list)
	}
	if len(ve.Fields) != 2 {
		t.Errorf("fields = %v, want the unknown entry and the list", ve.Fields)
	}
}

// A deployment's own categories, which its data maps add to the defaults, are accepted in
// a suppression's scope and, when correctable, in a correction.
func TestCategoriesBeyondTheDefaultsAreAcceptedWhenGiven(t *testing.T) {
	cats := append(domain.DefaultCategories(), domain.Category{Name: "newsletter_subscriptions"}, domain.Category{Name: "nickname", Correctable: true})
	scope := &domain.SuppressScope{Categories: []string{"newsletter_subscriptions", "cookies"}}
	if err := domain.ValidateIntake(domain.TypeSuppress, domain.Details{Scope: scope}, cats); err != nil {
		t.Errorf("suppressing a map's category: %v", err)
	}
	if err := domain.ValidateIntake(domain.TypeCorrect, domain.Details{Changes: []domain.FieldChange{change("nickname", "Ada")}}, cats); err != nil {
		t.Errorf("correcting a map's correctable category: %v", err)
	}
	err := domain.ValidateIntake(domain.TypeCorrect, domain.Details{Changes: []domain.FieldChange{change("newsletter_subscriptions", "none")}}, cats)
	var ve *domain.ValidationError
	if !errors.As(err, &ve) || ve.Fields["details.changes[0].field"] != "field cannot be corrected, only suppressed" {
		t.Errorf("correcting a map's category that is not correctable: %v", err)
	}
}

func TestRestrictWithoutLimitsIsRejected(t *testing.T) {
	check(t, domain.TypeRestrict, domain.Details{}, "details.limits")
}

func TestRestrictUnknownLimitIsRejected(t *testing.T) {
	limits := []domain.RestrictLimit{domain.LimitMarketingEmail, "telepathy"}
	check(t, domain.TypeRestrict, domain.Details{Limits: limits}, "details.limits[1]")
}

func TestLiftingARestrictionNamesItsLimits(t *testing.T) {
	check(t, domain.TypeRestrict, domain.Details{Lift: true}, "details.limits")
	check(t, domain.TypeRestrict, domain.Details{Lift: true, Limits: []domain.RestrictLimit{domain.LimitAffiliateSharing}})
}

func TestLiftBelongsOnlyToARestriction(t *testing.T) {
	check(t, domain.TypeReview, domain.Details{Lift: true}, "details.lift")
}

func TestALiftedRestrictionIsWordedApart(t *testing.T) {
	lift := domain.Details{Lift: true, Limits: []domain.RestrictLimit{domain.LimitMarketingEmail}}
	if got := lift.Wording(domain.TypeRestrict); got != "restrict_lift" {
		t.Errorf("wording of a lift = %q, want restrict_lift", got)
	}
	if got := (domain.Details{Limits: lift.Limits}).Wording(domain.TypeRestrict); got != "restrict" {
		t.Errorf("wording of a restriction = %q, want restrict", got)
	}
}

func TestAChangedListSaysWhichWayALimitMoved(t *testing.T) {
	for in, want := range map[string]struct {
		limit      domain.RestrictLimit
		lifted, ok bool
	}{
		"affiliate_sharing": {domain.LimitAffiliateSharing, false, true},
		domain.LiftedChange(domain.LimitAffiliateSharing): {domain.LimitAffiliateSharing, true, true},
		"name": {"", false, false},
		domain.LiftedChange(domain.RestrictLimit("name")) + "x": {"", true, false},
	} {
		l, lifted, ok := domain.ChangedLimit(in)
		if ok != want.ok || (ok && (l != want.limit || lifted != want.lifted)) {
			t.Errorf("ChangedLimit(%q) = %q, %v, %v; want %+v", in, l, lifted, ok, want)
		}
	}
}

func TestCategoriesOnlyBelongsOnlyToAReview(t *testing.T) {
	check(t, domain.TypeReview, domain.Details{CategoriesOnly: true})
	check(t, domain.TypeSuppress, domain.Details{Scope: &domain.SuppressScope{All: true}, CategoriesOnly: true}, "details.categories_only")
	if got := (domain.Details{CategoriesOnly: true}).Wording(domain.TypeReview); got != "review_categories" {
		t.Errorf("wording of a review of categories = %q, want review_categories", got)
	}
}

func TestChildErasureWithoutReasonIsRejected(t *testing.T) {
	check(t, domain.TypeChildErasure, domain.Details{Reason: " "}, "details.reason")
}

func TestDetailsOfAnotherTypeAreRejected(t *testing.T) {
	check(t, domain.TypeReview, domain.Details{Reason: "because"}, "details.reason")
}

func TestUnknownRequestTypeIsRejected(t *testing.T) {
	check(t, "erase_everything", domain.Details{}, "type")
}
