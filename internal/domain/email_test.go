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

func TestNormalizeEmailFoldsUnicodeFormsAndInternationalDomains(t *testing.T) {
	composed := "zo\u00eb@b\u00fccher.example"     // ë and ü as single code points
	decomposed := "ZOe\u0308@BU\u0308CHER.example" // e + combining diaeresis, upper case
	a, err := domain.NormalizeEmail(composed)
	if err != nil {
		t.Fatal(err)
	}
	b, err := domain.NormalizeEmail(decomposed)
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a != "zo\u00eb@xn--bcher-kva.example" {
		t.Errorf("got %q and %q, want both %q", a, b, "zo\u00eb@xn--bcher-kva.example")
	}
}

func TestNormalizeEmailRefusesControlCharactersAndUndeliverableSyntax(t *testing.T) {
	for _, bad := range []string{"a\x00b@example.com", "a@exa\nmple.com", "a@localhost", "a@@example.com", "a@-bad-.example"} {
		if _, err := domain.NormalizeEmail(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFoldEmailIsNormalizeEmailForAddressesAndFoldsTheRest(t *testing.T) {
	for in, want := range map[string]string{
		" ZOe\u0308@BU\u0308CHER.example ": "zo\u00eb@xn--bcher-kva.example", // as NormalizeEmail gives it
		"  Alice.Smith@Example.COM \n":     "alice.smith@example.com",
		" Dev@LocalHost ":                  "dev@localhost", // refused by NormalizeEmail, still folded
		"ZOe\u0308":                        "zo\u00eb",
		"":                                 "",
	} {
		if got := domain.FoldEmail(in); got != want {
			t.Errorf("FoldEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMailboxEmailKeepsTheAddressAsTyped(t *testing.T) {
	for in, want := range map[string]string{
		"  Ada.Lovelace@Example.COM \n": "Ada.Lovelace@Example.COM", // local parts may be case-sensitive
		"Zo\u00eb@B\u00fccher.example":  "Zo\u00eb@xn--bcher-kva.example",
	} {
		got, err := domain.MailboxEmail(in)
		if got != want || err != nil {
			t.Errorf("MailboxEmail(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Alice <alice@example.com>", "a@localhost", "a\x00b@example.com"} {
		if _, err := domain.MailboxEmail(bad); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("MailboxEmail(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
