package deploy_test

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/release"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	chartDir    = root + "/deploy/helm/recovery"
	releaseName = "prod" // objects are named prod-recovery-<role>
	nonroot     = 65532  // distroless's nonroot user and group
)

var roles = []string{"api", "relay", "worker"}

// kinds are the API types the chart may render, by apiVersion and kind:
// anything else fails the test.
var kinds = map[string]func() any{
	"apps/v1 Deployment":                     func() any { return &appsv1.Deployment{} },
	"batch/v1 Job":                           func() any { return &batchv1.Job{} },
	"v1 Service":                             func() any { return &corev1.Service{} },
	"networking.k8s.io/v1 Ingress":           func() any { return &networkingv1.Ingress{} },
	"policy/v1 PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2 HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
}

// rendered is what one install renders, decoded.
type rendered struct {
	deployments map[string]*appsv1.Deployment // by role
	jobs        map[string]*batchv1.Job       // by command
	services    []*corev1.Service
	ingresses   []*networkingv1.Ingress
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	hooks       map[string][]release.HookEvent // by object name
	list        []string                       // "Kind/name" of each object, in order
}

// install renders the chart as `helm install --dry-run` does without a
// cluster, with the values files and then the values given merged over
// its defaults.
func install(valueFiles []string, extra map[string]any) (*release.Release, error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	vals := map[string]any{}
	for _, f := range valueFiles {
		v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, f))
		if err != nil {
			return nil, err
		}
		vals = mergeValues(vals, v)
	}
	vals = mergeValues(vals, extra)
	inst := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	inst.DryRun, inst.ClientOnly, inst.Replace = true, true, true
	inst.ReleaseName, inst.Namespace = releaseName, "recovery"
	if inst.KubeVersion, err = chartutil.ParseKubeVersion("v1.30.0"); err != nil {
		return nil, err
	}
	return inst.Run(chrt, vals)
}

// mergeValues merges src over dst as repeated -f flags do: maps deeply,
// anything else replaced.
func mergeValues(dst, src map[string]any) map[string]any {
	out := maps.Clone(dst)
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(dm, sm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// render installs and decodes every object strictly into its API type: a
// field the type does not have (a misspelt probe, a misplaced key) fails.
func render(t *testing.T, valueFiles []string, extra map[string]any) *rendered {
	t.Helper()
	rel, err := install(valueFiles, extra)
	if err != nil {
		t.Fatalf("render with %v: %v", valueFiles, err)
	}
	r := &rendered{deployments: map[string]*appsv1.Deployment{}, jobs: map[string]*batchv1.Job{},
		hooks: map[string][]release.HookEvent{}}
	docs := splitManifest(rel.Manifest)
	for _, h := range rel.Hooks {
		r.hooks[h.Name] = h.Events
		docs = append(docs, splitManifest(h.Manifest)...)
	}
	if len(docs) == 0 {
		t.Fatal("the chart rendered nothing")
	}
	for _, doc := range docs {
		obj, err := decodeStrict(doc)
		if err != nil {
			t.Errorf("%v:\n%s", err, doc)
			continue
		}
		var meta *metaObject
		switch o := obj.(type) {
		case *appsv1.Deployment:
			meta = &metaObject{o.Kind, o.Name, o.Labels}
			r.deployments[o.Spec.Template.Labels["app.kubernetes.io/component"]] = o
		case *batchv1.Job:
			meta = &metaObject{o.Kind, o.Name, o.Labels}
			r.jobs[o.Spec.Template.Labels["app.kubernetes.io/component"]] = o
		case *corev1.Service:
			meta = &metaObject{o.Kind, o.Name, o.Labels}
			r.services = append(r.services, o)
		case *networkingv1.Ingress:
			meta = &metaObject{o.Kind, o.Name, o.Labels}
			r.ingresses = append(r.ingresses, o)
		case *policyv1.PodDisruptionBudget:
			meta = &metaObject{o.Kind, o.Name, o.Labels}
			r.pdbs = append(r.pdbs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			meta = &metaObject{o.Kind, o.Name, o.Labels}
			r.hpas = append(r.hpas, o)
		}
		for _, msg := range validation.IsDNS1123Subdomain(meta.name) {
			t.Errorf("%s %q: %s", meta.kind, meta.name, msg)
		}
		for k, v := range meta.labels {
			for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
				t.Errorf("%s %s: label %s=%s: %s", meta.kind, meta.name, k, v, msg)
			}
		}
		r.list = append(r.list, meta.kind+"/"+meta.name)
	}
	if t.Failed() {
		t.FailNow()
	}
	return r
}

type metaObject struct {
	kind, name string
	labels     map[string]string
}

// splitManifest splits a multi-document manifest, dropping empty documents.
func splitManifest(m string) []string {
	var docs []string
	for _, doc := range strings.Split("\n"+m, "\n---") {
		body := strings.TrimSpace(doc)
		nonComment := false
		for _, line := range strings.Split(body, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				nonComment = true
			}
		}
		if nonComment {
			docs = append(docs, body)
		}
	}
	return docs
}

// decodeStrict decodes one rendered document into its API type, refusing
// unknown (or differently cased) and duplicate fields.
func decodeStrict(doc string) (any, error) {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
		return nil, err
	}
	newObj, ok := kinds[tm.APIVersion+" "+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("unexpected object %s %s", tm.APIVersion, tm.Kind)
	}
	// As the API server reads it: field names case-sensitive (encoding/json
	// would take "livenessprobe" for livenessProbe), nothing unknown,
	// nothing twice.
	js, err := yaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	obj := newObj()
	strict, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err = errors.Join(append(strict, err)...); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

// helm lint, for the default and the Cloud values: nothing above info
// (an icon is recommended, for instance).
func TestChartLint(t *testing.T) {
	cloud, err := chartutil.ReadValuesFile(filepath.Join(chartDir, "values-cloud.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, vals := range map[string]map[string]any{"default": nil, "cloud": cloud} {
		kv, _ := chartutil.ParseKubeVersion("v1.30.0")
		for _, m := range lint.AllWithKubeVersion(chartDir, vals, "recovery", kv).Messages {
			if m.Severity > support.InfoSev {
				t.Errorf("helm lint (%s values): %s", name, m)
			} else {
				t.Logf("helm lint (%s values): %s", name, m)
			}
		}
	}
}

// The decoding the chart tests rely on refuses what the API would not
// take: a misspelt field, a field at the wrong level, a duplicate.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	good := `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: x
          image: x
          %s`
	if _, err := decodeStrict(fmt.Sprintf(good, "livenessProbe: {httpGet: {path: /healthz, port: 8080}}")); err != nil {
		t.Fatalf("a valid Deployment is refused: %v", err)
	}
	for _, bad := range []string{
		"livenessprobe: {httpGet: {path: /healthz, port: 8080}}",
		"livenessProbe: {path: /healthz}",
		"readOnlyRootFilesystem: true",
		"image: y",
		"name: y",
	} {
		if _, err := decodeStrict(fmt.Sprintf(good, bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := decodeStrict("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: x}"); err == nil {
		t.Error("accepted a removed API version")
	}
}

func TestChartDefaultValues(t *testing.T) {
	r := render(t, nil, nil)
	t.Logf("rendered with the default values:\n  %s", strings.Join(r.list, "\n  "))
	checkRoles(t, r, "ghcr.io/recoveryhq/recovery:0.1.0")
	checkHooks(t, r, "migrate", "search-attributes")

	// Self-hosted Temporal in plain text; Postgres and the keys from
	// their secrets.
	for role, d := range r.deployments {
		c := d.Spec.Template.Spec.Containers[0]
		env := envOf(c)
		if v := env["TEMPORAL_ADDRESS"]; v.Value != "temporal-frontend.temporal.svc.cluster.local:7233" {
			t.Errorf("%s: TEMPORAL_ADDRESS = %q", role, v.Value)
		}
		for _, name := range []string{"TEMPORAL_TLS", "TEMPORAL_API_KEY", "TEMPORAL_TLS_CLIENT_CERT_PATH", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
			if _, ok := env[name]; ok {
				t.Errorf("%s: %s is set without TLS, an API key or tracing in the values", role, name)
			}
		}
		checkSecretEnv(t, role, env, "DATABASE_URL", "recovery-database", "DATABASE_URL")
		checkFileFromSecret(t, d.Spec.Template.Spec, c, env["RECOVERY_KEYS_FILE"].Value, "recovery-keys", "keys.yaml")
		if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "recovery-secrets" {
			t.Errorf("%s: envFrom %+v, want the secret recovery-secrets", role, c.EnvFrom)
		}
	}
	if len(r.ingresses) != 0 {
		t.Errorf("an Ingress without ingress.enabled")
	}
	if r.deployments["relay"].Spec.Replicas == nil || *r.deployments["relay"].Spec.Replicas != 1 ||
		*r.deployments["worker"].Spec.Replicas != 2 {
		t.Errorf("replicas: relay %v, worker %v; want 1 and 2", r.deployments["relay"].Spec.Replicas, r.deployments["worker"].Spec.Replicas)
	}
}

func TestChartCloudValues(t *testing.T) {
	r := render(t, []string{"values-cloud.yaml"}, nil)
	t.Logf("rendered with values-cloud.yaml:\n  %s", strings.Join(r.list, "\n  "))
	checkRoles(t, r, "ghcr.io/recoveryhq/recovery:0.1.0")
	// Temporal Cloud takes search attributes through tcld or its UI.
	checkHooks(t, r, "migrate")

	for role, d := range r.deployments {
		spec := d.Spec.Template.Spec
		c := spec.Containers[0]
		env := envOf(c)
		if env["TEMPORAL_ADDRESS"].Value != "recovery-prod.a1b2c.tmprl.cloud:7233" || env["TEMPORAL_NAMESPACE"].Value != "recovery-prod.a1b2c" {
			t.Errorf("%s: Temporal %q, namespace %q", role, env["TEMPORAL_ADDRESS"].Value, env["TEMPORAL_NAMESPACE"].Value)
		}
		if env["TEMPORAL_TLS"].Value != "true" {
			t.Errorf("%s: TEMPORAL_TLS = %q, want true", role, env["TEMPORAL_TLS"].Value)
		}
		// mTLS: the client certificate and key are files of the secret.
		checkFileFromSecret(t, spec, c, env["TEMPORAL_TLS_CLIENT_CERT_PATH"].Value, "recovery-temporal-mtls", "tls.crt")
		checkFileFromSecret(t, spec, c, env["TEMPORAL_TLS_CLIENT_KEY_PATH"].Value, "recovery-temporal-mtls", "tls.key")
		if _, ok := env["TEMPORAL_API_KEY"]; ok {
			t.Errorf("%s: an API key beside the client certificate", role)
		}
		if env["RECOVERY_PUBLIC_URL"].Value != "https://recovery.example.com" {
			t.Errorf("%s: RECOVERY_PUBLIC_URL = %q", role, env["RECOVERY_PUBLIC_URL"].Value)
		}
		// Traces to the collector, each role under its own name.
		if env["OTEL_EXPORTER_OTLP_ENDPOINT"].Value != "http://otel-collector.observability.svc.cluster.local:4317" ||
			env["OTEL_SERVICE_NAME"].Value != "recovery-"+role {
			t.Errorf("%s: OTLP endpoint %q, service %q", role, env["OTEL_EXPORTER_OTLP_ENDPOINT"].Value, env["OTEL_SERVICE_NAME"].Value)
		}
	}
	if n := len(r.ingresses); n != 1 {
		t.Fatalf("%d Ingresses, want 1", n)
	}
	ing := r.ingresses[0]
	if rule := ing.Spec.Rules[0]; rule.Host != "recovery.example.com" || len(ing.Spec.TLS) != 1 ||
		ing.Spec.TLS[0].SecretName != "recovery-example-com-tls" || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("ingress: %+v", ing.Spec)
	}
	if h := r.hpas[0]; h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 3 || h.Spec.MaxReplicas != 12 {
		t.Errorf("HPA %d-%d, want 3-12", *h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
}

// The Cloud example's alternative: an API key from a secret instead of
// the client certificate.
func TestChartCloudAPIKey(t *testing.T) {
	r := render(t, []string{"values-cloud.yaml"}, map[string]any{"temporal": map[string]any{
		"address": "us-east-1.aws.api.temporal.io:7233",
		"tls":     map[string]any{"existingSecret": ""},
		"apiKey":  map[string]any{"existingSecret": "recovery-temporal-api-key"},
	}})
	checkRoles(t, r, "ghcr.io/recoveryhq/recovery:0.1.0")
	for role, d := range r.deployments {
		spec := d.Spec.Template.Spec
		env := envOf(spec.Containers[0])
		checkSecretEnv(t, role, env, "TEMPORAL_API_KEY", "recovery-temporal-api-key", "TEMPORAL_API_KEY")
		if env["TEMPORAL_TLS"].Value != "true" {
			t.Errorf("%s: TEMPORAL_TLS = %q with an API key, want true", role, env["TEMPORAL_TLS"].Value)
		}
		if _, ok := env["TEMPORAL_TLS_CLIENT_CERT_PATH"]; ok {
			t.Errorf("%s: a client certificate without tls.existingSecret", role)
		}
		for _, v := range spec.Volumes {
			if v.Name == "temporal-tls" {
				t.Errorf("%s: the TLS volume without tls.existingSecret", role)
			}
		}
	}
}

// Values the chart refuses, each with a message that says why.
func TestChartRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"misspelt role setting", map[string]any{"worker": map[string]any{"replica": 3}}, "replica"},
		{"unknown top-level value", map[string]any{"imagee": map[string]any{}}, "imagee"},
		{"no database secret", map[string]any{"database": map[string]any{"existingSecret": ""}}, "/database/existingSecret"},
		{"Temporal address without port", map[string]any{"temporal": map[string]any{"address": "temporal"}}, "address"},
		{"a chart-managed variable in env", map[string]any{"env": map[string]any{"TEMPORAL_ADDRESS": "x:1"}}, "set by the chart"},
		{"a setting that is not a variable", map[string]any{"env": map[string]any{"log-level": "debug"}}, "log-level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := install(nil, tc.values)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// checkRoles checks the Deployments and what points at them.
func checkRoles(t *testing.T, r *rendered, image string) {
	t.Helper()
	if got := slices.Sorted(maps.Keys(r.deployments)); !slices.Equal(got, roles) {
		t.Fatalf("Deployments for %v, want %v", got, roles)
	}
	known := knownVars(t)
	podLabels := map[string]labels.Set{}
	for _, role := range roles {
		d := r.deployments[role]
		name := "Deployment " + d.Name
		if d.Name != releaseName+"-recovery-"+role {
			t.Errorf("%s: want the name %s-recovery-%s", name, releaseName, role)
		}
		sel, err := metaSelector(d.Spec.Selector.MatchLabels)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: selector %v does not match its pods' labels %v", name, d.Spec.Selector, d.Spec.Template.Labels)
		}
		podLabels[role] = d.Spec.Template.Labels
		spec := d.Spec.Template.Spec
		checkPod(t, name, spec, image, known)
		c := spec.Containers[0]
		if !slices.Equal(c.Args, []string{role}) {
			t.Errorf("%s: args %v, want [%s]", name, c.Args, role)
		}
		if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 ||
			envOf(c)["RECOVERY_ADDR"].Value != "0.0.0.0:8080" {
			t.Errorf("%s: ports %+v, RECOVERY_ADDR %q; want http on 8080 where it listens", name, c.Ports, envOf(c)["RECOVERY_ADDR"].Value)
		}
		for probe, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[probe]
			if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port.String() != "http" {
				t.Errorf("%s: %s probe %+v, want GET %s on http", name, probe, p, want)
			}
		}
		if role == "worker" && (spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds <= 30) {
			t.Errorf("%s: terminationGracePeriodSeconds %v: the worker needs more than its 30s stop timeout", name, spec.TerminationGracePeriodSeconds)
		}
	}
	// Only the API's pods are behind the Service, the Ingress and the HPA.
	if len(r.services) != 1 {
		t.Fatalf("%d Services, want 1 (the API's)", len(r.services))
	}
	svc := r.services[0]
	checkSelects(t, "Service "+svc.Name, svc.Spec.Selector, podLabels, "api")
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service %s: ports %+v, want one to the pods' http port", svc.Name, svc.Spec.Ports)
	}
	for _, ing := range r.ingresses {
		for _, rule := range ing.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				if b := p.Backend.Service; b == nil || b.Name != svc.Name || b.Port.Name != svc.Spec.Ports[0].Name {
					t.Errorf("Ingress %s: backend %+v, want the Service %s", ing.Name, p.Backend, svc.Name)
				}
			}
		}
	}
	if len(r.hpas) != 1 {
		t.Fatalf("%d HorizontalPodAutoscalers, want 1 (the API's)", len(r.hpas))
	}
	hpa, api := r.hpas[0], r.deployments["api"]
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != api.Name {
		t.Errorf("HPA %s scales %+v, want the Deployment %s", hpa.Name, ref, api.Name)
	}
	if api.Spec.Replicas != nil {
		t.Errorf("Deployment %s sets replicas while its HPA owns them", api.Name)
	}
	// One PodDisruptionBudget per role, for that role's pods only.
	covered := map[string]bool{}
	for _, pdb := range r.pdbs {
		for role := range podLabels {
			if labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(podLabels[role]) {
				checkSelects(t, "PodDisruptionBudget "+pdb.Name, pdb.Spec.Selector.MatchLabels, podLabels, role)
				covered[role] = true
			}
		}
		if pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
			t.Errorf("PodDisruptionBudget %s allows nothing", pdb.Name)
		}
	}
	if len(covered) != len(roles) {
		t.Errorf("PodDisruptionBudgets cover %v, want every role", covered)
	}
}

// checkHooks checks the hook Jobs: exactly those named, run before every
// install and upgrade, migrate first.
func checkHooks(t *testing.T, r *rendered, want ...string) {
	t.Helper()
	if got := slices.Sorted(maps.Keys(r.jobs)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("Jobs %v, want %v", got, want)
	}
	known := knownVars(t)
	weights := map[string]string{}
	for cmd, j := range r.jobs {
		name := "Job " + j.Name
		a := j.Annotations
		if a["helm.sh/hook"] != "pre-install,pre-upgrade" || !strings.Contains(a["helm.sh/hook-delete-policy"], "before-hook-creation") {
			t.Errorf("%s: annotations %v, want a pre-install,pre-upgrade hook replaced on the next run", name, a)
		}
		if ev := r.hooks[j.Name]; !slices.Contains(ev, release.HookPreInstall) || !slices.Contains(ev, release.HookPreUpgrade) {
			t.Errorf("%s: Helm runs it on %v, want pre-install and pre-upgrade", name, ev)
		}
		weights[cmd] = a["helm.sh/hook-weight"]
		spec := j.Spec.Template.Spec
		checkPod(t, name, spec, "ghcr.io/recoveryhq/recovery:0.1.0", known)
		if spec.RestartPolicy != corev1.RestartPolicyNever || !slices.Equal(spec.Containers[0].Args, []string{cmd}) {
			t.Errorf("%s: restartPolicy %s, args %v; want Never and [%s]", name, spec.RestartPolicy, spec.Containers[0].Args, cmd)
		}
		if j.Spec.BackoffLimit == nil || j.Spec.ActiveDeadlineSeconds == nil {
			t.Errorf("%s: no backoffLimit or activeDeadlineSeconds: a failing hook would hold the release", name)
		}
	}
	if w, ok := weights["search-attributes"]; ok && !(atoi(weights["migrate"]) < atoi(w)) {
		t.Errorf("hook weights: migrate %s, search-attributes %s; want migrate first", weights["migrate"], w)
	}
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n) //nolint:errcheck
	return n
}

// checkPod holds a pod to the security context, image, resources and
// environment every pod of the chart has.
func checkPod(t *testing.T, name string, spec corev1.PodSpec, image string, known map[string]bool) {
	t.Helper()
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != nonroot ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v, want runAsNonRoot, runAsUser %d, seccomp RuntimeDefault", name, psc, nonroot)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a service account token it never uses", name)
	}
	if len(spec.Containers) != 1 {
		t.Errorf("%s: %d containers, want 1", name, len(spec.Containers))
	}
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		cname := name + " container " + c.Name
		sc := c.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != nonroot ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Privileged != nil && *sc.Privileged ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 ||
			sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: securityContext %+v, want non-root %d, read-only root, no privilege escalation, "+
				"capabilities dropped, seccomp RuntimeDefault", cname, sc, nonroot)
		}
		if c.Image != image {
			t.Errorf("%s: image %q, want %q", cname, c.Image, image)
		}
		for _, kind := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, lim := c.Resources.Requests[kind], c.Resources.Limits[kind]
			if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
				t.Errorf("%s: %s request %s, limit %s; want both, request within limit", cname, kind, req.String(), lim.String())
			}
		}
		seen := map[string]bool{}
		for _, e := range c.Env {
			if seen[e.Name] {
				t.Errorf("%s: %s set twice", cname, e.Name)
			}
			seen[e.Name] = true
			if !known[e.Name] {
				t.Errorf("%s: %s is no setting of the binary (docs/configuration.md) nor of envconfig", cname, e.Name)
			}
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("%s: %s comes from something other than a secret", cname, e.Name)
			}
		}
		writable := false
		for _, m := range c.VolumeMounts {
			v, ok := vols[m.Name]
			switch {
			case !ok:
				t.Errorf("%s: mounts %s, which the pod does not have", cname, m.Name)
			case v.Secret != nil && !m.ReadOnly:
				t.Errorf("%s: secret %s mounted writable", cname, m.Name)
			case v.EmptyDir != nil && m.MountPath == "/tmp":
				writable = true
			}
		}
		if !writable {
			t.Errorf("%s: no writable /tmp beside the read-only root", cname)
		}
	}
}

// checkSelects checks that selector picks the pods of role, and no other
// role's.
func checkSelects(t *testing.T, what string, selector map[string]string, pods map[string]labels.Set, role string) {
	t.Helper()
	if len(selector) == 0 {
		t.Errorf("%s: an empty selector picks every pod", what)
		return
	}
	sel := labels.SelectorFromSet(selector)
	for r, l := range pods {
		if sel.Matches(l) != (r == role) {
			t.Errorf("%s: selector %v on the %s pods (%v): matches %v, want %v", what, selector, r, l, sel.Matches(l), r == role)
		}
	}
}

func metaSelector(m map[string]string) (labels.Selector, error) {
	if len(m) == 0 {
		return nil, fmt.Errorf("empty selector")
	}
	return labels.SelectorFromSet(m), nil
}

func envOf(c corev1.Container) map[string]corev1.EnvVar {
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	return env
}

// checkSecretEnv checks that the variable comes from the secret's key.
func checkSecretEnv(t *testing.T, who string, env map[string]corev1.EnvVar, name, secret, key string) {
	t.Helper()
	e, ok := env[name]
	if !ok || e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
		e.ValueFrom.SecretKeyRef.Name != secret || e.ValueFrom.SecretKeyRef.Key != key {
		t.Errorf("%s: %s = %+v, want it from key %s of the secret %s", who, name, e, key, secret)
	}
}

// checkFileFromSecret checks that path, named by an environment variable,
// is the key of the secret as the container sees it: a read-only mount of
// a volume of that secret holding that key.
func checkFileFromSecret(t *testing.T, spec corev1.PodSpec, c corev1.Container, path, secret, key string) {
	t.Helper()
	if path == "" {
		t.Errorf("container %s: no path for key %s of the secret %s", c.Name, key, secret)
		return
	}
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.Secret == nil || v.Secret.SecretName != secret || !m.ReadOnly || m.SubPath != "" {
				continue
			}
			file := key // without items, each key is a file of its name
			if len(v.Secret.Items) > 0 {
				file = ""
				for _, it := range v.Secret.Items {
					if it.Key == key {
						file = it.Path
					}
				}
			}
			if file != "" && file == rel {
				if mode := v.Secret.DefaultMode; mode == nil || *mode&0o007 != 0 {
					t.Errorf("container %s: secret %s readable by others (mode %o)", c.Name, secret, *mode)
				}
				return
			}
		}
	}
	t.Errorf("container %s: %s is not key %s of the secret %s mounted read-only (mounts %+v)", c.Name, path, key, secret, c.VolumeMounts)
}
