package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AppealStatus is where an appeal of a refusal stands.
type AppealStatus string

// Appeal statuses: open until a staff member decides it, then granted or denied.
const (
	AppealOpen    AppealStatus = "open"
	AppealGranted AppealStatus = "granted"
	AppealDenied  AppealStatus = "denied"
)

// ParseAppealStatus returns the appeal status named s, or an error wrapping ErrInvalid.
func ParseAppealStatus(s string) (AppealStatus, error) {
	return parseEnum("appeal status", s, []AppealStatus{AppealOpen, AppealGranted, AppealDenied})
}

// MaxAppealText bounds what a person writes in an appeal: enough for a page of reasons,
// little enough for a staff page, the audit log and the evidence bundle.
const MaxAppealText = 4000

// AppealTextProblem says what is wrong with the text of an appeal, in one word a page
// can put in the reader's language.
type AppealTextProblem string

// Problems of an appeal's text.
const (
	AppealTextEmpty   AppealTextProblem = "empty"
	AppealTextLong    AppealTextProblem = "long"
	AppealTextControl AppealTextProblem = "control"
)

// Message is the problem in English, never repeating the text.
func (p AppealTextProblem) Message() string {
	switch p {
	case AppealTextEmpty:
		return "write why you disagree with the decision"
	case AppealTextLong:
		return fmt.Sprintf("the text is longer than %d characters", MaxAppealText)
	}
	return "the text holds control characters or is not UTF-8; write plain text"
}

// CheckAppealText returns what is wrong with text as an appeal, or "" when nothing is:
// empty, too long, not UTF-8, or holding control characters other than line breaks and
// tabs, or bidirectional overrides (which could hide or reorder text before the staff
// member who reads it).
func CheckAppealText(text string) AppealTextProblem {
	switch {
	case strings.TrimSpace(text) == "":
		return AppealTextEmpty
	case !utf8.ValidString(text):
		return AppealTextControl
	case utf8.RuneCountInString(text) > MaxAppealText:
		return AppealTextLong
	}
	for _, r := range text {
		if r != '\n' && r != '\r' && r != '\t' && (unicode.IsControl(r) || bidiControl(r) || r == '\u2028' || r == '\u2029') {
			return AppealTextControl
		}
	}
	return ""
}

// AppealWindowEnds returns until when a refusal decided at decided may be appealed, and
// false where the jurisdiction offers no appeal.
func (r Rules) AppealWindowEnds(decided time.Time) (time.Time, bool) {
	if r.Appeal == nil {
		return time.Time{}, false
	}
	return r.Appeal.Window.After(decided), true
}

// AppealDueDate returns when the answer to an appeal received at received is due; the
// rules must have an appeal section.
func (r Rules) AppealDueDate(received time.Time) time.Time {
	return r.Appeal.Response.After(received)
}

// AppealExtensionRule is the one extension of an appeal's due date the law allows, fixed
// when the appeal starts; a zero rule allows none.
func (r Rules) AppealExtensionRule(received time.Time) ExtensionRule {
	if r.Appeal == nil || r.Appeal.Extension == nil {
		return ExtensionRule{}
	}
	rule := ExtensionRule{Period: r.Appeal.Extension.Period}
	if r.Appeal.Extension.From == FromReceipt {
		rule.Since = received.UTC()
	}
	return rule
}

// Extend returns the due date after the extension of original; a zero rule leaves it.
func (e ExtensionRule) Extend(original time.Time) time.Time { return e.extend(original) }

// Allows reports whether the rule grants any extension at all.
func (e ExtensionRule) Allows() bool { return e.Period != (Period{}) }

// bidiControl reports the embedding, override and isolate characters that reorder text.
func bidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}
