package drp

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The JSON Schemas of the documents the protocol exchanges, written from the 1.0 text.
//
//go:embed schemas/*.json
var schemaFiles embed.FS

// Schema IDs, by the document each describes.
const (
	SchemaAgent            = "https://sd.datarightsprotocol.org/agent.schema.json"
	SchemaAgents           = "https://dsr.invalid/drp/agents.schema.json"
	SchemaBusiness         = "https://sd.datarightsprotocol.org/business.schema.json"
	SchemaExerciseStatus   = "https://dsr.invalid/drp/exercise-status.schema.json"
	SchemaError            = "https://dsr.invalid/drp/error.schema.json"
	SchemaAgentToken       = "https://dsr.invalid/drp/agent-token.schema.json"
	SchemaAgentInformation = "https://dsr.invalid/drp/agent-information.schema.json"
)

var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

// ValidateDocument checks a JSON document against the schema with the given ID, formats
// (date-time, uri, uuid) included.
func ValidateDocument(schemaID string, doc []byte) error {
	compileOnce.Do(func() { compiled, compileErr = compileSchemas() })
	if compileErr != nil {
		return compileErr
	}
	sch, ok := compiled[schemaID]
	if !ok {
		return fmt.Errorf("no schema %s", schemaID)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(inst)
}

func compileSchemas() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	var ids []string
	err := fs.WalkDir(schemaFiles, "schemas", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := schemaFiles.ReadFile(path)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			return fmt.Errorf("%s has no $id", path)
		}
		ids = append(ids, id)
		return c.AddResource(id, doc)
	})
	if err != nil {
		return nil, fmt.Errorf("drp schemas: %w", err)
	}
	out := map[string]*jsonschema.Schema{}
	for _, id := range ids {
		sch, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("drp schema %s: %w", id, err)
		}
		out[id] = sch
	}
	return out, nil
}
