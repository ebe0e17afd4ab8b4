package ingest

import "encoding/json"

// kind is the JSON type of a value.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

// value is a decoded JSON value: a string's text, a number as written,
// the members of an object in their order, or the elements of an array
// (members without keys). Nothing is boxed and the reader slices strings
// from the body, so a payload costs one allocation per object or array,
// not one per value and per map slot as map[string]any does.
type value struct {
	kind kind
	b    bool
	s    string   // kindString: the text; kindNumber: the literal
	kids []member // kindObject: the members; kindArray: the elements
}

type member struct {
	key string
	val value
}

// obj is the members of a decoded JSON object. A key may repeat; as in
// encoding/json, the last one counts.
type obj []member

// get returns the value of key; ok is false when it is absent.
func (o obj) get(key string) (value, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].key == key {
			return o[i].val, true
		}
	}
	return value{}, false
}

// absent reports that key is missing or null.
func (o obj) absent(key string) bool {
	v, _ := o.get(key)
	return v.kind == kindNull
}

// set replaces the value of key, which must be present.
func (o obj) set(key string, v value) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].key == key {
			o[i].val = v
			return
		}
	}
}

func textValue(s string) value { return value{kind: kindString, s: s} }

// fromAny converts what encoding/json decodes into an any (numbers as
// json.Number or float64) into a value.
func fromAny(v any) value {
	switch x := v.(type) {
	case bool:
		return value{kind: kindBool, b: x}
	case json.Number:
		return value{kind: kindNumber, s: string(x)}
	case float64:
		n, _ := json.Marshal(x)
		return value{kind: kindNumber, s: string(n)}
	case string:
		return textValue(x)
	case map[string]any:
		kids := make([]member, 0, len(x))
		for k, e := range x {
			kids = append(kids, member{k, fromAny(e)})
		}
		return value{kind: kindObject, kids: kids}
	case []any:
		kids := make([]member, len(x))
		for i, e := range x {
			kids[i].val = fromAny(e)
		}
		return value{kind: kindArray, kids: kids}
	}
	return value{}
}

// UnmarshalJSON decodes an envelope field on the general path, as
// encoding/json decodes it into an any.
func (v *value) UnmarshalJSON(b []byte) error {
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*v = fromAny(x)
	return nil
}

// toAny converts v back into what encoding/json decodes with UseNumber,
// so that json.Marshal encodes it as it would have encoded the original.
func (v value) toAny() any {
	switch v.kind {
	case kindBool:
		return v.b
	case kindNumber:
		return json.Number(v.s)
	case kindString:
		return v.s
	case kindObject:
		m := make(map[string]any, len(v.kids))
		for _, k := range v.kids {
			m[k.key] = k.val.toAny()
		}
		return m
	case kindArray:
		list := make([]any, len(v.kids))
		for i, k := range v.kids {
			list[i] = k.val.toAny()
		}
		return list
	}
	return nil
}
