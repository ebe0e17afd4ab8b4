package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/web"
)

const keysYAML = `
keys:
  - name: shop-eu
    key: shop-eu-key-0123456789
    rights: [ingest, read, redeem, choose]
    sources: [shop-eu]
  - name: alice
    key: alice-key-0123456789
    rights: [approve]
    limits: {EUR: 100, USD: 120, default: 50}
signing_secrets:
  - name: shop-eu-hooks
    secrets: [whsec_c2hvcC1ldS1ob29rcw==]
    sources: [shop-eu]
`

const keysJSON = `{"keys": [
  {"name": "shop-eu", "key": "shop-eu-key-0123456789", "rights": ["ingest", "read", "redeem", "choose"], "sources": ["shop-eu"]},
  {"name": "alice", "key": "alice-key-0123456789", "rights": ["approve"], "limits": {"EUR": 100, "USD": 120, "default": 50}}],
 "signing_secrets": [{"name": "shop-eu-hooks", "secrets": ["whsec_c2hvcC1ldS1ob29rcw=="], "sources": ["shop-eu"]}]}`

// The keys come from a file or inline, YAML or JSON, with the same
// result; the legacy shorthands add to them.
func TestConfigKeysFromFileOrInline(t *testing.T) {
	dir := t.TempDir()
	yamlFile, jsonFile := filepath.Join(dir, "keys.yaml"), filepath.Join(dir, "keys.json")
	os.WriteFile(yamlFile, []byte(keysYAML), 0o600) //nolint:errcheck
	os.WriteFile(jsonFile, []byte(keysJSON), 0o600) //nolint:errcheck
	var results []Config
	for _, env := range []map[string]string{
		{"RECOVERY_KEYS_FILE": yamlFile}, {"RECOVERY_KEYS_FILE": jsonFile}, {"RECOVERY_KEYS": keysYAML}, {"RECOVERY_KEYS": keysJSON},
	} {
		c, err := loadConfig(envOf(env))
		if err != nil {
			t.Fatalf("%v: %v", env, err)
		}
		results = append(results, c)
	}
	for _, c := range results[1:] {
		if !reflect.DeepEqual(c.Credentials, results[0].Credentials) || !reflect.DeepEqual(c.EventSigners, results[0].EventSigners) {
			t.Fatalf("file and inline, YAML and JSON differ:\n%+v\n%+v", results[0], c)
		}
	}
	c := results[0]
	if len(c.Credentials) != 2 || c.Credentials[0].Name != "shop-eu" || !c.Credentials[0].MayIngest("shop-eu") ||
		c.Credentials[0].MayIngest("shop-us") || len(c.EventSigners) != 1 || c.EventSigners[0].MayIngest("shop-us") {
		t.Fatalf("credentials %+v, signers %+v", c.Credentials, c.EventSigners)
	}
	if limit, ok := c.Credentials[1].ApproveLimit("USD"); !ok || limit != 120 {
		t.Fatalf("alice's USD limit: %d %v", limit, ok)
	}
	if err := c.checkCredentials(false); err != nil {
		t.Fatalf("a good keys file refused in serve: %v", err)
	}

	// With the legacy shorthands: all of them, the file's first.
	both, err := loadConfig(envOf(map[string]string{"RECOVERY_KEYS": keysJSON, "RECOVERY_API_KEYS": "legacy-key-0123456789",
		"RECOVERY_APPROVERS": "bob:300:bob-key-0123456789", "RECOVERY_EVENTS_SIGNING_SECRETS": "legacy-signing-0123456789"}))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cr := range both.Credentials {
		names = append(names, cr.Name)
	}
	if strings.Join(names, ",") != "shop-eu,alice,api-key-1,bob" || len(both.EventSigners) != 2 {
		t.Fatalf("credentials %v, signers %+v", names, both.EventSigners)
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both set", map[string]string{"RECOVERY_KEYS_FILE": yamlFile, "RECOVERY_KEYS": keysJSON}, "both set"},
		{"a missing file", map[string]string{"RECOVERY_KEYS_FILE": filepath.Join(dir, "nope.yaml")}, "RECOVERY_KEYS_FILE"},
		{"a bad entry", map[string]string{"RECOVERY_KEYS": strings.Replace(keysJSON, `"approve"`, `"approve", "fly"`, 1)},
			`RECOVERY_KEYS: keys[1] (alice): rights: "fly" is not a right`},
		{"a bad file", map[string]string{"RECOVERY_KEYS_FILE": writeFile(t, dir, "bad.yaml", "keys:\n  - shop-eu-key-0123456789\n")},
			"RECOVERY_KEYS_FILE: not the expected structure"},
	} {
		_, err := loadConfig(envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		} else if strings.Contains(err.Error(), "key-0123456789") {
			t.Errorf("%s: the error %q shows a key", tc.name, err)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// RECOVERY_API_KEYS and RECOVERY_APPROVERS keep working: an API key has
// today's powers, an approver approves up to its limit in every currency
// and reads.
func TestConfigLegacyShorthandsAreCredentials(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{"RECOVERY_API_KEYS": "legacy-key-0123456789",
		"RECOVERY_APPROVERS": "carol:250:carol-key-0123456789", "RECOVERY_EVENTS_SIGNING_SECRETS": "legacy-signing-0123456789"}))
	if err != nil {
		t.Fatal(err)
	}
	api, carol := c.Credentials[0], c.Credentials[1]
	rights := func(cr auth.Credential) (out []auth.Right) {
		for _, r := range auth.Rights {
			if cr.Has(r) {
				out = append(out, r)
			}
		}
		return out
	}
	if got := rights(api); !reflect.DeepEqual(got, []auth.Right{auth.Ingest, auth.Read, auth.Redeem, auth.Choose}) || !api.MayIngest("any-source") {
		t.Errorf("an API key has %v", got)
	}
	if got := rights(carol); !reflect.DeepEqual(got, []auth.Right{auth.Read, auth.Approve}) || carol.Name != "carol" {
		t.Errorf("an approver has %v", got)
	}
	for _, cur := range []string{"EUR", "USD", "JPY"} {
		if limit, ok := carol.ApproveLimit(cur); !ok || limit != 250 {
			t.Errorf("carol's limit in %s: %d %v", cur, limit, ok)
		}
	}
	if len(c.EventSigners) != 1 || !c.EventSigners[0].MayIngest("any-source") {
		t.Errorf("signers %+v: the legacy signing secret writes any source", c.EventSigners)
	}
}

// serve refuses to start (before connecting to anything) with a short key,
// two credentials sharing a key, a key that is also a secret, or no key;
// the error names credentials, never a key.
func TestAuthServeRefusesBadCredentials(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/none", "TEMPORAL_ADDRESS": "127.0.0.1:1"}
	with := func(kv ...string) map[string]string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	const long = "shared-key-0123456789"
	for _, tc := range []struct {
		name, want, key string
		env             map[string]string
	}{
		{"no key", "no API key", "", with()},
		{"a short legacy key", `"api-key-1" is shorter than 16`, "short-key-12345", with("RECOVERY_API_KEYS", "short-key-12345")},
		{"a short approver key", `"alice" is shorter than 16`, "alice-key-123",
			with("RECOVERY_API_KEYS", long, "RECOVERY_APPROVERS", "alice:100:alice-key-123")},
		{"a short key in the keys", `"shop" is shorter than 16`, "shop-key-1",
			with("RECOVERY_KEYS", `{"keys":[{"name":"shop","key":"shop-key-1","rights":["read"]}]}`)},
		{"an API key that is an approver's", `"api-key-1" and "alice" have the same key`, long,
			with("RECOVERY_API_KEYS", long, "RECOVERY_APPROVERS", "alice:100:"+long)},
		{"two API keys alike", `"api-key-1" and "api-key-2" have the same key`, long, with("RECOVERY_API_KEYS", long+","+long)},
		{"a key that is a provider secret", "also a secret (SHOPIFY_WEBHOOK_SECRETS)", long,
			with("RECOVERY_API_KEYS", long, "SHOPIFY_WEBHOOK_SECRETS", "other-secret,"+long)},
		{"a key that is the events signing secret", `also a secret (signing secret "RECOVERY_EVENTS_SIGNING_SECRETS")`, long,
			with("RECOVERY_API_KEYS", long, "RECOVERY_EVENTS_SIGNING_SECRETS", long)},
		{"a key that is a signing secret of the keys", `also a secret (signing secret "hooks")`, long,
			with("RECOVERY_KEYS", `{"keys":[{"name":"shop","key":"`+long+`","rights":["read"]}],
			  "signing_secrets":[{"name":"hooks","secrets":["`+long+`"],"sources":["*"]}]}`)},
		{"a key that is the link secret", "also a secret (RECOVERY_LINK_SECRET)", long,
			with("RECOVERY_API_KEYS", long, "RECOVERY_LINK_SECRET", long)},
		{"a key that is the outbound secret", "also a secret (RECOVERY_OUTBOUND_SECRET)", long,
			with("RECOVERY_API_KEYS", long, "RECOVERY_OUTBOUND_SECRET", long)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, []string{"serve"}, envOf(tc.env), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve: %v, want an error saying %q", err, tc.want)
			}
			if tc.key != "" && strings.Contains(err.Error(), tc.key) {
				t.Fatalf("the error %q shows the key", err)
			}
		})
	}
	// dev's own short keys are fine on loopback.
	c, _ := loadConfig(envOf(nil))
	if err := c.checkCredentials(true); err != nil {
		t.Fatalf("dev defaults refused: %v", err)
	}
}

// dev listens on loopback; anywhere else only with RECOVERY_DEV_PUBLIC=1
// and every well-known key and secret replaced, and the error lists what
// is left to do.
func TestAuthDevRefusesAPublicAddressWithDefaults(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "127.0.0.2:9000", "[::1]:8080", "localhost:8080"} {
		c, err := loadConfig(envOf(map[string]string{"RECOVERY_ADDR": addr}))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.checkDevAddr(); err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
	}
	replaced := map[string]string{"RECOVERY_DEV_PUBLIC": "1", "RECOVERY_DEV_API_KEY": "team-dev-key-0123456789",
		"RECOVERY_APPROVERS":              "ops:1000:team-ops-key-0123456789",
		"RECOVERY_EVENTS_SIGNING_SECRETS": "team-signing-0123456789", "EASYPOST_WEBHOOK_SECRETS": "team-ep-0123456789",
		"SHIPPO_WEBHOOK_SECRETS": "team-sh-0123456789", "AFTERSHIP_WEBHOOK_SECRETS": "team-as-0123456789",
		"SHOPIFY_WEBHOOK_SECRETS": "team-sp-0123456789", "RECOVERY_LINK_SECRET": "team-link-0123456789",
		"ZENDESK_WEBHOOK_SECRETS": "team-zd-0123456789", "GORGIAS_WEBHOOK_SECRETS": "team-gg-0123456789"}
	all := []string{"RECOVERY_DEV_PUBLIC=1", "RECOVERY_DEV_API_KEY", "RECOVERY_APPROVERS", "RECOVERY_EVENTS_SIGNING_SECRETS",
		"EASYPOST_WEBHOOK_SECRETS", "SHIPPO_WEBHOOK_SECRETS", "AFTERSHIP_WEBHOOK_SECRETS", "SHOPIFY_WEBHOOK_SECRETS",
		"ZENDESK_WEBHOOK_SECRETS", "GORGIAS_WEBHOOK_SECRETS", "RECOVERY_LINK_SECRET"}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		missing []string // what the error must ask for; nil: started
	}{
		{"all interfaces", map[string]string{"RECOVERY_ADDR": "0.0.0.0:8080"}, all},
		{"no host", map[string]string{"RECOVERY_ADDR": ":8080"}, all},
		{"a LAN address", map[string]string{"RECOVERY_ADDR": "192.168.1.20:8080"}, all},
		{"IPv6 any", map[string]string{"RECOVERY_ADDR": "[::]:8080"}, all},
		{"the flag alone", map[string]string{"RECOVERY_ADDR": "0.0.0.0:8080", "RECOVERY_DEV_PUBLIC": "1"}, all[1:]},
		{"everything replaced but the flag", with(replaced, "RECOVERY_ADDR", "0.0.0.0:8080", "RECOVERY_DEV_PUBLIC", ""),
			[]string{"RECOVERY_DEV_PUBLIC=1"}},
		{"a secret set back to the default", with(replaced, "RECOVERY_ADDR", "0.0.0.0:8080", "SHIPPO_WEBHOOK_SECRETS", DevWebhookSecret),
			[]string{"SHIPPO_WEBHOOK_SECRETS"}},
		{"the link secret set to the default", with(replaced, "RECOVERY_ADDR", "0.0.0.0:8080", "RECOVERY_LINK_SECRET", DevLinkSecret),
			[]string{"RECOVERY_LINK_SECRET"}},
		{"a short dev key", with(replaced, "RECOVERY_ADDR", "0.0.0.0:8080", "RECOVERY_DEV_API_KEY", "team-key"),
			[]string{"RECOVERY_DEV_API_KEY"}},
		{"everything replaced", with(replaced, "RECOVERY_ADDR", "0.0.0.0:8080"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			err = c.checkDevAddr()
			if tc.missing == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if err := c.checkCredentials(true); err != nil {
					t.Fatalf("credentials refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("dev would listen beyond loopback")
			}
			for _, want := range tc.missing {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not ask for %s:\n%v", want, err)
				}
			}
			for _, other := range all {
				if !contains(tc.missing, other) && strings.Contains(err.Error(), "set "+other) {
					t.Errorf("the error asks for %s, which is done:\n%v", other, err)
				}
			}
			for k, v := range tc.env {
				if strings.Contains(k, "SECRET") || strings.Contains(k, "KEY") || k == "RECOVERY_APPROVERS" {
					if v != "" && v != DevWebhookSecret && v != DevLinkSecret && strings.Contains(err.Error(), v) {
						t.Errorf("the error shows the value of %s:\n%v", k, err)
					}
				}
			}
		})
	}
	// The command itself refuses before starting anything.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, []string{"dev"}, envOf(map[string]string{"RECOVERY_ADDR": "0.0.0.0:8080", "RECOVERY_DATA_DIR": t.TempDir()}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "RECOVERY_DEV_PUBLIC=1") {
		t.Fatalf("recovery dev on 0.0.0.0: %v", err)
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// devIncidents holds one incident awaiting approval, in yen.
type devIncidents struct{}

var heldInYen = recovery.Incident{ID: "inc-1", OrderID: "1001", WorkflowID: "incident/1001/s/late", Status: recovery.IncidentAwaitingApproval,
	Offer: &recovery.Offer{Remedy: recovery.RemedyRefund, ValueMinor: 5000, Currency: "JPY", Status: recovery.OfferPending}}

func (devIncidents) ListIncidents(context.Context, recovery.IncidentFilter) ([]recovery.Incident, error) {
	return []recovery.Incident{heldInYen}, nil
}

func (devIncidents) GetIncident(context.Context, string) (recovery.Incident, error) {
	return heldInYen, nil
}

type devRemedies struct{ by []recovery.Approver }

func (d *devRemedies) Act(_ context.Context, _ string, a recovery.RemedyAction) (recovery.RemedyView, error) {
	d.by = append(d.by, a.By)
	return recovery.RemedyView{Stage: "applying"}, nil
}

type devInbox struct{}

func (devInbox) Submit(_ context.Context, evs []recovery.Event) ([]bool, error) {
	return make([]bool, len(evs)), nil
}

type devCodes struct{}

func (devCodes) RedeemCode(_ context.Context, code, _ string, _ time.Time) (recovery.IssuedCode, error) {
	return recovery.IssuedCode{Code: code}, nil
}

// TestDevAuthMatrix: in dev, the key dev ingests for any source, reads,
// redeems and chooses; dev-ops-key approves up to 1000 in each currency,
// reads and erases, and does nothing else; the answers of the real handler
// built from dev's credentials say so.
func TestDevAuthMatrix(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	rem := &devRemedies{}
	srv := &web.Server{Credentials: c.credentials(true), EventSigners: c.eventSigners(true), Inbox: devInbox{},
		Incidents: devIncidents{}, Remedies: rem, Codes: devCodes{}, Logger: quietLogger()}
	h := srv.Handler()
	event := `{"id":"e-1","source":"any-shop","type":"order.cancelled","time":"2026-11-20T10:00:00Z","data":{"order_id":"1001"}}`
	for _, tc := range []struct {
		method, path, body string
		dev, ops           int // the answer to each key; 0: neither 401 nor 403
	}{
		{"POST", "/v1/events", event, 0, 403},
		{"GET", "/v1/incidents", "", 0, 0},
		{"GET", "/v1/incidents/inc-1", "", 0, 0},
		{"POST", "/v1/codes/SORRY-1/redeem", `{"order_id":"1002"}`, 0, 403},
		{"POST", "/v1/incidents/inc-1/choice", `{"remedy":"refund"}`, 0, 403},
		{"POST", "/v1/incidents/inc-1/approve", `{}`, 403, 0},
		{"POST", "/v1/incidents/inc-1/reject", `{"reason":"no"}`, 403, 0},
	} {
		for key, want := range map[string]int{"dev": tc.dev, "dev-ops-key": tc.ops} {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch {
			case want == 0 && (rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden):
				t.Errorf("%s %s with %s: %d %s, want it allowed", tc.method, tc.path, key, rec.Code, rec.Body)
			case want != 0 && rec.Code != want:
				t.Errorf("%s %s with %s: %d %s, want %d", tc.method, tc.path, key, rec.Code, rec.Body, want)
			}
		}
	}
	// The dev key's choice, then dev-ops-key's approval and rejection.
	want := []recovery.Approver{{Name: "customer"}, {Name: "ops", LimitMajor: 1000}, {Name: "ops", LimitMajor: 1000}}
	if !reflect.DeepEqual(rem.by, want) {
		t.Errorf("the workflow was sent actions by %+v, want %+v (dev-ops-key: ops, 1000 yen)", rem.by, want)
	}
	ops, _ := auth.NewSet(c.credentials(true)).Lookup("dev-ops-key")
	dev, _ := auth.NewSet(c.credentials(true)).Lookup("dev")
	if !ops.Has(auth.Erase) || dev.Has(auth.Erase) || ops.Has(auth.Admin) || dev.Has(auth.Admin) {
		t.Errorf("erase and admin: dev-ops-key %v %v, dev %v %v; want erase for dev-ops-key only, admin for neither",
			ops.Has(auth.Erase), ops.Has(auth.Admin), dev.Has(auth.Erase), dev.Has(auth.Admin))
	}
}
