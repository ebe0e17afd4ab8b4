package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// InsightRow is one incident as the insights count it: when it was
// revealed, detected and first told, whether the customer reached out
// first, how it ended, what was offered and chosen, what a request for a
// person waited, and the survey. It holds no personal data: the customer
// is their key (a hash-free id the guards already use), never a name.
type InsightRow struct {
	ID, Kind, Status, Resolution string
	DetectedAt                   time.Time
	// Source is the source of the order's order.created; Carrier the one
	// the shipment's latest event names; Lane "origin country → destination
	// country" when both are known.
	Source, Carrier, Lane string
	CustomerKey           string
	// RevealedAt is when the evidence reached us (the latest evidence
	// event's received_at); nil for incidents a timer opened.
	RevealedAt *time.Time
	// FirstContactAt is our first contact sent; CustomerContactedAt the
	// customer's first customer.contacted about the order since the
	// problem began.
	FirstContactAt, CustomerContactedAt *time.Time
	// The offer: its remedy, value and status ("" without one), and
	// whether the customer chose it or the default was taken.
	Remedy, OfferStatus  string
	ValueMinor           int64
	Currency             string
	ChoseSelf, Defaulted bool
	// PersonAskedAt is the first request for a person; PersonHandledAt
	// when someone saw to it.
	PersonAskedAt, PersonHandledAt *time.Time
	Survey                         string
}

// timerKinds are opened by a deadline, not by an event.
var timerKinds = []string{"late", "stalled", "not_picked_up"}

// InsightRows reads the incidents detected in [from, to).
func (s *Store) InsightRows(ctx context.Context, from, to time.Time) ([]InsightRow, error) {
	rows, err := s.pool.Query(ctx, `
WITH inc AS (
  SELECT i.* FROM incidents i WHERE i.detected_at >= $1 AND i.detected_at < $2
), ev AS (
  SELECT inc.id,
    (SELECT max(e.received_at) FROM events e WHERE e.order_id = inc.order_id AND inc.evidence ? e.id) AS revealed_received,
    (SELECT min(e.occurred_at) FROM events e WHERE e.order_id = inc.order_id AND inc.evidence ? e.id) AS revealed_occurred
  FROM inc
)
SELECT inc.id, inc.kind, inc.status, inc.resolution, inc.detected_at, inc.customer_key,
  coalesce((SELECT e.source FROM events e WHERE e.order_id = inc.order_id AND e.type = 'order.created' ORDER BY e.seq DESC LIMIT 1), ''),
  coalesce((SELECT e.data->>'carrier' FROM events e WHERE e.order_id = inc.order_id AND coalesce(e.data->>'shipment_id', '') = inc.shipment_id
     AND coalesce(e.data->>'carrier', '') <> '' ORDER BY e.occurred_at DESC, e.seq DESC LIMIT 1), ''),
  coalesce((SELECT upper(e.data->'origin'->>'country') FROM events e WHERE e.order_id = inc.order_id AND e.type = 'shipment.created'
     AND e.data->>'shipment_id' = inc.shipment_id ORDER BY e.seq DESC LIMIT 1), ''),
  coalesce((SELECT upper(e.data->'shipping_address'->>'country') FROM events e WHERE e.order_id = inc.order_id
     AND e.type IN ('order.created', 'order.updated') AND e.data->'shipping_address' ? 'country' ORDER BY e.occurred_at DESC, e.seq DESC LIMIT 1), ''),
  CASE WHEN inc.kind = ANY($3) THEN NULL ELSE ev.revealed_received END,
  (SELECT min(c.sent_at) FROM contacts c WHERE c.incident_id = inc.id AND c.sent_at IS NOT NULL),
  (SELECT min(e.occurred_at) FROM events e WHERE e.order_id = inc.order_id AND e.type = 'customer.contacted'
     AND e.occurred_at >= CASE WHEN inc.kind = ANY($3) OR ev.revealed_occurred IS NULL THEN inc.detected_at ELSE ev.revealed_occurred END),
  coalesce(o.remedy, ''), coalesce(o.status, ''), coalesce(o.value_minor, 0), coalesce(o.currency, ''),
  EXISTS (SELECT 1 FROM audit a WHERE a.incident_id = inc.id AND a.action = 'choose' AND a.actor LIKE 'customer%'),
  EXISTS (SELECT 1 FROM audit a WHERE a.incident_id = inc.id AND a.action = 'choose' AND a.actor = 'system'),
  (SELECT min(a.at) FROM audit a WHERE a.incident_id = inc.id AND a.action = 'person-requested'),
  (SELECT min(c.handled_at) FROM contacts c WHERE c.incident_id = inc.id),
  inc.survey
FROM inc JOIN ev ON ev.id = inc.id LEFT JOIN offers o ON o.incident_id = inc.id
ORDER BY inc.detected_at, inc.id`, from, to, timerKinds)
	if err != nil {
		return nil, fmt.Errorf("read insight rows: %w", err)
	}
	var out []InsightRow
	var r InsightRow
	var origin, dest string
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Kind, &r.Status, &r.Resolution, &r.DetectedAt, &r.CustomerKey, &r.Source, &r.Carrier,
		&origin, &dest, &r.RevealedAt, &r.FirstContactAt, &r.CustomerContactedAt, &r.Remedy, &r.OfferStatus, &r.ValueMinor, &r.Currency,
		&r.ChoseSelf, &r.Defaulted, &r.PersonAskedAt, &r.PersonHandledAt, &r.Survey}, func() error {
		row := r
		row.Lane = ""
		if origin != "" && dest != "" {
			row.Lane = origin + " → " + dest
		}
		out = append(out, row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read insight rows: %w", err)
	}
	return out, nil
}

// Retention counts customers who ordered in [from, to): those with an
// incident on an order of theirs detected then, and the others; and of
// each, how many ordered again within 30 and 90 days of that order (or
// of the incident, for those with one). A customer is their shop id,
// else their email, as order.created carries it. BySurvey and ByRemedy
// split the customers with an incident by the survey answer and the
// remedy of their first incident in the period ("" for none).
type Retention struct {
	WithIncident, Without          int
	WithAgain30, WithAgain90       int
	WithoutAgain30, WithoutAgain90 int
	BySurvey, ByRemedy             map[string]RetentionCount
}

// RetentionCount is customers, and those who ordered again within 30 and
// 90 days.
type RetentionCount struct{ Customers, Again30, Again90 int }

// CustomerRetention reads who ordered again.
func (s *Store) CustomerRetention(ctx context.Context, from, to time.Time) (Retention, error) {
	r := Retention{BySurvey: map[string]RetentionCount{}, ByRemedy: map[string]RetentionCount{}}
	rows, err := s.pool.Query(ctx, `
WITH orders AS (
  SELECT DISTINCT ON (e.order_id) e.order_id, e.occurred_at,
    lower(coalesce(nullif(e.data->'customer'->>'id', ''), e.data->'customer'->>'email', '')) AS who
  FROM events e WHERE e.type = 'order.created' ORDER BY e.order_id, e.seq
), hits AS (
  SELECT DISTINCT ON (o.who) o.who, i.detected_at, i.survey, coalesce(f.remedy, '') AS remedy
  FROM orders o JOIN incidents i ON i.order_id = o.order_id AND i.detected_at >= $1 AND i.detected_at < $2
  LEFT JOIN offers f ON f.incident_id = i.id
  WHERE o.who <> ''
  ORDER BY o.who, i.detected_at
), period AS (
  SELECT o.who, min(o.occurred_at) AS first_at FROM orders o
  WHERE o.who <> '' AND o.occurred_at >= $1 AND o.occurred_at < $2 GROUP BY o.who
), people AS (
  SELECT h.who, true AS hit, h.detected_at AS since, h.survey, h.remedy FROM hits h
  UNION ALL
  SELECT p.who, false, p.first_at, '', '' FROM period p WHERE NOT EXISTS (SELECT 1 FROM hits h WHERE h.who = p.who)
), again AS (
  SELECT p.hit, p.survey, p.remedy,
    EXISTS (SELECT 1 FROM orders o2 WHERE o2.who = p.who AND o2.occurred_at > p.since AND o2.occurred_at <= p.since + interval '30 days') AS a30,
    EXISTS (SELECT 1 FROM orders o2 WHERE o2.who = p.who AND o2.occurred_at > p.since AND o2.occurred_at <= p.since + interval '90 days') AS a90
  FROM people p
)
SELECT hit, survey, remedy, count(*), count(*) FILTER (WHERE a30), count(*) FILTER (WHERE a90)
FROM again GROUP BY hit, survey, remedy`, from, to)
	if err != nil {
		return r, fmt.Errorf("read retention: %w", err)
	}
	var hit bool
	var survey, remedy string
	var n, a30, a90 int
	_, err = pgx.ForEachRow(rows, []any{&hit, &survey, &remedy, &n, &a30, &a90}, func() error {
		if !hit {
			r.Without, r.WithoutAgain30, r.WithoutAgain90 = r.Without+n, r.WithoutAgain30+a30, r.WithoutAgain90+a90
			return nil
		}
		r.WithIncident, r.WithAgain30, r.WithAgain90 = r.WithIncident+n, r.WithAgain30+a30, r.WithAgain90+a90
		for m, k := range map[*map[string]RetentionCount]string{&r.BySurvey: survey, &r.ByRemedy: remedy} {
			c := (*m)[k]
			(*m)[k] = RetentionCount{Customers: c.Customers + n, Again30: c.Again30 + a30, Again90: c.Again90 + a90}
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("read retention: %w", err)
	}
	return r, nil
}
