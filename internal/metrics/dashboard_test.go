package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// dashboardFile is the Grafana dashboard of the recovery_ series.
const dashboardFile = "../../deploy/grafana/recovery.json"

// scrapeLabels are the labels Prometheus adds to every series it scrapes:
// a query may group or filter by them whatever the metric.
var scrapeLabels = []string{"job", "instance"}

// registered returns every metric New registers, with the database
// gauges of WatchDatabase, by name, each with its label names.
func registered(t *testing.T) map[string][]string {
	t.Helper()
	m := New()
	m.WatchDatabase(func(context.Context) (Gauges, error) { return Gauges{}, nil })
	ch := make(chan *prometheus.Desc)
	go func() {
		m.Registry.Describe(ch)
		close(ch)
	}()
	// Desc{fqName: "…", help: "…", unit: "…", constLabels: {…}, variableLabels: {a,b}}
	nameRe := regexp.MustCompile(`^Desc\{fqName: "([^"]+)"`)
	labelsRe := regexp.MustCompile(`variableLabels: \{([^}]*)\}\}$`)
	out := map[string][]string{}
	for d := range ch {
		s := d.String()
		n, l := nameRe.FindStringSubmatch(s), labelsRe.FindStringSubmatch(s)
		if n == nil || l == nil {
			t.Fatalf("cannot read the name and labels of %s: has prometheus.Desc.String changed?", s)
		}
		var labels []string
		for _, v := range strings.Split(l[1], ",") {
			if v = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(v), "c("), ")"); v != "" {
				labels = append(labels, v)
			}
		}
		out[n[1]] = labels
	}
	// The reading above must see what metrics.go declares, or the checks
	// below would pass on nothing.
	if got := out["recovery_http_requests_total"]; !slices.Equal(got, []string{"route", "method", "code"}) {
		t.Fatalf("recovery_http_requests_total has labels %v, want [route method code]: is the reading of the registry still right?", got)
	}
	if _, ok := out["recovery_approvals_waiting"]; !ok {
		t.Fatal("recovery_approvals_waiting is not registered: does WatchDatabase still register the database gauges?")
	}
	return out
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID      string `json:"refId"`
		Expr       string `json:"expr"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type variable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query string `json:"query"`
}

var (
	metricRe   = regexp.MustCompile(`recovery_[a-zA-Z0-9_:]*`)
	groupingRe = regexp.MustCompile(`\b(by|without)\s*\(([^)]*)\)`)
	matcherRe  = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*`)
)

// ref is one use of a metric in an expression.
type ref struct {
	name   string // as written, e.g. recovery_x_bucket
	metric string // the registered metric, e.g. recovery_x ("" when none)
	start  int    // offset in the expression
	labels []string
}

// base finds the registered metric a series name belongs to: the name
// itself, or a histogram's name without _bucket, _sum or _count.
func base(name string, known map[string][]string) string {
	if _, ok := known[name]; ok {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(name, suffix); ok {
			if _, ok := known[b]; ok {
				return b
			}
		}
	}
	return ""
}

// refs finds every recovery_ series an expression names, with the label
// names of its {…} matchers.
func refs(expr string, known map[string][]string) ([]ref, error) {
	var out []ref
	for _, loc := range metricRe.FindAllStringIndex(expr, -1) {
		if loc[0] > 0 && isIdent(expr[loc[0]-1]) {
			continue // inside another identifier
		}
		r := ref{name: expr[loc[0]:loc[1]], start: loc[0]}
		r.metric = base(r.name, known)
		rest := strings.TrimLeft(expr[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "{") {
			labels, err := matcherLabels(rest)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.name, err)
			}
			r.labels = labels
		}
		out = append(out, r)
	}
	return out, nil
}

func isIdent(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// matcherLabels reads the label names of a selector's {…}, which s begins
// with; values are quoted strings that may hold anything.
func matcherLabels(s string) ([]string, error) {
	var labels []string
	i := 1
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			return nil, fmt.Errorf("unterminated {")
		}
		if s[i] == '}' {
			return labels, nil
		}
		m := matcherRe.FindStringSubmatch(s[i:])
		if m == nil {
			return nil, fmt.Errorf("cannot read the matcher at %q", s[i:])
		}
		labels = append(labels, m[1])
		i += len(m[0])
		if i >= len(s) || (s[i] != '"' && s[i] != '\'' && s[i] != '`') {
			return nil, fmt.Errorf("label %s: want a quoted value", m[1])
		}
		q := s[i]
		i++
		for i < len(s) && s[i] != q {
			if s[i] == '\\' && q != '`' {
				i++
			}
			i++
		}
		if i >= len(s) {
			return nil, fmt.Errorf("label %s: unterminated value", m[1])
		}
		i++
	}
}

// group finds the parenthesised expression a by or without clause
// applies to: the one after it (sum by (a) (x)) or before it (sum (x) by
// (a)). It returns its bounds in expr.
func group(expr string, clauseStart, clauseEnd int) (int, int, error) {
	after := clauseEnd
	for after < len(expr) && expr[after] == ' ' {
		after++
	}
	if after < len(expr) && expr[after] == '(' {
		depth := 0
		for i := after; i < len(expr); i++ {
			switch expr[i] {
			case '(':
				depth++
			case ')':
				if depth--; depth == 0 {
					return after, i + 1, nil
				}
			}
		}
		return 0, 0, fmt.Errorf("unbalanced parentheses after %q", expr[clauseStart:clauseEnd])
	}
	before := clauseStart - 1
	for before >= 0 && expr[before] == ' ' {
		before--
	}
	if before >= 0 && expr[before] == ')' {
		depth := 0
		for i := before; i >= 0; i-- {
			switch expr[i] {
			case ')':
				depth++
			case '(':
				if depth--; depth == 0 {
					return i, before + 1, nil
				}
			}
		}
	}
	return 0, 0, fmt.Errorf("cannot find what %q groups", expr[clauseStart:clauseEnd])
}

// problems lists what is wrong with a dashboard: invalid JSON, a missing
// part of the model, a recovery_ series that no registered metric has, a
// label that its metric does not carry, a registered metric no panel shows.
func problems(raw []byte, known map[string][]string) []string {
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return []string{"not a valid JSON dashboard: " + err.Error()}
	}
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if d.UID != "recovery" || d.Title != "Recovery" {
		bad("uid %q and title %q: want recovery and Recovery (links and provisioning use them)", d.UID, d.Title)
	}
	if d.SchemaVersion < 36 {
		bad("schemaVersion %d: want 36 or later", d.SchemaVersion)
	}
	if !slices.Contains(d.Templating.List, variable{Name: "datasource", Type: "datasource", Query: "prometheus"}) {
		bad("no datasource template variable named datasource of type prometheus")
	}
	used := map[string]bool{}
	ids := map[int]string{}
	var walk func(ps []panel, nested bool)
	walk = func(ps []panel, nested bool) {
		for _, p := range ps {
			name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if prev, ok := ids[p.ID]; ok {
				bad("%s: id %d is also %s", name, p.ID, prev)
			}
			ids[p.ID] = name
			if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				bad("%s: needs a gridPos within 24 columns", name)
			}
			switch p.Type {
			case "row":
				if len(p.Targets) > 0 {
					bad("%s: a row has no queries", name)
				}
				walk(p.Panels, true)
				continue
			case "timeseries", "stat":
			default:
				bad("%s: type %q, want timeseries or stat", name, p.Type)
			}
			if len(p.Panels) > 0 && !nested {
				bad("%s: only rows hold panels", name)
			}
			if len(p.Targets) == 0 {
				bad("%s: no queries", name)
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				bad("%s: its datasource must be ${datasource}", name)
			}
			for _, tg := range p.Targets {
				where := fmt.Sprintf("%s, query %s", name, tg.RefID)
				if tg.Datasource != nil && tg.Datasource.UID != "${datasource}" {
					bad("%s: its datasource must be ${datasource}", where)
				}
				if strings.TrimSpace(tg.Expr) == "" {
					bad("%s: empty expression", where)
					continue
				}
				out = append(out, checkExpr(where, tg.Expr, known, used)...)
			}
		}
	}
	walk(d.Panels, false)
	out = append(out, overlaps(d.Panels)...)
	for name := range known {
		if strings.HasPrefix(name, "recovery_") && !used[name] {
			bad("%s is registered but no panel shows it", name)
		}
	}
	sort.Strings(out)
	return out
}

// checkExpr checks the series and labels of one query.
func checkExpr(where, expr string, known map[string][]string, used map[string]bool) []string {
	var out []string
	rs, err := refs(expr, known)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v in %s", where, err, expr)}
	}
	hasLabel := func(r ref, l string) bool {
		return slices.Contains(known[r.metric], l) || slices.Contains(scrapeLabels, l) ||
			l == "le" && strings.HasSuffix(r.name, "_bucket")
	}
	for _, r := range rs {
		if r.metric == "" {
			out = append(out, fmt.Sprintf("%s: %s is no metric the service registers (internal/metrics)", where, r.name))
			continue
		}
		used[r.metric] = true
		for _, l := range r.labels {
			if !hasLabel(r, l) {
				out = append(out, fmt.Sprintf("%s: %s has no label %q (its labels: %v)", where, r.metric, l, known[r.metric]))
			}
		}
	}
	for _, m := range groupingRe.FindAllStringSubmatchIndex(expr, -1) {
		from, to, err := group(expr, m[0], m[1])
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		for l := range strings.SplitSeq(expr[m[4]:m[5]], ",") {
			if l = strings.TrimSpace(l); l == "" {
				continue
			}
			for _, r := range rs {
				if r.start >= from && r.start < to && r.metric != "" && !hasLabel(r, l) {
					out = append(out, fmt.Sprintf("%s: %s groups by %q, which %s does not carry (its labels: %v)",
						where, expr[m[0]:m[1]], l, r.name, known[r.metric]))
				}
			}
		}
	}
	return out
}

// overlaps names top-level panels that cover one another.
func overlaps(ps []panel) []string {
	var out []string
	for i, a := range ps {
		for _, b := range ps[i+1:] {
			if a.GridPos == nil || b.GridPos == nil {
				continue
			}
			ga, gb := a.GridPos, b.GridPos
			if ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H {
				out = append(out, fmt.Sprintf("panels %q and %q overlap", a.Title, b.Title))
			}
		}
	}
	return out
}

// TestDashboardShowsRegisteredMetrics holds deploy/grafana/recovery.json to
// the metrics the service registers: every recovery_ series a panel
// queries exists, with the labels the query uses, and every metric shows
// somewhere.
func TestDashboardShowsRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems(raw, registered(t)) {
		t.Error(p)
	}
}

// TestDashboardCheckFindsMistakes makes sure the check above is not
// vacuous: each mistake made to a copy of the dashboard is reported.
func TestDashboardCheckFindsMistakes(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	known := registered(t)
	if p := problems(raw, known); len(p) > 0 {
		t.Skip("the dashboard has problems of its own (see TestDashboardShowsRegisteredMetrics)")
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"unknown metric", "max(recovery_approvals_waiting)", "max(recovery_approvals_pending)",
			"recovery_approvals_pending is no metric"},
		{"unknown histogram", "recovery_provider_request_duration_seconds_bucket", "recovery_provider_latency_seconds_bucket",
			"recovery_provider_latency_seconds_bucket is no metric"},
		{"label in a matcher", `{outcome=\"refused\"}`, `{result=\"refused\"}`, `has no label "result"`},
		{"label in by", "sum by (source, outcome)", "sum by (source, status)", `groups by "status"`},
		{"le without buckets", "sum by (le) (rate(recovery_ingest_commit_events_bucket", "sum by (le) (rate(recovery_ingest_commit_events_sum",
			`groups by "le"`},
		{"invalid JSON", `"panels": [`, `"panels": [,`, "not a valid JSON dashboard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken := strings.Replace(string(raw), tc.from, tc.to, 1)
			if broken == string(raw) {
				t.Fatalf("the dashboard no longer contains %s: pick another mistake to make", tc.from)
			}
			got := problems([]byte(broken), known)
			if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("replacing %s with %s: problems %q, want one saying %q", tc.from, tc.to, got, tc.want)
			}
		})
	}
	t.Run("missing metric", func(t *testing.T) {
		delete(known, "recovery_approvals_waiting")
		known["recovery_approvals_pending"] = nil
		got := problems(raw, known)
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, "recovery_approvals_pending is registered but") }) {
			t.Errorf("problems %q, want one naming recovery_approvals_pending as not shown", got)
		}
	})
}
