package domain

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Size limits keep one request from flooding reviewers, storage and error responses.
const (
	MaxItems       = 50   // changes, categories or limits in one request
	MaxValueLength = 1000 // characters in one value or reason
)

// ValidationError lists every problem with a request at once, keyed by a path such as
// "details.changes[0].field", so a form can show each message beside its input. Messages
// never repeat what was submitted.
type ValidationError struct {
	Fields map[string]string `json:"fields"`
	// Changes holds the problems of details.changes by position, also listed in Fields,
	// so that a form can place each beside its row without parsing paths.
	Changes map[int]ChangeProblem `json:"-"`
}

// ChangeProblem is what is wrong with one requested change: its field, its value, or both.
type ChangeProblem struct {
	Field string
	Value string
}

func (e *ValidationError) Error() string {
	paths := slices.Sorted(maps.Keys(e.Fields))
	for i, p := range paths {
		paths[i] = p + ": " + e.Fields[p]
	}
	return "invalid request: " + strings.Join(paths, "; ")
}

// Unwrap lets callers treat a ValidationError like any other ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// ValidateIntake checks that d says clearly what a request of type t wants, with fields and
// categories taken from c. It returns nil or a *ValidationError.
func ValidateIntake(t RequestType, d Details, c Categories) error {
	v := &ValidationError{Fields: map[string]string{}}
	if _, err := ParseRequestType(string(t)); err != nil {
		v.Fields["type"] = "unknown request type"
		return v
	}
	misplaced := fmt.Sprintf("does not belong to a %s request", t)
	if len(d.Changes) > 0 && t != TypeCorrect && t != TypeUpdate {
		v.Fields["details.changes"] = misplaced
	}
	if d.Scope != nil && t != TypeSuppress {
		v.Fields["details.scope"] = misplaced
	}
	if len(d.Limits) > 0 && t != TypeRestrict {
		v.Fields["details.limits"] = misplaced
	}
	if d.Lift && t != TypeRestrict {
		v.Fields["details.lift"] = misplaced
	}
	if d.CategoriesOnly && t != TypeReview {
		v.Fields["details.categories_only"] = misplaced
	}
	if d.Reason != "" && t != TypeChildErasure {
		v.Fields["details.reason"] = misplaced
	}
	switch t {
	case TypeCorrect, TypeUpdate:
		v.changes(d.Changes, c)
	case TypeSuppress:
		v.scope(d.Scope, c)
	case TypeRestrict:
		v.limits(d.Limits)
	case TypeChildErasure:
		v.text("details.reason", d.Reason, "reason")
	}
	if len(v.Fields) == 0 {
		return nil
	}
	return v
}

func (v *ValidationError) changes(changes []FieldChange, c Categories) {
	if !v.count("details.changes", len(changes), "name at least one field to change") {
		return
	}
	seen := map[string]bool{}
	for i, ch := range changes {
		path := fmt.Sprintf("details.changes[%d]", i)
		cat, known := c.Find(ch.Field)
		var p ChangeProblem
		switch {
		case ch.Field == "":
			p.Field = "field is required"
		case !known:
			p.Field = "unknown field"
		case !cat.Correctable:
			p.Field = "field cannot be corrected, only suppressed"
		case seen[ch.Field]:
			p.Field = "field is named more than once"
		}
		seen[ch.Field] = true
		p.Value = valueProblem(ch.Value)
		if p == (ChangeProblem{}) {
			continue
		}
		if v.Changes == nil {
			v.Changes = map[int]ChangeProblem{}
		}
		v.Changes[i] = p
		for part, msg := range map[string]string{".field": p.Field, ".value": p.Value} {
			if msg != "" {
				v.Fields[path+part] = msg
			}
		}
	}
}

func (v *ValidationError) scope(s *SuppressScope, c Categories) {
	const vague = "say whether to suppress everything (all) or which categories"
	switch {
	case s == nil || (!s.All && len(s.Categories) == 0):
		v.Fields["details.scope"] = vague
	case s.All && len(s.Categories) > 0:
		v.Fields["details.scope"] = "choose either all or categories, not both"
	case !s.All && v.count("details.scope.categories", len(s.Categories), vague):
		unknown := false
		each(v, "details.scope.categories", s.Categories, "category", func(n string) bool {
			_, ok := c.Find(n)
			unknown = unknown || !ok
			return ok
		})
		// The deployment's own categories come from its data maps, so a client cannot know
		// them in advance: say which there are, once, beside the entries refused.
		if unknown {
			v.Fields["details.scope.categories"] = "each category must be one of: " + strings.Join(c.Names(), ", ")
		}
	}
}

func (v *ValidationError) limits(limits []RestrictLimit) {
	if v.count("details.limits", len(limits), "name at least one limit") {
		each(v, "details.limits", limits, "limit", func(l RestrictLimit) bool { return slices.Contains(restrictLimits, l) })
	}
}

// each flags every entry of list that is unknown or repeated.
func each[T comparable](v *ValidationError, path string, list []T, what string, known func(T) bool) {
	seen := map[T]bool{}
	for i, x := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !known(x) {
			v.Fields[p] = "unknown " + what
		} else if seen[x] {
			v.Fields[p] = what + " is named more than once"
		}
		seen[x] = true
	}
}

// count records a problem and reports false when a list is empty or too long to check.
func (v *ValidationError) count(path string, n int, emptyMsg string) bool {
	switch {
	case n == 0:
		v.Fields[path] = emptyMsg
	case n > MaxItems:
		v.Fields[path] = fmt.Sprintf("at most %d entries allowed", MaxItems)
	default:
		return true
	}
	return false
}

func (v *ValidationError) text(path, s, what string) {
	if msg := textProblem(s, what); msg != "" {
		v.Fields[path] = msg
	}
}

// valueProblem says what is wrong with the new value of a field, or "". The value is
// written into the stores as it is, so it must be one line of plain text.
func valueProblem(s string) string {
	if msg := textProblem(s, "value"); msg != "" {
		return msg
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return "value contains a control character, such as a line break, tab or NUL; use plain text on one line"
	}
	// The privacy policy promises that card numbers are never held.
	if _, ok := CardNumberDigits(s); ok {
		return "value looks like a payment card number; we never keep card numbers, so please leave it out"
	}
	return ""
}

// textProblem says what is wrong with a required text, or "".
func textProblem(s, what string) string {
	if strings.TrimSpace(s) == "" {
		return what + " is required"
	} else if utf8.RuneCountInString(s) > MaxValueLength {
		return fmt.Sprintf("%s is longer than %d characters", what, MaxValueLength)
	}
	return ""
}
