package native

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/ingest"
	"github.com/recoveryhq/recovery/internal/recovery"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mac(secret string, parts ...string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// signed returns a request as the provider would send it with secret.
func signed(provider, secret string, body []byte, now time.Time) Request {
	h := http.Header{}
	switch provider {
	case "easypost":
		h.Set("X-Hmac-Signature", "hmac-sha256-hex="+hex.EncodeToString(mac(secret, string(body))))
	case "aftership":
		h.Set("aftership-hmac-sha256", base64.StdEncoding.EncodeToString(mac(secret, string(body))))
	case "shopify":
		h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac(secret, string(body))))
		h.Set("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
		h.Set("X-Shopify-Shop-Domain", "lamps.myshopify.com")
		h.Set("X-Shopify-Topic", "orders/create")
	case "shippo":
		ts := strconv.FormatInt(now.Unix(), 10)
		h.Set("Shippo-Auth-Signature", "t="+ts+",v1="+hex.EncodeToString(mac(secret, ts, ".", string(body))))
	}
	return Request{Header: h, Query: url.Values{}, Body: body}
}

var fixtures = map[string]string{
	"easypost": "easypost_tracker_updated.json", "shippo": "shippo_track_updated.json",
	"aftership": "aftership_tracking_update.json", "shopify": "shopify_orders_create.json",
}

func TestSignatures(t *testing.T) {
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for name, file := range fixtures {
		p, _ := Lookup(name)
		body := fixture(t, file)
		t.Run(name, func(t *testing.T) {
			if err := p.Verify(signed(name, "s3cret", body, now), []string{"s3cret"}, now); err != nil {
				t.Fatalf("valid signature rejected: %v", err)
			}
			if err := p.Verify(signed(name, "next", body, now), []string{"s3cret", "next"}, now); err != nil {
				t.Fatalf("second secret during rotation rejected: %v", err)
			}
			for what, r := range map[string]Request{
				"wrong secret": signed(name, "other", body, now),
				"tampered body": func() Request {
					r := signed(name, "s3cret", body, now)
					r.Body = append([]byte(" "), body...)
					return r
				}(),
				"missing": {Header: http.Header{}, Query: url.Values{}, Body: body},
			} {
				if err := p.Verify(r, []string{"s3cret"}, now); !errors.Is(err, ErrSignature) {
					t.Errorf("%s: err = %v, want ErrSignature", what, err)
				}
			}
		})
	}
	// Shippo's HMAC scheme carries a timestamp; its URL token does not.
	p, _ := Lookup("shippo")
	body := fixture(t, fixtures["shippo"])
	if err := p.Verify(signed("shippo", "s3cret", body, now.Add(-6*time.Minute)), []string{"s3cret"}, now); !errors.Is(err, ErrSignature) {
		t.Errorf("stale Shippo signature: err = %v", err)
	}
	tok := Request{Header: http.Header{}, Query: url.Values{"token": {"s3cret"}}, Body: body}
	if err := p.Verify(tok, []string{"other", "s3cret"}, now); err != nil {
		t.Errorf("Shippo token rejected: %v", err)
	}
	tok.Query.Set("token", "s3cres")
	if err := p.Verify(tok, []string{"s3cret"}, now); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong Shippo token: err = %v", err)
	}
	// EasyPost keys with the NFKD form of the secret.
	ep, _ := Lookup("easypost")
	epBody := fixture(t, fixtures["easypost"])
	r := signed("easypost", "Ａbc", epBody, now) // full-width A, decomposed by NFKD to A
	if err := ep.Verify(r, []string{"Ａbc"}, now); !errors.Is(err, ErrSignature) {
		t.Errorf("EasyPost must key with the NFKD form: %v", err)
	}
	r = signed("easypost", "Abc", epBody, now)
	if err := ep.Verify(r, []string{"Ａbc"}, now); err != nil {
		t.Errorf("EasyPost NFKD secret: %v", err)
	}
}

type tracking struct {
	ID, Status, Code, Country, Order, TN, Carrier string
}

func trackings(t *testing.T, evs []recovery.Event) []tracking {
	t.Helper()
	var out []tracking
	for _, e := range evs {
		if e.Type != recovery.TypeShipmentTracking {
			continue
		}
		var d recovery.TrackingData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, tracking{e.ID, d.Status, d.ExceptionCode, d.Location.Country, d.OrderID, d.TrackingNumber, d.Carrier})
	}
	return out
}

// validAfterResolution checks each event as the API will: with its order
// id, or with the one the tracking number resolves to.
func validAfterResolution(t *testing.T, evs []recovery.Event) {
	t.Helper()
	for _, e := range evs {
		if e.Order() == "" {
			var m map[string]any
			json.Unmarshal(e.Data, &m) //nolint:errcheck
			m["order_id"] = "resolved-1"
			e.Data, _ = json.Marshal(m)
		}
		if errs := ingest.Validate(e); len(errs) > 0 {
			t.Fatalf("event %s fails the canonical schema: %v", e.ID, errs)
		}
	}
}

func mapFixture(t *testing.T, name string, r Request) []recovery.Event {
	t.Helper()
	p, _ := Lookup(name)
	evs, err := p.Map(r)
	if err != nil {
		t.Fatal(err)
	}
	validAfterResolution(t, evs)
	again, _ := p.Map(r)
	for i := range evs {
		if again[i].ID != evs[i].ID {
			t.Fatalf("event ids are not stable across deliveries: %s vs %s", evs[i].ID, again[i].ID)
		}
	}
	return evs
}

func TestEasyPost(t *testing.T) {
	got := trackings(t, mapFixture(t, "easypost", Request{Body: fixture(t, fixtures["easypost"])}))
	want := []tracking{
		{Status: "label_created", Country: "US"}, {Status: "in_transit", Country: "US"},
		{Status: "exception", Code: "damaged", Country: "US"}, // the unknown detail is not news
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].Status != want[i].Status || got[i].Code != want[i].Code || got[i].Country != want[i].Country ||
			got[i].TN != "9400100000000000000001" || got[i].Carrier != "usps" || got[i].Order != "" {
			t.Errorf("scan %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestShippo(t *testing.T) {
	got := trackings(t, mapFixture(t, "shippo", Request{Body: fixture(t, fixtures["shippo"])}))
	if len(got) != 3 { // the current status repeats the last history entry
		t.Fatalf("got %d scans %+v, want 3", len(got), got)
	}
	if got[0].Status != "label_created" || got[1].Status != "in_transit" || got[2].Status != "failed_attempt" ||
		got[2].Code != "failed_attempt" || got[2].Order != "1001" || got[2].Carrier != "dhl_express" {
		t.Fatalf("scans %+v", got)
	}
	for meta, want := range map[string]string{"order:1001": "1001", "Order 1001": "1001", "order_id=A-7": "A-7", "gift": "", "Order #X9": "X9"} {
		m := orderMention.FindStringSubmatch(meta)
		if got := ""; m != nil && m[1] != want || m == nil && want != "" {
			t.Errorf("metadata %q: got %v, want %q%s", meta, m, want, got)
		}
	}
}

func TestAfterShip(t *testing.T) {
	got := trackings(t, mapFixture(t, "aftership", Request{Body: fixture(t, fixtures["aftership"])}))
	want := []tracking{{Status: "picked_up"}, {Status: "exception", Code: "address_problem"}, {Status: "returned_to_sender"}}
	if len(got) != 3 {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].Status != want[i].Status || got[i].Code != want[i].Code || got[i].Country != "DE" || got[i].Order != "1001" {
			t.Errorf("scan %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for sub, want := range map[string][2]string{"Exception_012": {"exception", "damaged"}, "Exception_013": {"lost", ""},
		"Exception_004": {"exception", "customs_hold"}, "Exception_003": {"exception", "refused"},
		"Exception_017": {"exception", "weather"}, "Exception_021": {"lost", ""}} {
		if s, c := asMap("Exception", sub); s != want[0] || c != want[1] {
			t.Errorf("%s = %s/%s, want %v", sub, s, c, want)
		}
	}
	if s, c := asMap("AttemptFail", "AttemptFail_001"); s != "failed_attempt" || c != "failed_attempt" {
		t.Errorf("AttemptFail = %s/%s", s, c)
	}
	if s, _ := asMap("Delivered", "Exception_013"); s != "delivered" {
		t.Errorf("a subtag under another tag must not count: got %s", s)
	}
}

func TestShopifyOrder(t *testing.T) {
	r := signed("shopify", "s", fixture(t, fixtures["shopify"]), time.Now())
	evs := mapFixture(t, "shopify", r)
	if len(evs) != 1 || evs[0].Type != recovery.TypeOrderCreated || evs[0].ID != "orders/820982911946154508/create/2026-11-20T09:00:02Z" ||
		evs[0].Source != "shopify/lamps.myshopify.com" || evs[0].Order() != "820982911946154508" {
		t.Fatalf("events %+v", evs)
	}
	var d recovery.OrderData
	json.Unmarshal(evs[0].Data, &d) //nolint:errcheck
	if d.TotalMinor != 8999 || d.Currency != "EUR" || d.Customer.Phone != "+493012345678" || d.Customer.Name != "Ada Weber" ||
		d.Customer.Locale != "de-DE" || d.ShippingAddress.PostalCode != "10115" || len(d.Lines) != 2 ||
		d.Lines[0].UnitPriceMinor != 7999 || d.Lines[1].SKU != "variant-808950811" || d.Lines[1].UnitPriceMinor != 250 {
		t.Fatalf("order %+v", d)
	}
	// Cancelled through orders/updated: the update and the cancellation.
	body := strings.Replace(string(fixture(t, fixtures["shopify"])), `"cancelled_at": null`, `"cancelled_at": "2026-11-20T12:00:00+01:00"`, 1)
	r.Body, r.Header = []byte(body), r.Header.Clone()
	r.Header.Set("X-Shopify-Topic", "orders/updated")
	evs = mapFixture(t, "shopify", r)
	if len(evs) != 2 || evs[0].Type != recovery.TypeOrderUpdated || evs[1].Type != recovery.TypeOrderCancelled {
		t.Fatalf("orders/updated with cancelled_at: %+v", evs)
	}
	// The headers are unsigned: another webhook id is the same delivery,
	// and an update passed off as a cancellation is refused.
	again := signed("shopify", "s", fixture(t, fixtures["shopify"]), time.Now())
	again.Header.Set("X-Shopify-Webhook-Id", "forged-new-id")
	if evs2 := mapFixture(t, "shopify", again); evs2[0].ID != "orders/820982911946154508/create/2026-11-20T09:00:02Z" {
		t.Fatalf("a new webhook id made a new event: %s", evs2[0].ID)
	}
	forged := signed("shopify", "s", fixture(t, fixtures["shopify"]), time.Now())
	forged.Header.Set("X-Shopify-Topic", "orders/cancelled")
	var malformedErr *MalformedError
	if _, err := (shopify{}).Map(forged); !errors.As(err, &malformedErr) || !strings.Contains(err.Error(), "cancelled_at") {
		t.Fatalf("an order that is not cancelled sent as orders/cancelled: %v", err)
	}
	r.Header.Set("X-Shopify-Topic", "products/update")
	if _, err := (shopify{}).Map(r); !errors.Is(err, ErrIgnored) {
		t.Fatalf("other topic: %v", err)
	}
}

func TestShopifyFulfillment(t *testing.T) {
	r := Request{Header: http.Header{}, Body: fixture(t, "shopify_fulfillments_update.json")}
	r.Header.Set("X-Shopify-Webhook-Id", "hook-2")
	r.Header.Set("X-Shopify-Shop-Domain", "lamps.myshopify.com")
	r.Header.Set("X-Shopify-Topic", "fulfillments/update")
	got := trackings(t, mapFixture(t, "shopify", r))
	if len(got) != 1 || got[0].Status != "failed_attempt" || got[0].Order != "820982911946154508" || got[0].TN != "1234567890" {
		t.Fatalf("fulfillments/update: %+v", got)
	}
	r.Header.Set("X-Shopify-Topic", "fulfillments/create")
	evs := mapFixture(t, "shopify", r)
	if len(evs) != 2 || evs[0].Type != recovery.TypeShipmentCreated {
		t.Fatalf("fulfillments/create: %+v", evs)
	}
	var d recovery.ShipmentData
	json.Unmarshal(evs[0].Data, &d) //nolint:errcheck
	if d.ShipmentID != "255858046" || d.TrackingNumber != "1234567890" || d.Carrier != "dhl express" || d.Lines[0].SKU != "LAMP-01" {
		t.Fatalf("shipment %+v", d)
	}
}

func TestMinorUnits(t *testing.T) {
	for _, tc := range []struct {
		price, cur string
		want       int64
		ok         bool
	}{
		{"89.99", "EUR", 8999, true}, {"1500", "JPY", 1500, true}, {"1.5", "JPY", 0, false},
		{"2.125", "KWD", 2125, true}, {"0.1", "USD", 10, true}, {"-1", "EUR", 0, false}, {"1e3", "EUR", 0, false},
	} {
		got, err := minorUnits(tc.price, tc.cur)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("minorUnits(%s %s) = %d, %v", tc.price, tc.cur, got, err)
		}
	}
}

func fuzzMap(f *testing.F, name string, files ...string) {
	p, _ := Lookup(name)
	for _, file := range files {
		f.Add(fixture(f, file), "orders/create")
	}
	f.Add([]byte(`{}`), "fulfillments/update")
	f.Fuzz(func(t *testing.T, body []byte, topic string) {
		h := http.Header{}
		h.Set("X-Shopify-Topic", topic)
		h.Set("X-Shopify-Webhook-Id", "w")
		h.Set("X-Shopify-Shop-Domain", "s.myshopify.com")
		evs, err := p.Map(Request{Header: h, Query: url.Values{}, Body: body})
		if err != nil {
			var m *MalformedError
			if !errors.Is(err, ErrIgnored) && !errors.As(err, &m) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		for _, e := range evs {
			if e.Order() != "" {
				if errs := ingest.Validate(e); len(errs) > 0 {
					t.Fatalf("mapped an invalid event: %v", errs)
				}
			}
		}
	})
}

func FuzzMapEasyPost(f *testing.F)  { fuzzMap(f, "easypost", fixtures["easypost"]) }
func FuzzMapShippo(f *testing.F)    { fuzzMap(f, "shippo", fixtures["shippo"]) }
func FuzzMapAfterShip(f *testing.F) { fuzzMap(f, "aftership", fixtures["aftership"]) }
func FuzzMapShopify(f *testing.F) {
	fuzzMap(f, "shopify", fixtures["shopify"], "shopify_fulfillments_update.json")
}

// FuzzVerify: a request signed with another secret, or with a signature
// the fuzzer made up, never verifies.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for i, name := range Names() {
		r := signed(name, "s3cret", []byte(`{"a":1}`), now)
		for k := range r.Header {
			f.Add(i, k, r.Header.Get(k), []byte(`{"a":1}`), "")
		}
	}
	f.Add(0, "", "", []byte{}, "s3cret")
	f.Fuzz(func(t *testing.T, which int, header, value string, body []byte, token string) {
		names := Names()
		p, _ := Lookup(names[((which%len(names))+len(names))%len(names)])
		h := http.Header{}
		if header != "" {
			h.Set(header, value)
		}
		r := Request{Header: h, Query: url.Values{"token": {token}}, Body: body}
		err := p.Verify(r, []string{"the-real-secret"}, now)
		if err == nil {
			t.Fatalf("%s verified a request made without the secret: %s=%q token=%q", p.Name(), header, value, token)
		}
		if !errors.Is(err, ErrSignature) {
			t.Fatalf("error %v does not wrap ErrSignature", err)
		}
	})
}
