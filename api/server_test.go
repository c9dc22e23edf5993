package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dsr-project/dsr/api"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func get(t *testing.T, s *api.Server, path string) (int, api.ReadyReport) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var body api.ReadyReport
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", path, rec.Body.String(), err)
	}
	return rec.Code, body
}

func ok(context.Context) error { return nil }

func TestReadyWhenEveryCheckPasses(t *testing.T) {
	s := api.New(api.Options{Log: quiet, Checks: []api.Check{{Name: "database", Run: ok}, {Name: "temporal", Run: ok}}})
	code, body := get(t, s, "/readyz")
	if code != http.StatusOK || body.Status != "ready" || len(body.Down) != 0 {
		t.Errorf("got %d %+v, want 200 ready", code, body)
	}
}

func TestNotReadyNamesWhatIsDown(t *testing.T) {
	s := api.New(api.Options{Log: quiet, Checks: []api.Check{
		{Name: "database", Run: ok},
		{Name: "worker", Run: func(context.Context) error { return errors.New("no worker polls task queue") }},
	}})
	code, body := get(t, s, "/readyz")
	if code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", code)
	}
	if len(body.Down) != 1 || body.Down[0] != "worker" || body.Checks["database"] != "ok" {
		t.Errorf("body = %+v, want only worker down", body)
	}
}

func TestReadinessCheckThatHangsReadsAsDown(t *testing.T) {
	s := api.New(api.Options{Log: quiet, Checks: []api.Check{{Name: "temporal", Run: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}}}})
	code, body := get(t, s, "/readyz")
	if code != http.StatusServiceUnavailable || body.Down[0] != "temporal" {
		t.Errorf("got %d %+v, want temporal down after the timeout", code, body)
	}
}

func TestHealthzAnswersWithoutDependencies(t *testing.T) {
	s := api.New(api.Options{Log: quiet, Checks: []api.Check{{Name: "database", Run: func(context.Context) error { return errors.New("down") }}}})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("healthz = %d, want 200 even with the database down", rec.Code)
	}
}
