package backbone

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"sync"

	gojson "github.com/goccy/go-json"
)

// sharedDecoding lets the consumers of one process decode each stream message's scalar fields
// once between them, instead of once each: every consumer reads the same messages at about the
// same time, and decoding them is most of what a consumer that wants few events costs.
//
// An entry is dropped when every consumer has taken it (a redelivery to one that took it already
// does not count again). Since a consumer may never take one (it stopped, it lags, or another node
// took the message), at most maxShared entries and maxSharedBytes of messages are kept, the
// oldest dropped first. A consumer that finds no entry decodes the message itself, so the cache
// changes nothing but the work.
type sharedDecoding struct {
	index map[string]uint // consumer name → its bit in sharedEntry.taken

	mu      sync.Mutex
	entries map[uint64]*sharedEntry // by stream sequence
	order   []*sharedEntry          // in the order they were added; some may be gone from entries
	bytes   int                     // the size of the messages entries holds
}

// The bounds of what is held: a few seconds of a heavy load.
const (
	maxShared      = 2048
	maxSharedBytes = 32 << 20
)

// sharedEntry is one message's elements and their scalar fields, decoded once.
type sharedEntry struct {
	seq   uint64
	size  int
	once  sync.Once
	raws  []json.RawMessage
	wires []leanWire
	err   error
	taken uint64 // the bits of the consumers that took it
	held  bool   // still in entries, its size counted in bytes
}

// newSharedDecoding shares the decoding between the consumers named; with fewer than two (or
// more than 64) each decodes alone.
func newSharedDecoding(names []string) *sharedDecoding {
	if len(names) < 2 || len(names) > 64 {
		return nil
	}
	s := &sharedDecoding{index: map[string]uint{}, entries: map[uint64]*sharedEntry{}}
	for i, n := range names {
		s.index[n] = uint(i)
	}
	return s
}

// wires returns the elements of the message with stream sequence seq and data, and their scalar
// fields, for consumer name. The wires are shared: a caller reads them and copies what it keeps,
// never changes them.
func (s *sharedDecoding) wires(name string, seq uint64, data []byte) ([]json.RawMessage, []leanWire, error) {
	bit, ok := uint(0), false
	if s != nil {
		bit, ok = s.index[name]
	}
	if !ok {
		return decodeWires(data)
	}
	s.mu.Lock()
	e := s.entries[seq]
	if e == nil || len(data) != e.size { // (a different size: not the message it was made for)
		e = &sharedEntry{seq: seq, size: len(data), held: true}
		if old := s.entries[seq]; old != nil {
			s.drop(old)
		}
		s.entries[seq] = e
		s.order = append(s.order, e)
		s.bytes += e.size
		for len(s.order) > maxShared || s.bytes > maxSharedBytes {
			s.drop(s.order[0])
			s.order[0] = nil // the array keeps its front until append moves it: let the message go
			s.order = s.order[1:]
		}
	}
	e.taken |= 1 << bit
	if bits.OnesCount64(e.taken) == len(s.index) {
		s.drop(e) // its place in order goes when it comes to the front
	}
	s.mu.Unlock()
	e.once.Do(func() { e.raws, e.wires, e.err = decodeWires(data) })
	return e.raws, e.wires, e.err
}

// drop takes e out of entries if it is still there; s.mu is held.
func (s *sharedDecoding) drop(e *sharedEntry) {
	if !e.held {
		return
	}
	e.held = false
	s.bytes -= e.size
	if s.entries[e.seq] == e {
		delete(s.entries, e.seq)
	}
}

// decodeWires splits a stream message into its events and decodes each one's scalar fields.
func decodeWires(data []byte) ([]json.RawMessage, []leanWire, error) {
	// The elements alias data, which the message owns; each is validated as it is decoded.
	raws, err := splitArray(data)
	if err != nil {
		return nil, nil, err
	}
	wires := make([]leanWire, len(raws))
	for i, r := range raws {
		if err := gojson.Unmarshal(r, &wires[i]); err != nil {
			return nil, nil, fmt.Errorf("event %d: %w", i, err)
		}
	}
	return raws, wires, nil
}
