package sqlstore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
)

// The drivers return values of different Go types for the same SQL value (a boolean is a
// bool in PostgreSQL and an int64 in MySQL and SQLite); these helpers compare them alike.

// holds reports whether a value is personal data held: not NULL and not blank.
func holds(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(v) != ""
	}
	return true
}

// text is a value as the requester would write it; dates without their time of day are
// the business of describe.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

// display is text for a retention description: dates as YYYY-MM-DD.
func display(v any) string {
	if t, ok := connector.ParseTime(v); ok {
		return t.UTC().Format(time.DateOnly)
	}
	return text(v)
}

// truthy reads a flag: true, a non-zero number, a set date, or text other than a "no".
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case int64:
		return v != 0
	case float64:
		return v != 0
	case string:
		s := strings.ToLower(strings.TrimSpace(v))
		return !slices.Contains([]string{"", "0", "f", "false", "n", "no"}, s)
	}
	return true
}

// equal compares a value read from the database with one the data map or a request
// gives, in the type of the latter.
func equal(held, want any) bool {
	switch w := want.(type) {
	case nil:
		return held == nil
	case bool:
		return held != nil && truthy(held) == w
	case int64:
		return held != nil && text(held) == strconv.FormatInt(w, 10)
	case float64:
		f, err := strconv.ParseFloat(text(held), 64)
		return held != nil && err == nil && f == w
	case string:
		return held != nil && text(held) == w
	}
	return false
}

func sortBy[T any](s []T, key func(T) int) {
	slices.SortStableFunc(s, func(a, b T) int { return key(a) - key(b) })
}
