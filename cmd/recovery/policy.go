package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/recoveryhq/recovery/internal/policy"
)

// errPolicy says a policy file has problems; they were printed.
var errPolicy = errors.New("the policy has problems")

// runPolicy runs `recovery policy check FILE` and `recovery policy show`.
func runPolicy(args []string, stdout io.Writer) error {
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
	}
	return fmt.Errorf("unknown policy subcommand %q: %w", args[0], errUsage)
}
