package audit

import (
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/workflows"
)

// The allow-list names activities and workflows by the names the worker registers them
// under: a rename there must be followed here, or the renamed payloads, withheld, would
// leave the bundle with less evidence than it should have.
func TestAllowListNamesWhatTheWorkerRuns(t *testing.T) {
	acts := reflect.TypeFor[*activities.Activities]()
	workflowNames := map[string]bool{
		nameOf(workflows.Request): true, nameOf(workflows.RetentionPurge): true,
	}
	updates := map[string]bool{}
	for _, u := range []string{
		workflows.UpdateVerifyEmail, workflows.UpdateResendCode, workflows.UpdateSubmitIdentity,
		workflows.UpdateVerifyIdentity, workflows.UpdateApprove, workflows.UpdateDeny, workflows.UpdateExtend,
		workflows.UpdateCancel, workflows.UpdateAddNote, workflows.UpdateAssign, workflows.UpdateStoreResult,
		workflows.UpdateRetryStore,
	} {
		updates[u] = true
	}
	for p := range allowed {
		switch p.kind {
		case activityInput, activityResult:
			if _, ok := acts.MethodByName(p.name); !ok {
				t.Errorf("the allow-list names activity %s, which Activities does not have", p.name)
			}
		case workflowInput, workflowResult:
			if !workflowNames[p.name] {
				t.Errorf("the allow-list names workflow %s, which the worker does not run", p.name)
			}
		case updateInput, updateResult:
			if !updates[p.name] {
				t.Errorf("the allow-list names update %s, which the request workflow does not have", p.name)
			}
		}
	}
}

// nameOf is the name the worker registers a workflow function under: its own name.
func nameOf(fn any) string {
	full := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	return full[strings.LastIndex(full, ".")+1:]
}
