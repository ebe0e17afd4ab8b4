package deploy_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository's root: tests run in deploy/.
const root = ".."

// readFile reads a file of the repository, relative to its root.
func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// envconfigVars are the Temporal client settings of
// go.temporal.io/sdk/contrib/envconfig that the chart sets (TLS and API
// key, for Temporal Cloud) beyond docs/configuration.md's table.
var envconfigVars = []string{"TEMPORAL_API_KEY", "TEMPORAL_TLS", "TEMPORAL_TLS_CLIENT_CERT_PATH",
	"TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_NAME"}

var envName = regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")

// configVars are the variables of the "Configuration" table of
// docs/configuration.md: every setting the binary reads.
func configVars(t *testing.T) map[string]bool {
	t.Helper()
	vars := map[string]bool{}
	in := false
	sc := bufio.NewScanner(strings.NewReader(readFile(t, "docs/configuration.md")))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## Configuration"
		case in && strings.HasPrefix(line, "| `"):
			first := strings.SplitN(line, "|", 3)[1]
			for _, m := range envName.FindAllStringSubmatch(first, -1) {
				vars[m[1]] = true
			}
		}
	}
	if len(vars) < 40 || !vars["DATABASE_URL"] || !vars["RECOVERY_PAYLOAD_KEYS"] {
		t.Fatalf("found %d variables in the Configuration table of docs/configuration.md: is it still there?", len(vars))
	}
	return vars
}

// knownVars are the variables a deployment may set: docs/configuration.md's
// and envconfig's.
func knownVars(t *testing.T) map[string]bool {
	t.Helper()
	vars := configVars(t)
	for _, v := range envconfigVars {
		vars[v] = true
	}
	return vars
}
