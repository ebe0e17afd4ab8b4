package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// File is the content of RECOVERY_KEYS_FILE (or RECOVERY_KEYS): the keys
// and the signing secrets of POST /v1/events. docs/credentials.md
// describes it.
type File struct {
	Keys    []Credential
	Signers []Signer
}

// The document as written; unknown fields are refused.
type fileDoc struct {
	Keys           []keyDoc    `yaml:"keys"`
	SigningSecrets []signerDoc `yaml:"signing_secrets"`
}

type keyDoc struct {
	Name    string           `yaml:"name"`
	Key     string           `yaml:"key"`
	Rights  []string         `yaml:"rights"`
	Sources []string         `yaml:"sources"`
	Limits  map[string]int64 `yaml:"limits"`
	Roles   []string         `yaml:"roles"`
}

type signerDoc struct {
	Name    string   `yaml:"name"`
	Secrets []string `yaml:"secrets"`
	Sources []string `yaml:"sources"`
}

// defaultLimit names the limit of the currencies not listed.
const defaultLimit = "default"

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ParseFile reads the credentials document, YAML or JSON (the same
// structure), and checks everything that does not depend on how the
// server runs; Check does the rest. Errors say where (keys[2] "alice",
// line 7) and never show a key or a secret.
func ParseFile(data []byte) (File, error) {
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return File{}, errors.New("empty: name at least one key under keys:")
		}
		return File{}, scrubYAML(err)
	}
	var f File
	for i, k := range doc.Keys {
		c, err := k.credential()
		if err != nil {
			return File{}, fmt.Errorf("%s: %w", entryName("keys", i, k.Name), err)
		}
		f.Keys = append(f.Keys, c)
	}
	for i, s := range doc.SigningSecrets {
		sg, err := s.signer()
		if err != nil {
			return File{}, fmt.Errorf("%s: %w", entryName("signing_secrets", i, s.Name), err)
		}
		f.Signers = append(f.Signers, sg)
	}
	if len(f.Keys) == 0 && len(f.Signers) == 0 {
		return File{}, errors.New("no keys: name at least one under keys:")
	}
	return f, nil
}

func entryName(list string, i int, name string) string {
	if namePattern.MatchString(name) {
		return fmt.Sprintf("%s[%d] (%s)", list, i, name)
	}
	return fmt.Sprintf("%s[%d]", list, i)
}

// quoted matches what YAML errors quote of the document: a value, which
// may be a key put in the wrong place; unknownField an unknown field.
var (
	quoted       = regexp.MustCompile("`[^`]*`")
	doubleQuoted = regexp.MustCompile(`"[^"]*"`)
	unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)
)

func scrubMessage(m string) string {
	m = quoted.ReplaceAllString(m, "a value")
	m = doubleQuoted.ReplaceAllStringFunc(m, func(q string) string { return show(q[1 : len(q)-1]) })
	return unknownField.ReplaceAllStringFunc(m, func(f string) string {
		return "unknown field " + show(unknownField.FindStringSubmatch(f)[1])
	})
}

// scrubYAML keeps the line numbers and the shape of a YAML error but not
// the values it quotes.
func scrubYAML(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = scrubMessage(m)
		}
		return fmt.Errorf("not the expected structure (see docs/credentials.md): %s", strings.Join(msgs, "; "))
	}
	return fmt.Errorf("not YAML or JSON: %s", scrubMessage(strings.TrimPrefix(err.Error(), "yaml: ")))
}

func (k keyDoc) credential() (Credential, error) {
	c := Credential{Name: k.Name, Key: k.Key}
	if !namePattern.MatchString(k.Name) {
		return c, errors.New("name: required, up to 64 letters, digits and . _ @ - (it is shown in audit trails and logs)")
	}
	if k.Key == "" {
		return c, errors.New("key: required")
	}
	if !tokenChars(k.Key) {
		return c, errors.New("key: only printable ASCII characters without spaces (it is sent as a bearer token)")
	}
	if len(k.Rights) == 0 {
		return c, fmt.Errorf("rights: name at least one of %s", rightList())
	}
	for _, r := range k.Rights {
		right := Right(r)
		if !slices.Contains(Rights, right) {
			return c, fmt.Errorf("rights: %s is not a right; the rights are %s", show(r), rightList())
		}
		if !slices.Contains(c.Rights, right) {
			c.Rights = append(c.Rights, right)
		}
	}
	switch {
	case c.listed(Ingest) && len(k.Sources) == 0:
		return c, errors.New(`sources: required with ingest: the event sources this key may write, or ["*"] for any`)
	case !c.listed(Ingest) && len(k.Sources) > 0:
		return c, errors.New("sources: only with the ingest right")
	case c.listed(Approve) && k.Limits == nil:
		return c, errors.New(`limits: required with approve: whole units per currency and a default for the others, e.g. {EUR: 100, USD: 120, default: 50} (-1: no limit)`)
	case !c.listed(Approve) && k.Limits != nil:
		return c, errors.New("limits: only with the approve right")
	case !c.listed(Approve) && len(k.Roles) > 0:
		return c, errors.New("roles: only with the approve right")
	}
	for _, r := range k.Roles {
		if !namePattern.MatchString(r) {
			return c, errors.New("roles: each up to 64 letters, digits and . _ @ -")
		}
	}
	c.Roles = k.Roles
	var err error
	if c.Sources, err = sources(k.Sources); err != nil {
		return c, err
	}
	if k.Limits != nil {
		if c.Limits, err = limits(k.Limits); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (s signerDoc) signer() (Signer, error) {
	sg := Signer{Name: s.Name}
	if !namePattern.MatchString(s.Name) {
		return sg, errors.New("name: required, up to 64 letters, digits and . _ @ -")
	}
	if len(s.Secrets) == 0 || len(s.Secrets) > 2 {
		return sg, errors.New("secrets: one or two (the current one and, during rotation, the next): whsec_<base64> or raw")
	}
	for i, sec := range s.Secrets {
		if sec == "" || !tokenChars(sec) {
			return sg, fmt.Errorf("secrets[%d]: printable ASCII without spaces", i)
		}
	}
	if len(s.Sources) == 0 {
		return sg, errors.New(`sources: required: the event sources a request signed with these secrets may write, or ["*"] for any`)
	}
	var err error
	if sg.Sources, err = sources(s.Sources); err != nil {
		return sg, err
	}
	sg.Secrets = slices.Clone(s.Secrets)
	return sg, nil
}

func sources(list []string) ([]string, error) {
	var out []string
	for i, src := range list {
		if src == "" || len(src) > 200 || !tokenChars(src) {
			return nil, fmt.Errorf("sources[%d]: an event source (up to 200 printable characters without spaces) or \"*\"", i)
		}
		if !slices.Contains(out, src) {
			out = append(out, src)
		}
	}
	return out, nil
}

func limits(m map[string]int64) (Limits, error) {
	l := Limits{PerCurrency: map[string]int64{}}
	def, ok := m[defaultLimit]
	if !ok {
		return l, errors.New("limits: give a default for the currencies not listed, e.g. {EUR: 100, default: 0}")
	}
	for cur, v := range m {
		if v < NoLimit {
			return l, fmt.Errorf("limits: %s: a whole number of units, -1 for no limit", show(cur))
		}
		if cur == defaultLimit {
			continue
		}
		if !recovery.ValidCurrency(cur) {
			return l, fmt.Errorf("limits: %s is not an ISO 4217 currency code (or default)", show(cur))
		}
		l.PerCurrency[cur] = v
	}
	l.Default = def
	return l, nil
}

func rightList() string {
	names := make([]string, len(Rights))
	for i, r := range Rights {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// tokenChars reports whether s is printable ASCII without spaces.
func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// show quotes a short word of the document for an error; anything longer
// could be a key or a secret written in the wrong place, and is not shown.
func show(s string) string {
	if len(s) <= 10 && tokenChars(s) {
		return fmt.Sprintf("%q", s)
	}
	return "(a value not shown)"
}
