package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/internal/tlog"
	"github.com/dsr-project/dsr/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var testSecret = keys.Secret(bytes.Repeat([]byte{7}, keys.MinSecretBytes))

// fakeEngine stands in for Temporal where a test is about the HTTP layer: it records what
// the API asks of the engine and answers with the errors a test sets.
type fakeEngine struct {
	client.Client // nil: any call a test did not expect panics, and the API answers 500

	mu        sync.Mutex
	started   []client.StartWorkflowOptions
	inputs    []workflows.RequestInput
	startErr  error
	updateErr error
	updates   []client.UpdateWorkflowOptions
	// startGate, when set, holds the next start until it is closed; the start sends on
	// startEntered first.
	startGate    chan struct{}
	startEntered chan struct{}
	history      []*historypb.HistoryEvent
	historyErr   error
	// queryGate, when set, holds every state query until it is closed, after sending on
	// queryEntered when that is set; queries counts them.
	queryGate    chan struct{}
	queryEntered chan struct{}
	queries      int
}

func (f *fakeEngine) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	gate, entered := f.startGate, f.startEntered
	f.startGate = nil
	f.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	for _, s := range f.started {
		if s.ID == opts.ID {
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "")
		}
	}
	f.started = append(f.started, opts)
	f.inputs = append(f.inputs, args[0].(workflows.RequestInput))
	return nil, nil
}

func (f *fakeEngine) GetWorkflowHistory(_ context.Context, workflowID, _ string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &fakeHistory{events: f.history, err: f.historyErr}
}

type fakeHistory struct {
	events []*historypb.HistoryEvent
	err    error
}

func (h *fakeHistory) HasNext() bool { return h.err != nil || len(h.events) > 0 }

func (h *fakeHistory) Next() (*historypb.HistoryEvent, error) {
	if h.err != nil {
		return nil, h.err
	}
	e := h.events[0]
	h.events = h.events[1:]
	return e, nil
}

func (f *fakeEngine) TerminateWorkflow(context.Context, string, string, string, ...any) error {
	return nil
}

func (f *fakeEngine) UpdateWorkflow(_ context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, opts)
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	return fakeUpdate{}, nil
}

// fakeUpdate is an update the workflow accepted, with no result.
type fakeUpdate struct{ client.WorkflowUpdateHandle }

func (fakeUpdate) Get(context.Context, any) error { return nil }

func (f *fakeEngine) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	f.queries++
	gate, entered := f.queryGate, f.queryEntered
	f.queryEntered = nil
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if gate != nil {
		<-gate
	}
	return nil, context.DeadlineExceeded
}

// harness is an API on a fresh SQLite database and a fake engine.
type harness struct {
	t        *testing.T
	engine   *fakeEngine
	db       *database.DB
	requests *requestdb.Repo
	tokens   *auth.Repo
	mailbox  *requestdb.DevMailbox
	// transparencyLog is the public log the requests' milestones are appended to.
	transparencyLog *tlog.Log
	// codecRing holds the key of the server's payload codec.
	codecRing *codec.Keyring
	now       time.Time
	server    *api.Server
	handler   http.Handler
}

// unlimited are rate limits no test reaches unless it means to.
var unlimited = api.RateLimits{
	IntakePerIP: api.Rate{Events: 1 << 20, Per: time.Second}, IntakePerAddress: api.Rate{Events: 1 << 20, Per: time.Second},
	VerifyPerIP: api.Rate{Events: 1 << 20, Per: time.Second}, VerifyPerRequest: api.Rate{Events: 1 << 20, Per: time.Second},
	DRPPerAgent: api.Rate{Events: 1 << 20, Per: time.Second}, DRPSetUpPerIP: api.Rate{Events: 1 << 20, Per: time.Second},
}

// newHarness builds the harness; configure, when given, changes the server's options.
func newHarness(t *testing.T, dev bool, configure ...func(*api.Options)) *harness {
	t.Helper()
	return newHarnessOn(t, testenv.SQLiteURL(t), dev, configure...)
}

// newHarnessOn is newHarness on the database at url.
func newHarnessOn(t *testing.T, url string, dev bool, configure ...func(*api.Options)) *harness {
	t.Helper()
	db := testenv.OpenMigrated(t, url)
	transparencyLog, err := tlog.New(db, testSecret, "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t, engine: &fakeEngine{}, db: db, requests: requestdb.New(db).WithLog(transparencyLog), tokens: auth.New(db),
		transparencyLog: transparencyLog,
		now:             time.Date(2026, 3, 2, 9, 30, 15, 123456789, time.UTC),
	}
	h.codecRing = newCodecRing(t)
	opts := api.Options{
		Log: quiet, Temporal: h.engine, TaskQueue: "dsr-test", Requests: h.requests, Tokens: h.tokens,
		Secret: testSecret, Identity: domain.DefaultIdentityPolicy(), Deadline: domain.DeadlinePolicy{DefaultDays: 20},
		Verification: workflows.DefaultVerificationSettings(), Now: func() time.Time { return h.now },
		PayloadCodec: codec.New(h.codecRing), CodecOrigins: []string{uiOrigin}, CodecTrustedOrigin: devUIOrigin,
		CallbackKeys: callbackKeys, CallbackStores: callbackStores,
		RateLimits: unlimited, Sessions: auth.NewSessions(db), TransparencyLog: transparencyLog,
	}
	if dev {
		h.mailbox = requestdb.NewDevMailbox(db)
		opts.DevMailbox = h.mailbox
	}
	for _, f := range configure {
		f(&opts)
	}
	h.server = api.New(opts)
	h.handler = h.server.Handler()
	return h
}

// answer is a recorded response.
type answer struct {
	code   int
	header http.Header
	body   string
}

// errorBody decodes an error answer, failing unless it has exactly the one error shape:
// {"error":{"code","message","fields"}} and nothing else.
func (a answer) errorBody(t *testing.T) api.ErrorDetail {
	t.Helper()
	var shape map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(a.body), &shape); err != nil || len(shape) != 1 || len(shape["error"]) != 3 {
		t.Fatalf("body %q is not an error answer: %v", a.body, err)
	}
	var e api.ErrorBody
	if err := json.Unmarshal([]byte(a.body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" || e.Error.Fields == nil {
		t.Fatalf("body %q is not an error answer: %v", a.body, err)
	}
	return e.Error
}

// do sends one request; contentType defaults to JSON when there is a body.
func (h *harness) do(method, path, contentType, body, bearer string) answer {
	h.t.Helper()
	headers := http.Header{}
	if contentType != "" {
		headers.Set("Content-Type", contentType)
	}
	return h.send(method, path, body, bearer, headers)
}

// send is do with any headers.
func (h *harness) send(method, path, body, bearer string, headers http.Header) answer {
	h.t.Helper()
	return h.sendFrom("", method, path, body, bearer, headers)
}

// sendFrom is send from a remote address; empty means httptest's, which is not loopback.
func (h *harness) sendFrom(remoteAddr, method, path, body, bearer string, headers http.Header) answer {
	h.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if remoteAddr != "" {
		req.RemoteAddr = remoteAddr
	}
	for name, values := range headers {
		req.Header[name] = values
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	a := answer{code: rec.Code, header: rec.Header(), body: rec.Body.String()}
	checkAgainstOpenAPI(h.t, req, a)
	return a
}

// checkAgainstOpenAPI validates every answer the tests get against the OpenAPI document
// when the build has a validator (see openapi_kin_test.go); otherwise it does nothing.
var checkAgainstOpenAPI = func(testing.TB, *http.Request, answer) {}

// open files a valid restrict request through the public intake and returns its answer.
func (h *harness) open() api.IntakeAnswer {
	h.t.Helper()
	a := h.do(http.MethodPost, "/api/v1/requests", "", `{"type":"restrict","email":"someone@example.com","details":{"limits":["marketing_email"]}}`, "")
	if a.code != http.StatusAccepted {
		h.t.Fatalf("intake = %d %s, want 202", a.code, a.body)
	}
	var out api.IntakeAnswer
	if err := json.Unmarshal([]byte(a.body), &out); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func (h *harness) token(name string, role auth.Role) string {
	h.t.Helper()
	secret, _, err := h.tokens.Create(context.Background(), name, role)
	if err != nil {
		h.t.Fatal(err)
	}
	return secret
}
