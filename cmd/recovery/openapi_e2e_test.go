package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/recoveryhq/recovery/docs"
)

// The end-to-end tests' answers are checked against docs/openapi.yaml:
// every call the tests make through http.DefaultClient to a path the
// document describes is recorded (a few per route and status), and after
// the tests TestMain validates each answer's status, content type and body
// against the document. An answer the document does not describe fails
// the run: the document is what integrations build on.

// exchange is one recorded call.
type exchange struct {
	method, rawURL string
	status         int
	header         http.Header
	body           []byte
}

// answers records the exchanges; at most perKey per method, path shape
// and status.
type answers struct {
	mu     sync.Mutex
	byKey  map[string]int
	list   []exchange
	perKey int
}

var recorded = &answers{byKey: map[string]int{}, perKey: 8}

// recordingTransport records the answers of the API under test.
type recordingTransport struct{ next http.RoundTripper }

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || !ourAPI(req.URL) {
		return resp, err
	}
	key := fmt.Sprintf("%s %s %d", req.Method, shape(req.URL.Path), resp.StatusCode)
	recorded.mu.Lock()
	keep := recorded.byKey[key] < recorded.perKey
	recorded.byKey[key]++
	recorded.mu.Unlock()
	if !keep {
		return resp, nil
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close() //nolint:errcheck
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil
	}
	recorded.mu.Lock()
	recorded.list = append(recorded.list, exchange{method: req.Method, rawURL: req.URL.String(), status: resp.StatusCode,
		header: resp.Header.Clone(), body: body})
	recorded.mu.Unlock()
	return resp, nil
}

// ourAPI says whether u is a call to the service under test (loopback,
// one of its documented prefixes), not to a provider stub.
func ourAPI(u *url.URL) bool {
	h := u.Hostname()
	if h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return false
	}
	for _, p := range []string{"/v1/", "/healthz", "/readyz", "/openapi.json"} {
		if strings.HasPrefix(u.Path, p) {
			return true
		}
	}
	return false
}

// shape replaces the ids in a path with *, so that the recording keeps a
// few answers per route rather than per incident.
func shape(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if i > 2 && s != "" && strings.ContainsAny(s, "0123456789") {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, "/")
}

// installResponseRecorder makes http.DefaultClient record answers.
func installResponseRecorder() {
	next := http.DefaultTransport
	http.DefaultClient.Transport = recordingTransport{next: next}
}

// openAPIRouter loads docs/openapi.yaml (as served) into a router.
func openAPIRouter() (routers.Router, error) {
	raw, err := docs.OpenAPIJSON()
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	doc.Servers = nil // any host: the tests' listeners
	return legacy.NewRouter(doc)
}

// validateAnswer checks one answer against the document; a path the
// document does not know is not this check's business (the route test
// finds routes missing from the document).
func validateAnswer(router routers.Router, x exchange) error {
	req, err := http.NewRequest(x.method, x.rawURL, nil)
	if err != nil {
		return err
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		return nil //nolint:nilerr // not a documented path
	}
	if x.status == http.StatusNotFound && bytes.Contains(x.body, []byte(`/problems/no-api"`)) {
		return nil // a relay or a worker alone: it serves no API, and says so
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 x.status,
		Header:                 x.header,
		Body:                   io.NopCloser(bytes.NewReader(x.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// checkRecordedAnswers validates every recorded answer and reports the
// failures on stderr; it returns how many failed.
func checkRecordedAnswers() int {
	recorded.mu.Lock()
	list := recorded.list
	recorded.mu.Unlock()
	if len(list) == 0 {
		return 0
	}
	router, err := openAPIRouter()
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		return 1
	}
	var failed []string
	checked := map[string]bool{}
	for _, x := range list {
		u, _ := url.Parse(x.rawURL)
		key := fmt.Sprintf("%s %s %d", x.method, shape(u.Path), x.status)
		checked[key] = true
		if err := validateAnswer(router, x); err != nil {
			body := string(x.body)
			if len(body) > 300 {
				body = body[:300] + "…"
			}
			failed = append(failed, fmt.Sprintf("%s: %v\n    body: %s", key, oneLine(err), body))
		}
	}
	sort.Strings(failed)
	fmt.Fprintf(os.Stderr, "openapi: %d answers of %d kinds checked against docs/openapi.yaml, %d do not match\n",
		len(list), len(checked), len(failed))
	for _, f := range failed {
		fmt.Fprintln(os.Stderr, "  "+f)
	}
	return len(failed)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// TestOpenAPIDocumentIsValid loads docs/openapi.yaml as it is served and
// validates it as OpenAPI 3.1, so that a mistake in it shows at once, not
// only after the end-to-end runs.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	if _, err := openAPIRouter(); err != nil {
		t.Fatal(err)
	}
}
