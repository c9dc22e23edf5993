package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/dsr-project/dsr/workflows"
)

// Histories recorded from `dsr dev` runs of every request shape must replay against the
// current code: a change that would break running requests fails here. A deliberate change
// needs workflow.GetVersion, and new recordings added beside the old ones.
func TestRecordedHistoriesReplay(t *testing.T) {
	files, err := filepath.Glob("testdata/request-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflow(workflows.Request)
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatal(err)
			}
		})
	}
}
