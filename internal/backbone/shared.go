package backbone

import (
	"encoding/json"
	"fmt"
	"sync"

	gojson "github.com/goccy/go-json"
)

// sharedDecoding lets the consumers of one process decode each stream message's scalar fields
// once between them, instead of once each: every consumer reads the same messages at about the
// same time, and decoding them is most of what a consumer that wants few events costs.
//
// An entry is dropped when every consumer has taken it; since a consumer may never take one (it
// stopped, or another node took the message), at most maxShared entries are kept, the oldest
// dropped first. A consumer that finds no entry decodes the message itself, so the cache changes
// nothing but the work.
type sharedDecoding struct {
	users int // consumers that decode lean wires

	mu      sync.Mutex
	entries map[uint64]*sharedEntry // by stream sequence
	order   []uint64                // sequences in the order they were added
}

// maxShared bounds the messages held: a few seconds of a heavy load.
const maxShared = 2048

// sharedEntry is one message's elements and their scalar fields, decoded once.
type sharedEntry struct {
	once  sync.Once
	raws  []json.RawMessage
	wires []leanWire
	err   error
	left  int // consumers that have not taken it yet
}

func newSharedDecoding(users int) *sharedDecoding {
	return &sharedDecoding{users: users, entries: map[uint64]*sharedEntry{}}
}

// wires returns the elements of the message with stream sequence seq and data, and their scalar
// fields. The wires are shared: a caller reads them and copies what it keeps, never changes them.
func (s *sharedDecoding) wires(seq uint64, data []byte) ([]json.RawMessage, []leanWire, error) {
	if s == nil || s.users < 2 {
		return decodeWires(data)
	}
	s.mu.Lock()
	e := s.entries[seq]
	if e == nil {
		e = &sharedEntry{left: s.users}
		s.entries[seq] = e
		s.order = append(s.order, seq)
		for len(s.order) > maxShared {
			delete(s.entries, s.order[0])
			s.order = s.order[1:]
		}
	}
	if e.left--; e.left == 0 {
		delete(s.entries, seq) // its place in order goes when it comes to the front
	}
	s.mu.Unlock()
	e.once.Do(func() { e.raws, e.wires, e.err = decodeWires(data) })
	return e.raws, e.wires, e.err
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
