package api

import (
	"slices"
	"testing"

	"github.com/dsr-project/dsr/internal/requestdb"
)

func TestTheStaffTimelineFoldsStepsAlikeInARow(t *testing.T) {
	step := func(action, from, to string) requestdb.AuditEvent {
		return requestdb.AuditEvent{Actor: "(system)", Action: action, FromStatus: from, ToStatus: to}
	}
	var rows []timelineRow
	for _, e := range []requestdb.AuditEvent{
		step("received", "", "received"),
		step("store_planned", "awaiting", "awaiting"),
		step("store_planned", "awaiting", "awaiting"),
		step("store_planned", "awaiting", "awaiting"),
		step("store_planned", "awaiting", "review"), // changes the status: its own line
		step("store_planned", "review", "review"),
	} {
		rows = foldStep(rows, e)
	}
	var got []int
	for _, r := range rows {
		got = append(got, r.Count)
	}
	if want := []int{1, 3, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
}
