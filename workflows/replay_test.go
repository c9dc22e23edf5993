package workflows_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/workflows"
)

// Histories recorded from `dsr dev` runs of every request shape must replay against the
// current code: a change that would break running requests fails here. A deliberate change
// needs workflow.GetVersion, and new recordings added beside the old ones.
// request-correct-planned-stale.json is a correction planned before its review, whose
// store's rows changed before approval and which staff retried; api's
// TestARowChangedAfterThePlanStopsItsStoreUntilStaffRetry records it (RECORD_TO=FILE).
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

// replayCodecKeys is the test-only codec key the batched recordings were encrypted with
// (the bytes "dsr-replay-test-key-not-a-secret"). It protects nothing: the recordings hold
// only the demo company's made-up people, and no deployment may use it.
const replayCodecKeys = "replay-test:ZHNyLXJlcGxheS10ZXN0LWtleS1ub3QtYS1zZWNyZXQ="

// batchedRecordings are the recordings of requests started on the batched path
// ("batched-engine-work" version 1), by shape, and whether each reached the stores.
var batchedRecordings = map[string]bool{
	"review": true, "suppress": true, "correct": true, "restrict": true, "child": true,
	"cancelled": false,
}

// Requests started on the batched path must replay too: the version marker, the local
// activities and the one fan-out activity are what a change to that path must keep.
//
// To record them again, start dsr dev on an empty data directory with the test key,
//
//	DSR_CODEC_KEYS=replay-test:ZHNyLXJlcGxheS10ZXN0LWtleS1ub3QtYS1zZWNyZXQ= \
//	  go run ./cmd/dsr dev --data-dir /tmp/rec --http 127.0.0.1:18480 --temporal-port 17233 --ui-port 0
//
// run one request of each shape over the HTTP API as the test of cmd/dsr does (demo people,
// codes from /api/v1/dev/mail, the paper-archive task completed with a staff token; the
// review with one wrong set of data points, the suppression verified by an analyst, the
// correction assigned, noted, extended and approved, the restriction with one wrong code,
// a review cancelled by staff before the code, a child's erasure approved by a second staff
// member), and once each workflow has closed save its history:
//
//	go tool temporal workflow show --address 127.0.0.1:17233 -w dsr-ID -o json > testdata/batched/request-SHAPE.json
func TestBatchedHistoriesReplay(t *testing.T) {
	ring, err := codec.ParseKeyring(replayCodecKeys)
	if err != nil {
		t.Fatal(err)
	}
	dc := codec.DataConverter(ring)
	files, err := filepath.Glob("testdata/batched/request-*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		shape := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "request-"), ".json")
		if _, ok := batchedRecordings[shape]; !ok {
			t.Errorf("%s: add its shape to batchedRecordings", f)
		}
	}
	for shape, reachesStores := range batchedRecordings {
		t.Run(shape, func(t *testing.T) {
			f := filepath.Join("testdata", "batched", "request-"+shape+".json")
			checkBatched(t, dc, readHistory(t, f), reachesStores)
			replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc})
			if err != nil {
				t.Fatal(err)
			}
			replayer.RegisterWorkflow(workflows.Request)
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(testLogger(t), f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The recording of a planned correction took the plan path: the "plan-before-review"
// version marker and a PlanStores activity before the fan-outs.
func TestThePlannedRecordingPlansBeforeReview(t *testing.T) {
	var version bool
	var scheduled []string
	for _, e := range readHistory(t, "testdata/request-correct-planned-stale.json").GetEvents() {
		if m := e.GetMarkerRecordedEventAttributes(); m != nil && m.GetMarkerName() == "Version" {
			var id string
			if err := converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()["change-id"], &id); err != nil {
				t.Fatal(err)
			}
			version = version || id == "plan-before-review"
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled = append(scheduled, a.GetActivityType().GetName())
		}
	}
	if !version || !slices.Equal(scheduled, []string{"PlanStores", "RunStores", "RunStores"}) {
		t.Errorf("version marker %v, activities %v; want the plan path, planned once and run twice", version, scheduled)
	}
}

func readHistory(t *testing.T, file string) *historypb.History {
	t.Helper()
	r, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// checkBatched fails unless the history took the batched path, so the replay cannot pass
// on a recording of the old shape: a version marker for "batched-engine-work" at 1, audit
// steps written in batches by local activities, no activity per step, and one RunStores
// activity when the request reached the stores.
func checkBatched(t *testing.T, dc converter.DataConverter, h *historypb.History, reachesStores bool) {
	t.Helper()
	var version bool
	var local, scheduled []string
	for _, e := range h.GetEvents() {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			m := e.GetMarkerRecordedEventAttributes()
			switch m.GetMarkerName() {
			case "Version":
				var id string
				var v int
				if err := dc.FromPayloads(m.GetDetails()["change-id"], &id); err != nil {
					t.Fatalf("event %d: version marker: %v", e.GetEventId(), err)
				}
				if err := dc.FromPayloads(m.GetDetails()["version"], &v); err != nil {
					t.Fatalf("event %d: version marker: %v", e.GetEventId(), err)
				}
				version = version || (id == "batched-engine-work" && v == 1)
			case "LocalActivity":
				var data struct{ ActivityType string }
				if err := dc.FromPayloads(m.GetDetails()["data"], &data); err != nil {
					t.Fatalf("event %d: local activity marker: %v", e.GetEventId(), err)
				}
				local = append(local, data.ActivityType)
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled = append(scheduled, e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName())
		}
	}
	if !version {
		t.Error(`no version marker "batched-engine-work" at version 1`)
	}
	if !slices.Contains(local, "RecordSteps") {
		t.Errorf("local activities %v: no RecordSteps", local)
	}
	if slices.Contains(scheduled, "RecordStep") {
		t.Errorf("activities %v: audit steps written one activity each", scheduled)
	}
	if got := slices.Contains(scheduled, "RunStores"); got != reachesStores {
		t.Errorf("activities %v: RunStores scheduled %v, want %v", scheduled, got, reachesStores)
	}
	if slices.Contains(scheduled, "RunStore") {
		t.Errorf("activities %v: an activity per store", scheduled)
	}
}

// testLogger sends the replayer's log to the test's, so a failed replay shows why.
func testLogger(t *testing.T) log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
