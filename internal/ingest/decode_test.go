package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// sameAsGeneral parses body by the one-pass reader and by the general
// path and fails when the reader accepted it but the two disagree, or
// when the reader accepted JSON that encoding/json refuses. It reports
// whether the reader took the body.
func sameAsGeneral(t *testing.T, body []byte) bool {
	t.Helper()
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return false
	}
	wires, batch, ok := fastBody(trimmed)
	if !ok {
		return false
	}
	if !json.Valid(trimmed) {
		t.Fatalf("the reader took JSON that encoding/json refuses: %q", trimmed)
	}
	if err := checkText(trimmed, ""); err != nil {
		t.Fatalf("the reader took text checkText refuses (%v): %q", err, trimmed)
	}
	for i, w := range wires { // before checkBody normalises them in place
		if !w.decoded {
			continue
		}
		var want any
		d := json.NewDecoder(bytes.NewReader(w.Data))
		d.UseNumber()
		if err := d.Decode(&want); err != nil {
			t.Fatalf("event %d's data does not decode: %v", i, err)
		}
		if got := (value{kind: kindObject, kids: w.data}).toAny(); !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d's data decodes otherwise in %q:\n reader:  %#v\n general: %#v", i, trimmed, got, want)
		}
	}
	fastEvs, fastErr := checkBody(wires, batch)
	genEvs, genErr := parseGeneral(trimmed)
	if fmt.Sprint(fastErr) != fmt.Sprint(genErr) {
		t.Fatalf("errors differ for %q:\n reader:  %v\n general: %v", trimmed, fastErr, genErr)
	}
	if !reflect.DeepEqual(fastEvs, genEvs) {
		t.Fatalf("events differ for %q:\n reader:  %+v\n general: %+v", trimmed, fastEvs, genEvs)
	}
	return true
}

func TestFastBodyMatchesGeneral(t *testing.T) {
	batch := `{"events":[` + pinnedOrder + `,` + pinnedShipment + `,` + pinnedTracking + `]}`
	// Bodies the reader must take (else the fast path is never used).
	taken := []string{
		pinnedOrder, pinnedShipment, pinnedTracking, batch, `{}`, `{"events":[]}`,
		// escapes, in keys too, and every kind of value in a payload
		`{"id":"e\u0031","source":"s\/x","type":"order.updated","time":"2026-11-20T09:00:00Z",
		  "d\u0061ta":{"order_id":"o\"1\\","note":"tab\there \ud83d\ude00 caf\u00e9 ü","n":-0.5e+3,"z":0,"big":12345678901234567890,
		  "esc":"\b\f\n\r\t\"\\\/\u0041","t":true,"f":false,"nil":null,"list":[1,[2,{}],"x",[]],"nested":{"a":{"b":{"c":[{}]}}}}}`,
		// an order whose country is lower case: normalised and re-encoded
		edit(t, pinnedOrder, `"country":"DE"`, `"country":"de"`),
		// bad fields are named alike
		edit(t, pinnedOrder, `"total_minor":8999`, `"total_minor":89.99`),
		edit(t, pinnedOrder, `"quantity":1`, `"quantity":"1"`),
		edit(t, pinnedOrder, `"email":"ada@example.com",`, ``),
		edit(t, pinnedTracking, `"country":"US"`, `"country":"USA","lat":91`),
		`{"events":[` + pinnedOrder + `,` + edit(t, pinnedOrder, `"phone":"+493012345678"`, `"phone":"12"`) + `]}`,
		// a repeated key: the last wins, in the envelope and in the payload
		edit(t, pinnedOrder, `"id":"evt-1"`, `"id":"evt-0","id":"evt-1"`),
		edit(t, pinnedOrder, `"currency":"EUR"`, `"currency":"USD","currency":"EUR"`),
		// unknown keys of any type are skipped
		edit(t, pinnedOrder, `"subject"`, `"extra":{"a":[1,2,{"b":null}]},"x-y":7,"subject"`),
		`{"events":[` + pinnedOrder + `],"note":"a batch with a key of its own"}`,
		// a null envelope field
		edit(t, pinnedOrder, `"subject":"order/1001"`, `"subject":null`),
		// a NUL in a payload
		edit(t, pinnedOrder, `"name":"Desk lamp"`, `"name":"Desk\u0000lamp"`),
		// deep, but not too deep
		strings.Replace(pinnedOrder, `"lines":`, `"deep":`+strings.Repeat(`[`, 150)+strings.Repeat(`]`, 150)+`,"lines":`, 1),
	}
	for i, body := range taken {
		if !sameAsGeneral(t, []byte(body)) {
			t.Errorf("body %d: the reader gave up on it: %q", i, body)
		}
	}
	// Bodies the reader must leave to the general path, which names the
	// problem (or knows encoding/json's quirks).
	left := []string{
		`{"id":1}`, `{"ID":"evt-1"}`, `{"events":null}`, `{"events":{}}`, `{"events":[1]}`,
		`{"events":[],"events":[]}`, `{"Events":[]}`, `{"ſource":"x"}`,
		edit(t, pinnedOrder, `"data":{`, `"data":"{`),
		edit(t, pinnedOrder, `"subject":"order/1001"`, `"subject":true`),
		edit(t, pinnedOrder, `"Ada Weber"`, `"Ada \ud800 Weber"`),
		edit(t, pinnedOrder, `"Ada Weber"`, `"Ada \udc00 Weber"`),
		edit(t, pinnedOrder, `"Ada Weber"`, `"Ada \ud800\u0041 Weber"`),
		edit(t, pinnedOrder, `"Ada Weber"`, `"Ada \x41 Weber"`),
		edit(t, pinnedOrder, `"Ada Weber"`, "\"Ada \xff Weber\""),
		edit(t, pinnedOrder, `"Ada Weber"`, "\"Ada \x01 Weber\""),
		edit(t, pinnedOrder, `8999,`, `08999,`),
		edit(t, pinnedOrder, `8999,`, `8999.,`),
		edit(t, pinnedOrder, `8999,`, `8999e,`),
		edit(t, pinnedOrder, `8999,`, `+8999,`),
		edit(t, pinnedOrder, `"subject"`, `"flag":tru,"subject"`),
		edit(t, pinnedOrder, `"subject"`, `"flag":nulL,"subject"`),
		pinnedOrder + `,`, pinnedOrder + `}`, `{"id":"a",}`, `{"id" "a"}`, `{"id":"a"`,
		strings.Replace(pinnedOrder, `"lines":`, `"deep":`+strings.Repeat(`[`, 300)+strings.Repeat(`]`, 300)+`,"lines":`, 1),
	}
	for i, body := range left {
		if sameAsGeneral(t, []byte(body)) {
			t.Errorf("left body %d: the reader took it: %q", i, body)
		}
	}
}

// TestFastBodyMutations compares the two paths on thousands of bodies
// made by breaking a batch of the pinned examples at random (the same
// ones on every run).
func TestFastBodyMutations(t *testing.T) {
	base := []byte(`{"events":[` + pinnedOrder + `,` + pinnedShipment + `,` + pinnedTracking + `]}`)
	pieces := []string{`"`, `\`, `{`, `}`, `[`, `]`, `,`, `:`, ` `, `0`, `-`, `.`, `e`, `\u00e9`, `\ud800`, `\n`,
		`null`, `"x"`, `1e9`, "\xff", `"ID":`, `"Data":{}`, `"events":[]`, `"id":"evt-1",`}
	rng := rand.New(rand.NewPCG(17, 2026))
	took := 0
	for range 4000 {
		b := append([]byte(nil), base...)
		for range 1 + rng.IntN(3) {
			at := rng.IntN(len(b))
			switch rng.IntN(3) {
			case 0: // delete a few bytes
				b = append(b[:at], b[min(at+1+rng.IntN(4), len(b)):]...)
			case 1: // insert a piece
				p := pieces[rng.IntN(len(pieces))]
				b = append(b[:at], append([]byte(p), b[at:]...)...)
			default: // replace a byte
				b[at] = "\"{}[],: 0a\\"[rng.IntN(11)]
			}
		}
		if sameAsGeneral(t, b) {
			took++
		}
	}
	// Most mutations break the JSON; some land in a string or add a
	// space, and those the reader must take like the general path.
	if took < 100 {
		t.Fatalf("the reader took only %d of 4000 mutated bodies", took)
	}
}

func FuzzFastBody(f *testing.F) {
	for _, s := range []string{pinnedOrder, pinnedShipment, pinnedTracking, `{"events":[` + pinnedOrder + `]}`,
		`{}`, `{"events":[]}`, `{"id":"\ud83d\ude00","data":{"a":[1.5e-3,true,null]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameAsGeneral(t, body) })
}

// TestPhoneAndLocaleMatchTheirPatterns checks the two hand-written
// matchers against the regular expressions they stand for.
func TestPhoneAndLocaleMatchTheirPatterns(t *testing.T) {
	e164 := regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	locale := regexp.MustCompile(`^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$`)
	rng := rand.New(rand.NewPCG(7, 164))
	const alphabet = "+-_09158aZzA@ é"
	for n := range 200000 {
		b := make([]byte, rng.IntN(20))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		s := string(b)
		if n%3 == 0 { // near the bounds more often than chance would make them
			s = "+" + strings.Repeat("4", rng.IntN(18))
		} else if n%3 == 1 {
			s = "de" + strings.Repeat("-AT", rng.IntN(3)) + "_" + strings.Repeat("x", rng.IntN(10))
		}
		if got, want := isE164(s), e164.MatchString(s); got != want {
			t.Fatalf("isE164(%q) = %v, the pattern says %v", s, got, want)
		}
		if got, want := isLocale(s), locale.MatchString(s); got != want {
			t.Fatalf("isLocale(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}
