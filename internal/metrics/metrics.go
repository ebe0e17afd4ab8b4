// Package metrics holds the service's Prometheus metrics and the Temporal
// SDK's, in one registry served at /metrics. Labels name routes, sources,
// kinds, channels, statuses, remedies and currencies: never a customer,
// an order or an incident.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metrics are the service's metrics. Every method is safe on a nil
// *Metrics (it records nothing), so that code under test needs none.
type Metrics struct {
	Registry *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	events       *prometheus.CounterVec
	commitSize   prometheus.Histogram
	incidents    *prometheus.CounterVec
	contacts     *prometheus.CounterVec
	provider     *prometheus.HistogramVec
	remedies     *prometheus.CounterVec
	remedyValue  *prometheus.CounterVec
	firstContact prometheus.Histogram
	temporal     client.MetricsHandler
}

// New registers the metrics, the Go runtime's and the process's.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{Registry: r,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recovery_http_requests_total",
			Help: "HTTP requests by route (the router's pattern), method and status code."}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "recovery_http_request_duration_seconds",
			Help: "How long HTTP requests took, by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recovery_events_received_total",
			Help: "Events received, by source and outcome (accepted, duplicate, unmatched, refused)."}, []string{"source", "outcome"}),
		commitSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "recovery_ingest_commit_events",
			Help:    "Events per group commit of the inbox (concurrent requests share one transaction).",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}}),
		incidents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recovery_incidents_total",
			Help: "Incidents by kind and what happened: opened, healed, resolved, needs_attention."}, []string{"kind", "event"}),
		contacts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recovery_contacts_total",
			Help: "Contact ladder steps by channel and outcome (sent, skipped, failed, unconfirmed, retry)."}, []string{"channel", "status"}),
		provider: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "recovery_provider_request_duration_seconds",
			Help: "How long a provider (twilio, sendgrid, capture) took to take a message.", Buckets: prometheus.DefBuckets},
			[]string{"provider"}),
		remedies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recovery_remedies_total",
			Help: "Remedies carried out, by remedy and currency."}, []string{"remedy", "currency"}),
		remedyValue: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recovery_remedy_value_minor_units_total",
			Help: "Value of the remedies carried out, in the currency's minor units."}, []string{"remedy", "currency"}),
		firstContact: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "recovery_detection_to_first_contact_seconds",
			Help:    "From an incident's detection to its first message taken by a provider.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600}}),
	}
	r.MustRegister(m.httpRequests, m.httpDuration, m.events, m.commitSize, m.incidents, m.contacts, m.provider,
		m.remedies, m.remedyValue, m.firstContact,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// TemporalHandler is the Temporal SDK's metrics handler, exporting into
// the same registry under the SDK's standard names (temporal_..., counters
// with _total), so that the community SDK dashboard works. One per
// Metrics: every client of the process shares it.
func (m *Metrics) TemporalHandler() (client.MetricsHandler, error) {
	if m == nil {
		return nil, nil
	}
	if m.temporal != nil {
		return m.temporal, nil
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(m.Registry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	m.temporal = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{Meter: mp.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true, OnError: func(error) {}})
	return m.temporal, nil
}

// Request records one HTTP request.
func (m *Metrics) Request(route, method string, code int, took time.Duration) {
	if m == nil {
		return
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(took.Seconds())
}

// Event records what became of one received event.
func (m *Metrics) Event(source, outcome string) {
	if m != nil {
		m.events.WithLabelValues(source, outcome).Inc()
	}
}

// Commit records one group commit's size.
func (m *Metrics) Commit(events int) {
	if m != nil {
		m.commitSize.Observe(float64(events))
	}
}

// Incident records an incident's event (opened, healed, resolved,
// needs_attention).
func (m *Metrics) Incident(kind, event string) {
	if m != nil {
		m.incidents.WithLabelValues(kind, event).Inc()
	}
}

// Contact records a ladder step's outcome.
func (m *Metrics) Contact(channel, status string) {
	if m != nil {
		m.contacts.WithLabelValues(channel, status).Inc()
	}
}

// Provider records how long a provider took.
func (m *Metrics) Provider(provider string, took time.Duration) {
	if m != nil {
		m.provider.WithLabelValues(provider).Observe(took.Seconds())
	}
}

// Remedy records a remedy carried out and its value.
func (m *Metrics) Remedy(remedy, currency string, valueMinor int64) {
	if m != nil {
		m.remedies.WithLabelValues(remedy, currency).Inc()
		m.remedyValue.WithLabelValues(remedy, currency).Add(float64(valueMinor))
	}
}

// FirstContact records the time from detection to the first message.
func (m *Metrics) FirstContact(took time.Duration) {
	if m != nil && took >= 0 {
		m.firstContact.Observe(took.Seconds())
	}
}

// Gauges are figures read from the database when scraped.
type Gauges struct {
	Pending          int64
	OldestPending    time.Duration
	Dead             int64
	AwaitingApproval int64
}

// WatchDatabase registers the relay's backlog and the approvals waiting,
// read through read at each scrape (bounded to 2 seconds).
func (m *Metrics) WatchDatabase(read func(ctx context.Context) (Gauges, error)) {
	if m != nil {
		m.Registry.MustRegister(&dbCollector{read: read})
	}
}

var (
	descPending = prometheus.NewDesc("recovery_relay_pending_events", "Events committed and not yet relayed to Temporal.", nil, nil)
	descOldest  = prometheus.NewDesc("recovery_relay_oldest_pending_seconds",
		"Age of the oldest event not yet relayed (the relay's lag).", nil, nil)
	descDead     = prometheus.NewDesc("recovery_events_quarantined", "Events the relay quarantined (never deliverable).", nil, nil)
	descWaiting  = prometheus.NewDesc("recovery_approvals_waiting", "Incidents waiting for a person to approve.", nil, nil)
	descDBFailed = prometheus.NewDesc("recovery_database_scrape_errors_total", "Scrapes that could not read the database.", nil, nil)
)

type dbCollector struct {
	read   func(ctx context.Context) (Gauges, error)
	failed float64
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descPending
	ch <- descOldest
	ch <- descDead
	ch <- descWaiting
	ch <- descDBFailed
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	g, err := c.read(ctx)
	if err != nil {
		c.failed++
	} else {
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(g.Pending))
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, g.OldestPending.Seconds())
		ch <- prometheus.MustNewConstMetric(descDead, prometheus.GaugeValue, float64(g.Dead))
		ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, float64(g.AwaitingApproval))
	}
	ch <- prometheus.MustNewConstMetric(descDBFailed, prometheus.CounterValue, c.failed)
}
