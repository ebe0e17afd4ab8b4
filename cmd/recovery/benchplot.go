package main

import (
	"bufio"
	"cmp"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// lineChart is one small line chart of a series against x.
type lineChart struct {
	title          string // what the chart shows, such as "API RSS (MiB)"
	xLabel, yLabel string
	xs, ys         []float64 // NaN: no value there (skipped)
	// mark is an x drawn as a dashed line and named by markLabel (NaN:
	// none).
	mark      float64
	markLabel string
}

// The charts' layout, in SVG user units.
const (
	chartW, chartH = 460, 230
	chartCols      = 2
	plotLeft       = 70 // room for the y labels
	plotRight      = 16
	plotTop        = 34 // room for the title
	plotBottom     = 46 // room for the x labels
	headingH       = 40
)

// writeSoakPlot draws soak.svg: orders sent, then each sampled series,
// against the seconds since the load began, the end of the load marked.
func writeSoakPlot(path string, samples []soakSample, o soakOpts) error {
	loadEnd := math.NaN()
	xs := make([]float64, len(samples))
	sent := make([]float64, len(samples))
	for i, s := range samples {
		xs[i], sent[i] = s.elapsed, float64(s.sent)
		if s.loading {
			loadEnd = s.elapsed
		}
	}
	charts := []lineChart{{title: "orders sent", xLabel: "elapsed (s)", yLabel: "orders", xs: xs, ys: sent,
		mark: loadEnd, markLabel: "last order"}}
	for i, ser := range soakSeriesList {
		ys := make([]float64, len(samples))
		for k, s := range samples {
			ys[k] = s.values[i] / ser.scale
		}
		charts = append(charts, lineChart{title: ser.label, xLabel: "elapsed (s)", yLabel: ser.unit,
			xs: xs, ys: ys, mark: loadEnd, markLabel: "last order"})
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("soak plot: %w", err)
	}
	heading := fmt.Sprintf("recovery bench soak: %d orders at %g/s, orders idle %s", o.orders, o.rate, o.idle)
	err = writeCharts(f, heading, charts)
	if err := cmp.Or(err, f.Close()); err != nil {
		return fmt.Errorf("soak plot %s: %w", path, err)
	}
	return nil
}

// writeCharts writes the charts as one SVG document on a white
// background, two to a row under a heading. Each chart is a group with
// its own <title> and <desc> (the range of its values), for screen
// readers and as a tooltip.
func writeCharts(w io.Writer, heading string, charts []lineChart) error {
	bw := bufio.NewWriter(w)
	rows := (len(charts) + chartCols - 1) / chartCols
	width, height := chartCols*chartW, headingH+rows*chartH
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="soak-title" font-family="sans-serif" font-size="12" fill="#222">`+"\n",
		width, height, width, height)
	fmt.Fprintf(bw, `<title id="soak-title">%s</title>`+"\n", esc(heading))
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, height)
	fmt.Fprintf(bw, `<text x="12" y="26" font-size="16" font-weight="bold">%s</text>`+"\n", esc(heading))
	for i, c := range charts {
		writeChart(bw, i, (i%chartCols)*chartW, headingH+(i/chartCols)*chartH, c)
	}
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

// writeChart draws one chart with its top left corner at (x0, y0).
func writeChart(w io.Writer, n, x0, y0 int, c lineChart) {
	pw, ph := float64(chartW-plotLeft-plotRight), float64(chartH-plotTop-plotBottom)
	xmin, xmax := extent(c.xs)
	ymin, ymax := extent(c.ys)
	// The drawn range: from zero for values that cannot be negative (so
	// that a flat line of memory does not look like a climb), padded when
	// flat, so that a constant is a line across the middle.
	ylo := ymin
	if ylo > 0 {
		ylo = 0
	}
	dxmin, dxmax := padded(xmin, xmax)
	dymin, dymax := padded(ylo, ymax)
	px := func(x float64) float64 { return plotLeft + (x-dxmin)/(dxmax-dxmin)*pw }
	py := func(y float64) float64 { return plotTop + ph - (y-dymin)/(dymax-dymin)*ph }
	id := fmt.Sprintf("chart-%d", n)
	fmt.Fprintf(w, `<g transform="translate(%d,%d)" role="img" aria-labelledby="%s-title %s-desc">`+"\n", x0, y0, id, id)
	fmt.Fprintf(w, `<title id="%s-title">%s against %s</title>`+"\n", id, esc(c.title), esc(c.xLabel))
	desc := "no values"
	if !math.IsNaN(ymin) {
		desc = fmt.Sprintf("from %s to %s %s over %s to %s %s", num(ymin), num(ymax), c.yLabel, num(xmin), num(xmax), c.xLabel)
	}
	fmt.Fprintf(w, `<desc id="%s-desc">%s</desc>`+"\n", id, esc(desc))
	fmt.Fprintf(w, `<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", plotLeft, esc(c.title))
	fmt.Fprintf(w, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="#fff" stroke="#888"/>`+"\n", plotLeft, plotTop, pw, ph)
	if !math.IsNaN(c.mark) && c.mark >= dxmin && c.mark <= dxmax {
		mx := px(c.mark)
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="#999" stroke-dasharray="4 3"/>`+"\n",
			mx, plotTop, mx, plotTop+ph)
		fmt.Fprintf(w, `<text x="%.1f" y="%.0f" font-size="10" fill="#555">%s</text>`+"\n",
			mx+3, plotTop+ph-4, esc(c.markLabel))
	}
	var pts []string
	for i := range c.xs {
		if !math.IsNaN(c.xs[i]) && !math.IsNaN(c.ys[i]) {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(c.xs[i]), py(c.ys[i])))
		}
	}
	if len(pts) > 0 {
		fmt.Fprintf(w, `<polyline fill="none" stroke="#1f5fbf" stroke-width="1.5" points="%s"/>`+"\n", strings.Join(pts, " "))
	}
	// Axes: the y axis from zero (or the least value, when negative) to the
	// greatest; the x axis from the first value to the last.
	if !math.IsNaN(ymin) {
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotLeft-6, py(ymax)+4, num(ymax))
		if ymax != ylo {
			fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotLeft-6, py(ylo)+4, num(ylo))
		}
	}
	if !math.IsNaN(xmin) {
		xnum := num
		if xmax-xmin >= 10 { // seconds or orders: whole ones
			xnum = func(v float64) string { return num(math.Round(v)) }
		}
		fmt.Fprintf(w, `<text x="%.1f" y="%.0f" text-anchor="start">%s</text>`+"\n", px(xmin), plotTop+ph+16, xnum(xmin))
		fmt.Fprintf(w, `<text x="%.1f" y="%.0f" text-anchor="end">%s</text>`+"\n", px(xmax), plotTop+ph+16, xnum(xmax))
	}
	fmt.Fprintf(w, `<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`+"\n", plotLeft+pw/2, plotTop+ph+34, esc(c.xLabel))
	fmt.Fprintf(w, `<text transform="translate(14,%.0f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", plotTop+ph/2, esc(c.yLabel))
	fmt.Fprintln(w, `</g>`)
}

// extent is the least and greatest of vs, NaNs skipped (NaN, NaN: none).
func extent(vs []float64) (lo, hi float64) {
	lo, hi = math.NaN(), math.NaN()
	for _, v := range vs {
		if math.IsNaN(v) {
			continue
		}
		if math.IsNaN(lo) || v < lo {
			lo = v
		}
		if math.IsNaN(hi) || v > hi {
			hi = v
		}
	}
	return lo, hi
}

// padded widens a flat or empty range so that it can be scaled.
func padded(lo, hi float64) (float64, float64) {
	switch {
	case math.IsNaN(lo):
		return 0, 1
	case lo == hi:
		d := max(1, math.Abs(lo)*0.05)
		return lo - d, hi + d
	}
	return lo, hi
}

// num formats an axis value: whole above 100, else up to two decimals.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func esc(s string) string { return html.EscapeString(s) }
