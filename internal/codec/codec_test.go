package codec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// testKey returns an id:base64 entry of a random key and its material.
func testKey(t *testing.T, id string) (string, []byte) {
	t.Helper()
	m := make([]byte, KeySize)
	if _, err := rand.Read(m); err != nil {
		t.Fatal(err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(m), m
}

func mustParse(t *testing.T, spec string) *Codec {
	t.Helper()
	c, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonPayload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	a, _ := testKey(t, "a")
	c := mustParse(t, a)
	in := []*commonpb.Payload{jsonPayload(t, map[string]any{"order_id": "1001", "total_minor": 8999}), jsonPayload(t, "x"),
		jsonPayload(t, nil)}
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != len(in) {
		t.Fatalf("%d payloads encoded, want %d", len(enc), len(in))
	}
	for i, p := range enc {
		if string(p.Metadata[converter.MetadataEncoding]) != Encoding || string(p.Metadata[MetadataKeyID]) != "a" {
			t.Fatalf("payload %d metadata = %v, want %s with key id a", i, p.Metadata, Encoding)
		}
		if len(in[i].Data) > 0 && bytes.Contains(p.Data, in[i].Data) || bytes.Contains(p.Data, []byte("json/plain")) {
			t.Fatalf("payload %d carries its plaintext", i)
		}
		if len(p.Data) < nonceSize+16 {
			t.Fatalf("payload %d is %d bytes: no room for nonce and tag", i, len(p.Data))
		}
	}
	// Each encoding draws a fresh nonce.
	again, _ := c.Encode(in[:1])
	if bytes.Equal(again[0].Data[:nonceSize], enc[0].Data[:nonceSize]) || bytes.Equal(again[0].Data, enc[0].Data) {
		t.Fatal("two encodings of one payload share a nonce")
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if !proto.Equal(dec[i], in[i]) {
			t.Fatalf("payload %d decoded to %v, want %v", i, dec[i], in[i])
		}
	}
	// Through the data converter, as clients and workers use it.
	dc := DataConverter(c)
	p, err := dc.ToPayload(map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if KeyIDOf(p) != "a" {
		t.Fatalf("the data converter's payload names key %q", KeyIDOf(p))
	}
	var got map[string]string
	if err := dc.FromPayload(p, &got); err != nil || got["k"] != "v" {
		t.Fatalf("FromPayload: %v %v", got, err)
	}
}

func TestFirstKeyEncrypts(t *testing.T) {
	a, _ := testKey(t, "a")
	b, _ := testKey(t, "b")
	for _, tc := range []struct{ spec, want string }{{a + "," + b, "a"}, {b + "," + a, "b"}, {" " + b + " , ", "b"}} {
		c := mustParse(t, tc.spec)
		enc, err := c.Encode([]*commonpb.Payload{jsonPayload(t, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if got := KeyIDOf(enc[0]); got != tc.want || c.EncryptingKeyID() != tc.want {
			t.Errorf("keys %q: encrypted with %q (EncryptingKeyID %q), want %q", c.KeyIDs(), got, c.EncryptingKeyID(), tc.want)
		}
	}
}

func TestRotation(t *testing.T) {
	a, _ := testKey(t, "A")
	b, _ := testKey(t, "B")
	orig := jsonPayload(t, map[string]string{"incident": "inc-1"})
	old, err := mustParse(t, a).Encode([]*commonpb.Payload{orig})
	if err != nil {
		t.Fatal(err)
	}

	// After rotation to "B,A": the A payload still opens, new ones are B.
	rotated := mustParse(t, b+","+a)
	dec, err := rotated.Decode(old)
	if err != nil {
		t.Fatalf("after rotation an A payload: %v", err)
	}
	if !proto.Equal(dec[0], orig) {
		t.Fatalf("decoded %v, want %v", dec[0], orig)
	}
	re, err := rotated.Encode(dec)
	if err != nil {
		t.Fatal(err)
	}
	if KeyIDOf(re[0]) != "B" {
		t.Fatalf("re-encoded with %q, want B", KeyIDOf(re[0]))
	}
	if back, err := rotated.Decode(re); err != nil || !proto.Equal(back[0], orig) {
		t.Fatalf("B payload: %v %v", back, err)
	}

	// With B alone, the A payload is refused, naming A and nothing else.
	_, err = mustParse(t, b).Decode(old)
	var unknown *UnknownKeyError
	if !errors.As(err, &unknown) || unknown.KeyID != "A" {
		t.Fatalf("B alone decoding an A payload: %v, want an unknown key A", err)
	}
	if !strings.Contains(err.Error(), `"A"`) || strings.Contains(err.Error(), `"B"`) {
		t.Fatalf("error %q should name key A only", err)
	}
}

func TestPlaintextPassesThrough(t *testing.T) {
	a, _ := testKey(t, "a")
	c := mustParse(t, a)
	plain := []*commonpb.Payload{jsonPayload(t, "before the codec"), {Metadata: map[string][]byte{"encoding": []byte("binary/null")}},
		{Metadata: map[string][]byte{"encoding": []byte("binary/zlib")}, Data: []byte{1, 2, 3}}, {}}
	out, err := c.Decode(plain)
	if err != nil {
		t.Fatal(err)
	}
	for i := range plain {
		if out[i] != plain[i] {
			t.Errorf("payload %d (%s) was changed", i, plain[i].Metadata["encoding"])
		}
	}
	// A mix: the plaintext one unchanged, the encrypted one opened.
	enc, _ := c.Encode(plain[:1])
	mixed, err := c.Decode([]*commonpb.Payload{plain[1], enc[0]})
	if err != nil || mixed[0] != plain[1] || !proto.Equal(mixed[1], plain[0]) {
		t.Fatalf("mixed decode: %v %v", mixed, err)
	}
	// And through the data converter, a history written before the codec.
	var s string
	if err := DataConverter(c).FromPayload(plain[0], &s); err != nil || s != "before the codec" {
		t.Fatalf("FromPayload of a plaintext payload: %q %v", s, err)
	}
}

func TestTamperingIsRefused(t *testing.T) {
	a, _ := testKey(t, "a")
	c := mustParse(t, a)
	enc, err := c.Encode([]*commonpb.Payload{jsonPayload(t, map[string]int{"total_minor": 8999})})
	if err != nil {
		t.Fatal(err)
	}
	clone := func() *commonpb.Payload { return proto.Clone(enc[0]).(*commonpb.Payload) }
	for i := range len(enc[0].Data) * 8 {
		p := clone()
		p.Data[i/8] ^= 1 << (i % 8)
		_, err := c.Decode([]*commonpb.Payload{p})
		var de *DecryptError
		if !errors.As(err, &de) {
			t.Fatalf("bit %d flipped: %v, want a decrypt error", i, err)
		}
	}
	// Cut short, or its key id swapped for another key's.
	p := clone()
	p.Data = p.Data[:nonceSize+3]
	if _, err := c.Decode([]*commonpb.Payload{p}); err == nil {
		t.Fatal("a payload cut short was decoded")
	}
	b, _ := testKey(t, "b")
	both := mustParse(t, a+","+b)
	p = clone()
	p.Metadata[MetadataKeyID] = []byte("b")
	if _, err := both.Decode([]*commonpb.Payload{p}); err == nil {
		t.Fatal("a payload relabelled with another key id was decoded")
	}
	p = clone()
	delete(p.Metadata, MetadataKeyID)
	if _, err := c.Decode([]*commonpb.Payload{p}); err == nil {
		t.Fatal("an encrypted payload without a key id was decoded")
	}
	// The original still opens: nothing above changed it.
	if _, err := c.Decode(enc); err != nil {
		t.Fatal(err)
	}
}

// Config errors are clear and never show a key.
func TestParseKeysErrors(t *testing.T) {
	good, material := testKey(t, "k1")
	goodB64 := strings.TrimPrefix(good, "k1:")
	short := base64.StdEncoding.EncodeToString(material[:16])
	for _, tc := range []struct{ spec, want string }{
		{"", "no key"},
		{" , ", "no key"},
		{goodB64, "entry 1 is not id:base64key"},
		{"k1:", "entry 1 is not id:base64key"},
		{"k1:not*base64!", `entry 1 (key "k1"): the key is not base64`},
		{"k1:" + short, `entry 1 (key "k1"): the key is 16 bytes, not 32`},
		{good + ",k1:" + goodB64, `entries 1 and 2 have the same key id "k1"`},
		{good + ",bad id:" + goodB64, "entry 2: a key id may hold only"},
		// A key pasted where the id belongs is too long to be an id.
		{strings.TrimRight(goodB64, "=") + ":k1", "entry 1: a key id is longer than"},
	} {
		_, err := ParseKeys(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseKeys(%q) = %v, want an error with %q", tc.spec, err, tc.want)
			continue
		}
		for _, secret := range []string{goodB64, strings.TrimRight(goodB64, "="), short, string(material)} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("ParseKeys(%q): error %q shows key material", tc.spec, err)
			}
		}
	}
	// Unpadded and URL base64 are read too.
	raw := base64.RawURLEncoding.EncodeToString(material)
	keys, err := ParseKeys("k2:" + raw + "," + good)
	if err != nil || len(keys) != 2 || keys[0].ID != "k2" || !bytes.Equal(keys[0].material, material) {
		t.Fatalf("ParseKeys of raw URL base64: %v %v", keys, err)
	}
}

// However a key is printed or logged, only its id shows.
func TestKeyNeverPrintsMaterial(t *testing.T) {
	k := DevKey()
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("k", "key", k, "keys", []Key{k})
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %q %x", k, k, k, k, k, k),
		fmt.Sprintf("%v", []Key{k}), fmt.Sprintf("%+v", struct{ K Key }{k}), logged.String()} {
		if strings.Contains(s, "not-a-secret") || strings.Contains(s, DevKeyBase64) || strings.Contains(s, fmt.Sprintf("%x", k.material)) ||
			!strings.Contains(s, DevKeyID) {
			t.Errorf("printed as %q", s)
		}
	}
}

func TestDevKeyIsDocumented(t *testing.T) {
	keys, err := ParseKeys(DevKeyID + ":" + DevKeyBase64)
	if err != nil || !bytes.Equal(keys[0].material, DevKey().material) {
		t.Fatalf("DevKeyBase64 is not the dev key: %v", err)
	}
}

// FuzzDecode: whatever an encrypted payload's key id and data, Decode
// never panics, and only the untouched ciphertext opens.
func FuzzDecode(f *testing.F) {
	key, err := NewKey("a", bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		f.Fatal(err)
	}
	c, err := New(key)
	if err != nil {
		f.Fatal(err)
	}
	p, _ := converter.GetDefaultDataConverter().ToPayload(map[string]string{"incident": "inc-1"})
	// Sealed as Encode seals, with a fixed nonce: the fuzzing workers
	// must all know the same valid ciphertext.
	plain, _ := proto.Marshal(p)
	nonce := make([]byte, nonceSize)
	valid := []*commonpb.Payload{{Data: c.aeads["a"].Seal(nonce, nonce, plain, []byte("a"))}}
	if out, err := c.Decode([]*commonpb.Payload{{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding),
		MetadataKeyID: []byte("a")}, Data: valid[0].Data}}); err != nil || !proto.Equal(out[0], p) {
		f.Fatalf("the seed does not open: %v", err)
	}
	f.Add("a", valid[0].Data)
	f.Add("a", valid[0].Data[:nonceSize])
	f.Add("b", valid[0].Data)
	f.Add("", []byte{})
	f.Add("a/../b", []byte("not a payload"))
	f.Fuzz(func(t *testing.T, id string, data []byte) {
		in := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte(id)},
			Data: data}
		out, err := c.Decode([]*commonpb.Payload{in})
		if err != nil {
			return
		}
		if id != "a" || !bytes.Equal(data, valid[0].Data) || !proto.Equal(out[0], p) {
			t.Fatalf("key %q, %d bytes of data opened to %v", id, len(data), out[0])
		}
	})
}
