package main

import (
	"context"
	"errors"
	"flag"
	"time"

	"fmt"
	"io"

	"github.com/recoveryhq/recovery/internal/console"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"

	"github.com/recoveryhq/recovery/internal/policy"
)

// errPolicy says a policy file has problems; they were printed.
var errPolicy = errors.New("the policy has problems")

// runPolicy runs `recovery policy check FILE`, `show` and `dry-run FILE`.
func runPolicy(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("policy needs a subcommand (check FILE, show): %w", errUsage)
	}
	switch args[0] {
	case "check":
		if len(args) != 2 {
			return fmt.Errorf("policy check takes one FILE: %w", errUsage)
		}
		p, err := policy.Load(args[1])
		var problems policy.Problems
		if errors.As(err, &problems) {
			for _, pr := range problems {
				fmt.Fprintln(stdout, pr)
			}
			return fmt.Errorf("%s: %d problem(s): %w", args[1], len(problems), errPolicy)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: ok, version %s, %d rules\n", args[1], p.Version, len(p.Rules))
		for _, r := range p.Rules {
			fmt.Fprintf(stdout, "  line %d: %s\n", r.Line, r.Name)
		}
		return nil
	case "show":
		_, err := stdout.Write(policy.DefaultText())
		return err
	case "dry-run":
		return policyDryRun(ctx, cfg, args[1:], stdout)
	}
	return fmt.Errorf("unknown policy subcommand %q: %w", args[0], errUsage)
}

// policyDryRun replays a policy over the stored incidents and prints, for
// each, what was offered next to what the policy would offer, then totals.
func policyDryRun(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("policy dry-run", flag.ContinueOnError)
	since := fs.Duration("since", 90*24*time.Hour, "replay incidents detected within this long")
	limit := fs.Int("limit", 10000, "at most this many incidents")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return fmt.Errorf("policy dry-run [-since 2160h] [-limit N] FILE: %w", errUsage)
	}
	p, err := policy.Load(fs.Arg(0))
	var problems policy.Problems
	if errors.As(err, &problems) {
		for _, pr := range problems {
			fmt.Fprintln(stdout, pr)
		}
		return fmt.Errorf("%s: %d problem(s): %w", fs.Arg(0), len(problems), errPolicy)
	}
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("set DATABASE_URL to the database to replay (recovery dev prints its URL)")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer st.Close()
	past, err := console.PastFrom(st)(ctx, time.Now().Add(-*since), *limit)
	if err != nil {
		return err
	}
	cmp, tot := policy.DryRun(p, past)
	fmt.Fprintf(stdout, "%-26s %-19s %-24s %-34s %s\n", "incident", "kind", "offered", "would offer", "rule")
	for _, c := range cmp {
		offered := "-"
		if c.Offered != nil {
			offered = fmt.Sprintf("%s %s (%s)", c.Offered.Remedy, recovery.Money{Minor: c.Offered.ValueMinor, Currency: c.Offered.Currency}, c.Offered.Status)
		}
		would, rule := "-", c.Decision.Rule
		if c.Would != nil {
			would = fmt.Sprintf("%s %s", c.Would.Remedy, c.Would.Value)
			if c.Decision.NeedsApproval {
				would += " (approval)"
			}
			if c.Decision.CustomerChooses {
				would += fmt.Sprintf(" of %d", len(c.Decision.Offers))
			}
		}
		if c.Skipped != "" {
			rule = "skipped: " + c.Skipped
		}
		fmt.Fprintf(stdout, "%-26s %-19s %-24s %-34s %s\n", c.Incident.ID, c.Incident.Kind, offered, would, rule)
	}
	fmt.Fprintf(stdout, "\n%d incidents, policy %s; %d would wait for approval\n", len(cmp), p.Version, tot.Approvals)
	for _, c := range tot.Currencies() {
		fmt.Fprintf(stdout, "  %s: offered %s, would offer %s\n", c,
			recovery.Money{Minor: tot.Offered[c], Currency: c}, recovery.Money{Minor: tot.Would[c], Currency: c})
	}
	return nil
}
