// Package browsertest drives the ops console in a real browser (Chromium,
// headless, through chromedp) and checks each page with axe-core.
//
// Its helpers (Chromium, New, Loaded, Accessible) serve any test that
// opens a browser, such as the end-to-end test of the console in
// `recovery dev` (cmd/recovery). Its own tests run the console against a
// real Postgres: sign in, read the queue, open an incident, approve,
// reject or change its offer (within the approver's limit only), see to a
// customer's request for a person, sign out; with the keyboard, and at a
// phone's width; a form sent from another origin is refused; every page
// renders on a working day's data, its controls in the page's type size,
// and passes axe-core (with RECOVERY_SCREENSHOTS set, each is kept as a
// picture: `make screenshots`). They also run axe-core on the customer's
// pages (choice, survey, unsubscribe) that internal/web serves. `make
// test` installs Chromium when it is missing (make chromium) and fetches
// axe-core (make axe); without them these tests fail and say so.
//
// Time budget of its tests: about 30 seconds (14 tests, about 2 to 3
// seconds each; every page, about 5).
package browsertest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium is the browser's path, or it fails the test saying how to get
// it.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: run `make chromium` (make test does), or install Debian's chromium package")
	return ""
}

// New starts headless Chromium with a window of width by height and
// returns its first tab; the browser lives until the test ends. When the
// test has failed by then, a screenshot of the tab is kept in the
// temporary directory and its path logged.
func New(t testing.TB, width, height int64) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(Chromium(t)), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(int(width), int(height)),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// The first Run starts the browser, and it lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			sctx, c := context.WithTimeout(ctx, 5*time.Second)
			if shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil {
				p := filepath.Join(os.TempDir(), strings.ReplaceAll(t.Name(), "/", "_")+".png")
				if os.WriteFile(p, shot, 0o644) == nil {
					t.Logf("screenshot: %s", p)
				}
			}
			c()
		}
		cancel()
		cancelAlloc()
	})
	return ctx
}

// Loaded waits for the page's load event, its stylesheet applied: an
// element is visible as soon as the HTML is parsed, but widths and colours
// are only the page's own once its CSS is in.
func Loaded() chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`document.readyState === "complete"`, chromedp.WithPollingInterval(20*time.Millisecond))
}

// AxeVersion is the axe-core that `make axe` fetches (keep it in step
// with the Makefile's AXE_VERSION).
const AxeVersion = "4.14.1"

// moduleRoot is the repository's root: the first directory above the
// working directory (a test's package) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = up
	}
}

// axeScript reads axe-core from .cache/ at the repository's root.
func axeScript() (string, []byte, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(root, ".cache", "axe-core-"+AxeVersion, "axe.min.js")
	script, err := os.ReadFile(path)
	return path, script, err
}

// Accessible runs axe-core in the page on the rules of WCAG 2.1 A and AA
// (contrast, labels, landmarks, names of links and buttons...) and fails
// the test with each violation, naming page.
func Accessible(t testing.TB, ctx context.Context, page string) {
	t.Helper()
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(lctx, Loaded()); err != nil {
		t.Fatalf("the %s page never finished loading: %v", page, err)
	}
	path, script, err := axeScript()
	if err != nil {
		t.Fatalf("no axe-core at %s (%v): run `make axe` (make test does)", path, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(script)+";true")); err != nil {
		t.Fatalf("load axe-core: %v", err)
	}
	type violation struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []string }
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]violation](
		`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(r => r.violations)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core on the %s page: %v", page, err)
	}
	for _, v := range found {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, strings.Join(n.Target, " "))
		}
		t.Errorf("%s page: %s (%s): %s at %s", page, v.ID, v.Impact, v.Help, strings.Join(where, "; "))
	}
}
