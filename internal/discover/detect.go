package discover

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/dsr-project/dsr/internal/domain"
)

// Kind is the kind of personal data a column looks like; its value is the category the
// snippet suggests.
type Kind string

// The kinds of personal data discover recognises.
const (
	None          Kind = ""
	Name          Kind = "name"
	Email         Kind = "email_address"
	Phone         Kind = "phone"
	PostalAddress Kind = "postal_address"
	IPAddress     Kind = "ip_address"
	CardNumber    Kind = "payment_card_number"
	BirthDate     Kind = "date_of_birth"
)

// Describe says what a kind is, in a phrase for comments.
func (k Kind) Describe() string {
	return map[Kind]string{
		Name: "a person's name", Email: "an e-mail address", Phone: "a phone number",
		PostalAddress: "a postal address", IPAddress: "an IP address",
		CardNumber: "a payment card number", BirthDate: "a date of birth",
	}[k]
}

// words splits a column name into lower-case words at underscores, dashes, spaces and
// camelCase humps: "billingPostCode" is billing, post, code.
func words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prev := rune(0)
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return out
}

// Words that, beside "name", make it a person's name rather than a list's or a file's.
var personWords = []string{"first", "last", "full", "given", "family", "middle", "maiden", "display",
	"sender", "recipient", "customer", "contact", "billing", "shipping", "requester", "nick", "legal",
	"person", "real", "holder", "owner", "author", "patient", "employee", "member", "friend", "user"}

// byName is the kind a column's name suggests, or None.
func byName(column string) Kind {
	ws := words(column)
	joined := strings.Join(ws, "")
	has := func(candidates ...string) bool {
		return slices.ContainsFunc(ws, func(w string) bool { return slices.Contains(candidates, w) })
	}
	switch {
	case len(ws) == 0 || slices.Contains([]string{"id", "ids", "key", "fk", "ref"}, ws[len(ws)-1]):
		return None // a key to another row (billing_address_id), not the data itself
	case strings.Contains(joined, "email") || has("mail", "mailbox"):
		return Email
	case has("ip", "ipv4", "ipv6", "ipaddr", "ipaddress") || strings.Contains(joined, "remoteaddr") || strings.Contains(joined, "ipaddress"):
		return IPAddress
	case strings.Contains(joined, "creditcard") || strings.Contains(joined, "cardnumber") || has("pan", "ccnumber") ||
		(has("card", "cc") && has("no", "num", "number")):
		return CardNumber
	case strings.Contains(joined, "birth") || has("dob", "birthday", "bday"):
		return BirthDate
	case strings.Contains(joined, "phone") || has("mobile", "tel", "telephone", "msisdn", "cell", "fax"):
		return Phone
	case strings.Contains(joined, "address") || has("street", "postcode", "postal", "zip", "zipcode", "addr", "city", "town"):
		return PostalAddress
	case slices.Contains([]string{"name", "firstname", "lastname", "fullname", "surname", "forename", "givenname", "familyname", "displayname"}, joined),
		has("surname", "forename", "firstname", "lastname", "fullname") || (has("name", "names") && has(personWords...)):
		return Name
	}
	return None
}

// byContent is the kind one value looks like, or None.
func byContent(v string) Kind {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return None
	case strings.Count(v, "@") == 1 && isEmail(v):
		return Email
	case isCard(v):
		return CardNumber
	case isIP(v):
		return IPAddress
	case phonePattern.MatchString(v) && !datePattern.MatchString(v) && isPhone(v):
		return Phone
	case streetPattern.MatchString(v):
		return PostalAddress
	}
	return None
}

func isEmail(v string) bool { _, err := domain.NormalizeEmail(v); return err == nil }

func isCard(v string) bool { _, ok := domain.CardNumberDigits(v); return ok }

func isIP(v string) bool { _, err := netip.ParseAddr(v); return err == nil }

var (
	phonePattern = regexp.MustCompile(`^\+?[0-9][0-9 ().\-]{5,22}[0-9]$`)
	datePattern  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$`)
	// A house number, then words ending in a street word, in a few languages.
	streetPattern = regexp.MustCompile(`(?i)^\d+[a-z]?,? +[^\d,]*\b(street|st|road|rd|avenue|ave|lane|ln|row|way|drive|dr|place|pl|boulevard|blvd|square|sq|close|court|ct|crescent|terrace|gate|gata|vei|veien|gade|straße|strasse|rue)\b`)
)

// isPhone wants 7 to 15 digits (E.164's maximum) written the way people write phone
// numbers: with a leading + or 0, or grouped, so bare counters and IDs do not match.
func isPhone(v string) bool {
	digits := 0
	for _, r := range v {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits < 7 || digits > 15 {
		return false
	}
	return v[0] == '+' || v[0] == '0' || strings.ContainsAny(v, " ()-.")
}

// contentThreshold is the share of non-empty sampled values that must look alike for a
// column to be flagged by content.
const contentThreshold = 0.6

// verdict is what most of a column's sampled values look like: the kind, how many values
// matched it and how many non-empty values were read. Only these counts leave.
type verdict struct {
	kind             Kind
	matched, sampled int
}

// tally counts the kinds of one column's values as they are read.
type tally struct {
	counts  map[Kind]int
	sampled int
}

func (t *tally) add(v string) {
	if strings.TrimSpace(v) == "" {
		return
	}
	if t.counts == nil {
		t.counts = map[Kind]int{}
	}
	t.sampled++
	if k := byContent(v); k != None {
		t.counts[k]++
	}
}

func (t *tally) verdict() verdict {
	best := verdict{sampled: t.sampled}
	for k, n := range t.counts {
		if n > best.matched || (n == best.matched && k < best.kind) {
			best.kind, best.matched = k, n
		}
	}
	if best.sampled == 0 || float64(best.matched) < contentThreshold*float64(best.sampled) {
		best.kind, best.matched = None, 0
	}
	return best
}
