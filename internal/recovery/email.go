package recovery

import (
	"net/mail"
	"strings"
)

// PlausibleEmail reports whether s is a bare email address (no display
// name, no angle brackets) with a dotted domain, such as name@example.com.
func PlausibleEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndex(s, "@"):], ".")
}
