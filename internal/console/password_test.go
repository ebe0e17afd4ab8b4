package console

import (
	"strings"
	"testing"
)

func TestPasswordsHashAndVerify(t *testing.T) {
	const pw = "correct horse battery staple"
	h, err := HashPassword(pw, DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not name OWASP's parameters", h)
	}
	if h2, _ := HashPassword(pw, DefaultParams); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if ok, rehash, err := VerifyPassword(pw, h); !ok || rehash || err != nil {
		t.Fatalf("the right password: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	for _, wrong := range []string{"correct horse battery stapl", "Correct horse battery staple", "", strings.Repeat("x", MaxPassword+1)} {
		if ok, _, err := VerifyPassword(wrong, h); ok || err != nil {
			t.Errorf("%q: ok=%v err=%v, want a plain no", wrong, ok, err)
		}
	}
	// A hash made at other costs still verifies, and asks to be renewed.
	old, _ := HashPassword(pw, Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if ok, rehash, _ := VerifyPassword(pw, old); !ok || !rehash {
		t.Fatalf("an older hash: ok=%v rehash=%v, want ok and a renewal", ok, rehash)
	}
}

func TestPasswordRulesAndMalformedHashes(t *testing.T) {
	for pw, ok := range map[string]bool{"short": false, strings.Repeat("é", 14): false, strings.Repeat("é", 15): true,
		strings.Repeat("a", MaxPassword): true, strings.Repeat("a", MaxPassword+1): false} {
		if err := CheckPassword(pw); (err == nil) != ok {
			t.Errorf("%d runes, %d bytes: err=%v", len([]rune(pw)), len(pw), err)
		}
	}
	h, _ := HashPassword("correct horse battery staple", DefaultParams)
	parts := strings.Split(h, "$")
	for name, bad := range map[string]string{
		"bcrypt":          "$2a$10$abcdefghijklmnopqrstuv",
		"argon2i":         strings.Replace(h, "argon2id", "argon2i", 1),
		"other version":   strings.Replace(h, "v=19", "v=16", 1),
		"huge memory":     strings.Replace(h, "m=19456", "m=99999999", 1),
		"no salt":         strings.Join([]string{"", parts[1], parts[2], parts[3], "", parts[5]}, "$"),
		"not base64 key":  strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "!!!"}, "$"),
		"empty":           "",
		"too many fields": h + "$x",
	} {
		if ok, _, err := VerifyPassword("correct horse battery staple", bad); ok || err == nil {
			t.Errorf("%s: ok=%v err=%v, want an error", name, ok, err)
		}
	}
}
