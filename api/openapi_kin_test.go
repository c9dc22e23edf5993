// Validation of the OpenAPI document and of every API response in the tests with
// kin-openapi.

package api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/dsr-project/dsr/api"
)

var (
	kinOnce   sync.Once
	kinDoc    *openapi3.T
	kinRouter routers.Router
	kinErr    error
)

// loadKin loads and validates the document once per test binary.
func loadKin() (*openapi3.T, routers.Router, error) {
	kinOnce.Do(func() {
		loader := openapi3.NewLoader()
		kinDoc, kinErr = loader.LoadFromData(api.OpenAPIDocument)
		if kinErr == nil {
			kinErr = kinDoc.Validate(context.Background())
		}
		if kinErr == nil {
			kinRouter, kinErr = gorillamux.NewRouter(kinDoc)
		}
		// Answers that are not JSON are checked for their content type only.
		for _, ct := range []string{"text/csv", "text/html", "application/yaml"} {
			openapi3filter.RegisterBodyDecoder(ct, func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
				b, err := io.ReadAll(r)
				return string(b), err
			})
		}
	})
	return kinDoc, kinRouter, kinErr
}

func init() { checkAgainstOpenAPI = validateAnswer }

func TestOpenAPIDocumentIsValidOpenAPI3(t *testing.T) {
	doc, _, err := loadKin()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	h := newHarness(t, true)
	for _, r := range h.server.Routes() {
		if api.IsPagePath(r.Path) {
			continue
		}
		path := echoParam.ReplaceAllString(r.Path, "{$1}")
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s is not in openapi.yaml", r.Method, path)
		}
	}
}

// validateAnswer checks one answer a test got against the document.
func validateAnswer(t testing.TB, req *http.Request, a answer) {
	t.Helper()
	_, router, err := loadKin()
	if err != nil {
		t.Errorf("openapi.yaml: %v", err)
		return
	}
	if api.IsPagePath(req.URL.Path) {
		return // web pages are not part of the API document
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		// Unknown paths and methods, and paths that try to climb out of a request ID, are
		// meant to be absent; their error answers are checked by the tests that send them.
		if a.code != http.StatusNotFound && a.code != http.StatusMethodNotAllowed && !strings.Contains(req.URL.Path, "/../") {
			t.Errorf("%s %s answered %d but is not in openapi.yaml: %v", req.Method, req.URL.Path, a.code, err)
		}
		return
	}
	input := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true},
	}
	header := a.header
	if header.Get("Content-Type") == "" && a.body == "" {
		return // HEAD and other answers without a body
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input, Status: a.code, Header: header,
		Body: io.NopCloser(strings.NewReader(a.body)), Options: input.Options,
	})
	if err != nil {
		t.Errorf("%s %s answered %d, which openapi.yaml does not describe: %v\n%s", req.Method, req.URL.Path, a.code, err, a.body)
	}
}
