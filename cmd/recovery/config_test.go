package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// envOf is a getenv over a fixed environment.
func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Detection
	if d.DefaultStall != 72*time.Hour || d.PickupLimit != 48*time.Hour || d.HealWindow != 7*24*time.Hour ||
		!d.FollowUpOnHeal || d.MoveAwayKm != 150 || len(d.Stall) != 0 || len(d.Settle) != 0 {
		t.Errorf("detection defaults = %+v", d)
	}
	if c.Windows.Default.StartMin != 8*60 || c.Windows.Default.EndMin != 21*60 || c.WindowSet || len(c.Windows.ByCountry) != 0 {
		t.Errorf("contact window default = %+v (set %v)", c.Windows, c.WindowSet)
	}
	if c.Addr != "127.0.0.1:8080" || c.DevAPIKey != "dev" || len(c.Credentials) != 0 || len(c.EventSigners) != 0 ||
		c.DevPublic || c.LadderStep != 30*time.Minute ||
		c.LinkTTL != 720*time.Hour || c.WebhookAttempts != 8 || c.WebhookRetry != 2*time.Second ||
		c.DiscountPercent != 15 || len(c.DailyBudget) != 0 || c.OutboundURL != "" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadDetectionSettings(t *testing.T) {
	const h = time.Hour
	cases := []struct {
		name    string
		env     map[string]string
		check   func(recovery.DetectionConfig) bool
		wantErr string // the variable the error must name; "" for none
	}{
		{"stall lanes, first match wins", map[string]string{"RECOVERY_STALL_LIMITS": "dhl=48h, ups/express=1d@business, *=96h"},
			func(d recovery.DetectionConfig) bool {
				dhl, b1 := d.StallFor("dhl", "parcel")
				ups, b2 := d.StallFor("UPS", "express")
				upsGround, b3 := d.StallFor("ups", "ground")
				return dhl == 48*h && !b1 && ups == 24*h && b2 && upsGround == 96*h && !b3
			}, ""},
		{"stall lanes: junk", map[string]string{"RECOVERY_STALL_LIMITS": "dhl:48h"}, nil, "RECOVERY_STALL_LIMITS"},
		{"stall lanes: zero", map[string]string{"RECOVERY_STALL_LIMITS": "dhl=0"}, nil, "RECOVERY_STALL_LIMITS"},
		{"stall default in hours", map[string]string{"RECOVERY_STALL_DEFAULT": "36h"},
			func(d recovery.DetectionConfig) bool { l, _ := d.StallFor("dhl", ""); return l == 36*h }, ""},
		{"stall default in days", map[string]string{"RECOVERY_STALL_DEFAULT": "3d"},
			func(d recovery.DetectionConfig) bool { return d.DefaultStall == 72*h }, ""},
		{"stall default off", map[string]string{"RECOVERY_STALL_DEFAULT": "0"},
			func(d recovery.DetectionConfig) bool { l, _ := d.StallFor("dhl", ""); return l == 0 }, ""},
		{"stall default: junk", map[string]string{"RECOVERY_STALL_DEFAULT": "three days"}, nil, "RECOVERY_STALL_DEFAULT"},
		{"stall default: negative", map[string]string{"RECOVERY_STALL_DEFAULT": "-72h"}, nil, "RECOVERY_STALL_DEFAULT"},
		{"stall default: negative days", map[string]string{"RECOVERY_STALL_DEFAULT": "-3d"}, nil, "RECOVERY_STALL_DEFAULT"},
		{"pickup limit in hours", map[string]string{"RECOVERY_PICKUP_LIMIT": "72h"},
			func(d recovery.DetectionConfig) bool { return d.PickupLimit == 72*h }, ""},
		{"pickup limit in days", map[string]string{"RECOVERY_PICKUP_LIMIT": "1d"},
			func(d recovery.DetectionConfig) bool { return d.PickupLimit == 24*h }, ""},
		{"pickup limit off", map[string]string{"RECOVERY_PICKUP_LIMIT": "0"},
			func(d recovery.DetectionConfig) bool { return d.PickupLimit == 0 }, ""},
		{"pickup limit: junk", map[string]string{"RECOVERY_PICKUP_LIMIT": "2 days"}, nil, "RECOVERY_PICKUP_LIMIT"},
		{"pickup limit: negative", map[string]string{"RECOVERY_PICKUP_LIMIT": "-1d"}, nil, "RECOVERY_PICKUP_LIMIT"},
		{"heal window in days", map[string]string{"RECOVERY_HEAL_WINDOW": "14d"},
			func(d recovery.DetectionConfig) bool { return d.HealWindow == 14*24*h }, ""},
		{"heal window in hours", map[string]string{"RECOVERY_HEAL_WINDOW": "72h"},
			func(d recovery.DetectionConfig) bool { return d.HealWindow == 72*h }, ""},
		{"heal window off", map[string]string{"RECOVERY_HEAL_WINDOW": "0"},
			func(d recovery.DetectionConfig) bool { return d.HealWindow == 0 }, ""},
		{"heal window: junk", map[string]string{"RECOVERY_HEAL_WINDOW": "a week"}, nil, "RECOVERY_HEAL_WINDOW"},
		{"heal window: negative", map[string]string{"RECOVERY_HEAL_WINDOW": "-1h"}, nil, "RECOVERY_HEAL_WINDOW"},
		{"settle", map[string]string{"RECOVERY_SETTLE": "carrier_exception=30m,stalled=2h"},
			func(d recovery.DetectionConfig) bool {
				return len(d.Settle) == 2 && d.Settle[recovery.KindCarrierException] == 30*time.Minute && d.Settle[recovery.KindStalled] == 2*h
			}, ""},
		{"settle: unknown kind", map[string]string{"RECOVERY_SETTLE": "stuck=2h"}, nil, "RECOVERY_SETTLE"},
		{"settle: negative", map[string]string{"RECOVERY_SETTLE": "stalled=-2h"}, nil, "RECOVERY_SETTLE"},
		{"follow-up off", map[string]string{"RECOVERY_FOLLOW_UP": "false"},
			func(d recovery.DetectionConfig) bool { return !d.FollowUpOnHeal }, ""},
		{"follow-up on", map[string]string{"RECOVERY_FOLLOW_UP": "true"},
			func(d recovery.DetectionConfig) bool { return d.FollowUpOnHeal }, ""},
		{"follow-up: junk", map[string]string{"RECOVERY_FOLLOW_UP": "sometimes"}, nil, "RECOVERY_FOLLOW_UP"},
		{"move-away distance off", map[string]string{"RECOVERY_MOVE_AWAY_KM": "0"},
			func(d recovery.DetectionConfig) bool { return d.MoveAwayKm == 0 }, ""},
		{"move-away distance: negative", map[string]string{"RECOVERY_MOVE_AWAY_KM": "-5"}, nil, "RECOVERY_MOVE_AWAY_KM"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(envOf(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c.Detection) {
				t.Fatalf("detection = %+v", c.Detection)
			}
		})
	}
}

func TestApproversFromTheEnvironment(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{"RECOVERY_APPROVERS": "alice:200:alice-key-123, bob:-1:bob:key:4567"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []auth.Credential{auth.Approver("alice", "alice-key-123", 200), auth.Approver("bob", "bob:key:4567", -1)}
	if !reflect.DeepEqual(c.Credentials, want) {
		t.Fatalf("approvers = %+v, want %+v", c.Credentials, want)
	}
	// Refused entries: the error names the variable and never shows the key.
	for _, tc := range []struct{ name, value, key string }{
		{"key too short", "alice:200:k-short", "k-short"},
		{"limit not a number", "alice:lots:alice-key-123", "alice-key-123"},
		{"limit below -1", "alice:-2:alice-key-123", "alice-key-123"},
		{"no name", ":200:alice-key-123", "alice-key-123"},
		{"a bare key", "alice-key-1234567", "alice-key-1234567"},
		{"key first", "alice-key-1234567:200:alice", "alice-key-1234567"},
		{"key in the limit's place", "alice:alice-key-1234567:200", "alice-key-1234567"},
		{"a good entry, then a bare key", "bob:10:bob-key-4567,alice-key-1234567", "alice-key-1234567"},
	} {
		_, err := loadConfig(envOf(map[string]string{"RECOVERY_APPROVERS": tc.value}))
		switch {
		case err == nil:
			t.Errorf("%s: %q accepted", tc.name, tc.value)
		case !strings.Contains(err.Error(), "RECOVERY_APPROVERS"):
			t.Errorf("%s: error %q does not name RECOVERY_APPROVERS", tc.name, err)
		case strings.Contains(err.Error(), tc.key):
			t.Errorf("%s: error %q prints the key", tc.name, err)
		}
	}
}

func TestDevApproverOnlyWhenNoneIsConfigured(t *testing.T) {
	alice := auth.Approver("alice", "alice-key-123", 200)
	reader := auth.Credential{Name: "reader", Key: "reader-key-0123456789", Rights: []auth.Right{auth.Read}}
	root := auth.Credential{Name: "root", Key: "root-key-0123456789", Rights: []auth.Right{auth.Admin}}
	for _, tc := range []struct {
		name       string
		configured []auth.Credential
		dev        bool
		devOpsKey  bool
	}{
		{"dev, none configured", nil, true, true},
		{"dev, a reader configured", []auth.Credential{reader}, true, true},
		{"dev, an approver configured", []auth.Credential{alice}, true, false},
		{"dev, an admin configured", []auth.Credential{root}, true, false},
		{"serve, none configured", nil, false, false},
		{"serve, an approver configured", []auth.Credential{alice}, false, false},
	} {
		got := Config{Credentials: tc.configured, DevAPIKey: "dev"}.credentials(tc.dev)
		devOps := slices.ContainsFunc(got, func(c auth.Credential) bool { return c.Key == "dev-ops-key" })
		if devOps != tc.devOpsKey {
			t.Errorf("%s: dev-ops-key accepted = %v, want %v", tc.name, devOps, tc.devOpsKey)
		}
		for _, c := range tc.configured {
			if !slices.ContainsFunc(got, func(g auth.Credential) bool { return reflect.DeepEqual(g, c) }) {
				t.Errorf("%s: the configured %s is missing from %+v", tc.name, c.Name, got)
			}
		}
	}
}

func TestDailyBudget(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{"RECOVERY_DAILY_BUDGET": "EUR:50000, USD:25000,GBP:0"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.DailyBudget) != 3 || c.DailyBudget["EUR"] != 50000 || c.DailyBudget["USD"] != 25000 || c.DailyBudget["GBP"] != 0 {
		t.Fatalf("budget = %v", c.DailyBudget)
	}
	for _, bad := range []string{"EUR", "EUR:", ":500", "eur:500", "EURO:500", "EUR:-1", "EUR:12.50", "EUR:lots", "EUR=500", "EUR:500,USD"} {
		_, err := loadConfig(envOf(map[string]string{"RECOVERY_DAILY_BUDGET": bad}))
		if err == nil || !strings.Contains(err.Error(), "RECOVERY_DAILY_BUDGET") {
			t.Errorf("RECOVERY_DAILY_BUDGET=%q: %v, want an error naming the variable", bad, err)
		}
	}
}

func TestOutboundAndProviderConsistency(t *testing.T) {
	twilio := map[string]string{"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "tok", "TWILIO_FROM": "+15005550006",
		"RECOVERY_PUBLIC_URL": "https://recovery.example/"}
	without := func(m map[string]string, k string) map[string]string {
		out := map[string]string{}
		for kk, v := range m {
			if kk != k {
				out[kk] = v
			}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string // what the error must name; "" for none
	}{
		{"outbound URL and secret", map[string]string{"RECOVERY_OUTBOUND_URL": "https://shop.example/hooks", "RECOVERY_OUTBOUND_SECRET": "whsec_c2VjcmV0"}, ""},
		{"outbound secret alone (captured)", map[string]string{"RECOVERY_OUTBOUND_SECRET": "whsec_c2VjcmV0"}, ""},
		{"outbound URL without secret", map[string]string{"RECOVERY_OUTBOUND_URL": "https://shop.example/hooks"}, "RECOVERY_OUTBOUND_SECRET"},
		{"outbound URL not http", map[string]string{"RECOVERY_OUTBOUND_URL": "ftp://shop.example/hooks", "RECOVERY_OUTBOUND_SECRET": "s"}, "RECOVERY_OUTBOUND_URL"},
		{"outbound URL without scheme", map[string]string{"RECOVERY_OUTBOUND_URL": "shop.example/hooks", "RECOVERY_OUTBOUND_SECRET": "s"}, "RECOVERY_OUTBOUND_URL"},
		{"outbound URL without host", map[string]string{"RECOVERY_OUTBOUND_URL": "https:///hooks", "RECOVERY_OUTBOUND_SECRET": "s"}, "RECOVERY_OUTBOUND_URL"},
		{"outbound URL unparseable", map[string]string{"RECOVERY_OUTBOUND_URL": "http://[::1", "RECOVERY_OUTBOUND_SECRET": "s"}, "RECOVERY_OUTBOUND_URL"},
		{"twilio complete", twilio, ""},
		{"twilio without token", without(twilio, "TWILIO_AUTH_TOKEN"), "TWILIO_AUTH_TOKEN"},
		{"twilio without from", without(twilio, "TWILIO_FROM"), "TWILIO_FROM"},
		{"twilio without public URL", without(twilio, "RECOVERY_PUBLIC_URL"), "RECOVERY_PUBLIC_URL"},
		{"sendgrid complete", map[string]string{"SENDGRID_API_KEY": "SG.key", "SENDGRID_FROM": "care@shop.example"}, ""},
		{"sendgrid without from", map[string]string{"SENDGRID_API_KEY": "SG.key"}, "SENDGRID_FROM"},
		{"sendgrid verification key not base64", map[string]string{"SENDGRID_WEBHOOK_PUBLIC_KEY": "not a key!"}, "SENDGRID_WEBHOOK_PUBLIC_KEY"},
		{"three events secrets", map[string]string{"RECOVERY_EVENTS_SIGNING_SECRETS": "a,b,c"}, "RECOVERY_EVENTS_SIGNING_SECRETS"},
		{"three shopify secrets", map[string]string{"SHOPIFY_WEBHOOK_SECRETS": "a,b,c"}, "SHOPIFY_WEBHOOK_SECRETS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(envOf(tc.env))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.env["RECOVERY_OUTBOUND_URL"] != c.OutboundURL || tc.env["TWILIO_ACCOUNT_SID"] != c.Twilio.AccountSID ||
					tc.env["SENDGRID_API_KEY"] != c.SendGrid.APIKey {
					t.Fatalf("config = %+v", c)
				}
				if c.Twilio.AccountSID != "" && c.Twilio.PublicURL != "https://recovery.example" {
					t.Fatalf("Twilio calls back at %q", c.Twilio.PublicURL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one naming %s", err, tc.wantErr)
			}
		})
	}
}

func TestContactWindowsInDevAndServe(t *testing.T) {
	// 03:00 and 12:00 in Berlin (CET), 06:00 in New York.
	night := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	noon := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	early := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC) // 06:00 New York
	de, us := recovery.Location{Country: "DE"}, recovery.Location{Country: "US"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		dev  bool
		to   recovery.Location
		at   time.Time
		open bool
	}{
		{"serve: closed at night by default", nil, false, de, night, false},
		{"serve: open at noon by default", nil, false, de, noon, true},
		{"dev: open at night by default", nil, true, de, night, true},
		{"dev with a window: closed at night", map[string]string{"RECOVERY_CONTACT_WINDOW": "09:00-20:00"}, true, de, night, false},
		{"dev with a window: open at noon", map[string]string{"RECOVERY_CONTACT_WINDOW": "09:00-20:00"}, true, de, noon, true},
		{"serve with a window: closed at 08:30", map[string]string{"RECOVERY_CONTACT_WINDOW": "09:00-20:00"}, false, de,
			time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC), false},
		{"serve: a country's own window", map[string]string{"RECOVERY_CONTACT_WINDOWS": "US=07:00-20:00,FR=09:00-19:00"}, false, us, early, false},
		{"serve: a country's own window, open", map[string]string{"RECOVERY_CONTACT_WINDOWS": "US=05:00-20:00,FR=09:00-19:00"}, false, us, early, true},
		{"serve: other countries keep the default", map[string]string{"RECOVERY_CONTACT_WINDOWS": "US=00:00-23:59"}, false, de, night, false},
		// In dev, per-country windows still apply (only the default is
		// opened round the clock).
		{"dev: a country's own window", map[string]string{"RECOVERY_CONTACT_WINDOWS": "US=07:00-20:00"}, true, us, early, false},
		{"dev: other countries round the clock", map[string]string{"RECOVERY_CONTACT_WINDOWS": "US=07:00-20:00"}, true, de, night, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			w := c.windows(tc.dev).For("", recovery.Customer{}, tc.to)
			if got := w.Open(tc.at); got != tc.open {
				t.Fatalf("window %s open at %s: %v, want %v", w, tc.at, got, tc.open)
			}
		})
	}
	for _, bad := range []map[string]string{
		{"RECOVERY_CONTACT_WINDOW": "8-21"},
		{"RECOVERY_CONTACT_WINDOW": "21:00-08:00"},
		{"RECOVERY_CONTACT_WINDOWS": "USA=09:00-20:00"},
		{"RECOVERY_CONTACT_WINDOWS": "US=09:00"},
	} {
		var name string
		for k := range bad {
			name = k
		}
		if _, err := loadConfig(envOf(bad)); err == nil || !strings.Contains(err.Error(), name+":") {
			t.Errorf("%v: %v, want an error naming %s", bad, err, name)
		}
	}
}

func TestDevKeyAndSecretsOnlyInDev(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{"RECOVERY_API_KEYS": "live-1, live-2", "SHOPIFY_WEBHOOK_SECRETS": "shp-1,shp-2"}))
	if err != nil {
		t.Fatal(err)
	}
	keys := func(creds []auth.Credential) []string {
		var out []string
		for _, c := range creds {
			out = append(out, c.Key)
		}
		return out
	}
	if got := keys(c.credentials(true)); !slices.Equal(got, []string{"dev", "live-1", "live-2", "dev-ops-key"}) {
		t.Errorf("dev keys = %v", got)
	}
	if got := keys(c.credentials(false)); !slices.Equal(got, []string{"live-1", "live-2"}) {
		t.Errorf("serve keys = %v (the dev keys must not be accepted)", got)
	}
	renamed, _ := loadConfig(envOf(map[string]string{"RECOVERY_DEV_API_KEY": "local"}))
	if got := keys(renamed.credentials(true)); !slices.Equal(got, []string{"local", "dev-ops-key"}) {
		t.Errorf("dev keys with RECOVERY_DEV_API_KEY=local: %v", got)
	}
	if got := renamed.credentials(false); len(got) != 0 {
		t.Errorf("serve keys without any configured: %v", got)
	}
	dev, serve := c.secrets(true), c.secrets(false)
	for _, name := range []string{"easypost", "shippo", "aftership", "shopify"} {
		want := []string{DevWebhookSecret}
		if name == "shopify" {
			want = []string{"shp-1", "shp-2"} // configured: the dev secret is not added
		}
		if !slices.Equal(dev[name], want) {
			t.Errorf("dev secrets of %s = %v, want %v", name, dev[name], want)
		}
		if slices.Contains(serve[name], DevWebhookSecret) {
			t.Errorf("serve accepts the dev secret for %s", name)
		}
	}
	if !slices.Equal(serve["shopify"], []string{"shp-1", "shp-2"}) || len(serve["easypost"]) != 0 {
		t.Errorf("serve secrets = %v", serve)
	}
	if len(c.WebhookSecrets["easypost"]) != 0 {
		t.Errorf("secrets(dev) changed the configuration: %v", c.WebhookSecrets)
	}
	if got := c.eventSigners(true); len(got) != 1 || !slices.Equal(got[0].Secrets, []string{DevWebhookSecret}) || !got[0].MayIngest("any") {
		t.Errorf("dev signers = %+v, want dev-webhook-secret for any source", got)
	}
	if got := c.eventSigners(false); len(got) != 0 {
		t.Errorf("serve signers = %+v, want none", got)
	}
}

func TestLinkSigner(t *testing.T) {
	bare, _ := loadConfig(envOf(nil))
	set, _ := loadConfig(envOf(map[string]string{"RECOVERY_LINK_SECRET": "link-secret", "RECOVERY_PUBLIC_URL": "https://r.example/"}))
	for _, tc := range []struct {
		name         string
		c            Config
		dev          bool
		secret, base string // "" secret: no signer
	}{
		{"dev without a secret", bare, true, DevLinkSecret, "http://127.0.0.1:9999"},
		{"serve without a secret: no links", bare, false, "", ""},
		{"dev with a secret", set, true, "link-secret", "https://r.example"},
		{"serve with a secret", set, false, "link-secret", "https://r.example"},
	} {
		s := tc.c.signer(tc.dev, "127.0.0.1:9999")
		switch {
		case tc.secret == "" && s != nil:
			t.Errorf("%s: signer %+v, want none", tc.name, s)
		case tc.secret != "" && (s == nil || string(s.Secret) != tc.secret || s.Base != tc.base):
			t.Errorf("%s: signer %+v, want secret %q at %s", tc.name, s, tc.secret, tc.base)
		}
	}
}

// A worker listens on no address: its links point at RECOVERY_PUBLIC_URL,
// else RECOVERY_ADDR, never at "http://" alone.
func TestWorkerLinksPointSomewhere(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{"RECOVERY_LINK_SECRET": "s3cret", "RECOVERY_ADDR": "10.0.0.5:8080"}))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.signer(false, ""); s == nil || s.Base != "http://10.0.0.5:8080" {
		t.Fatalf("worker signer %+v, want the base http://10.0.0.5:8080", s)
	}
	c.PublicURL = "https://care.shop.example"
	if s := c.signer(false, ""); s == nil || s.Base != "https://care.shop.example" {
		t.Fatalf("with a public URL: %+v", s)
	}
}
