package auth

import (
	"reflect"
	"strings"
	"testing"
)

const exampleYAML = `
keys:
  - name: shop-eu
    key: shop-eu-key-0123456789
    rights: [ingest, read, redeem, choose]
    sources: [shop-eu, shop-uk]
  - name: alice
    key: alice-key-0123456789
    rights: [approve]
    limits: {EUR: 100, USD: 120, default: 50}
  - name: root
    key: root-key-0123456789x
    rights: [admin]
  - name: dpo
    key: dpo-key-0123456789xx
    rights: [erase, read]
signing_secrets:
  - name: shop-eu-hooks
    secrets: [whsec_c2hvcC1ldS1ob29rcw==]
    sources: [shop-eu]
`

const exampleJSON = `{"keys": [
 {"name": "shop-eu", "key": "shop-eu-key-0123456789", "rights": ["ingest", "read", "redeem", "choose"], "sources": ["shop-eu", "shop-uk"]},
 {"name": "alice", "key": "alice-key-0123456789", "rights": ["approve"], "limits": {"EUR": 100, "USD": 120, "default": 50}},
 {"name": "root", "key": "root-key-0123456789x", "rights": ["admin"]},
 {"name": "dpo", "key": "dpo-key-0123456789xx", "rights": ["erase", "read"]}],
 "signing_secrets": [{"name": "shop-eu-hooks", "secrets": ["whsec_c2hvcC1ldS1ob29rcw=="], "sources": ["shop-eu"]}]}`

func TestParseFileYAMLAndJSONAlike(t *testing.T) {
	y, err := ParseFile([]byte(exampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	j, err := ParseFile([]byte(exampleJSON))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(y, j) {
		t.Fatalf("YAML and JSON differ:\n%+v\n%+v", y, j)
	}
	want := File{
		Keys: []Credential{
			{Name: "shop-eu", Key: "shop-eu-key-0123456789", Rights: []Right{Ingest, Read, Redeem, Choose}, Sources: []string{"shop-eu", "shop-uk"}},
			{Name: "alice", Key: "alice-key-0123456789", Rights: []Right{Approve},
				Limits: Limits{PerCurrency: map[string]int64{"EUR": 100, "USD": 120}, Default: 50}},
			{Name: "root", Key: "root-key-0123456789x", Rights: []Right{Admin}},
			{Name: "dpo", Key: "dpo-key-0123456789xx", Rights: []Right{Erase, Read}},
		},
		Signers: []Signer{{Name: "shop-eu-hooks", Secrets: []string{"whsec_c2hvcC1ldS1ob29rcw=="}, Sources: []string{"shop-eu"}}},
	}
	if !reflect.DeepEqual(y, want) {
		t.Fatalf("parsed\n%+v\nwant\n%+v", y, want)
	}
}

func TestRightsAndWhatTheyImply(t *testing.T) {
	f, err := ParseFile([]byte(exampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	shop, alice, root, dpo := f.Keys[0], f.Keys[1], f.Keys[2], f.Keys[3]
	for _, tc := range []struct {
		c    Credential
		want []Right
	}{
		{shop, []Right{Ingest, Read, Redeem, Choose}},
		{alice, []Right{Read, Approve}}, // an approver reads what they approve
		{root, Rights},
		{dpo, []Right{Read, Erase}},
		{APIKey("api-key-1", "k"), []Right{Ingest, Read, Redeem, Choose}},
		{Approver("ops", "k", 1000), []Right{Read, Approve}},
	} {
		var got []Right
		for _, r := range Rights {
			if tc.c.Has(r) {
				got = append(got, r)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s has %v, want %v", tc.c.Name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		c      Credential
		source string
		want   bool
	}{
		{shop, "shop-eu", true}, {shop, "shop-uk", true}, {shop, "shop-us", false}, {shop, "SHOP-EU", false},
		{root, "anything", true}, {alice, "shop-eu", false}, {dpo, "shop-eu", false},
		{APIKey("api-key-1", "k"), "anything", true},
	} {
		if got := tc.c.MayIngest(tc.source); got != tc.want {
			t.Errorf("%s may ingest %s: %v, want %v", tc.c.Name, tc.source, got, tc.want)
		}
	}
	for _, tc := range []struct {
		c        Credential
		currency string
		limit    int64
		may      bool
	}{
		{alice, "EUR", 100, true}, {alice, "USD", 120, true}, {alice, "GBP", 50, true},
		{root, "EUR", NoLimit, true}, {shop, "EUR", 0, false}, {dpo, "EUR", 0, false},
		{Approver("ops", "k", 1000), "JPY", 1000, true},
	} {
		limit, may := tc.c.ApproveLimit(tc.currency)
		if limit != tc.limit || may != tc.may {
			t.Errorf("%s approving in %s: %d %v, want %d %v", tc.c.Name, tc.currency, limit, may, tc.limit, tc.may)
		}
	}
	hooks := f.Signers[0]
	if !hooks.MayIngest("shop-eu") || hooks.MayIngest("shop-uk") {
		t.Errorf("signer %+v: bound to shop-eu only", hooks)
	}
}

// A document that is not right names the entry and what to fix, and never
// shows a key or a secret, wherever it was written.
func TestParseFileRefusesAndHidesKeys(t *testing.T) {
	const key = "SECRET-sk-live-0123456789"
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", ``, "at least one key"},
		{"no keys", `keys: []`, "at least one"},
		{"not YAML", "keys: [", "not YAML or JSON"},
		{"unknown field", "keys:\n  - name: a\n    key: " + key + "\n    rights: [read]\n    scope: all", `unknown field "scope"`},
		{"a key as a field name", "keys:\n  - name: a\n    " + key + ": x\n    rights: [read]", "unknown field"},
		{"a bare key in the list", "keys:\n  - " + key, "not the expected structure"},
		{"a key as a limit", "keys:\n  - {name: a, key: k0123456789abcdef, rights: [approve], limits: {EUR: " + key + ", default: 1}}", "not the expected structure"},
		{"no name", "keys:\n  - {key: " + key + ", rights: [read]}", "keys[0]: name"},
		{"a name with spaces", "keys:\n  - {name: 'a b', key: " + key + ", rights: [read]}", "keys[0]: name"},
		{"no key", "keys:\n  - {name: a, rights: [read]}", "keys[0] (a): key: required"},
		{"a key with a space", "keys:\n  - {name: a, key: 'SECRET sk live 0123456789', rights: [read]}", "keys[0] (a): key: only printable"},
		{"no rights", "keys:\n  - {name: a, key: " + key + "}", "rights: name at least one of ingest, read, redeem, choose, approve, erase, admin"},
		{"an unknown right", "keys:\n  - {name: a, key: " + key + ", rights: [write]}", `"write" is not a right`},
		{"the key as a right", "keys:\n  - {name: a, key: " + key + ", rights: [" + key + "]}", "is not a right"},
		{"ingest without sources", "keys:\n  - {name: a, key: " + key + ", rights: [ingest]}", "sources: required with ingest"},
		{"sources without ingest", "keys:\n  - {name: a, key: " + key + ", rights: [read], sources: [x]}", "sources: only with the ingest right"},
		{"an empty source", "keys:\n  - {name: a, key: " + key + ", rights: [ingest], sources: ['']}", "sources[0]"},
		{"approve without limits", "keys:\n  - {name: a, key: " + key + ", rights: [approve]}", "limits: required with approve"},
		{"limits without approve", "keys:\n  - {name: a, key: " + key + ", rights: [read], limits: {default: 5}}", "limits: only with the approve right"},
		{"limits without a default", "keys:\n  - {name: a, key: " + key + ", rights: [approve], limits: {EUR: 5}}", "give a default"},
		{"a limit below -1", "keys:\n  - {name: a, key: " + key + ", rights: [approve], limits: {EUR: -2, default: 5}}", `"EUR": a whole number`},
		{"not a currency", "keys:\n  - {name: a, key: " + key + ", rights: [approve], limits: {EURO: 5, default: 5}}", `"EURO" is not an ISO 4217`},
		{"the key as a currency", "keys:\n  - {name: a, key: " + key + ", rights: [approve], limits: {" + key + ": 5, default: 5}}", "is not an ISO 4217"},
		{"a signer without sources", "signing_secrets:\n  - {name: s, secrets: [" + key + "]}", "signing_secrets[0] (s): sources: required"},
		{"a signer with three secrets", "signing_secrets:\n  - {name: s, secrets: [" + key + ", b, c], sources: ['*']}", "one or two"},
		{"a duplicate field", `{"keys": [{"name": "a", "key": "` + key + `", "key": "` + key + `", "rights": ["read"]}]}`, `mapping key "key" already defined`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile([]byte(tc.doc))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.doc)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			for _, part := range []string{key, "SECRET"} {
				if strings.Contains(err.Error(), part) {
					t.Errorf("error %q shows the key", err)
				}
			}
		})
	}
}

func TestCheckRefusesAndHidesKeys(t *testing.T) {
	const long = "long-key-0123456789"
	good := []Credential{APIKey("api-key-1", long), Approver("ops", "ops-key-0123456789", 100)}
	if err := Check(good, []Signer{{Name: "s", Secrets: []string{"sig-0123456789abcdef"}, Sources: []string{"*"}}},
		[]Secret{{"SHOPIFY_WEBHOOK_SECRETS", "shp-0123456789abcdef"}}, MinKeyLen); err != nil {
		t.Fatalf("good credentials refused: %v", err)
	}
	if err := Check([]Credential{APIKey("dev", "dev")}, nil, nil, 0); err != nil {
		t.Fatalf("a short key without a minimum (dev): %v", err)
	}
	for _, tc := range []struct {
		name    string
		creds   []Credential
		signers []Signer
		secrets []Secret
		want    string
		hidden  string
	}{
		{"a short key", []Credential{APIKey("api-key-1", "short-key-12345")}, nil, nil,
			`the key of credential "api-key-1" is shorter than 16 characters`, "short-key-12345"},
		{"the same key twice", []Credential{APIKey("api-key-1", long), Approver("alice", long, 5)}, nil, nil,
			`credentials "api-key-1" and "alice" have the same key`, long},
		{"the same name twice", []Credential{APIKey("a", long), Approver("a", long+"x", 5)}, nil, nil,
			`two credentials are named "a"`, long},
		{"a key equal to a provider secret", []Credential{APIKey("api-key-1", long)}, nil,
			[]Secret{{"SHOPIFY_WEBHOOK_SECRETS", long}}, `"api-key-1" is also a secret (SHOPIFY_WEBHOOK_SECRETS)`, long},
		{"a key equal to a signing secret", []Credential{APIKey("api-key-1", long)},
			[]Signer{{Name: "hooks", Secrets: []string{"other-0123456789abc", long}, Sources: []string{"*"}}}, nil,
			`"api-key-1" is also a secret (signing secret "hooks")`, long},
		{"a secret shared by two signers", nil,
			[]Signer{{Name: "eu", Secrets: []string{long}, Sources: []string{"eu"}}, {Name: "us", Secrets: []string{long}, Sources: []string{"us"}}},
			nil, `signing secret "eu" and signing secret "us" share a secret`, long},
		{"no key", []Credential{{Name: "a", Rights: []Right{Read}}}, nil, nil, `credential "a" has no key`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.creds, tc.signers, tc.secrets, MinKeyLen)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if tc.hidden != "" && strings.Contains(err.Error(), tc.hidden) {
				t.Fatalf("error %q shows the key", err)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	s := NewSet([]Credential{APIKey("api-key-1", "first-key-0123456789"), Approver("ops", "ops-key-0123456789", 5), {Name: "blank"}})
	for _, tc := range []struct {
		token, want string
	}{
		{"first-key-0123456789", "api-key-1"}, {"ops-key-0123456789", "ops"},
		{"first-key-012345678", ""}, {"first-key-0123456789x", ""}, {"", ""}, {"FIRST-KEY-0123456789", ""},
	} {
		c, ok := s.Lookup(tc.token)
		if ok != (tc.want != "") || c.Name != tc.want {
			t.Errorf("Lookup(%q) = %q %v, want %q", tc.token, c.Name, ok, tc.want)
		}
	}
	if _, ok := (*Set)(nil).Lookup("x"); ok {
		t.Error("a nil set found a credential")
	}
}

func TestLimitsString(t *testing.T) {
	l := Limits{PerCurrency: map[string]int64{"USD": 120, "EUR": 100}, Default: -1}
	if got := l.String(); got != "EUR:100,USD:120,default:-1" {
		t.Fatalf("String() = %q", got)
	}
}

// An approver may be bound to the policy roles it acts for.
func TestApproverRoles(t *testing.T) {
	f, err := ParseFile([]byte(`keys:
  - {name: cleo, key: 0123456789abcdef-cleo, rights: [approve], limits: {default: 100}, roles: [claims, returns]}
  - {name: any, key: 0123456789abcdef-any, rights: [approve], limits: {default: 100}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Keys[0].Roles; len(got) != 2 || got[0] != "claims" || len(f.Keys[1].Roles) != 0 {
		t.Fatalf("roles = %v / %v", got, f.Keys[1].Roles)
	}
	if _, err := ParseFile([]byte(`keys: [{name: shop, key: 0123456789abcdef-shop, rights: [read], roles: [claims]}]`)); err == nil ||
		!strings.Contains(err.Error(), "roles: only with the approve right") {
		t.Fatalf("roles without approve: %v", err)
	}
}
