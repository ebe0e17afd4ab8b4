package main

import (
	"strings"
	"testing"
	"time"
)

// TestConfigConsoleSignIn: the console's OIDC settings are read whole or
// refused with what to set, and its client secret never shows in an
// error.
func TestConfigConsoleSignIn(t *testing.T) {
	const secret = "s3cret-client-secret-value"
	ok := map[string]string{"RECOVERY_OIDC_ISSUER": "https://id.example.com/realms/shop", "RECOVERY_OIDC_CLIENT_ID": "recovery-console",
		"RECOVERY_OIDC_CLIENT_SECRET": secret, "RECOVERY_PUBLIC_URL": "https://recovery.example.com",
		"RECOVERY_OIDC_ROLES": "ops-leads=approver:100:EUR;ops=viewer", "RECOVERY_OIDC_GROUPS_CLAIM": "realm_access.roles"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range ok {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"RECOVERY_OIDC_CLIENT_ID": "x"}, "RECOVERY_OIDC_ISSUER is not"},
		{map[string]string{"RECOVERY_CONSOLE_PASSWORDS": "off"}, "needs an identity provider"},
		{map[string]string{"RECOVERY_CONSOLE_PASSWORDS": "no"}, "not on or off"},
		{with("RECOVERY_OIDC_ISSUER", "http://id.example.com"), "not an https URL"},
		{with("RECOVERY_OIDC_CLIENT_ID", ""), "RECOVERY_OIDC_CLIENT_ID is required"},
		{with("RECOVERY_PUBLIC_URL", ""), "RECOVERY_OIDC_REDIRECT_URL"},
		{with("RECOVERY_OIDC_REDIRECT_URL", "https://recovery.example.com/callback"), "/console/oidc/callback"},
		{with("RECOVERY_OIDC_ROLES", ""), "RECOVERY_OIDC_ROLES"},
		{with("RECOVERY_OIDC_ROLES", "ops=approver"), "needs limits"},
		{map[string]string{"RECOVERY_NOTIFY_EVERY": "soon"}, "RECOVERY_NOTIFY_EVERY"},
		{map[string]string{"RECOVERY_NOTIFY_EVERY": "5ms"}, "RECOVERY_NOTIFY_EVERY"},
		{map[string]string{"RECOVERY_CONSOLE_URL": "ops.example.com/console"}, "RECOVERY_CONSOLE_URL"},
	} {
		_, err := loadConfig(envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.env, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the client secret: %v", err)
		}
	}
	c, err := loadConfig(envOf(with("RECOVERY_CONSOLE_PASSWORDS", "off")))
	if err != nil {
		t.Fatal(err)
	}
	o := c.ConsoleOIDC
	if o == nil || !c.ConsoleNoPasswords || o.RedirectURL != "https://recovery.example.com/console/oidc/callback" ||
		o.ClientSecret != secret || o.GroupsClaim != "realm_access.roles" || len(o.Roles) != 2 || o.Roles[0].Limits["EUR"] != 100 {
		t.Fatalf("console sign-in settings: %+v (passwords off: %v)", o, c.ConsoleNoPasswords)
	}
	if c.ConsoleURL != "https://recovery.example.com/console" || c.NotifyEvery != time.Minute {
		t.Fatalf("approvers' emails: console at %q every %v, want the public URL's /console every minute", c.ConsoleURL, c.NotifyEvery)
	}
	if c, err := loadConfig(envOf(map[string]string{"RECOVERY_NOTIFY_EVERY": "0", "RECOVERY_CONSOLE_URL": "https://ops.example.com/console/"})); err != nil ||
		c.NotifyEvery != 0 || c.ConsoleURL != "https://ops.example.com/console" {
		t.Fatalf("notices off: %v, %v %q", err, c.NotifyEvery, c.ConsoleURL)
	}
}
