package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/dsr-project/dsr/api"
)

// openAPIDoc is the part of the document these tests read.
type openAPIDoc struct {
	OpenAPI    string                    `yaml:"openapi"`
	Paths      map[string]map[string]any `yaml:"paths"`
	Components map[string]map[string]any `yaml:"components"`
}

func loadOpenAPI(t *testing.T) (openAPIDoc, any) {
	t.Helper()
	var doc openAPIDoc
	if err := yaml.Unmarshal(api.OpenAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	var whole any
	if err := yaml.Unmarshal(api.OpenAPIDocument, &whole); err != nil {
		t.Fatal(err)
	}
	return doc, whole
}

var echoParam = regexp.MustCompile(`:([a-z_]+)`)

// operations lists "METHOD /path" for every operation of the document, with Echo's
// :name parameters.
func (d openAPIDoc) operations() map[string]map[string]any {
	ops := map[string]map[string]any{}
	for path, item := range d.Paths {
		echoPath := regexp.MustCompile(`\{([a-z_]+)\}`).ReplaceAllString(path, ":$1")
		for method, op := range item {
			if method == "parameters" {
				continue
			}
			ops[strings.ToUpper(method)+" "+echoPath], _ = op.(map[string]any)
		}
	}
	return ops
}

func TestOpenAPIDocumentDescribesExactlyTheRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	ops := doc.operations()
	h := newHarness(t, true, withDRP)
	registered := map[string]bool{}
	for _, r := range h.server.Routes() {
		if api.IsPagePath(r.Path) {
			continue // web pages answer HTML; the access matrix covers them
		}
		key := r.Method + " " + r.Path
		registered[key] = true
		if ops[key] == nil {
			t.Errorf("route %s is not in openapi.yaml (as %s)", key, echoParam.ReplaceAllString(r.Path, "{$1}"))
		}
	}
	for key := range ops {
		if !registered[key] {
			t.Errorf("openapi.yaml describes %s, which the server does not register", key)
		}
	}
}

func TestOpenAPIErrorAnswersShareTheErrorSchema(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	for key, op := range doc.operations() {
		if !strings.Contains(key, "/api/v1/") || strings.Contains(key, "openapi") {
			continue
		}
		responses, _ := op["responses"].(map[string]any)
		if responses["default"] == nil {
			t.Errorf("%s has no default (error) answer", key)
		}
		for status, r := range responses {
			if status[0] == '4' || status[0] == '5' || status == "default" {
				if ref, _ := r.(map[string]any)["$ref"].(string); ref != "#/components/responses/Error" {
					t.Errorf("%s answers %s with %v, want the Error response", key, status, r)
				}
			}
		}
	}
}

func TestOpenAPIReferencesResolve(t *testing.T) {
	doc, whole := loadOpenAPI(t)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if ref, ok := e.(string); ok && k == "$ref" {
					parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
					if len(parts) != 2 || doc.Components[parts[0]][parts[1]] == nil {
						t.Errorf("$ref %s does not resolve", ref)
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(whole)
}

func TestOpenAPIDocumentIsServedAsYAMLAndJSON(t *testing.T) {
	h := newHarness(t, false)
	y := h.do(http.MethodGet, "/api/v1/openapi.yaml", "", "", "")
	if y.code != http.StatusOK || y.body != string(api.OpenAPIDocument) || !strings.HasPrefix(y.header.Get("Content-Type"), "application/yaml") {
		t.Errorf("openapi.yaml = %d %s", y.code, y.header.Get("Content-Type"))
	}
	j := h.do(http.MethodGet, "/api/v1/openapi.json", "", "", "")
	var fromJSON, fromYAML any
	if err := json.Unmarshal([]byte(j.body), &fromJSON); err != nil || j.code != http.StatusOK {
		t.Fatalf("openapi.json = %d: %v", j.code, err)
	}
	_, whole := loadOpenAPI(t)
	raw, _ := json.Marshal(whole)
	if err := json.Unmarshal(raw, &fromYAML); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, fromYAML) {
		t.Error("openapi.json is not the YAML document")
	}
}
