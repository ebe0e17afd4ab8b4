package policy

import (
	"embed"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
	"gopkg.in/yaml.v3"

	"github.com/recoveryhq/recovery/internal/recovery"
)

//go:embed default.yaml
var defaults embed.FS

// Default returns the built-in policy that `dev` and a fresh install use.
func Default() *Policy {
	b, _ := defaults.ReadFile("default.yaml")
	p, err := Parse("default.yaml", b)
	if err != nil {
		panic("built-in policy does not load: " + err.Error())
	}
	return p
}

// Problem is one error in a policy file, at a line and column.
type Problem struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Msg) }

// Problems is every error found in a policy file.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads and checks a policy file.
func Load(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy %q: %w", path, err)
	}
	return Parse(path, b)
}

var env = func() *cel.Env {
	e, err := cel.NewEnv(
		ext.NativeTypes(ext.ParseStructTags(true),
			reflect.TypeOf(Incident{}), reflect.TypeOf(Order{}), reflect.TypeOf(Customer{}), reflect.TypeOf(Shipment{})),
		cel.Variable("incident", cel.ObjectType("policy.Incident")),
		cel.Variable("order", cel.ObjectType("policy.Order")),
		cel.Variable("customer", cel.ObjectType("policy.Customer")),
		cel.Variable("shipment", cel.ObjectType("policy.Shipment")),
		ext.Strings(),
	)
	if err != nil {
		panic("policy CEL environment: " + err.Error())
	}
	return e
}()

var remedyTypes = []recovery.Remedy{recovery.RemedyDiscount, recovery.RemedySubstitute, recovery.RemedyReship,
	recovery.RemedyStoreCredit, recovery.RemedyRefund}

var channels = []string{recovery.ChannelVoice, recovery.ChannelSMS, recovery.ChannelEmail}

// parser collects problems while walking the YAML tree.
type parser struct {
	file string
	errs Problems
}

func (ps *parser) add(n *yaml.Node, format string, args ...any) {
	ps.errs = append(ps.errs, Problem{File: ps.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// fields walks a mapping node, rejecting keys not in known.
func (ps *parser) fields(n *yaml.Node, path string, known []string, each func(key string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		ps.add(n, "%s must be a mapping", path)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(known, k.Value):
			ps.add(k, "%s: unknown key %q (known: %s)", path, k.Value, strings.Join(known, ", "))
		case seen[k.Value]:
			ps.add(k, "%s: %q appears twice", path, k.Value)
		default:
			seen[k.Value] = true
			each(k.Value, v)
		}
	}
}

func (ps *parser) str(v *yaml.Node, path string) string {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		ps.add(v, "%s must be a string", path)
		return ""
	}
	return v.Value
}

func (ps *parser) integer(v *yaml.Node, path string, lo int64) int64 {
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if v.Kind != yaml.ScalarNode || err != nil || n < lo {
		ps.add(v, "%s must be a whole number of at least %d (money is in minor units)", path, lo)
		return 0
	}
	return n
}

func (ps *parser) boolean(v *yaml.Node, path string) bool {
	b, err := strconv.ParseBool(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		ps.add(v, "%s must be true or false", path)
	}
	return b
}

func (ps *parser) duration(v *yaml.Node, path string) time.Duration {
	d, err := recovery.ParseDays(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil || d <= 0 {
		ps.add(v, "%s must be a positive duration such as 4h or 2d", path)
		return 0
	}
	return d
}

// Parse checks a policy file's text: structure, every CEL condition
// (type-checked, must be bool) and every value, naming the line of each
// problem.
func Parse(file string, text []byte) (*Policy, error) {
	ps := &parser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, Problems{{File: file, Line: yamlLine(err), Column: 1, Msg: "not valid YAML: " + err.Error()}}
	}
	if len(doc.Content) == 0 {
		return nil, Problems{{File: file, Line: 1, Column: 1, Msg: "the file is empty"}}
	}
	p := &Policy{}
	var rulesNode *yaml.Node
	ps.fields(doc.Content[0], "policy", []string{"version", "rules"}, func(k string, v *yaml.Node) {
		switch k {
		case "version":
			p.Version = ps.str(v, "version")
		case "rules":
			rulesNode = v
		}
	})
	if p.Version == "" && len(ps.errs) == 0 {
		ps.add(doc.Content[0], "version is required (the incident records it)")
	}
	switch {
	case rulesNode == nil:
		ps.add(doc.Content[0], "rules is required")
	case rulesNode.Kind != yaml.SequenceNode || len(rulesNode.Content) == 0:
		ps.add(rulesNode, "rules must be a non-empty list")
	default:
		names := map[string]bool{}
		for i, rn := range rulesNode.Content {
			r := ps.rule(rn, fmt.Sprintf("rules[%d]", i))
			if r.Name != "" && names[r.Name] {
				ps.add(rn, "rules[%d]: name %q is used twice", i, r.Name)
			}
			names[r.Name] = true
			p.Rules = append(p.Rules, r)
		}
	}
	if len(ps.errs) > 0 {
		return nil, ps.errs
	}
	return p, nil
}

func yamlLine(err error) int {
	var line int
	if _, scanErr := fmt.Sscanf(strings.TrimPrefix(err.Error(), "yaml: "), "line %d:", &line); scanErr == nil {
		return line
	}
	return 1
}

// DefaultText is the built-in policy file, as a starting point.
func DefaultText() []byte {
	b, _ := defaults.ReadFile("default.yaml")
	return b
}
