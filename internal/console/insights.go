package console

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/insights"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/web"
)

// insightsView is the insights page: the period's report, its figures in
// words, and the bars of its charts (drawn as SVG by the server; the
// table beside them says the same for a screen reader or a phone).
type insightsView struct {
	From, To, GroupBy string
	GroupBys          []string
	Report            insights.Report
	Tiles             []tile
	Incidents         []bar // per group, or per kind without a grouping
	Survey            []bar
	Retention         []bar
	CSV               string
}

// tile is one figure with its label.
type tile struct{ Label, Value, Note string }

// bar is one bar of a chart: its label, value and length (0–100).
type bar struct {
	Label, Value string
	// Width is the bar's length in SVG units (at most 340), ValueX where
	// its value is written, Y its row's top.
	Width, ValueX float64
	Y, TextY      int
}

// ChartHeight is the SVG height of a chart of these bars.
func chartHeight(bs []bar) int { return len(bs) * chartRow }

// chartRow is the height of one bar's row in a chart, in SVG units.
const chartRow = 28

func bars(labels []string, values []float64, format func(float64) string) []bar {
	most := 0.0
	for _, v := range values {
		most = max(most, v)
	}
	out := make([]bar, len(labels))
	for i, l := range labels {
		w := 0.0
		if most > 0 {
			w = values[i] / most * 100
		}
		out[i] = bar{Label: l, Value: format(values[i]), Width: w * 3.4, ValueX: 216 + w*3.4, Y: i*chartRow + 4, TextY: i*chartRow + 19}
	}
	return out
}

func count(v float64) string { return fmt.Sprintf("%.0f", v) }
func percent(v float64) string {
	return fmt.Sprintf("%.0f%%", v*100)
}

func seconds(d insights.Dist) string {
	if d.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%s / %s", (time.Duration(d.P50) * time.Second).String(), (time.Duration(d.P90) * time.Second).String())
}

// insightsPage shows the insights of a period: figures, charts, a table
// per group, and the CSV of the same.
func (s *Server) insightsPage(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	q := r.URL.Query()
	v := view{Title: "Insights", User: &u}
	iv := &insightsView{From: q.Get("from"), To: q.Get("to"), GroupBy: q.Get("group_by"), GroupBys: insights.GroupBys}
	v.Insights = iv
	from, to, err := insights.ParseRange(iv.From, iv.To, s.now())
	if err == nil && iv.GroupBy != "" && !slices.Contains(insights.GroupBys, iv.GroupBy) {
		err = fmt.Errorf("group by: choose one of %s", strings.Join(insights.GroupBys, ", "))
	}
	if err != nil {
		v.Error = "Nothing shown: " + err.Error() + "."
		s.render(w, http.StatusBadRequest, "insights", v)
		return
	}
	if s.Insights == nil {
		v.Error = "This console computes no insights."
		s.render(w, http.StatusOK, "insights", v)
		return
	}
	rep, err := web.Report(r.Context(), s.Insights, from, to, iv.GroupBy)
	if err != nil {
		s.Logger.Error("console insights", "err", err)
		v.Error = "The insights cannot be computed right now; try again."
		s.render(w, http.StatusServiceUnavailable, "insights", v)
		return
	}
	if r.URL.Path == "/console/insights.csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="recovery-insights.csv"`)
		if err := insights.WriteCSV(w, rep); err != nil {
			s.Logger.Error("console insights csv", "err", err)
		}
		return
	}
	iv.Report, iv.CSV = rep, "/console/insights.csv?"+r.URL.RawQuery
	if iv.From == "" {
		iv.From = from.Format(time.DateOnly)
	}
	if iv.To == "" {
		iv.To = to.Format(time.DateOnly)
	}
	t := rep.Total
	var cost []string
	for _, m := range t.Cost {
		cost = append(cost, recovery.Money{Minor: m.Minor, Currency: m.Currency}.String())
	}
	answers := t.Survey.OW + t.Survey.HOW + t.Survey.WOW
	iv.Tiles = []tile{
		{"Incidents", fmt.Sprint(t.Incidents), ""},
		{"We spoke first", percent(t.Proactive.Rate), fmt.Sprintf("%d of %d where someone spoke", t.Proactive.Count, t.Proactive.Of)},
		{"Detection, p50 / p90", seconds(t.Detection), "from the revealing event"},
		{"First contact, p50 / p90", seconds(t.FirstContact), "from detection"},
		{"Healed on their own", fmt.Sprint(t.HealedSilently + t.HealedAfterContact), fmt.Sprintf("%d before any message", t.HealedSilently)},
		{"Offers carried out", percent(t.Offers.Acceptance), fmt.Sprintf("%d of %d; %d chosen by the customer", t.Offers.Applied, t.Offers.Made, t.Offers.ChoseSelf)},
		{"Time to a person, p50 / p90", seconds(t.TimeToPerson), fmt.Sprintf("%d request(s)", t.TimeToPerson.N)},
		{"Cost of remedies", strings.Join(cost, ", "), ""},
		{"WOW", fmt.Sprint(t.Survey.WOW), fmt.Sprintf("of %d answers", answers)},
		{"Came back within 90 days", percent(rep.Retention.WithIncident.Rate90),
			fmt.Sprintf("after an incident; %s without one", percent(rep.Retention.Without.Rate90))},
	}
	groups := rep.Groups
	if len(groups) == 0 {
		groups = []insights.Group{t}
		groups[0].Key = "all"
	}
	var labels []string
	var values []float64
	for _, g := range groups {
		labels, values = append(labels, g.Key), append(values, float64(g.Incidents))
	}
	iv.Incidents = bars(labels, values, count)
	iv.Survey = bars([]string{"OW", "HOW", "WOW"}, []float64{float64(t.Survey.OW), float64(t.Survey.HOW), float64(t.Survey.WOW)}, count)
	ret := rep.Retention
	iv.Retention = bars([]string{"With an incident, 30 days", "With an incident, 90 days", "Without, 30 days", "Without, 90 days"},
		[]float64{ret.WithIncident.Rate30, ret.WithIncident.Rate90, ret.Without.Rate30, ret.Without.Rate90}, percent)
	s.render(w, http.StatusOK, "insights", v)
}
