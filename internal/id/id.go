// Package id makes identifiers that sort by creation time (ULIDs) and random secrets.
package id

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford: no I, L, O or U

var crockford = base32.NewEncoding(alphabet).WithPadding(base32.NoPadding)

// New returns a 26-character ULID for time t: 48 bits of milliseconds then 80 random bits, so ids
// sort by creation time as text.
func New(t time.Time) string {
	var b [16]byte
	rand.Read(b[6:]) // never fails: crypto/rand panics rather than return an error
	hi := uint64(t.UnixMilli())<<16 | uint64(binary.BigEndian.Uint16(b[6:8]))
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	// 26 characters of 5 bits hold 130 bits; the top two are zero. Fill from the right.
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Secret returns n random bytes as base32 text, for tokens and keys.
func Secret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return crockford.EncodeToString(b)
}
