package domain

import (
	"fmt"
	"net/mail"
	"strings"
)

// MaxEmailLength is the longest address SMTP can carry (RFC 5321 path limit less brackets).
const MaxEmailLength = 254

// NormalizeEmail returns the one canonical form of an address, because a request may only
// touch records keyed to the address that sent it and the keys must compare equal. It
// accepts a single bare address, with no display name, comment or angle brackets. Errors
// wrap ErrInvalid and never contain the address (nor net/mail's error, which quotes it).
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", fmt.Errorf("e-mail address is empty: %w", ErrInvalid)
	case len(s) > MaxEmailLength:
		return "", fmt.Errorf("e-mail address is longer than %d characters: %w", MaxEmailLength, ErrInvalid)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", fmt.Errorf("e-mail address is not a single bare address: %w", ErrInvalid)
	}
	return s, nil
}
