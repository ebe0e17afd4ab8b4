package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Every route the router registers is in docs/openapi.yaml, with its
// method, and the document names no route the router lacks; the server
// serves it as JSON.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	s := matrixServer()
	_, routes := s.build()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != 200 || doc.OpenAPI != "3.1.0" {
		t.Fatalf("GET /openapi.json: %d, %v, openapi %q", resp.StatusCode, err, doc.OpenAPI)
	}
	registered := map[string]bool{}
	for _, r := range routes {
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok { // the catch-all 404
			continue
		}
		registered[strings.ToLower(method)+" "+path] = true
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s is not in docs/openapi.yaml", r.Pattern)
			continue
		}
		if _, ok := op["responses"]; !ok {
			t.Errorf("%s in docs/openapi.yaml has no responses", r.Pattern)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !registered[method+" "+path] {
				t.Errorf("docs/openapi.yaml describes %s %s, which the router does not serve", strings.ToUpper(method), path)
			}
		}
	}
}
