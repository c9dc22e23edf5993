package audit_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

// replayCodecKeys is the test-only key the batched recordings of package workflows were
// encrypted with (see its replay test); it protects nothing.
const replayCodecKeys = "replay-test:ZHNyLXJlcGxheS10ZXN0LWtleS1ub3QtYS1zZWNyZXQ="

// recordings are the workflow histories `dsr dev` recorded for the replay tests, with their
// payloads decoded as TemporalHistory decodes them: every request shape, on the old path
// (an activity per step) and on the batched one (local activities), with identity answers
// right and wrong, verification codes, staff notes and reasons, late store results, a
// correction and a suppression that kept an order.
func recordings(t *testing.T) map[string]*historypb.History {
	t.Helper()
	ring, err := codec.ParseKeyring(replayCodecKeys)
	if err != nil {
		t.Fatal(err)
	}
	c := codec.New(ring)
	files, err := filepath.Glob("../../workflows/testdata/request-*.json")
	if err != nil {
		t.Fatal(err)
	}
	batched, err := filepath.Glob("../../workflows/testdata/batched/request-*.json")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*historypb.History{}
	for _, f := range append(files, batched...) {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		err = proxy.VisitPayloads(context.Background(), h, proxy.VisitPayloadsOptions{
			SkipSearchAttributes: true,
			Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
				return c.Decode(p)
			},
		})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f)] = h
	}
	if len(out) < 12 {
		t.Fatalf("found %d recordings, want the 6 old and 6 batched ones", len(out))
	}
	return out
}

// historyJSON exports r1's bundle with h as its workflow history and returns history.json.
func historyJSON(t *testing.T, repo *requestdb.Repo, h *historypb.History, opts audit.ExportOptions) string {
	t.Helper()
	h = proto.Clone(h).(*historypb.History)
	deps := audit.ExportDeps{
		Requests: repo, Signer: newKey(t),
		History: func(context.Context, string) (*historypb.History, error) { return h, nil },
	}
	bundle, err := audit.Export(context.Background(), deps, "r1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyBundle(bundle, deps.Signer.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	return string(unzip(t, bundle)["history.json"])
}

var uuids = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// found returns the values text holds, case-insensitively. A value of digits only must
// stand alone, and UUIDs are not searched, so that 0815 inside a hash or an ID is not
// taken for a phone number.
func found(text string, values []string) []string {
	text = uuids.ReplaceAllString(text, "<uuid>")
	var out []string
	for _, v := range values {
		pattern := regexp.QuoteMeta(v)
		if regexp.MustCompile(`^[0-9]+$`).MatchString(v) {
			pattern = `(^|[^0-9A-Za-z])` + pattern + `($|[^0-9A-Za-z])`
		}
		if regexp.MustCompile(`(?i)`+pattern).MatchString(text) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// The texts staff typed in the recordings: notes and reasons. Reasons are mailed to the
// requester and notes may say anything about them.
var staffTexts = []string{
	"customer called", "checking the customer file", "the requester withdrew by phone", "requester withdrew",
	"verified by phone", "the customer file is archived off site", "records in three systems",
	"parent's identity checked", "matches the customer file", "known customer", "confirmed with parent",
	"called back on the number on file",
}

var (
	codeValue   = regexp.MustCompile(`"code": "([0-9]+)"`)
	answerSet   = regexp.MustCompile(`"(?:answers|Answers)": \{([^}]*)\}`)
	answerValue = regexp.MustCompile(`": "([^"]*)"`)
)

// secretsIn returns what a redacted history must not hold: every demo person's address,
// name and data points, the staff texts, and the codes and identity answers that requesters
// typed in this history (taken from it unredacted), wrong ones included.
func secretsIn(plain string) []string {
	out := slices.Clone(staffTexts)
	for _, p := range demo.DemoPeople() {
		out = append(out, p.Email, p.Name)
		for _, v := range p.DataPoints {
			out = append(out, v)
		}
	}
	for _, m := range codeValue.FindAllStringSubmatch(plain, -1) {
		out = append(out, m[1])
	}
	for _, set := range answerSet.FindAllStringSubmatch(plain, -1) {
		for _, m := range answerValue.FindAllStringSubmatch(set[1], -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// Every recorded history, exported without personal data, holds none of the requesters'
// data, codes or staff texts, and still shows every event, the activities that ran and how
// the checks went. Asked for personal data, the history is as recorded.
func TestBundleHistoryWithholdsPersonalDataOfEveryRecordedRequest(t *testing.T) {
	repo := seed(t, testenv.OpenMigrated(t, testenv.SQLiteURL(t)))
	for name, h := range recordings(t) {
		t.Run(name, func(t *testing.T) {
			plain := historyJSON(t, repo, h, audit.ExportOptions{IncludePII: true})
			secrets := secretsIn(plain)
			if len(found(plain, secrets)) == 0 {
				t.Fatal("the recording holds none of the values searched for; the search proves nothing")
			}
			redacted := historyJSON(t, repo, h, audit.ExportOptions{})
			if leaked := found(redacted, secrets); len(leaked) > 0 {
				t.Errorf("history.json holds %q", leaked)
			}
			for _, gone := range []string{"DEMO-", "orders:"} {
				if strings.Contains(redacted, gone) {
					t.Errorf("history.json holds %q: a record a store kept", gone)
				}
			}
			if got, want := strings.Count(redacted, `"eventType"`), len(h.GetEvents()); got != want {
				t.Errorf("history.json has %d events, want %d", got, want)
			}
			for _, want := range []string{`"(withheld)"`, `"RequestID"`, `"status"`, `"steps"`, `"action"`} {
				if strings.Contains(plain, strings.Trim(want, `"`)) && !strings.Contains(redacted, want) {
					t.Errorf("history.json lacks %s", want)
				}
			}
			for _, readable := range []string{`"Matched"`, `"verified"`, `"attempts_left"`, `"found"`, `"changed"`, `"Holder"`, `"not_found"`, `"Smith Micro Software AS"`} {
				if strings.Contains(plain, readable) && !strings.Contains(redacted, readable) {
					t.Errorf("history.json lost %s, which holds no personal data", readable)
				}
			}
		})
	}
}

// A payload the allow-list does not know is withheld, wherever it sits: an activity or a
// signal dsr does not have yet, a field added to a known input, a header, a memo, a
// failure's details, a side effect's marker, a payload that is not JSON.
func TestBundleHistoryWithholdsPayloadsItDoesNotKnow(t *testing.T) {
	repo := seed(t, testenv.OpenMigrated(t, testenv.SQLiteURL(t)))
	dc := converter.GetDefaultDataConverter()
	const secret = "Sally Secret, 42 Unknown Road"
	payloads := func(values ...any) *commonpb.Payloads {
		t.Helper()
		p, err := dc.ToPayloads(values...)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	one := func(v any) *commonpb.Payload { return payloads(v).GetPayloads()[0] }
	binary := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: []byte(secret)}
	h := &historypb.History{Events: []*historypb.HistoryEvent{
		{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
			Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
				WorkflowType: &commonpb.WorkflowType{Name: "Request"},
				Input:        payloads(map[string]any{"RequestID": "r1", "Type": "review", "Email": secret}, secret),
				Memo:         &commonpb.Memo{Fields: map[string]*commonpb.Payload{"who": one(secret)}},
				Header:       &commonpb.Header{Fields: map[string]*commonpb.Payload{"trace": one(secret)}},
				SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
					"DsrStatus": one("received"), "CustomerName": one(secret),
				}},
			}}},
		{EventId: 2, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
			Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
				ActivityType: &commonpb.ActivityType{Name: "LookUpPerson"}, Input: payloads(map[string]any{"Name": secret}),
			}}},
		{EventId: 3, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
			Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
				ScheduledEventId: 2, Result: payloads(secret),
			}}},
		{EventId: 4, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
			Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
				ActivityType: &commonpb.ActivityType{Name: "ListStores"}, Input: &commonpb.Payloads{Payloads: []*commonpb.Payload{binary}},
			}}},
		{EventId: 5, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED,
			Attributes: &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{
				ScheduledEventId: 4, Failure: &failurepb.Failure{Message: "store down",
					FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Details: payloads(secret)}}},
			}}},
		{EventId: 6, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
			Attributes: &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{
				SignalName: "new-signal", Input: payloads(secret),
			}}},
		{EventId: 7, EventType: enumspb.EVENT_TYPE_MARKER_RECORDED,
			Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
				MarkerName: "SideEffect", Details: map[string]*commonpb.Payloads{"data": payloads(secret)},
			}}},
		{EventId: 8, EventType: enumspb.EVENT_TYPE_MARKER_RECORDED,
			Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
				MarkerName: "LocalActivity", Details: map[string]*commonpb.Payloads{
					"data":   payloads(map[string]any{"ActivityID": "1", "ActivityType": "LookUpPerson", "Attempt": 1}),
					"result": payloads(secret),
				},
			}}},
	}}
	redacted := historyJSON(t, repo, h, audit.ExportOptions{})
	if strings.Contains(redacted, "Sally") || strings.Contains(redacted, "Unknown Road") || strings.Contains(redacted, "U2FsbHk") {
		t.Errorf("history.json holds a payload no one listed:\n%s", redacted)
	}
	for _, want := range []string{`"RequestID": "r1"`, `"Email": "(withheld)"`, "LookUpPerson", "new-signal", "store down", `"ActivityType": "LookUpPerson"`} {
		if !strings.Contains(redacted, want) {
			t.Errorf("history.json lacks %s:\n%s", want, redacted)
		}
	}
	if plain := historyJSON(t, repo, h, audit.ExportOptions{IncludePII: true}); strings.Count(plain, secret) < 8 {
		t.Errorf("history.json with personal data shows the secret %d times, want every payload as recorded", strings.Count(plain, secret))
	}
}
