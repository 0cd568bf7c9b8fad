// Package id makes identifiers that sort by creation time (ULIDs) and random secrets.
package id

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"sync"
	"time"
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford: no I, L, O or U

var crockford = base32.NewEncoding(alphabet).WithPadding(base32.NoPadding)

// last is the newest ULID this process made, for monotonic ids within one millisecond.
var last struct {
	sync.Mutex
	ms     uint64
	hi, lo uint64 // the 80 random bits: 16 in hi, 64 in lo
}

// New returns a 26-character ULID for time t: 48 bits of milliseconds then 80 random bits, so ids
// sort by creation time as text. Ids this process makes within one millisecond increase (the ULID
// spec's monotonic mode), so records written in one burst keep their order.
func New(t time.Time) string {
	ms := uint64(t.UnixMilli())
	last.Lock()
	var rnd, lo uint64
	if ms == last.ms && last.lo+1 != 0 {
		rnd, lo = last.hi, last.lo+1
	} else {
		var b [10]byte
		rand.Read(b[:]) // never fails: crypto/rand panics rather than return an error
		rnd, lo = uint64(binary.BigEndian.Uint16(b[:2])), binary.BigEndian.Uint64(b[2:])
	}
	last.ms, last.hi, last.lo = ms, rnd, lo
	last.Unlock()
	hi := ms<<16 | rnd
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
