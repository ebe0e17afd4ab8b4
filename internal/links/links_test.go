package links

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	s := Signer{Secret: []byte("k"), Base: "https://r.example/"}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tok := s.Token(KindChoice, "inc-1", now.Add(time.Hour))
	if got, err := s.Verify(tok, KindChoice, now); err != nil || got != "inc-1" {
		t.Fatalf("Verify = %q, %v", got, err)
	}
	if _, err := s.Verify(tok, KindChoice, now.Add(2*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	if _, err := s.Verify(tok, KindUnsubscribe, now); !errors.Is(err, ErrTampered) {
		t.Errorf("wrong kind: %v", err)
	}
	other := Signer{Secret: []byte("other")}
	if _, err := other.Verify(tok, KindChoice, now); !errors.Is(err, ErrTampered) {
		t.Errorf("other secret: %v", err)
	}
	// Swap the subject, keep the signature.
	forged := strings.Replace(tok, b64.EncodeToString([]byte("inc-1")), b64.EncodeToString([]byte("inc-2")), 1)
	if _, err := s.Verify(forged, KindChoice, now); !errors.Is(err, ErrTampered) {
		t.Errorf("forged subject: %v", err)
	}
	// Extend the expiry, keep the signature.
	parts := strings.Split(tok, ".")
	parts[2] = "zzzzzz"
	if _, err := s.Verify(strings.Join(parts, "."), KindChoice, now); !errors.Is(err, ErrTampered) {
		t.Errorf("forged expiry: %v", err)
	}
	for _, bad := range []string{"", "c", "c.a.b", "c.!!.1.x", tok + "x"} {
		if _, err := s.Verify(bad, KindChoice, now); !errors.Is(err, ErrTampered) {
			t.Errorf("Verify(%q) = %v", bad, err)
		}
	}
	u := s.UnsubscribeURL("a@b.example", now.Add(time.Hour))
	if !strings.HasPrefix(u, "https://r.example/u/u.") {
		t.Errorf("UnsubscribeURL = %s", u)
	}
	if got, err := s.Verify(strings.TrimPrefix(u, "https://r.example/u/"), KindUnsubscribe, now); err != nil || got != "a@b.example" {
		t.Errorf("unsubscribe subject = %q, %v", got, err)
	}
}

func FuzzVerify(f *testing.F) {
	s := Signer{Secret: []byte("k")}
	f.Add(s.Token(KindChoice, "inc-1", time.Unix(1e10, 0)))
	f.Add("c.aW5j.1.x")
	f.Fuzz(func(t *testing.T, tok string) {
		_, err := s.Verify(tok, KindChoice, time.Unix(0, 0))
		if err == nil && !strings.HasSuffix(tok, s.mac(strings.Join(strings.Split(tok, ".")[:3], "."))) {
			t.Fatalf("accepted %q without its mac", tok)
		}
	})
}

// An unsubscribe link names nobody: the address is sealed, not encoded.
// Links sent before sealing still work.
func TestUnsubscribeLinksAreSealed(t *testing.T) {
	s := Signer{Secret: []byte("secret"), Base: "https://r.example"}
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	addr := "ada.weber@example.com"
	tok := s.Token(KindUnsubscribe, addr, exp)
	for _, form := range []string{addr, b64.EncodeToString([]byte(addr)), "ada", "weber"} {
		if strings.Contains(strings.ToLower(tok), strings.ToLower(form)) {
			t.Fatalf("token %q names the address (%q)", tok, form)
		}
	}
	if tok == s.Token(KindUnsubscribe, addr, exp) {
		t.Fatal("two seals of one address are the same: a link would identify its reader")
	}
	got, err := s.Verify(tok, KindUnsubscribe, exp.Add(-time.Hour))
	if err != nil || got != addr {
		t.Fatalf("verify = %q, %v", got, err)
	}
	// A sealed subject swapped in from another link fails the MAC.
	other := strings.Split(s.Token(KindUnsubscribe, "bob@example.com", exp), ".")
	parts := strings.Split(tok, ".")
	parts[1] = other[1]
	if _, err := s.Verify(strings.Join(parts, "."), KindUnsubscribe, exp.Add(-time.Hour)); err != ErrTampered {
		t.Fatalf("swapped subject: %v", err)
	}
	// A link from before sealing: plain base64, signed.
	payload := KindUnsubscribe + "." + b64.EncodeToString([]byte(addr)) + "." + strconv.FormatInt(exp.Unix(), 36)
	if got, err := s.Verify(payload+"."+s.mac(payload), KindUnsubscribe, exp.Add(-time.Hour)); err != nil || got != addr {
		t.Fatalf("a link from before sealing: %q, %v", got, err)
	}
}

func TestReplyAddresses(t *testing.T) {
	s := Signer{Secret: []byte("reply-secret")}
	addr := s.ReplyAddress("inc-8dc72bf8ab095283a00c", 2, "reply.shop.example")
	if local, _, _ := strings.Cut(addr, "@"); len(local) > 64 || strings.ToLower(addr) != addr {
		t.Fatalf("%q: a local part over 64 characters, or not lower case", addr)
	}
	for _, a := range []string{addr, strings.ToUpper(addr), " " + addr + " "} {
		id, step, err := s.ParseReplyAddress(a)
		if err != nil || id != "inc-8dc72bf8ab095283a00c" || step != 2 {
			t.Fatalf("%q: %q %d %v", a, id, step, err)
		}
	}
	forged := strings.Replace(addr, ".2.", ".3.", 1)
	for _, a := range []string{forged, "r+inc-1.1.000000000000@x", "care@shop.example", "", "r+@x",
		Signer{Secret: []byte("other")}.ReplyAddress("inc-1", 1, "x")} {
		if _, _, err := s.ParseReplyAddress(a); err == nil {
			t.Errorf("%q was taken as one of ours", a)
		}
	}
}
