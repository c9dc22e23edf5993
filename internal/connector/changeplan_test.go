package connector_test

import (
	"reflect"
	"testing"

	"github.com/dsr-project/dsr/internal/connector"
)

func TestComparingRowsWithAPlanCountsWhatWasAddedChangedAndGone(t *testing.T) {
	plan := connector.ChangePlan{Tables: []connector.TableChange{
		{Table: "customers", Rows: []connector.PlannedRow{{Key: "1", Digest: "a"}, {Key: "2", Digest: "b"}}},
		{Table: "visits", Rows: []connector.PlannedRow{{Key: "7", Digest: "v"}}},
	}}
	now := connector.ChangePlan{Tables: []connector.TableChange{
		{Table: "customers", Rows: []connector.PlannedRow{{Key: "1", Digest: "a"}, {Key: "2", Digest: "B"}, {Key: "3", Digest: "c"}}},
	}}
	got := plan.Compare(now)
	want := []connector.PlanDifference{{Table: "customers", Added: 1, Changed: 1}, {Table: "visits", Gone: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("differences = %+v, want %+v", got, want)
	}
	if d := plan.Compare(plan); d != nil {
		t.Errorf("a plan compared with itself differs: %+v", d)
	}
	msg := (&connector.StalePlanError{Store: "shop", Differences: want}).Error()
	if msg != "the rows changed since the plan, nothing was changed (customers: 1 added, 1 changed; visits: 1 gone)" {
		t.Errorf("message = %q", msg)
	}
}
