package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/domain"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestNormalizeEmailTrimsAndLowerCases(t *testing.T) {
	got, err := domain.NormalizeEmail("  Alice.Smith@Example.COM \n")
	if want := "alice.smith@example.com"; got != want || err != nil {
		t.Errorf("got %q, %v, want %q", got, err, want)
	}
}

func TestNormalizeEmailRejectsAllButOneBareAddress(t *testing.T) {
	for _, in := range []string{"", "alice", "Alice <alice@example.com>", "<alice@example.com>",
		"alice@example.com, bob@example.com", "alice@example.com (home)",
		strings.Repeat("a", 250) + "@example.com"} {
		_, err := domain.NormalizeEmail(in)
		if !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("NormalizeEmail(%q) = %v, want ErrInvalid", in, err)
		}
		if err != nil && contains(err.Error(), "alice") {
			t.Errorf("error %q repeats the address", err)
		}
	}
}
