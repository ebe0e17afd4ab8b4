// Package links makes and checks the signed, expiring links sent to
// customers: the choice page of an incident and the unsubscribe link of an
// address. A link carries what it is for and until when, and an
// HMAC-SHA256 over both; nothing else is needed to check it.
package links

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Link kinds.
const (
	// KindChoice opens an incident's choice page; Subject is the incident.
	KindChoice = "c"
	// KindUnsubscribe ends email to an address; Subject is the address.
	KindUnsubscribe = "u"
)

// Errors of Verify; the pages tell them apart for the customer.
var (
	ErrExpired  = errors.New("the link has expired")
	ErrTampered = errors.New("the link is not one of ours")
)

// Signer makes and checks tokens and the URLs around them.
type Signer struct {
	// Secret keys the HMAC; Base is the public URL the links start with.
	Secret []byte
	Base   string
}

var b64 = base64.RawURLEncoding

// Token returns kind, subject and expiry, signed. The subject is base64
// so that any string fits in a path segment; an unsubscribe link's subject
// (an email address) is sealed as well, so that the link names nobody to
// whoever sees it (a proxy's log, a forwarded email).
func (s Signer) Token(kind, subject string, expires time.Time) string {
	enc := b64.EncodeToString([]byte(subject))
	if kind == KindUnsubscribe {
		enc = sealedMark + s.seal(subject)
	}
	payload := kind + "." + enc + "." + strconv.FormatInt(expires.Unix(), 36)
	return payload + "." + s.mac(payload)
}

// sealedMark starts a sealed subject; it is not in base64's URL alphabet,
// so links from before sealing (plain base64) still verify.
const sealedMark = "~"

// sealKey derives the sealing key from the secret.
func (s Signer) sealKey() cipher.AEAD {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte("links: seal"))
	block, _ := aes.NewCipher(m.Sum(nil)) // 32 bytes: AES-256
	aead, _ := cipher.NewGCM(block)
	return aead
}

// seal encrypts a subject (AES-256-GCM, random nonce).
func (s Signer) seal(subject string) string {
	aead := s.sealKey()
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce) //nolint:errcheck // crypto/rand.Read never fails
	return b64.EncodeToString(aead.Seal(nonce, nonce, []byte(subject), nil))
}

// unseal decrypts what seal made.
func (s Signer) unseal(enc string) ([]byte, error) {
	raw, err := b64.DecodeString(enc)
	aead := s.sealKey()
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, ErrTampered
	}
	return aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
}

func (s Signer) mac(payload string) string {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte(payload))
	return b64.EncodeToString(m.Sum(nil)[:18])
}

// Verify checks a token of the kind at now and returns its subject.
func (s Signer) Verify(token, kind string, now time.Time) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != kind || len(s.Secret) == 0 {
		return "", ErrTampered
	}
	payload := strings.Join(parts[:3], ".")
	if !hmac.Equal([]byte(parts[3]), []byte(s.mac(payload))) {
		return "", ErrTampered
	}
	var subject []byte
	var err1 error
	if sealed, ok := strings.CutPrefix(parts[1], sealedMark); ok {
		subject, err1 = s.unseal(sealed)
	} else {
		subject, err1 = b64.DecodeString(parts[1])
	}
	exp, err2 := strconv.ParseInt(parts[2], 36, 64)
	if err1 != nil || err2 != nil {
		return "", ErrTampered
	}
	if now.After(time.Unix(exp, 0)) {
		return "", ErrExpired
	}
	return string(subject), nil
}

// ChoiceURL is the link to an incident's choice page.
func (s Signer) ChoiceURL(incidentID string, expires time.Time) string {
	return strings.TrimSuffix(s.Base, "/") + "/r/" + s.Token(KindChoice, incidentID, expires)
}

// UnsubscribeURL is the link that ends email to an address.
func (s Signer) UnsubscribeURL(address string, expires time.Time) string {
	return strings.TrimSuffix(s.Base, "/") + "/u/" + s.Token(KindUnsubscribe, address, expires)
}

// ReplyAddress is the address an email's replies go to, naming its
// incident and ladder step: r+<incident>.<step>.<mac>@domain. The MAC is
// 12 hex digits (48 bits) of the secret's HMAC, lower case throughout so
// that mail systems that fold the case of local parts keep it; the whole
// local part stays well under 64 characters for our incident ids.
func (s Signer) ReplyAddress(incidentID string, step int, domain string) string {
	subject := incidentID + "." + strconv.Itoa(step)
	return "r+" + subject + "." + s.replyMAC(subject) + "@" + domain
}

func (s Signer) replyMAC(subject string) string {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte("reply." + subject))
	const hexdigits = "0123456789abcdef"
	sum := m.Sum(nil)
	out := make([]byte, 12)
	for i := range 6 {
		out[2*i], out[2*i+1] = hexdigits[sum[i]>>4], hexdigits[sum[i]&15]
	}
	return string(out)
}

// ParseReplyAddress finds the incident and step a reply address names,
// in any case; an address that is not one of ours is ErrTampered.
func (s Signer) ParseReplyAddress(address string) (incidentID string, step int, err error) {
	local, _, ok := strings.Cut(strings.ToLower(strings.TrimSpace(address)), "@")
	rest, ok2 := strings.CutPrefix(local, "r+")
	if !ok || !ok2 || len(s.Secret) == 0 {
		return "", 0, ErrTampered
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		return "", 0, ErrTampered
	}
	subject, mac := rest[:dot], rest[dot+1:]
	if !hmac.Equal([]byte(mac), []byte(s.replyMAC(subject))) {
		return "", 0, ErrTampered
	}
	sdot := strings.LastIndexByte(subject, '.')
	if sdot < 0 {
		return "", 0, ErrTampered
	}
	step, err = strconv.Atoi(subject[sdot+1:])
	if err != nil || step < 1 {
		return "", 0, ErrTampered
	}
	return subject[:sdot], step, nil
}
