package ingest

import (
	"encoding/json"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The common body (well-formed JSON, one event or {"events":[...]} of
// objects, string envelope fields, object payloads) is decoded in one pass
// by the reader below: the envelope and each payload, numbers kept as
// written, without going through encoding/json twice (once for the
// envelope with the payload raw, then for the payload as a generic map),
// which took most of the time spent on an event. The reader gives up on
// anything else: a syntax error, a field of an unexpected JSON type, a key
// that encoding/json would match case-insensitively. The body then takes
// the general path, which names what is wrong, so what the reader accepts
// decodes exactly as encoding/json decodes it (TestFastBodyMatchesGeneral).

// maxFastDepth bounds the nesting the reader follows; deeper documents
// take the general path, which applies encoding/json's own limit.
const maxFastDepth = 200

// reader walks a JSON document; every method reports false on anything it
// does not accept, leaving the body to the general path.
type reader struct {
	b []byte
	// s is b as one string, so that strings without escapes are slices
	// of it, not allocations of their own.
	s     string
	i     int
	depth int
	buf   []byte   // for strings with escapes
	stack []member // the members of the objects and arrays being read
}

// fastBody decodes a body (already trimmed, and known to start with '{')
// into its events; batch says it was {"events":[...]}.
func fastBody(b []byte) (wires []wireEvent, batch, ok bool) {
	r := reader{b: b, s: string(b)}
	var single wireEvent
	ok = r.object(func(key string) bool {
		if key != "events" {
			return r.envelopeField(&single, key)
		}
		if batch {
			return false // a repeated "events": the general path decides
		}
		batch = true
		r.space()
		if r.peek() != '[' {
			return false
		}
		wires = make([]wireEvent, 0, 16)
		return r.array(func() bool {
			r.space()
			if r.peek() != '{' {
				return false
			}
			wires = append(wires, wireEvent{})
			w := &wires[len(wires)-1]
			return r.object(func(key string) bool { return r.envelopeField(w, key) })
		})
	})
	r.space()
	if !ok || r.i != len(r.b) {
		return nil, false, false
	}
	if !batch {
		wires = []wireEvent{single}
	}
	return wires, batch, true
}

// envelopeField decodes the value of key into w. Envelope fields must be
// strings or null, and data an object; other keys are skipped, unless
// encoding/json would take them for a field (another case of its name).
func (r *reader) envelopeField(w *wireEvent, key string) bool {
	var dst *value
	switch key {
	case "id":
		dst = &w.ID
	case "source":
		dst = &w.Source
	case "type":
		dst = &w.Type
	case "time":
		dst = &w.Time
	case "subject":
		dst = &w.Subject
	case "data":
		r.space()
		if r.peek() != '{' {
			return false
		}
		start := r.i
		v, ok := r.value()
		if !ok {
			return false
		}
		w.Data, w.data, w.decoded = json.RawMessage(r.b[start:r.i]), v.kids, true
		return true
	default:
		if !unrelatedKey(key) {
			return false
		}
		_, ok := r.value()
		return ok
	}
	v, ok := r.value()
	*dst = v
	return ok && (v.kind == kindString || v.kind == kindNull)
}

// unrelatedKey reports that encoding/json would not match key to a field
// of the body: ASCII, and not one of the names in another case.
func unrelatedKey(key string) bool {
	for i := range len(key) {
		if key[i] >= utf8.RuneSelf {
			return false
		}
	}
	for _, name := range [...]string{"id", "source", "type", "time", "subject", "data", "events"} {
		if strings.EqualFold(key, name) {
			return false
		}
	}
	return true
}

func (r *reader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *reader) peek() byte {
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// object reads {"key": value, ...}, handing each key to member, which
// reads the value.
func (r *reader) object(member func(key string) bool) bool {
	empty, ok := r.enter('{', '}')
	if !ok || empty {
		return ok
	}
	for {
		r.space()
		if r.peek() != '"' {
			return false
		}
		key, ok := r.str()
		if !ok {
			return false
		}
		r.space()
		if r.peek() != ':' {
			return false
		}
		r.i++
		if !member(key) {
			return false
		}
		if more, ok := r.next('}'); !more {
			return ok
		}
	}
}

// array reads [value, ...], calling elem to read each value.
func (r *reader) array(elem func() bool) bool {
	empty, ok := r.enter('[', ']')
	if !ok || empty {
		return ok
	}
	for {
		if !elem() {
			return false
		}
		if more, ok := r.next(']'); !more {
			return ok
		}
	}
}

// enter steps into an object or array that opens with open; empty says it
// closed at once.
func (r *reader) enter(open, close byte) (empty, ok bool) {
	r.space()
	if r.peek() != open {
		return false, false
	}
	if r.depth++; r.depth > maxFastDepth {
		return false, false
	}
	r.i++
	r.space()
	if r.peek() == close {
		r.i++
		r.depth--
		return true, true
	}
	return false, true
}

// next reads what follows a member or an element: a comma (more follows)
// or the closing bracket.
func (r *reader) next(close byte) (more, ok bool) {
	r.space()
	switch r.peek() {
	case ',':
		r.i++
		return true, true
	case close:
		r.i++
		r.depth--
		return false, true
	}
	return false, false
}

// value reads any JSON value.
func (r *reader) value() (value, bool) {
	r.space()
	switch c := r.peek(); {
	case c == '{' || c == '[':
		// The members gather on a stack shared by the whole body (nested
		// values above them, taken off again when they end), and are then
		// copied into a slice of their own, allocated once at its size.
		base := len(r.stack)
		v := value{kind: kindObject}
		var ok bool
		if c == '{' {
			ok = r.object(func(key string) bool {
				e, ok := r.value()
				r.stack = append(r.stack, member{key, e})
				return ok
			})
		} else {
			v.kind = kindArray
			ok = r.array(func() bool {
				e, ok := r.value()
				r.stack = append(r.stack, member{val: e})
				return ok
			})
		}
		if n := len(r.stack) - base; n > 0 {
			v.kids = make([]member, n)
			copy(v.kids, r.stack[base:])
		}
		clear(r.stack[base:]) // let go of what the members point to
		r.stack = r.stack[:base]
		return v, ok
	case c == '"':
		s, ok := r.str()
		return textValue(s), ok
	case c == 't':
		return value{kind: kindBool, b: true}, r.literal("true")
	case c == 'f':
		return value{kind: kindBool}, r.literal("false")
	case c == 'n':
		return value{}, r.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		s, ok := r.number()
		return value{kind: kindNumber, s: s}, ok
	}
	return value{}, false
}

func (r *reader) literal(word string) bool {
	if len(r.b)-r.i < len(word) || string(r.b[r.i:r.i+len(word)]) != word {
		return false
	}
	r.i += len(word)
	return true
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? as written.
func (r *reader) number() (string, bool) {
	start := r.i
	if r.peek() == '-' {
		r.i++
	}
	switch c := r.peek(); {
	case c == '0':
		r.i++
	case c >= '1' && c <= '9':
		r.digits()
	default:
		return "", false
	}
	if r.peek() == '.' {
		r.i++
		if !r.digits() {
			return "", false
		}
	}
	if c := r.peek(); c == 'e' || c == 'E' {
		r.i++
		if c := r.peek(); c == '+' || c == '-' {
			r.i++
		}
		if !r.digits() {
			return "", false
		}
	}
	return r.s[start:r.i], true
}

func (r *reader) digits() bool {
	start := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	return r.i > start
}

// str reads a string at its opening quote. Control characters, bytes that
// are not UTF-8 and lone surrogates are refused (encoding/json would
// replace the last two with U+FFFD; checkText refuses them first).
func (r *reader) str() (string, bool) {
	start := r.i + 1
	for j := start; j < len(r.b); {
		switch c := r.b[j]; {
		case c == '"':
			r.i = j + 1
			return r.s[start:j], true
		case c == '\\':
			return r.escaped(start, j)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			j++
		default:
			size := r.utf8At(j)
			if size == 0 {
				return "", false
			}
			j += size
		}
	}
	return "", false
}

// utf8At is the length of the UTF-8 character at j; 0 when the bytes
// there are not one.
func (r *reader) utf8At(j int) int {
	ch, size := utf8.DecodeRune(r.b[j:])
	if ch == utf8.RuneError && size == 1 {
		return 0
	}
	return size
}

// escaped finishes a string from its first backslash at j.
func (r *reader) escaped(start, j int) (string, bool) {
	out := append(r.buf[:0], r.b[start:j]...)
	defer func() { r.buf = out[:0] }()
	for j < len(r.b) {
		c := r.b[j]
		switch {
		case c == '"':
			r.i = j + 1
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			if c >= utf8.RuneSelf {
				size := r.utf8At(j)
				if size == 0 {
					return "", false
				}
				out = append(out, r.b[j:j+size]...)
				j += size
				continue
			}
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(r.b) {
			return "", false
		}
		switch e := r.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if j+6 > len(r.b) {
				return "", false
			}
			ch := hex4(r.b[j+2 : j+6])
			if ch < 0 {
				return "", false
			}
			if utf16.IsSurrogate(ch) {
				if ch >= 0xDC00 || j+12 > len(r.b) || r.b[j+6] != '\\' || r.b[j+7] != 'u' {
					return "", false
				}
				lo := hex4(r.b[j+8 : j+12])
				if lo < 0xDC00 || lo > 0xDFFF {
					return "", false
				}
				ch = utf16.DecodeRune(ch, lo)
				j += 6
			}
			out = utf8.AppendRune(out, ch)
			j += 6
			continue
		default:
			return "", false
		}
		j += 2
	}
	return "", false
}
