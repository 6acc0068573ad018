package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"go.yaml.in/yaml/v3"
)

// The OpenAPI document is written by hand, in YAML (easier to read and
// review than JSON), and served as JSON, converted once at start.
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the OpenAPI 3.1 document as JSON.
func OpenAPI() []byte { return openapiJSON }

var openapiJSON = mustJSON(openapiYAML)

func mustJSON(y []byte) []byte {
	var doc map[string]any
	if err := yaml.Unmarshal(y, &doc); err != nil {
		panic(fmt.Sprintf("api: openapi.yaml: %v", err)) // a bug in the embedded file: the tests catch it
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("api: openapi.yaml as JSON: %v", err))
	}
	return b
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiJSON)
}
