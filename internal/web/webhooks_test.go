package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

type fakeTracking map[string][2]string

func (f fakeTracking) OrderForTracking(_ context.Context, tn string) (string, string, bool, error) {
	v, ok := f[tn]
	return v[0], v[1], ok, nil
}

// recInbox keeps what was submitted.
type recInbox struct {
	memInbox
	got []recovery.Event
}

func (r *recInbox) Submit(ctx context.Context, evs []recovery.Event) ([]bool, error) {
	r.got = append(r.got, evs...)
	return r.memInbox.Submit(ctx, evs)
}

func hookServer(inbox Inbox) *httptest.Server {
	s := &Server{Inbox: inbox, Credentials: apiKeys("k1"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		WebhookSecrets: map[string][]string{"shopify": {"shp-old", "shp-new"}, "easypost": {"ep"}, "aftership": {"as"}},
		Tracking:       fakeTracking{"9400100000000000000001": {"1001", "s-1"}}}
	return httptest.NewServer(s.Handler())
}

func hmacOf(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

func postHook(t *testing.T, srv *httptest.Server, provider string, body []byte, h map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/v1/webhooks/"+provider, bytes.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc) //nolint:errcheck
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d answered as %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, doc
}

func readFixture(t *testing.T, name string) []byte {
	b, err := os.ReadFile("../ingest/native/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestShopifyWebhook(t *testing.T) {
	inbox := &recInbox{memInbox: memInbox{seen: map[recovery.EventKey]bool{}}}
	srv := hookServer(inbox)
	defer srv.Close()
	body := readFixture(t, "shopify_orders_create.json")
	h := map[string]string{"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "hook-1",
		"X-Shopify-Shop-Domain": "lamps.myshopify.com", "X-Shopify-Hmac-Sha256": base64.StdEncoding.EncodeToString(hmacOf("shp-new", body))}
	if code, doc := postHook(t, srv, "shopify", body, h); code != 202 || doc["accepted"].(float64) != 1 {
		t.Fatalf("signed order: %d %v", code, doc)
	}
	if code, doc := postHook(t, srv, "shopify", body, h); code != 202 || doc["duplicates"].(float64) != 1 {
		t.Fatalf("Shopify's retry of the same delivery: %d %v", code, doc)
	}
	h["X-Shopify-Hmac-Sha256"] = base64.StdEncoding.EncodeToString(hmacOf("guess", body))
	if code, _ := postHook(t, srv, "shopify", body, h); code != 401 {
		t.Fatalf("bad signature answered %d", code)
	}
	delete(h, "X-Shopify-Hmac-Sha256")
	h["X-Shopify-Webhook-Id"] = "hook-2"
	if code, _ := postHook(t, srv, "shopify", body, h); code != 401 || len(inbox.got) != 2 {
		t.Fatalf("missing signature answered %d, stored %d", code, len(inbox.got))
	}
	if code, _ := postHook(t, srv, "shippo", body, nil); code != 404 {
		t.Fatalf("unconfigured provider answered %d", code)
	}
	if code, _ := postHook(t, srv, "fedex", body, nil); code != 404 {
		t.Fatalf("unknown provider answered %d", code)
	}
}

func TestCarrierWebhookResolvesTheOrder(t *testing.T) {
	inbox := &recInbox{memInbox: memInbox{seen: map[recovery.EventKey]bool{}}}
	srv := hookServer(inbox)
	defer srv.Close()
	body := readFixture(t, "easypost_tracker_updated.json")
	sig := map[string]string{"X-Hmac-Signature": "hmac-sha256-hex=" + hex.EncodeToString(hmacOf("ep", body))}
	code, doc := postHook(t, srv, "easypost", body, sig)
	if code != 202 || doc["accepted"].(float64) != 3 {
		t.Fatalf("easypost: %d %v", code, doc)
	}
	for _, e := range inbox.got {
		var d recovery.TrackingData
		json.Unmarshal(e.Data, &d) //nolint:errcheck
		if e.Order() != "1001" || d.OrderID != "1001" || d.ShipmentID != "s-1" || e.Subject != "order/1001" {
			t.Fatalf("event not resolved to order 1001 / s-1: %+v %s", e, e.Data)
		}
	}
	// An unknown tracking number is kept, unmatched, not refused.
	other := bytes.ReplaceAll(body, []byte("9400100000000000000001"), []byte("9400100000000000000999"))
	other = bytes.ReplaceAll(other, []byte("trk_7d9a"), []byte("trk_8e0b"))
	sig["X-Hmac-Signature"] = "hmac-sha256-hex=" + hex.EncodeToString(hmacOf("ep", other))
	if code, doc := postHook(t, srv, "easypost", other, sig); code != 202 || doc["unmatched"].(float64) != 3 {
		t.Fatalf("unknown tracking number: %d %v", code, doc)
	}
}

func TestEveryProviderRefusesBadSignatures(t *testing.T) {
	inbox := &recInbox{memInbox: memInbox{seen: map[recovery.EventKey]bool{}}}
	s := &Server{Inbox: inbox, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		WebhookSecrets: map[string][]string{"shopify": {"x"}, "easypost": {"x"}, "aftership": {"x"}, "shippo": {"x"}}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	wrong := map[string]map[string]string{
		"shopify":   {"X-Shopify-Hmac-Sha256": base64.StdEncoding.EncodeToString(hmacOf("y", []byte("{}"))), "X-Shopify-Topic": "orders/create"},
		"easypost":  {"X-Hmac-Signature": "hmac-sha256-hex=" + hex.EncodeToString(hmacOf("y", []byte("{}")))},
		"aftership": {"aftership-hmac-sha256": base64.StdEncoding.EncodeToString(hmacOf("y", []byte("{}")))},
		"shippo":    {"Shippo-Auth-Signature": "t=1,v1=" + hex.EncodeToString(hmacOf("x", []byte("1.{}")))}, // right MAC, stale
	}
	for provider, h := range wrong {
		for name, hdr := range map[string]map[string]string{"wrong or stale": h, "missing": nil} {
			if code, doc := postHook(t, srv, provider, []byte("{}"), hdr); code != 401 || doc["title"] == nil {
				t.Errorf("%s, %s signature: %d %v", provider, name, code, doc)
			}
		}
	}
	if len(inbox.got) != 0 {
		t.Fatalf("stored %d events from unverified requests", len(inbox.got))
	}
}

// TestProviderWebhooksUnmappableAndIgnored: a validly signed payload that
// cannot be mapped is a 422 problem; a validly signed payload of another
// topic is a 202 saying "ignored"; neither stores anything.
func TestProviderWebhooksUnmappableAndIgnored(t *testing.T) {
	const secret = "hook-secret"
	sign := map[string]func(body []byte) map[string]string{
		"easypost": func(b []byte) map[string]string {
			return map[string]string{"X-Hmac-Signature": "hmac-sha256-hex=" + hex.EncodeToString(hmacOf(secret, b))}
		},
		"shippo": func(b []byte) map[string]string {
			ts := fmt.Sprint(time.Now().Unix())
			return map[string]string{"Shippo-Auth-Signature": "t=" + ts + ",v1=" + hex.EncodeToString(hmacOf(secret, append([]byte(ts+"."), b...)))}
		},
		"aftership": func(b []byte) map[string]string {
			return map[string]string{"aftership-hmac-sha256": base64.StdEncoding.EncodeToString(hmacOf(secret, b))}
		},
		"shopify": func(b []byte) map[string]string {
			return map[string]string{"X-Shopify-Hmac-Sha256": base64.StdEncoding.EncodeToString(hmacOf(secret, b)),
				"X-Shopify-Webhook-Id": "hook-9", "X-Shopify-Shop-Domain": "lamps.myshopify.com"}
		},
	}
	cases := []struct {
		provider, name, topic, body string
		status                      int
	}{
		{"easypost", "not JSON", "", `tracker.updated`, 422},
		{"easypost", "tracker without a tracking code", "",
			`{"object":"Event","description":"tracker.updated","result":{"object":"Tracker","id":"trk_1","tracking_details":[]}}`, 422},
		{"easypost", "another event", "", `{"object":"Event","description":"batch.created","result":{"object":"Batch","id":"batch_1"}}`, 202},
		{"shippo", "not JSON", "", `{"event":`, 422},
		{"shippo", "track update without a tracking number", "", `{"event":"track_updated","data":{"carrier":"usps"}}`, 422},
		{"shippo", "another event", "", `{"event":"transaction_created","data":{"object_id":"tx_1"}}`, 202},
		{"aftership", "not JSON", "", `[]`, 422},
		{"aftership", "update without an id", "", `{"event":"tracking_update","msg":{"slug":"dhl","tracking_number":"JD0001"}}`, 422},
		{"aftership", "another event", "", `{"event":"tracking_deleted","msg":{"id":"as-1"}}`, 202},
		{"shopify", "order without a time", "orders/create", `{"id":1001,"currency":"EUR"}`, 422},
		{"shopify", "fulfillment not an object", "fulfillments/create", `["f-1"]`, 422},
		{"shopify", "another topic", "products/update", `{"id":1,"title":"Desk lamp"}`, 202},
	}
	for _, tc := range cases {
		t.Run(tc.provider+"/"+tc.name, func(t *testing.T) {
			inbox := &recInbox{memInbox: memInbox{seen: map[recovery.EventKey]bool{}}}
			s := &Server{Inbox: inbox, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				WebhookSecrets: map[string][]string{tc.provider: {secret}}}
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			h := sign[tc.provider]([]byte(tc.body))
			if tc.topic != "" {
				h["X-Shopify-Topic"] = tc.topic
			}
			code, doc := postHook(t, srv, tc.provider, []byte(tc.body), h)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %v", code, tc.status, doc)
			}
			switch tc.status {
			case 422: // postHook has checked that it is a problem+json
				if doc["type"] != problemBase+"unmappable" || doc["detail"] == "" {
					t.Errorf("problem %v, want an unmappable payload", doc)
				}
			case 202:
				if doc["ignored"] != true || doc["accepted"] != float64(0) || len(doc["results"].([]any)) != 0 {
					t.Errorf("answer %v, want ignored with no results", doc)
				}
			}
			if len(inbox.got) != 0 || len(inbox.seen) != 0 {
				t.Fatalf("stored %d events", len(inbox.got))
			}
			// The same payload under a wrong signature is a 401: the 422 and
			// the 202 above were answered only because it verified.
			bad := sign[tc.provider]([]byte(tc.body + " "))
			if tc.topic != "" {
				bad["X-Shopify-Topic"] = tc.topic
			}
			if code, _ := postHook(t, srv, tc.provider, []byte(tc.body), bad); code != http.StatusUnauthorized {
				t.Fatalf("wrongly signed: %d, want 401", code)
			}
		})
	}
}
