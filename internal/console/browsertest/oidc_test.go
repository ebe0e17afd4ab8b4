package browsertest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/recoveryhq/recovery/internal/auth/oidctest"
	"github.com/recoveryhq/recovery/internal/console"
)

// TestSignInThroughALocalIdentityProvider: the sign-in page offers the
// identity provider; its button leads to the provider's page (another
// origin), whose button brings the browser back signed in, as an
// approver because of her group, to the queue with the incident waiting.
func TestSignInThroughALocalIdentityProvider(t *testing.T) {
	_, _, st := console_(t)
	idp := oidctest.New(t, "recovery-console", "console-secret")
	idp.SignInAs("00u-ada", map[string]any{"preferred_username": "ada", "email": "ada@shop.example", "groups": []string{"ops-leads"}})
	roles, err := console.ParseRoles("ops-leads=approver:250:EUR;ops=viewer")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	s := (&console.Server{Remedies: &remedies{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OIDC: &console.OIDC{Issuer: idp.URL, ClientID: "recovery-console", ClientSecret: "console-secret",
			RedirectURL: srv.URL + "/console/oidc/callback", Roles: roles, Label: "Shop SSO"}}).WithStore(st)
	srv.Config.Handler = s.Handler()

	ctx := New(t, 1280, 900)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.Navigate(srv.URL+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#sso"))); err != nil {
		t.Fatal(err)
	}
	Accessible(t, ctx, "login with single sign-on")
	if err := chromedp.Do(sctx, chromedp.Click(chromedp.CSS("#sso")), chromedp.WaitVisible(chromedp.CSS("#approve"))); err != nil {
		t.Fatalf("to the provider's page: %v", err)
	}
	if at, _ := chromedp.Run(sctx, chromedp.Location()); !strings.HasPrefix(at, idp.URL+"/authorize?") || !strings.Contains(at, "code_challenge_method=S256") {
		t.Fatalf("the browser is at %s, want the provider's authorize page with a PKCE challenge", at)
	}
	if err := chromedp.Do(sctx, chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
		t.Fatalf("back from the provider: %v", err)
	}
	page, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "ada") || !strings.Contains(page, "1001") {
		t.Errorf("the queue after single sign-on shows %q, want ada signed in and order 1001", page)
	}
	u, err := st.ConsoleUser(context.Background(), "ada")
	if err != nil || u.Role != "approver" || u.Limits["EUR"] != 250 || u.Source != "oidc" || u.Email != "ada@shop.example" {
		t.Fatalf("ada's account: %+v, %v", u, err)
	}
	if ex, bad := idp.Counts(); ex != 1 || bad != 0 {
		t.Fatalf("the provider exchanged %d code(s), %d with a wrong verifier", ex, bad)
	}
}
