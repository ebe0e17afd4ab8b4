package deploy_test

import (
	"bufio"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	enumspb "go.temporal.io/api/enums/v1"
	"sigs.k8s.io/yaml"

	"github.com/recoveryhq/recovery/workflows"
)

const composeDir = root + "/deploy/compose"

// requiredSecrets are what compose.yaml refuses to start without.
var requiredSecrets = map[string]string{
	"POSTGRES_PASSWORD":     "pg-superuser-password",
	"RECOVERY_DB_PASSWORD":  "recovery-db-password",
	"RECOVERY_LINK_SECRET":  "link-secret-0123456789",
	"RECOVERY_PAYLOAD_KEYS": "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}

// loadCompose loads compose.yaml as `docker compose --env-file
// example.env config` does, with env set over the file's values.
func loadCompose(env map[string]string) (*types.Project, error) {
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(composeDir, "compose.yaml")},
		cli.WithWorkingDirectory(composeDir),
		cli.WithEnv(kv), // before the file: Compose lets the environment win
		cli.WithEnvFiles(filepath.Join(composeDir, "example.env")),
		cli.WithDotEnv,
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

// Compose refuses to start, naming the setting, while a required secret
// of example.env is still empty.
func TestComposeRequiresSecrets(t *testing.T) {
	for name := range requiredSecrets {
		env := maps.Clone(requiredSecrets)
		delete(env, name)
		_, err := loadCompose(env)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: err = %v, want one naming it", name, err)
		}
	}
}

func TestCompose(t *testing.T) {
	p, err := loadCompose(requiredSecrets)
	if err != nil {
		t.Fatalf("load compose.yaml with example.env: %v", err)
	}
	if p.Name != "recovery" {
		t.Errorf("project name %q", p.Name)
	}
	wantServices := []string{"api", "migrate", "postgres", "relay", "temporal", "temporal-namespace",
		"temporal-schema", "temporal-ui", "worker"}
	if got := slices.Sorted(maps.Keys(p.Services)); !slices.Equal(got, wantServices) {
		t.Fatalf("services %v, want %v", got, wantServices)
	}

	// What waits for what: each start waits until the step before is
	// healthy, or done.
	const healthy, done = types.ServiceConditionHealthy, types.ServiceConditionCompletedSuccessfully
	wantDeps := map[string]map[string]string{
		"postgres":           {},
		"temporal-schema":    {"postgres": healthy},
		"temporal":           {"temporal-schema": done},
		"temporal-namespace": {"temporal": healthy},
		"temporal-ui":        {"temporal": healthy},
		"migrate":            {"postgres": healthy},
		"api":                {"migrate": done},
		"relay":              {"migrate": done, "temporal-namespace": done},
		"worker":             {"migrate": done, "temporal-namespace": done},
	}
	for name, want := range wantDeps {
		got := map[string]string{}
		for dep, d := range p.Services[name].DependsOn {
			got[dep] = d.Condition
			target := p.Services[dep]
			switch d.Condition {
			case healthy:
				if target.HealthCheck == nil || target.HealthCheck.Disable || len(target.HealthCheck.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
				}
			case done:
				if target.Restart != "no" {
					t.Errorf("%s waits for %s to complete, which restarts (%q)", name, dep, target.Restart)
				}
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s depends on %v, want %v", name, got, want)
		}
	}
	for name, test := range map[string][]string{
		"postgres": {"CMD", "pg_isready", "-h", "127.0.0.1", "-U", "postgres", "-d", "recovery"},
		"temporal": {"CMD", "nc", "-z", "localhost", "7233"},
		"api":      {"CMD", "/recovery", "healthcheck"},
		"relay":    {"CMD", "/recovery", "healthcheck"},
		"worker":   {"CMD", "/recovery", "healthcheck"},
	} {
		hc := p.Services[name].HealthCheck
		if hc == nil || hc.Disable || !slices.Equal([]string(hc.Test), test) || hc.Interval == nil || hc.Timeout == nil {
			t.Errorf("%s: healthcheck %+v, want %v with an interval and a timeout", name, hc, test)
		}
	}

	checkRecoveryServices(t, p)
	checkTemporalServices(t, p)
	checkExampleEnv(t)
}

// checkRecoveryServices checks the four services of Recovery's image.
func checkRecoveryServices(t *testing.T, p *types.Project) {
	t.Helper()
	known := knownVars(t)
	for name, cmd := range map[string]string{"migrate": "migrate", "api": "api", "relay": "relay", "worker": "worker"} {
		s := p.Services[name]
		if !slices.Equal([]string(s.Command), []string{cmd}) {
			t.Errorf("%s: command %v, want [%s]", name, s.Command, cmd)
		}
		if s.Image != "recovery:local" || s.Build == nil || filepath.Clean(s.Build.Context) != mustAbs(t, root) ||
			s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("%s: image %q, build %+v; want recovery:local built from the repository's Dockerfile", name, s.Image, s.Build)
		}
		if !s.ReadOnly || !slices.Equal(s.CapDrop, []string{"ALL"}) || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") ||
			s.User != "" && s.User != "65532" && s.User != "nonroot" {
			t.Errorf("%s: read_only %v, cap_drop %v, security_opt %v, user %q; want the image's nonroot user, "+
				"a read-only root, no capabilities, no new privileges", name, s.ReadOnly, s.CapDrop, s.SecurityOpt, s.User)
		}
		if !slices.Contains(s.Tmpfs, "/tmp") {
			t.Errorf("%s: no /tmp beside the read-only root", name)
		}
		for k := range s.Environment {
			if !known[k] {
				t.Errorf("%s: %s is no setting of the binary (docs/configuration.md)", name, k)
			}
		}
		env := func(k string) string {
			if v := s.Environment[k]; v != nil {
				return *v
			}
			return ""
		}
		if env("DATABASE_URL") != "postgres://recovery:recovery-db-password@postgres:5432/recovery?sslmode=disable" ||
			env("TEMPORAL_ADDRESS") != "temporal:7233" || env("TEMPORAL_NAMESPACE") != "recovery" ||
			env("RECOVERY_ADDR") != "0.0.0.0:8080" || env("RECOVERY_PAYLOAD_KEYS") != requiredSecrets["RECOVERY_PAYLOAD_KEYS"] {
			t.Errorf("%s: DATABASE_URL %q, TEMPORAL_ADDRESS %q, TEMPORAL_NAMESPACE %q, RECOVERY_ADDR %q, RECOVERY_PAYLOAD_KEYS %q",
				name, env("DATABASE_URL"), env("TEMPORAL_ADDRESS"), env("TEMPORAL_NAMESPACE"), env("RECOVERY_ADDR"), env("RECOVERY_PAYLOAD_KEYS"))
		}
	}
	if p.Services["migrate"].Restart != "no" || p.Services["migrate"].HealthCheck == nil || !p.Services["migrate"].HealthCheck.Disable {
		t.Errorf("migrate: a one-shot, without the serving roles' healthcheck")
	}
	if ports := p.Services["api"].Ports; len(ports) != 1 || ports[0].Target != 8080 || ports[0].Published != "8080" {
		t.Errorf("api: ports %+v, want 8080 published", ports)
	}
	for _, name := range []string{"relay", "worker", "migrate"} {
		if len(p.Services[name].Ports) > 0 {
			t.Errorf("%s publishes %+v: only the API is reached from outside", name, p.Services[name].Ports)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "Dockerfile")); err != nil {
		t.Error(err)
	}
}

// checkTemporalServices checks the server, its schema job and its
// namespace job against what the repository runs in dev.
func checkTemporalServices(t *testing.T, p *types.Project) {
	t.Helper()
	server := moduleDir(t, "go.temporal.io/server")
	version := strings.TrimPrefix(filepath.Base(server), "server@v")
	for name, image := range map[string]string{
		"temporal":           "temporalio/server:" + version,
		"temporal-schema":    "temporalio/admin-tools:" + version,
		"temporal-namespace": "temporalio/admin-tools:" + version,
	} {
		if p.Services[name].Image != image {
			t.Errorf("%s: image %q, want %q: the server dev embeds (go.mod)", name, p.Services[name].Image, image)
		}
	}

	// The schema job sets up both databases from the schema directories
	// the admin-tools image copies from the server's schema/.
	schema := strings.Join(p.Services["temporal-schema"].Command, " ")
	for db, dir := range map[string]string{"temporal": "temporal", "temporal_visibility": "visibility"} {
		versioned := "/etc/temporal/schema/postgresql/v12/" + dir + "/versioned"
		for _, step := range []string{"--db " + db + " create-database", "--db " + db + " setup-schema -v 0.0",
			"--db " + db + " update-schema -d " + versioned} {
			if !strings.Contains(schema, "temporal-sql-tool "+step) {
				t.Errorf("temporal-schema: no `temporal-sql-tool %s`", step)
			}
		}
		if _, err := os.Stat(filepath.Join(server, strings.TrimPrefix(versioned, "/etc/temporal/"))); err != nil {
			t.Errorf("temporal-schema: %v", err)
		}
	}
	if env := p.Services["temporal-schema"].Environment; env["SQL_PLUGIN"] == nil || *env["SQL_PLUGIN"] != "postgres12" {
		t.Errorf("temporal-schema: SQL_PLUGIN %v, want postgres12", env["SQL_PLUGIN"])
	}
	if env := p.Services["temporal"].Environment; env["DB"] == nil || *env["DB"] != "postgres12" {
		t.Errorf("temporal: DB %v, want postgres12", env["DB"])
	}

	// The namespace job registers exactly the search attributes the
	// workflows set, all of them Keyword as they are declared.
	ns := p.Services["temporal-namespace"]
	var want []string
	for name, typ := range workflows.SearchAttributes {
		want = append(want, name)
		if typ != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s is %s: the namespace job registers Keyword", name, typ)
		}
	}
	got := strings.Fields(*ns.Environment["SEARCH_ATTRIBUTES"])
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("temporal-namespace registers %v, the workflows set %v", got, want)
	}
	script := strings.Join(ns.Command, " ")
	for _, s := range []string{"temporal operator namespace create --namespace \"$TEMPORAL_NAMESPACE\"",
		"temporal operator search-attribute create --namespace \"$TEMPORAL_NAMESPACE\" --name \"$sa\" --type Keyword",
		"for sa in $SEARCH_ATTRIBUTES"} {
		if !strings.Contains(script, s) {
			t.Errorf("temporal-namespace: no %q in %q", s, script)
		}
	}

	// Every dynamic config key is one the server knows.
	var dc map[string]any
	if err := yaml.Unmarshal([]byte(p.Configs["temporal-dynamicconfig"].Content), &dc); err != nil || len(dc) == 0 {
		t.Fatalf("temporal-dynamicconfig: %v", err)
	}
	consts, err := os.ReadFile(filepath.Join(server, "common/dynamicconfig/constants.go"))
	if err != nil {
		t.Fatal(err)
	}
	for key := range dc {
		if !strings.Contains(string(consts), `"`+key+`"`) {
			t.Errorf("dynamic config: %s is no setting of the server", key)
		}
	}
	if init := p.Configs["postgres-init"].Content; !strings.Contains(init, "PASSWORD 'recovery-db-password'") ||
		!strings.Contains(init, "CREATE DATABASE recovery OWNER recovery") {
		t.Errorf("postgres-init: %q", init)
	}
}

// The settings compose.yaml leaves out, as docs/configuration.md names them.
var notInCompose = map[string]string{
	"RECOVERY_DEV_API_KEY": "dev", "RECOVERY_DEV_PUBLIC": "dev", "RECOVERY_DATA_DIR": "dev", "RECOVERY_TEMPORAL_PORT": "dev",
	"RECOVERY_TEMPORAL_UI_PORT": "dev (compose runs the Temporal UI image)",
	"RECOVERY_ADDR":             "set by compose.yaml", "DATABASE_URL": "set by compose.yaml", "TEMPORAL_ADDRESS": "set by compose.yaml",
	"RECOVERY_CODEC_ADDR": "codec-server", "RECOVERY_CODEC_CORS_ORIGIN": "codec-server", "RECOVERY_CODEC_OIDC_ISSUER": "codec-server",
	"RECOVERY_CODEC_OIDC_AUDIENCE": "codec-server", "RECOVERY_CODEC_TLS_CERT": "codec-server", "RECOVERY_CODEC_TLS_KEY": "codec-server",
	"RECOVERY_URL": "client commands", "RECOVERY_API_KEY": "client commands", "RECOVERY_OPS_KEY": "client commands",
	"TWILIO_API_BASE": "test stubs", "SENDGRID_API_BASE": "test stubs",
	// Compose runs its own Temporal in plaintext; a secured cluster or
	// Temporal Cloud is the Helm chart's (values-cloud.yaml).
	"TEMPORAL_API_KEY": "compose's own Temporal", "TEMPORAL_TLS": "compose's own Temporal",
	"TEMPORAL_TLS_CLIENT_CERT_PATH": "compose's own Temporal", "TEMPORAL_TLS_CLIENT_KEY_PATH": "compose's own Temporal",
	"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "compose's own Temporal", "TEMPORAL_TLS_SERVER_NAME": "compose's own Temporal",
	"TEMPORAL_CONFIG_FILE": "compose's own Temporal", "TEMPORAL_PROFILE": "compose's own Temporal",
	"RECOVERY_METRICS_ADDR": "every service serves /metrics on its :8080",
}

var envLine = regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=`)

// checkExampleEnv checks that example.env documents every setting of a
// deployment, and only settings compose.yaml uses.
func checkExampleEnv(t *testing.T) {
	t.Helper()
	compose := readFile(t, "deploy/compose/compose.yaml")
	documented := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(readFile(t, "deploy/compose/example.env")))
	for sc.Scan() {
		if m := envLine.FindStringSubmatch(sc.Text()); m != nil {
			documented[m[1]] = true
			if !strings.Contains(compose, "${"+m[1]+":") && !strings.Contains(compose, "${"+m[1]+"}") {
				t.Errorf("example.env: compose.yaml does not use %s", m[1])
			}
		}
	}
	for v := range configVars(t) {
		if !documented[v] && notInCompose[v] == "" {
			t.Errorf("example.env does not document %s (docs/configuration.md); add it, or to notInCompose with why", v)
		}
	}
	for v := range notInCompose {
		if documented[v] {
			t.Errorf("example.env documents %s, which compose.yaml sets or leaves out (%s)", v, notInCompose[v])
		}
	}
}

// moduleDir is where the go command keeps a dependency of this module.
func moduleDir(t *testing.T, module string) string {
	t.Helper()
	out, err := exec.Command(goCommand(t), "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("go list -m %s: %v", module, err)
	}
	return strings.TrimSpace(string(out))
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
