package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkText refuses a JSON document whose strings hold invalid UTF-8 or a
// lone UTF-16 surrogate escape (\ud800 without its pair). encoding/json
// would quietly turn either into U+FFFD, while the raw payload, stored as
// it came, fails in Postgres. The error names the field that holds it;
// root names the document's top level ("" for an event, "data" for the
// body of a binary-mode CloudEvent, "events" for a JSON array of events).
func checkText(doc []byte, root string) error {
	off, why := badText(doc)
	if off < 0 {
		return nil
	}
	field := pathAt(doc, off)
	if strings.HasPrefix(field, "[") {
		field = "events" + field
	}
	switch {
	case root == "":
	case field == "":
		field = root
	case !strings.HasPrefix(field, "events"):
		field = root + "." + field
	}
	return &ValidationError{Errors: []FieldError{{Field: field, Message: "must be valid text: " + why}}}
}

// badText returns the offset of the first bad character inside a JSON
// string, and what is wrong with it; -1 when there is none. Outside
// strings a bad byte is a syntax error the decoder reports anyway.
func badText(b []byte) (int, string) {
	in := false
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case !in:
			in = c == '"'
			i++
		case c == '"':
			in = false
			i++
		case c == '\\':
			if i+6 > len(b) || b[i+1] != 'u' {
				i += 2
				continue
			}
			r := hex4(b[i+2 : i+6])
			switch {
			case r >= 0xD800 && r <= 0xDBFF:
				if i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if lo := hex4(b[i+8 : i+12]); lo >= 0xDC00 && lo <= 0xDFFF {
						i += 12
						continue
					}
				}
				return i, "a lone UTF-16 surrogate (\\u" + strings.ToLower(string(b[i+2:i+6])) + ")"
			case r >= 0xDC00 && r <= 0xDFFF:
				return i, "a lone UTF-16 surrogate (\\u" + strings.ToLower(string(b[i+2:i+6])) + ")"
			}
			i += 6
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, "bytes that are not UTF-8"
			}
			i += size
		}
	}
	return -1, ""
}

// hex4 decodes four hex digits, -1 when they are not.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return -1
		}
	}
	return r
}

// pathAt names the value (or key) of a JSON document that covers offset
// off, as "events[3].data.customer.name".
func pathAt(doc []byte, off int) string {
	type frame struct {
		array   bool
		index   int
		key     string
		wantKey bool
	}
	var stack []frame
	render := func() string {
		var sb strings.Builder
		for _, f := range stack {
			if f.array {
				fmt.Fprintf(&sb, "[%d]", f.index)
			} else if f.key != "" {
				sb.WriteString("." + f.key)
			}
		}
		return strings.TrimPrefix(sb.String(), ".")
	}
	// value marks the start of a value in the innermost container.
	value := func() {
		if n := len(stack); n > 0 && stack[n-1].array {
			stack[n-1].index++
		}
	}
	done := func() {
		if n := len(stack); n > 0 && !stack[n-1].array {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := dec.Token()
		if err != nil {
			return render()
		}
		end := int(dec.InputOffset())
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				value()
				stack = append(stack, frame{wantKey: true})
			case '[':
				value()
				stack = append(stack, frame{array: true, index: -1})
			default:
				stack = stack[:len(stack)-1]
				done()
			}
		default:
			if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].wantKey {
				stack[n-1].key, _ = t.(string)
				stack[n-1].wantKey = false
				if end > off {
					return render()
				}
				continue
			}
			value()
			if end > off {
				return render()
			}
			done()
		}
	}
}
