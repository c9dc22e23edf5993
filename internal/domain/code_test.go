package domain_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
)

var now = time.Date(2025, time.June, 2, 12, 0, 0, 0, time.UTC)

func challenge(code string) domain.CodeChallenge {
	salt := []byte("0123456789abcdef")
	return domain.CodeChallenge{Hash: domain.HashCode(salt, code), Salt: salt, IssuedAt: now,
		ExpiresAt: now.Add(domain.DefaultCodeLife), MaxAttempts: domain.DefaultCodeAttempts}
}

func TestNewVerificationCodeHasRequestedDigits(t *testing.T) {
	for digits := 6; digits <= 8; digits++ {
		code, err := domain.NewVerificationCode(digits)
		if err != nil || len(code) != digits || bytes.ContainsFunc([]byte(code), func(r rune) bool { return r < '0' || r > '9' }) {
			t.Errorf("NewVerificationCode(%d) = %q, %v", digits, code, err)
		}
	}
}

func TestNewVerificationCodeRejectsShortOrLong(t *testing.T) {
	for _, digits := range []int{5, 9} {
		if _, err := domain.NewVerificationCode(digits); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("digits %d: got %v, want ErrInvalid", digits, err)
		}
	}
}

func TestNewVerificationCodeUsesEveryLeadingDigit(t *testing.T) {
	// A biased or badly padded generator would miss leading zeros; 2000 draws miss a digit with p < 1e-80.
	seen := map[byte]bool{}
	for range 2000 {
		code, _ := domain.NewVerificationCode(6)
		seen[code[0]] = true
	}
	if len(seen) != 10 {
		t.Errorf("got %d distinct leading digits, want 10", len(seen))
	}
}

func TestHashCodeIsSaltedSHA256(t *testing.T) {
	if bytes.Equal(domain.HashCode([]byte("a"), "123456"), domain.HashCode([]byte("b"), "123456")) {
		t.Error("got equal hashes for different salts")
	}
}

func TestIssueCodeStoresOnlyTheHash(t *testing.T) {
	code, c, err := domain.IssueCode(now)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(c.Hash, []byte(code)) || bytes.Contains(c.Salt, []byte(code)) {
		t.Error("challenge holds the code in clear")
	}
	if _, got := c.Check(code, now); got != domain.CheckConfirmed {
		t.Errorf("got %s, want confirmed", got)
	}
}

func TestCheckConfirmsRightCodeAndCountsTheAttempt(t *testing.T) {
	c, got := challenge("123456").Check(" 123456 ", now)
	if got != domain.CheckConfirmed || c.Attempts != 1 {
		t.Errorf("got %s with %d attempts, want confirmed with 1", got, c.Attempts)
	}
}

func TestCheckRejectsNearMissAndUnrelatedCodeAlike(t *testing.T) {
	for _, guess := range []string{"123457", "999999", "", "1234567890"} {
		if _, got := challenge("123456").Check(guess, now); got != domain.CheckWrongCode {
			t.Errorf("guess %q: got %s, want wrong_code", guess, got)
		}
	}
}

func TestCheckDoesNotMutateTheOriginal(t *testing.T) {
	c := challenge("123456")
	c.Check("000000", now)
	if c.Attempts != 0 {
		t.Errorf("got %d attempts on the original, want 0", c.Attempts)
	}
}

func TestFifthWrongAttemptLocksEvenTheRightCode(t *testing.T) {
	c := challenge("123456")
	var got domain.CheckResult
	for range domain.DefaultCodeAttempts {
		c, got = c.Check("000000", now)
	}
	if got != domain.CheckLocked {
		t.Errorf("fifth wrong attempt: got %s, want locked", got)
	}
	if c, got = c.Check("123456", now); got != domain.CheckLocked || c.Attempts != domain.DefaultCodeAttempts {
		t.Errorf("after lockout: got %s with %d attempts, want locked with 5", got, c.Attempts)
	}
}

func TestCheckExpiresAtExpiresAt(t *testing.T) {
	c := challenge("123456")
	if _, got := c.Check("123456", c.ExpiresAt.Add(-time.Nanosecond)); got != domain.CheckConfirmed {
		t.Errorf("just before expiry: got %s, want confirmed", got)
	}
	if c2, got := c.Check("123456", c.ExpiresAt); got != domain.CheckExpired || c2.Attempts != 0 {
		t.Errorf("at expiry: got %s with %d attempts, want expired with 0", got, c2.Attempts)
	}
}

func TestZeroChallengeIsLocked(t *testing.T) {
	if _, got := (domain.CodeChallenge{}).Check("", now); got != domain.CheckLocked {
		t.Errorf("got %s, want locked", got)
	}
}

func TestCanResendAfterCooldown(t *testing.T) {
	cd := domain.DefaultResendCooldown
	if domain.CanResend(now, now.Add(cd-time.Second), cd) || !domain.CanResend(now, now.Add(cd), cd) {
		t.Error("got wrong CanResend, want false before the cooldown ends and true at its end")
	}
}
