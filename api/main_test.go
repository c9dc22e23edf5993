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

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
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
}

func (f *fakeEngine) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	f.started = append(f.started, opts)
	f.inputs = append(f.inputs, args[0].(workflows.RequestInput))
	return nil, nil
}

func (f *fakeEngine) TerminateWorkflow(context.Context, string, string, string, ...any) error {
	return nil
}

func (f *fakeEngine) UpdateWorkflow(_ context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, opts)
	return nil, f.updateErr
}

func (f *fakeEngine) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
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
	now      time.Time
	handler  http.Handler
}

func newHarness(t *testing.T, dev bool) *harness {
	t.Helper()
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	h := &harness{
		t: t, engine: &fakeEngine{}, db: db, requests: requestdb.New(db), tokens: auth.New(db),
		now: time.Date(2026, 3, 2, 9, 30, 15, 123456789, time.UTC),
	}
	opts := api.Options{
		Log: quiet, Temporal: h.engine, TaskQueue: "dsr-test", Requests: h.requests, Tokens: h.tokens,
		Secret: testSecret, Identity: domain.DefaultIdentityPolicy(), Deadline: domain.DeadlinePolicy{DefaultDays: 20},
		Verification: workflows.DefaultVerificationSettings(), Now: func() time.Time { return h.now },
	}
	if dev {
		h.mailbox = requestdb.NewDevMailbox(db)
		opts.DevMailbox = h.mailbox
	}
	h.handler = api.New(opts).Handler()
	return h
}

// answer is a recorded response.
type answer struct {
	code   int
	header http.Header
	body   string
}

func (a answer) errorBody(t *testing.T) api.ErrorBody {
	t.Helper()
	var e api.ErrorBody
	if err := json.Unmarshal([]byte(a.body), &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not an error answer: %v", a.body, err)
	}
	return e
}

// do sends one request; contentType defaults to JSON when there is a body.
func (h *harness) do(method, path, contentType, body, bearer string) answer {
	h.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" && contentType == "" {
		contentType = "application/json"
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return answer{code: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

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
