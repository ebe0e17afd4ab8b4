package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	var shown bytes.Buffer
	if err := run(t.Context(), []string{"policy", "show"}, func(string) string { return "" }, &shown, &shown); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(good, shown.Bytes(), 0o600)                                                                                          //nolint:errcheck
	os.WriteFile(bad, []byte("version: v2\nrules:\n  - name: x\n    when: order.total > 5\n    remedies: [{type: refund}]\n"), 0o600) //nolint:errcheck
	var out bytes.Buffer
	if err := run(t.Context(), []string{"policy", "check", good}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("the built-in policy fails its own check: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ok, version builtin-") {
		t.Fatalf("output %q", out.String())
	}
	out.Reset()
	err := run(t.Context(), []string{"policy", "check", bad}, func(string) string { return "" }, &out, &out)
	if !errors.Is(err, errPolicy) || !strings.Contains(out.String(), "bad.yaml:4:11:") || !strings.Contains(out.String(), "total") {
		t.Fatalf("err %v, output %q: want the line and column of the bad condition", err, out.String())
	}
}
