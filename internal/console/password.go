// Package console is the ops console: the web pages where the people who
// approve offers work, served by the same binary beside the machine-facing
// API, acting only through the domain interfaces the API uses.
//
// This file holds its local accounts' passwords: Argon2id, at explicit
// parameters, in the PHC string format, verified in constant time.
package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are Argon2id's costs. DefaultParams are OWASP's first
// recommended configuration for Argon2id (Password Storage Cheat Sheet):
// 19 MiB of memory, 2 iterations, 1 degree of parallelism; a 16-byte salt
// and a 32-byte key.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   uint32
	KeyLen    uint32
}

// DefaultParams are the costs new hashes use.
var DefaultParams = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Password lengths: at least MinPassword characters (NIST SP 800-63B-4
// for a password that is the only factor), at most MaxPassword bytes, so
// that nobody makes the server hash a megabyte.
const (
	MinPassword = 15
	MaxPassword = 1024
)

// ErrWeakPassword says a password is too short or too long.
var ErrWeakPassword = fmt.Errorf("a password has at least %d characters and at most %d bytes", MinPassword, MaxPassword)

// CheckPassword enforces the length rules (and nothing else: no
// composition rules, which make passwords worse, not better).
func CheckPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPassword || len(pw) > MaxPassword {
		return ErrWeakPassword
	}
	return nil
}

// HashPassword hashes pw with p, as
// $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<key> (unpadded
// standard base64).
func HashPassword(pw string, p Params) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// errHash says a stored hash is not one this package writes.
var errHash = errors.New("not an argon2id hash in the PHC string format")

// parseHash reads a stored hash.
func parseHash(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errHash
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &threads); err != nil ||
		p.MemoryKiB == 0 || p.Time == 0 || threads == 0 || threads > 255 || p.MemoryKiB > 4*1024*1024 || p.Time > 100 {
		return p, nil, nil, errHash
	}
	p.Threads = uint8(threads)
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errHash
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, errHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword reports whether pw matches the stored hash, in constant
// time, and whether the hash should be renewed because it was made at
// other costs than DefaultParams.
func VerifyPassword(pw, encoded string) (ok, rehash bool, err error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, false, err
	}
	if len(pw) > MaxPassword {
		return false, false, nil
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, ok && p != DefaultParams, nil
}

// dummyHash is verified when no account has the name given, so that a
// login takes as long for an unknown name as for a wrong password.
var dummyHash = func() string {
	h, err := HashPassword("no account has this password, ever", DefaultParams)
	if err != nil {
		panic(err)
	}
	return h
}()

// VerifyNobody spends the time a verification takes, for a name no
// account has.
func VerifyNobody(pw string) {
	_, _, _ = VerifyPassword(pw, dummyHash)
}
