// Package workflows holds dsr's Temporal workflows: deterministic orchestration only, with
// every piece of I/O delegated to package activities.
package workflows

import (
	"go.temporal.io/api/enums/v1"
)

// Search attributes dsr sets on its workflows. They carry status and dates for list filters,
// never PII. The worker and the dev server register them at start.
const (
	AttrStatus       = "DsrStatus"
	AttrRequestType  = "DsrRequestType"
	AttrJurisdiction = "DsrJurisdiction"
	AttrDueDate      = "DsrDueDate"
)

// SearchAttributes maps each of dsr's search attributes to its type.
var SearchAttributes = map[string]enums.IndexedValueType{
	AttrStatus:       enums.INDEXED_VALUE_TYPE_KEYWORD,
	AttrRequestType:  enums.INDEXED_VALUE_TYPE_KEYWORD,
	AttrJurisdiction: enums.INDEXED_VALUE_TYPE_KEYWORD,
	AttrDueDate:      enums.INDEXED_VALUE_TYPE_DATETIME,
}

// SelfCheckID is the workflow ID of a self-check run: a random UUID, never PII.
func SelfCheckID(checkID string) string { return "dsr-selfcheck-" + checkID }
