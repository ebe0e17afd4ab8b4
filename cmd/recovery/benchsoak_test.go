package main

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The slope is least squares over the samples that have a value.
func TestSoakSlope(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		name   string
		xs, ys []float64
		want   float64
		ok     bool
	}{
		{"a line", []float64{0, 1, 2, 3, 4}, []float64{7, 10, 13, 16, 19}, 3, true},
		{"noise around a line", []float64{0, 1, 2, 3}, []float64{1, 2, 2, 3}, 0.6, true},
		{"flat", []float64{0, 10, 20}, []float64{5, 5, 5}, 0, true},
		{"NaNs skipped", []float64{0, 1, nan, 3}, []float64{0, -2, 100, -6}, -2, true},
		{"one point", []float64{1}, []float64{1}, 0, false},
		{"one x", []float64{2, 2, 2}, []float64{1, 2, 3}, 0, false},
		{"no values", []float64{0, 1}, []float64{nan, nan}, 0, false},
	} {
		got, ok := slope(c.xs, c.ys)
		if ok != c.ok || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: slope = %v, %v; want %v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// Growth compares the mean over the first 10,000 orders with the mean over
// the last 10,000, or the first and last 10% of a run under 20,000.
func TestSoakGrowth(t *testing.T) {
	var sent, ys []float64
	for n := 1000; n <= 100000; n += 1000 {
		y := 105.0
		switch {
		case n <= 10000:
			y = 100 + float64(n%2000)/1000 // 100 and 101: mean 100.5
		case n >= 90000:
			y = 110
		}
		sent, ys = append(sent, float64(n)), append(ys, y)
	}
	pct, first, last, ok := growth(sent, ys, 100000)
	if !ok || first != 100.5 || last != 110 || math.Abs(pct-(110-100.5)/100.5*100) > 1e-9 {
		t.Errorf("100,000 orders: growth %v%% from %v to %v (%v); want %v%% from 100.5 to 110", pct, first, last, ok,
			(110-100.5)/100.5*100)
	}

	// 200 orders: windows of 20. No sample falls in the first, so the
	// first after 0 stands for it; the last holds the samples at 180 and
	// up, one of them unread.
	sent = []float64{0, 50, 100, 150, 190, 200, 200}
	ys = []float64{1, 20, 30, 40, 50, math.NaN(), 50}
	pct, first, last, ok = growth(sent, ys, 200)
	if !ok || first != 20 || last != 50 || pct != 150 {
		t.Errorf("200 orders: growth %v%% from %v to %v (%v); want 150%% from 20 to 50", pct, first, last, ok)
	}

	if _, _, _, ok := growth([]float64{0, 100}, []float64{0, 0}, 100); ok {
		t.Error("a growth from 0 was reported")
	}
	if _, _, _, ok := growth([]float64{0, 100}, []float64{math.NaN(), math.NaN()}, 100); ok {
		t.Error("a growth without values was reported")
	}
}

// The summary prints a slope per series, the growth verdicts and the end
// of the run against its targets.
func TestSoakSummary(t *testing.T) {
	o := soakOpts{orders: 100000, rate: 20, idle: 30 * time.Second}
	var samples []soakSample
	for i := range 11 {
		s := soakSample{elapsed: float64(i) * 500, sent: i * 10000, loading: true}
		for k := range s.values {
			s.values[k] = 100
		}
		s.values[sDBSize] = float64(i) * 10 * (1 << 20) // 10 MiB more per 10,000 orders
		s.values[sWorkerGoroutines] = 100 + float64(i)*10
		s.values[sOpenWorkflows] = 600
		samples = append(samples, s)
	}
	end := samples[len(samples)-1]
	end.loading, end.elapsed = false, end.elapsed+90
	end.values[sOpenWorkflows], end.values[sPending] = 3, 0
	samples = append(samples, end)
	var b bytes.Buffer
	summarise(&b, samples, o)
	out := b.String()
	for _, want := range []string{
		"slope  database size (MiB) per 10,000 orders                +10.00",
		"slope  API RSS (MiB) per 10,000 orders                       +0.00",
		"growth: the mean of the samples over the last 10,000 of the orders against the first 10,000",
		"target API RSS growth, first-last 10,000 (%)                 0.0  (target <= 10: meets)",
		"target worker goroutines growth, first-last 10,000 (%)     ",
		"(target <= 10: BELOW)",
		"target open workflows at the end (peak 600)                  3.0  (target <= 10: meets)",
		"target pending events at the end                             0.0  (target <= 0: meets)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary has no %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "slope  ") != int(nSeries) {
		t.Errorf("the summary has %d slopes, want %d:\n%s", strings.Count(out, "slope  "), nSeries, out)
	}
	if strings.Contains(out, "note:") {
		t.Errorf("a long run was told its first window is its climb:\n%s", out)
	}
}

// metricValues reads unlabelled metrics from Prometheus' text format.
func TestSoakMetricValues(t *testing.T) {
	body := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
go_goroutines_extra{x="y"} 7
go_memstats_heap_inuse_bytes 2.4576e+07
process_resident_memory_bytes 1.59277056e+08
`
	got, err := metricValues(strings.NewReader(body), soakMetrics)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{1.59277056e+08, 2.4576e+07, 42}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := metricValues(strings.NewReader("go_goroutines 1\n"), soakMetrics); err == nil {
		t.Error("missing metrics were not an error")
	}
}

// svgDoc is what the tests read of soak.svg.
type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	Title   string   `xml:"title"`
	Charts  []struct {
		Role     string `xml:"role,attr"`
		Title    string `xml:"title"`
		Desc     string `xml:"desc"`
		Polyline []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
		Texts []string `xml:"text"`
	} `xml:"g"`
}

// The plot is one SVG document with a titled chart per series (orders
// sent first), each line inside its chart's plot area, and no NaN written
// for the values that could not be read.
func TestSoakPlotHasAChartPerSeries(t *testing.T) {
	var samples []soakSample
	for i := range 20 {
		s := soakSample{elapsed: float64(i) * 5, sent: min(i, 12) * 100, loading: i <= 12}
		for k := range s.values {
			s.values[k] = float64(k*1000 + i*i)
		}
		s.values[sPending] = 0         // flat
		s.values[sDBSize] = math.NaN() // never read
		if i == 3 {
			s.values[sAPIRSS] = math.NaN() // one gap
		}
		samples = append(samples, s)
	}
	path := filepath.Join(t.TempDir(), "soak.svg")
	if err := writeSoakPlot(path, samples, soakOpts{orders: 1200, rate: 20, idle: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("NaN")) {
		t.Error("the plot has NaN in it")
	}
	var doc svgDoc
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the plot is not XML: %v", err)
	}
	if !strings.Contains(doc.Title, "1200 orders") {
		t.Errorf("the document's title is %q", doc.Title)
	}
	want := []string{"orders sent"}
	for _, s := range soakSeriesList {
		want = append(want, s.label)
	}
	if len(doc.Charts) != len(want) {
		t.Fatalf("%d charts, want %d (one per series)", len(doc.Charts), len(want))
	}
	for i, c := range doc.Charts {
		if c.Role != "img" || !strings.HasPrefix(c.Title, want[i]+" against elapsed") {
			t.Errorf("chart %d: role %q, title %q; want an img titled %q", i, c.Role, c.Title, want[i])
		}
		if want[i] == soakSeriesList[sDBSize].label {
			if len(c.Polyline) != 0 || c.Desc != "no values" {
				t.Errorf("the unread series has a line or says %q", c.Desc)
			}
			continue
		}
		if len(c.Polyline) != 1 {
			t.Fatalf("chart %q has %d lines", want[i], len(c.Polyline))
		}
		pts := strings.Fields(c.Polyline[0].Points)
		wantPts := len(samples)
		if want[i] == soakSeriesList[sAPIRSS].label {
			wantPts-- // the gap
		}
		if len(pts) != wantPts {
			t.Errorf("chart %q has %d points, want %d", want[i], len(pts), wantPts)
		}
		for _, p := range pts {
			xs, ys, _ := strings.Cut(p, ",")
			x, _ := strconv.ParseFloat(xs, 64)
			y, _ := strconv.ParseFloat(ys, 64)
			if x < plotLeft || x > chartW-plotRight || y < plotTop || y > chartH-plotBottom {
				t.Errorf("chart %q: point %s outside the plot area", want[i], p)
			}
		}
		if !strings.Contains(strings.Join(c.Texts, "|"), "elapsed (s)") {
			t.Errorf("chart %q has no x axis label: %q", want[i], c.Texts)
		}
	}
}

// The flags: defaults, and mistakes refused as usage errors.
func TestSoakFlags(t *testing.T) {
	o, err := parseSoakFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.orders != 100000 || o.rate != 20 || o.sample != 5*time.Second || o.idle != 30*time.Second || o.out != "" {
		t.Errorf("defaults: %+v", o)
	}
	if o.tail() != 90*time.Second {
		t.Errorf("tail %s, want 2 x idle + 30s", o.tail())
	}
	for _, args := range [][]string{{"-orders", "0"}, {"-rate", "0"}, {"-sample", "10ms"}, {"-idle", "0s"}, {"extra"}} {
		if _, err := parseSoakFlags(args); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	// `recovery bench soak` reaches them.
	err = run(t.Context(), []string{"bench", "soak", "-orders", "-1"}, func(string) string { return "" }, io.Discard, io.Discard)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "-orders") {
		t.Errorf("bench soak -orders -1: %v", err)
	}
}

// TestBenchSoakRuns: a short soak end to end against a throwaway Postgres
// and embedded Temporal, serve and worker run as processes of this test
// binary (RECOVERY_TEST_AS_MAIN): it samples, writes the CSV and the plot,
// and the orders' workflows finish and the backlog drains.
//
// Time budget: about 70 seconds (infrastructure 15 s, load 4 s, sampling
// 40 s after it).
func TestBenchSoakRuns(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o, err := parseSoakFlags([]string{"-orders", "200", "-rate", "50", "-sample", "1s", "-idle", "5s", "-out", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	o.binary, o.env = exe, []string{"RECOVERY_TEST_AS_MAIN=1"}
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := soak(t.Context(), cfg, o, &out, quietLogger()); err != nil {
		t.Fatalf("soak: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	for _, want := range []string{
		"sent 200 orders in",
		"slope  worker RSS (MiB) per 10,000 orders",
		"target API RSS growth, first-last 10% (%)",
		"target pending events at the end                             0.0  (target <= 0: meets)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the soak printed no %q", want)
		}
	}
	if line := lineWith(out.String(), "target open workflows at the end"); !strings.HasSuffix(line, "(target <= 10: meets)") {
		t.Errorf("the orders' workflows were not back near zero at the end: %q", line)
	}
	f, err := os.Open(filepath.Join(o.out, "soak.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 40 || len(rows[0]) != 3+int(nSeries) || rows[0][0] != "elapsed_s" {
		t.Fatalf("soak.csv: %d rows, header %q", len(rows), rows[0])
	}
	last := rows[len(rows)-1]
	if last[1] != "200" || last[2] != "idle" {
		t.Errorf("the last sample: %q", last)
	}
	for i, cell := range last[3:] {
		if cell == "" {
			t.Errorf("the last sample has no %s", soakSeriesList[i].column)
		}
	}
	raw, err := os.ReadFile(filepath.Join(o.out, "soak.svg"))
	if err != nil {
		t.Fatal(err)
	}
	var doc svgDoc
	if err := xml.Unmarshal(raw, &doc); err != nil || len(doc.Charts) != 1+int(nSeries) {
		t.Errorf("soak.svg: %d charts (%v)", len(doc.Charts), err)
	}
}

// lineWith is the first line of out that starts with prefix.
func lineWith(out, prefix string) string {
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
