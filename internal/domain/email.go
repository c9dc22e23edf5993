package domain

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// MaxEmailLength is the longest address SMTP can carry (RFC 5321 path limit less brackets).
const MaxEmailLength = 254

// NormalizeEmail returns the one canonical form of an address, because a request may only
// touch records keyed to the address that sent it and the keys must compare equal. The
// local part is Unicode NFC and lower case; the domain is lower case ASCII, international
// names in their xn-- form, so "Zoë@Bücher.example" and its other spellings are one key.
// It accepts a single bare address, with no display name, comment, angle brackets or
// control characters. Errors wrap ErrInvalid and never contain the address (nor net/mail's
// error, which quotes it).
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("e-mail address holds control characters: %w", ErrInvalid)
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" {
		return "", fmt.Errorf("e-mail address is not a single bare address: %w", ErrInvalid)
	}
	asciiDomain, err := idna.Lookup.ToASCII(strings.ToLower(norm.NFC.String(domain)))
	if err != nil {
		return "", fmt.Errorf("e-mail address has an invalid domain: %w", ErrInvalid)
	}
	s = strings.ToLower(norm.NFC.String(local)) + "@" + asciiDomain
	switch {
	case len(s) > MaxEmailLength:
		return "", fmt.Errorf("e-mail address is longer than %d characters: %w", MaxEmailLength, ErrInvalid)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s || !strings.Contains(asciiDomain, ".") {
		return "", fmt.Errorf("e-mail address is not a single bare address: %w", ErrInvalid)
	}
	return s, nil
}

// MailboxEmail returns the address to send mail to: the one the requester typed, trimmed,
// because the local part may be case-sensitive and only the receiving server may fold it.
// An international domain is given in its xn-- form, which every mail server routes; an
// ASCII one keeps its spelling, which DNS ignores. It accepts what NormalizeEmail accepts,
// which stays the form requests are matched and keyed on.
func MailboxEmail(s string) (string, error) {
	if _, err := NormalizeEmail(s); err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	local, dom, _ := strings.Cut(s, "@")
	if strings.IndexFunc(dom, func(r rune) bool { return r > unicode.MaxASCII }) >= 0 {
		ascii, err := idna.Lookup.ToASCII(strings.ToLower(norm.NFC.String(dom)))
		if err != nil {
			return "", fmt.Errorf("e-mail address has an invalid domain: %w", ErrInvalid)
		}
		s = local + "@" + ascii
	}
	if len(s) > MaxEmailLength {
		return "", fmt.Errorf("e-mail address is longer than %d characters: %w", MaxEmailLength, ErrInvalid)
	}
	return s, nil
}

// FoldEmail is NormalizeEmail for lookups and comparisons that must not fail, such as a
// mailbox found by the address it was sent to: it returns NormalizeEmail's form of s, or,
// when s is no address NormalizeEmail accepts, s trimmed, in Unicode NFC and lower case,
// so that two spellings of the same text still compare equal.
func FoldEmail(s string) string {
	if n, err := NormalizeEmail(s); err == nil {
		return n
	}
	return strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
}
