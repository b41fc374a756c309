package thread

import (
	"crypto/rand"
	"time"
)

// idAlphabet is Crockford's base32 in lower case: no i, l, o or u, so an
// ID read aloud or copied by hand is hard to get wrong, and ASCII order
// matches numeric order, so IDs sort by creation time.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// newID returns a 10-character ID: 7 characters of Unix seconds (good
// until the year 3058) and 3 random ones (32768 values) so threads started
// in the same second, even by different processes, differ.
func newID(now time.Time) string {
	var b [10]byte
	sec := uint64(now.Unix())
	for i := 6; i >= 0; i-- {
		b[i] = idAlphabet[sec%32]
		sec /= 32
	}
	var r [3]byte
	_, _ = rand.Read(r[:]) // never fails (crypto/rand panics rather)
	for i, x := range r {
		b[7+i] = idAlphabet[x%32]
	}
	return string(b[:])
}
