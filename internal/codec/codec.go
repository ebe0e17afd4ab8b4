// Package codec encrypts Temporal payloads with AES-256-GCM: a
// converter.PayloadCodec for the clients and workers of every role, and
// for the codec server that lets the Temporal UI show them.
//
// Workflows carry no personal data (the relay and the activities see to
// that); this is defence in depth, so that what Temporal stores and shows
// is unreadable without the keys.
//
// An encoded payload has the metadata encoding "binary/encrypted" and
// "encryption-key-id" naming the key, and as data a random 12-byte nonce
// followed by the sealed original payload (proto-marshalled, metadata and
// all). The key id is authenticated with it. Several keys may be known:
// the first encrypts, all decrypt, so that a new key can be put first
// while histories encrypted with older ones stay readable. Payloads of
// any other encoding (histories from before the codec) pass through
// unchanged.
//
// No error and no printed value of this package ever shows key material
// or a payload's content; keys are named by their id, or by their
// position where the id cannot be trusted to be one.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	// Encoding is the metadata encoding of an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the metadata entry holding the key's id.
	MetadataKeyID = "encryption-key-id"
	// KeySize is the length of a key in bytes (AES-256).
	KeySize = 32
	// MaxKeyIDLen bounds a key id: shorter than a key in base64 (43
	// characters or more), so that a key pasted where its id belongs is
	// refused without being shown.
	MaxKeyIDLen = 32

	nonceSize = 12
)

// Key is one named AES-256 key. Its material is unexported, and every way
// of printing a Key (fmt's verbs, slog) shows its id only.
type Key struct {
	ID       string
	material []byte
}

// NewKey returns a key; material must be KeySize bytes.
func NewKey(id string, material []byte) (Key, error) {
	if err := checkID(id); err != nil {
		return Key{}, err
	}
	if len(material) != KeySize {
		return Key{}, fmt.Errorf("key %q is %d bytes, not %d (AES-256)", id, len(material), KeySize)
	}
	return Key{ID: id, material: slices.Clone(material)}, nil
}

// String shows the key's id only.
func (k Key) String() string { return "key " + k.ID }

// GoString shows the key's id only (fmt's %#v).
func (k Key) GoString() string { return "codec.Key{ID: " + fmt.Sprintf("%q", k.ID) + "}" }

// Format shows the key's id only, whatever the verb.
func (k Key) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, k.GoString())
		return
	}
	fmt.Fprint(f, k.String())
}

// LogValue shows the key's id only in logs.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.ID) }

// checkID accepts letters, digits and . _ - (it goes into metadata, logs
// and errors).
func checkID(id string) error {
	if id == "" {
		return errors.New("a key id is empty")
	}
	if len(id) > MaxKeyIDLen {
		return fmt.Errorf("a key id is longer than %d characters", MaxKeyIDLen)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			// The id may be key material pasted in the wrong place: not shown.
			return errors.New("a key id may hold only letters, digits and . _ -")
		}
	}
	return nil
}

// ParseKeys reads a comma-separated list of id:base64key (standard or URL
// base64, padded or not, of KeySize bytes), the first being the one that
// encrypts. Errors name an entry by its position, and by its id once the
// id is known to be one; never a key.
func ParseKeys(spec string) ([]Key, error) {
	var keys []Key
	seen := map[string]int{}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		n := i + 1
		id, b64, ok := strings.Cut(entry, ":")
		id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
		if !ok || b64 == "" {
			return nil, fmt.Errorf("entry %d is not id:base64key", n)
		}
		if err := checkID(id); err != nil {
			return nil, fmt.Errorf("entry %d: %w", n, err)
		}
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("entries %d and %d have the same key id %q: give each key its own id", prev, n, id)
		}
		seen[id] = n
		material, err := decodeBase64(b64)
		if err != nil {
			return nil, fmt.Errorf("entry %d (key %q): the key is not base64", n, id)
		}
		if len(material) != KeySize {
			return nil, fmt.Errorf("entry %d (key %q): the key is %d bytes, not %d (AES-256: e.g. openssl rand -base64 32)",
				n, id, len(material), KeySize)
		}
		k, err := NewKey(id, material)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", n, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no key: give id:base64key, e.g. k1:$(openssl rand -base64 32)")
	}
	return keys, nil
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// Codec is the payload codec. It is safe for concurrent use.
type Codec struct {
	ids   []string // as configured; ids[0] encrypts
	aeads map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec whose first key encrypts and whose keys all decrypt.
func New(keys ...Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("no key")
	}
	c := &Codec{aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("two keys have the id %q", k.ID)
		}
		if len(k.material) != KeySize {
			return nil, fmt.Errorf("key %q is not %d bytes", k.ID, KeySize)
		}
		block, err := aes.NewCipher(k.material)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.ID, err)
		}
		c.ids = append(c.ids, k.ID)
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// Parse returns the codec of a key list as ParseKeys reads it.
func Parse(spec string) (*Codec, error) {
	keys, err := ParseKeys(spec)
	if err != nil {
		return nil, err
	}
	return New(keys...)
}

// EncryptingKeyID is the id of the key that encrypts.
func (c *Codec) EncryptingKeyID() string { return c.ids[0] }

// KeyIDs are the ids of every key, the encrypting one first.
func (c *Codec) KeyIDs() []string { return slices.Clone(c.ids) }

// UnknownKeyError is a payload encrypted with a key this codec does not
// have.
type UnknownKeyError struct{ KeyID string }

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("payload encrypted with key %q, which is not configured (add it to RECOVERY_PAYLOAD_KEYS to read it)", e.KeyID)
}

// DecryptError is an encrypted payload that cannot be opened: altered,
// cut short, or sealed with other material under the same key id.
type DecryptError struct {
	KeyID  string
	Reason string
}

func (e *DecryptError) Error() string {
	if e.KeyID == "" {
		return "encrypted payload: " + e.Reason
	}
	return fmt.Sprintf("encrypted payload (key %q): %s", e.KeyID, e.Reason)
}

// Encode encrypts every payload with the first key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.ids[0]
	aead := c.aeads[id]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("payload %d: %w", i, err)
		}
		data := make([]byte, nonceSize, nonceSize+len(plain)+aead.Overhead())
		if _, err := rand.Read(data); err != nil {
			return payloads, fmt.Errorf("payload nonce: %w", err)
		}
		data = aead.Seal(data, data[:nonceSize], plain, []byte(id))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte(id)},
			Data:     data,
		}
	}
	return out, nil
}

// Decode decrypts every encrypted payload with the key it names and
// passes any other payload through unchanged. A payload of an unknown
// key is an *UnknownKeyError, one that cannot be opened a *DecryptError.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !Encrypted(p) {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		if id == "" {
			return payloads, &DecryptError{Reason: "it names no key id"}
		}
		if checkID(id) != nil {
			return payloads, &DecryptError{Reason: "its key id is malformed"}
		}
		aead, ok := c.aeads[id]
		if !ok {
			return payloads, &UnknownKeyError{KeyID: id}
		}
		data := p.GetData()
		if len(data) < nonceSize+aead.Overhead() {
			return payloads, &DecryptError{KeyID: id, Reason: "too short to be one"}
		}
		plain, err := aead.Open(nil, data[:nonceSize], data[nonceSize:], []byte(id))
		if err != nil {
			return payloads, &DecryptError{KeyID: id, Reason: "it does not open (altered, or sealed with other material under this id)"}
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return payloads, &DecryptError{KeyID: id, Reason: "its content is not a payload"}
		}
		out[i] = &orig
	}
	return out, nil
}

// Encrypted reports whether a payload carries this codec's encoding.
func Encrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == Encoding
}

// KeyIDOf returns the key id an encrypted payload names ("" for others).
func KeyIDOf(p *commonpb.Payload) string {
	if !Encrypted(p) {
		return ""
	}
	return string(p.GetMetadata()[MetadataKeyID])
}

// DataConverter is the default data converter with c's encryption over
// it: what every client and worker uses when payloads are encrypted.
func DataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// DevKeyID and devKeyMaterial are the built-in key of `recovery dev` (and
// `recovery codec-server --dev`) when RECOVERY_PAYLOAD_KEYS is unset. It
// is published in docs/codec.md: it hides nothing from
// anyone, and exists so that dev runs with encryption as production may.
const (
	DevKeyID = "dev-insecure"
	// DevKeyBase64 is the dev key as RECOVERY_PAYLOAD_KEYS would give it:
	// the 32 ASCII bytes "recovery-dev-key-not-a-secret-00".
	DevKeyBase64 = "cmVjb3ZlcnktZGV2LWtleS1ub3QtYS1zZWNyZXQtMDA="
)

// DevKey returns the built-in dev key.
func DevKey() Key {
	k, err := NewKey(DevKeyID, []byte("recovery-dev-key-not-a-secret-00"))
	if err != nil {
		panic(err)
	}
	return k
}
