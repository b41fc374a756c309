// Package secret makes the random tokens the sign-in flows hand out and
// the hashes the database keeps of them. A token leaves the server once
// (in a cookie, an email, a device-flow answer); only its SHA-256 is
// stored, so a copy of the database signs nobody in. SHA-256 without a
// salt suffices because the tokens are 256 random bits: there is nothing
// to guess and no dictionary to precompute.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// New returns a fresh token: 32 random bytes, base64url without padding.
func New() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ID returns a fresh row ID: 16 random bytes in hex. IDs name things in
// URLs and lists; they grant nothing.
func ID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Hash is what the database stores of a token: its SHA-256 in hex.
func Hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
