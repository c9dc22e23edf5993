package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"
)

// OpenAPIDocument is the OpenAPI 3 description of every route, as YAML. The tests check it
// against the routes the server registers and validate answers against it.
//
//go:embed openapi.yaml
var OpenAPIDocument []byte

// openAPIJSONDocument is the same document as JSON, converted once at start.
var openAPIJSONDocument = mustYAMLToJSON(OpenAPIDocument)

func (s *Server) openAPIYAML(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", OpenAPIDocument)
}

func (s *Server) openAPIJSON(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, openAPIJSONDocument)
}

// mustYAMLToJSON converts the embedded document; a document that is not valid YAML is a
// programming error that every test run catches.
func mustYAMLToJSON(doc []byte) []byte {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		panic(fmt.Sprintf("api: openapi.yaml: %v", err))
	}
	out, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("api: openapi.yaml as JSON: %v", err))
	}
	return out
}
