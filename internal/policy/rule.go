package policy

import (
	"fmt"
	"slices"

	"cel.dev/cel-go/cel"
	"gopkg.in/yaml.v3"

	"github.com/recoveryhq/recovery/internal/recovery"
)

var ruleKeys = []string{"name", "when", "remedies", "approval", "customer_chooses", "default", "choice_timeout", "ladder", "template", "contact_window", "step_timeout"}

// rule reads and checks one rule.
func (ps *parser) rule(n *yaml.Node, path string) Rule {
	r := Rule{Line: n.Line, Approval: Approval{AutoUpToMinor: -1}, Ladder: []string{recovery.ChannelEmail}, Template: "apology"}
	var whenNode *yaml.Node
	ps.fields(n, path, ruleKeys, func(k string, v *yaml.Node) {
		switch k {
		case "name":
			r.Name = ps.str(v, path+".name")
		case "when":
			r.When, whenNode = ps.str(v, path+".when"), v
		case "remedies":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				ps.add(v, "%s.remedies must be a non-empty list", path)
				return
			}
			for i, rn := range v.Content {
				r.Remedies = append(r.Remedies, ps.remedy(rn, fmt.Sprintf("%s.remedies[%d]", path, i)))
			}
		case "approval":
			r.Approval = ps.approval(v, path+".approval")
		case "customer_chooses":
			r.CustomerChooses = ps.boolean(v, path+".customer_chooses")
		case "default":
			r.Default = recovery.Remedy(ps.str(v, path+".default"))
		case "choice_timeout":
			r.ChoiceTimeout = ps.duration(v, path+".choice_timeout")
		case "ladder":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				ps.add(v, "%s.ladder must be a non-empty list of channels", path)
				return
			}
			r.Ladder = nil
			for _, c := range v.Content {
				if !slices.Contains(channels, c.Value) {
					ps.add(c, "%s.ladder: %q is not a channel (voice, sms, email)", path, c.Value)
				}
				r.Ladder = append(r.Ladder, c.Value)
			}
		case "template":
			r.Template = ps.str(v, path+".template")
		case "contact_window":
			r.ContactWindow = ps.str(v, path+".contact_window")
			if _, err := recovery.ParseWindow(r.ContactWindow); err != nil {
				ps.add(v, "%s.contact_window: %v", path, err)
			}
		case "step_timeout":
			r.StepTimeout = ps.duration(v, path+".step_timeout")
		}
	})
	if r.Name == "" {
		ps.add(n, "%s.name is required", path)
	}
	if len(r.Remedies) == 0 {
		ps.add(n, "%s.remedies is required", path)
	}
	if r.Default != "" && !slices.ContainsFunc(r.Remedies, func(s RemedySpec) bool { return s.Type == r.Default }) {
		ps.add(n, "%s.default %q is not one of the rule's remedies", path, r.Default)
	}
	if r.CustomerChooses && r.ChoiceTimeout == 0 {
		r.ChoiceTimeout = 48 * 3600 * 1e9
	}
	if whenNode == nil {
		ps.add(n, "%s.when is required (use \"true\" for a catch-all)", path)
		return r
	}
	r.program = ps.compile(whenNode, r.When, path+".when")
	return r
}

// compile type-checks a condition and reports CEL's errors at the line of
// the expression.
func (ps *parser) compile(n *yaml.Node, expr, path string) cel.Program {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		ps.add(n, "%s: %s", path, iss.Err())
		return nil
	}
	if ast.OutputType() != cel.BoolType {
		ps.add(n, "%s must be true or false, not %s", path, ast.OutputType())
		return nil
	}
	prg, err := env.Program(ast)
	if err != nil {
		ps.add(n, "%s: %v", path, err)
		return nil
	}
	return prg
}

var remedyKeys = []string{"type", "percent", "amount_minor", "max_minor", "expires_in", "expedited", "price_band_percent"}

func (ps *parser) remedy(n *yaml.Node, path string) RemedySpec {
	var s RemedySpec
	ps.fields(n, path, remedyKeys, func(k string, v *yaml.Node) {
		switch k {
		case "type":
			s.Type = recovery.Remedy(ps.str(v, path+".type"))
			if !slices.Contains(remedyTypes, s.Type) {
				ps.add(v, "%s.type %q is not a remedy (discount, substitute, reship, store_credit, refund)", path, s.Type)
			}
		case "percent":
			if s.Percent = ps.integer(v, path+".percent", 1); s.Percent > 100 {
				ps.add(v, "%s.percent must be at most 100", path)
			}
		case "amount_minor":
			s.AmountMinor = ps.integer(v, path+".amount_minor", 1)
		case "max_minor":
			s.MaxMinor = ps.integer(v, path+".max_minor", 1)
		case "expires_in":
			s.ExpiresIn = ps.duration(v, path+".expires_in")
		case "expedited":
			s.Expedited = ps.boolean(v, path+".expedited")
		case "price_band_percent":
			s.PriceBandPercent = ps.integer(v, path+".price_band_percent", 0)
		}
	})
	switch s.Type {
	case recovery.RemedyDiscount, recovery.RemedyStoreCredit:
		if (s.Percent == 0) == (s.AmountMinor == 0) {
			ps.add(n, "%s: a %s needs exactly one of percent or amount_minor", path, s.Type)
		}
	case recovery.RemedyRefund:
		if s.Percent == 0 {
			s.Percent = 100
		}
	case recovery.RemedySubstitute:
		if s.PriceBandPercent == 0 {
			s.PriceBandPercent = 10
		}
	}
	if s.Expedited && s.Type != recovery.RemedyReship {
		ps.add(n, "%s: expedited applies to a reship only", path)
	}
	return s
}

var approvalKeys = []string{"auto_up_to_minor", "role", "escalate_after", "deadline", "on_deadline"}

func (ps *parser) approval(n *yaml.Node, path string) Approval {
	a := Approval{AutoUpToMinor: -1, Role: "ops", OnDeadline: "apply_default"}
	ps.fields(n, path, approvalKeys, func(k string, v *yaml.Node) {
		switch k {
		case "auto_up_to_minor":
			a.AutoUpToMinor = ps.integer(v, path+".auto_up_to_minor", 0)
		case "role":
			a.Role = ps.str(v, path+".role")
		case "escalate_after":
			a.EscalateAfter = ps.duration(v, path+".escalate_after")
		case "deadline":
			a.Deadline = ps.duration(v, path+".deadline")
		case "on_deadline":
			if a.OnDeadline = ps.str(v, path+".on_deadline"); a.OnDeadline != "apply_default" && a.OnDeadline != "reject" {
				ps.add(v, "%s.on_deadline must be apply_default or reject", path)
			}
		}
	})
	if a.EscalateAfter > 0 && a.Deadline > 0 && a.EscalateAfter >= a.Deadline {
		ps.add(n, "%s: escalate_after must come before the deadline", path)
	}
	return a
}
