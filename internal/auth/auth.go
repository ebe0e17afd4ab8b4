// Package auth holds the API's credentials: named keys, each with the
// rights it carries (ingest bound to event sources, read, redeem, choose,
// approve with limits per currency, erase, admin), and the Standard
// Webhooks secrets of POST /v1/events, each bound to the sources it may
// write. cmd reads them (ParseFile, or the legacy shorthands); web asks a
// Set who a bearer token is and what it may do.
//
// No function here ever puts a key or a secret into an error's text:
// credentials are named by their name or their position.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
)

// Right is one thing a credential may do.
type Right string

// The rights. Admin carries every other one; Approve carries Read, since
// an approver must see what they approve.
const (
	// Ingest: POST /v1/events for the sources the credential names.
	Ingest Right = "ingest"
	// Read: GET /v1/incidents, GET /v1/incidents/{id}, GET /v1/events?status=dead.
	Read Right = "read"
	// Redeem: POST /v1/codes/{code}/redeem.
	Redeem Right = "redeem"
	// Choose: POST /v1/incidents/{id}/choice.
	Choose Right = "choose"
	// Approve: POST /v1/incidents/{id}/approve, /reject, /offer, up to
	// the credential's limits.
	Approve Right = "approve"
	// Erase: a customer's erasure and export (routes to come).
	Erase Right = "erase"
	// Admin: everything, requeueing quarantined events included.
	Admin Right = "admin"
)

// Rights lists every right in the order the documentation gives them.
var Rights = []Right{Ingest, Read, Redeem, Choose, Approve, Erase, Admin}

// AnySource in a list of sources allows events of every source.
const AnySource = "*"

// MinKeyLen is the shortest key `serve` accepts.
const MinKeyLen = 16

// NoLimit as a limit lets an approver approve any amount.
const NoLimit = -1

// Credential is one API key: who it is (Name, shown in audit trails and
// logs) and what it may do.
type Credential struct {
	Name string
	Key  string
	// Rights as configured; see Has for what they imply.
	Rights []Right
	// Sources are the event sources Ingest may write (AnySource: all).
	Sources []string
	// Limits bound Approve.
	Limits Limits
	// Roles are the policy roles (a rule's approval.role) this approver
	// acts for; none: every role.
	Roles []string
}

// Limits are an approver's limits in whole units of the incident's
// currency (500 = 500.00 EUR); NoLimit (any negative) for none.
type Limits struct {
	PerCurrency map[string]int64
	// Default applies to currencies PerCurrency does not name.
	Default int64
}

// For returns the limit in a currency.
func (l Limits) For(currency string) int64 {
	if v, ok := l.PerCurrency[currency]; ok {
		return v
	}
	return l.Default
}

// String shows the limits as EUR:100,USD:120,default:50.
func (l Limits) String() string {
	var parts []string
	for _, c := range sortedKeys(l.PerCurrency) {
		parts = append(parts, fmt.Sprintf("%s:%d", c, l.PerCurrency[c]))
	}
	return strings.Join(append(parts, fmt.Sprintf("default:%d", l.Default)), ",")
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// listed reports whether the right is configured explicitly.
func (c Credential) listed(r Right) bool { return slices.Contains(c.Rights, r) }

// Has reports whether the credential carries a right: configured, or
// implied (admin implies every right, approve implies read).
func (c Credential) Has(r Right) bool {
	return c.listed(r) || c.listed(Admin) || r == Read && c.listed(Approve)
}

// MayIngest reports whether the credential may write events of a source.
// An admin key without an explicit ingest right may write any source.
func (c Credential) MayIngest(source string) bool {
	if !c.listed(Ingest) {
		return c.listed(Admin)
	}
	return slices.Contains(c.Sources, AnySource) || slices.Contains(c.Sources, source)
}

// ApproveLimit returns the credential's approval limit in a currency, in
// whole units (negative: none), and whether it may approve at all. An
// admin key without an explicit approve right has no limit.
func (c Credential) ApproveLimit(currency string) (int64, bool) {
	switch {
	case c.listed(Approve):
		return c.Limits.For(currency), true
	case c.listed(Admin):
		return NoLimit, true
	}
	return 0, false
}

// Signer is a set of Standard Webhooks secrets for POST /v1/events (one,
// or two during rotation) and the event sources a request signed with
// them may write.
type Signer struct {
	Name    string
	Secrets []string
	Sources []string
}

// MayIngest reports whether a request signed by s may write a source.
func (s Signer) MayIngest(source string) bool {
	return slices.Contains(s.Sources, AnySource) || slices.Contains(s.Sources, source)
}

// APIKey is the legacy RECOVERY_API_KEYS credential: ingest for any
// source, read, redeem and choose.
func APIKey(name, key string) Credential {
	return Credential{Name: name, Key: key, Rights: []Right{Ingest, Read, Redeem, Choose}, Sources: []string{AnySource}}
}

// Approver is the legacy RECOVERY_APPROVERS credential: approve with one
// limit in every currency (whole units, NoLimit for none), and read.
func Approver(name, key string, limitMajor int64) Credential {
	return Credential{Name: name, Key: key, Rights: []Right{Approve, Read}, Limits: Limits{Default: limitMajor}}
}

// Set finds the credential a bearer token belongs to.
type Set struct {
	creds  []Credential
	hashes [][sha256.Size]byte
}

// NewSet returns a Set of the credentials.
func NewSet(creds []Credential) *Set {
	s := &Set{creds: slices.Clone(creds)}
	for _, c := range s.creds {
		s.hashes = append(s.hashes, sha256.Sum256([]byte(c.Key)))
	}
	return s
}

// Lookup returns the credential whose key the token is. Every key is
// compared, each in constant time over fixed-size digests, so the time it
// takes tells neither which key matched nor how long any key is.
func (s *Set) Lookup(token string) (Credential, bool) {
	if s == nil || token == "" {
		return Credential{}, false
	}
	h := sha256.Sum256([]byte(token))
	found := -1
	for i := range s.hashes {
		if subtle.ConstantTimeCompare(h[:], s.hashes[i][:]) == 1 && s.creds[i].Key != "" {
			found = i
		}
	}
	if found < 0 {
		return Credential{}, false
	}
	return s.creds[found], true
}

// Secret is a secret that no key may equal, with where it is configured
// (a variable's name, never its value).
type Secret struct {
	Where, Value string
}

// Check refuses credentials that must not start a server: a key shorter
// than minLen (0: any length), two credentials with one name or one key,
// a key equal to one of the secrets or to a signing secret, and a signing
// secret shared by two signers. Errors name credentials by name and
// secrets by where they are configured; they never show a key or a secret.
func Check(creds []Credential, signers []Signer, secrets []Secret, minLen int) error {
	names := map[string]bool{}
	for i, c := range creds {
		switch {
		case c.Name == "":
			return fmt.Errorf("credential %d has no name", i+1)
		case names[c.Name]:
			return fmt.Errorf("two credentials are named %q; give each its own name", c.Name)
		case c.Key == "":
			return fmt.Errorf("credential %q has no key", c.Name)
		case len(c.Key) < minLen:
			return fmt.Errorf("the key of credential %q is shorter than %d characters; use a long random one (e.g. openssl rand -hex 24)",
				c.Name, minLen)
		}
		names[c.Name] = true
		for _, other := range creds[:i] {
			if subtle.ConstantTimeCompare([]byte(c.Key), []byte(other.Key)) == 1 {
				return fmt.Errorf("credentials %q and %q have the same key; give each its own", other.Name, c.Name)
			}
		}
	}
	all := slices.Clone(secrets)
	seen := map[string]string{}
	for _, sg := range signers {
		for _, sec := range sg.Secrets {
			where := fmt.Sprintf("signing secret %q", sg.Name)
			if prev, ok := seen[sec]; ok && prev != where {
				return fmt.Errorf("%s and %s share a secret; a secret belongs to one signer (one set of sources)", prev, where)
			}
			seen[sec] = where
			all = append(all, Secret{Where: where, Value: sec})
		}
	}
	for _, c := range creds {
		for _, sec := range all {
			if sec.Value != "" && subtle.ConstantTimeCompare([]byte(c.Key), []byte(sec.Value)) == 1 {
				return fmt.Errorf("the key of credential %q is also a secret (%s); a key must not be a secret", c.Name, sec.Where)
			}
		}
	}
	return nil
}
