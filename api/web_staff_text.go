package api

import (
	"strings"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// The privacy team's words for statuses, request types, store states and audit steps. The
// requester's pages speak to the requester (webPage.StatusText and its kin); these speak
// about the requester, to staff.

var staffStatusTexts = map[domain.Status]string{
	domain.StatusReceived:                     "Received",
	domain.StatusAwaitingEmailVerification:    "Waiting for e-mail confirmation",
	domain.StatusAwaitingIdentityVerification: "Waiting for identity verification",
	domain.StatusPendingReview:                "Waiting for review",
	domain.StatusInProgress:                   "In progress",
	domain.StatusAwaitingManualTasks:          "Waiting for a manual task",
	domain.StatusNeedsAttention:               "Needs attention",
	domain.StatusCompleted:                    "Completed",
	domain.StatusDenied:                       "Denied",
	domain.StatusCancelled:                    "Cancelled",
	domain.StatusExpired:                      "Expired unconfirmed",
}

func staffStatus(st domain.Status) string {
	return textOf(staffStatusTexts, st, sentence(strings.ReplaceAll(string(st), "_", " ")))
}

// staffStatusOf is staffStatus of an audit event's status text; "" stays "".
func staffStatusOf(s string) string {
	if s == "" {
		return ""
	}
	return staffStatus(domain.Status(s))
}

var staffTypeTexts = map[domain.RequestType]string{
	domain.TypeReview:       "Review: see the data held",
	domain.TypeCorrect:      "Correct data",
	domain.TypeUpdate:       "Update data",
	domain.TypeSuppress:     "Suppress (erase) data",
	domain.TypeRestrict:     "Limit the use of data",
	domain.TypeChildErasure: "Erase a child's data",
}

func staffType(t domain.RequestType) string { return textOf(staffTypeTexts, t, string(t)) }

var storeStateTexts = map[requestdb.StoreState]string{
	requestdb.StoreRunning: "Running",
	requestdb.StorePending: "Waiting for an answer",
	requestdb.StoreFailed:  "Failing",
	requestdb.StoreDone:    "Done",
}

func storeState(s requestdb.StoreState) string {
	return textOf(storeStateTexts, s, sentence(string(s)))
}

var staffActionTexts = map[string]string{
	"received":                      "Request received",
	"intake_failed":                 "Could not be started",
	"email_verification_started":    "Confirmation code requested",
	"code_sent":                     "Confirmation code sent",
	"code_checked":                  "Code typed by the requester",
	"email_verified":                "E-mail address confirmed",
	"joined_duplicate":              "Joined an open request of the same kind",
	"identity_verification_started": "Identity check started",
	"identity_checked":              "Data points checked",
	"identity_verified":             "Identity verified by staff",
	"review_started":                "Sent for staff review",
	"permission_review_started":     "Agent's permission sent for staff review",
	"permission_accepted":           "Agent's permission accepted",
	"permission_refused":            "Agent's permission refused",
	"approved":                      "Approved",
	"denied":                        "Denied",
	"extended":                      "Deadline extended",
	"cancelled":                     "Cancelled",
	"expired":                       "Expired",
	"processing_started":            "Stores started",
	"stores_failed":                 "A store failed",
	"store_retry_requested":         "Store retry asked for",
	"store_planned":                 "Store change planned",
	"stores_retried":                "Stores retried",
	"awaiting_store_answers":        "Waiting for stores that answer later",
	"store_answered":                "A store answered",
	"store_answers_in":              "All stores answered",
	"recipients_notified":           "Recipients told",
	"completed":                     "Completed",
	"note_added":                    "Note added",
	"assigned":                      "Assigned",
	"deadline_alert":                "Deadline alert: 75% of the time used",
	"retention_purged":              "Kept record purged",
	requestdb.ActionAccessed:        "Requester's details viewed",
	"appealed":                      "Appealed by the requester",
	"appeal_extended":               "Appeal deadline extended",
	"appeal_overdue":                "Appeal answer overdue",
	"appeal_granted":                "Appeal granted",
	"appeal_denied":                 "Appeal denied",
}

var appealStatusTexts = map[domain.AppealStatus]string{
	domain.AppealOpen:    "Open: waiting for a decision",
	domain.AppealGranted: "Granted: the refusal is withdrawn",
	domain.AppealDenied:  "Denied: the refusal stands",
}

func appealStatus(s domain.AppealStatus) string {
	return textOf(appealStatusTexts, s, string(s))
}

// columnActionTexts say what a plan does to a column's value.
var columnActionTexts = map[connector.ColumnAction]string{
	connector.ActionDelete: "deleted with the row",
	connector.ActionNull:   "emptied",
	connector.ActionMask:   "masked",
	connector.ActionHash:   "replaced by a keyed hash",
	connector.ActionSet:    "set to the new value",
}

func columnAction(a connector.ColumnAction) string {
	return textOf(columnActionTexts, a, string(a))
}

// staffPermissionTexts say where staff stand on an agent's signed permission.
var staffPermissionTexts = map[requestdb.PermissionDecision]string{
	requestdb.PermissionPending:  "the person has not confirmed the request yet",
	requestdb.PermissionAccepted: "accepted",
	requestdb.PermissionRefused:  "refused",
}

// staffPermission says where a permission stands in a request whose status is s: a pending
// one waits for staff once the person has confirmed.
func staffPermission(d requestdb.PermissionDecision, s domain.Status) string {
	if d == requestdb.PermissionPending && s == domain.StatusPendingReview {
		return "waiting for your decision"
	}
	if d == requestdb.PermissionPending && s.Terminal() {
		return "never decided"
	}
	return textOf(staffPermissionTexts, d, string(d))
}

func staffAction(action string) string {
	return textOf(staffActionTexts, action, sentence(strings.ReplaceAll(action, "_", " ")))
}

var staffJurisdictionTexts = map[domain.Jurisdiction]string{
	domain.JurisdictionGDPR:    "GDPR",
	domain.JurisdictionCCPA:    "CCPA",
	domain.JurisdictionVCDPA:   "VCDPA (Virginia)",
	domain.JurisdictionCPA:     "CPA (Colorado)",
	domain.JurisdictionCTDPA:   "CTDPA (Connecticut)",
	domain.JurisdictionDefault: "our own deadline",
}

func staffJurisdiction(j domain.Jurisdiction) string {
	return textOf(staffJurisdictionTexts, j, string(j))
}

// textOf is the text a table gives a value, or fallback for a value it does not name.
func textOf[K comparable](texts map[K]string, k K, fallback string) string {
	if t, ok := texts[k]; ok {
		return t
	}
	return fallback
}
