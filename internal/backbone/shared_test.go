package backbone

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/kizuna-community/kizuna/internal/event"
)

// TestSharedDecoding checks that consumers sharing the decoding get what each would have decoded
// alone, that an entry goes once every consumer took it, and that entries never taken are bounded.
func TestSharedDecoding(t *testing.T) {
	message := func(seq int) []byte {
		evs := make([]event.Event, 3)
		for i := range evs {
			evs[i] = event.New(event.Track, fmt.Sprintf("Event %d-%d", seq, i), event.SourceTracking, time.Date(2026, 12, 4, 0, 0, seq, 0, time.UTC))
			evs[i].UserID = fmt.Sprintf("u%d", seq)
			evs[i].Properties = map[string]any{"n": seq, "s": `"quoted" \ text`}
		}
		b, err := gojson.Marshal(evs)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	messages := map[int][]byte{} // one per sequence, as the stream holds it
	for seq := 1; seq <= 300; seq++ {
		messages[seq] = message(seq)
	}
	names := []string{"event-log", "profiles", "badges"}
	s := newSharedDecoding(names)
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() {
			for seq := 1; seq <= 300; seq++ {
				data := messages[seq]
				raws, wires, err := s.wires(name, uint64(seq), data)
				wantRaws, wantWires, wantErr := decodeWires(data)
				got, _ := gojson.Marshal(wires)
				want, _ := gojson.Marshal(wantWires)
				if err != nil || wantErr != nil || len(raws) != 3 || fmt.Sprintf("%s", raws) != fmt.Sprintf("%s", wantRaws) || string(got) != string(want) {
					t.Errorf("seq %d: shared %d events %v, alone %v", seq, len(raws), err, wantErr)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(s.entries) != 0 {
		t.Errorf("%d entries left after every consumer took every message", len(s.entries))
	}
	// A redelivery to a consumer that took the message already does not count as another.
	data := messages[1]
	for _, name := range []string{"event-log", "event-log", "profiles"} {
		if _, _, err := s.wires(name, 1, data); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.entries) != 1 {
		t.Fatalf("a message two of three consumers took is gone: %d entries", len(s.entries))
	}
	if _, _, err := s.wires("badges", 1, data); err != nil || len(s.entries) != 0 {
		t.Fatalf("the third consumer's take leaves %d entries (%v)", len(s.entries), err)
	}
	// One consumer alone, the others never coming: the entries stay bounded in number and size.
	for seq := 1000; seq < 1000+maxShared+500; seq++ {
		if _, _, err := s.wires("profiles", uint64(seq), message(seq)); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.entries) > maxShared || len(s.order) > maxShared {
		t.Errorf("%d entries, %d in order; at most %d", len(s.entries), len(s.order), maxShared)
	}
	big := append(append([]byte(`[`), bytes.Repeat([]byte(`{"type":"track","event":"x","properties":{"pad":"`+strings.Repeat("x", 1000)+`"}},`), 500)...), []byte(`{"type":"track"}]`)...)
	for seq := 5000; seq < 5100; seq++ {
		if _, _, err := s.wires("profiles", uint64(seq), big); err != nil {
			t.Fatal(err)
		}
	}
	if s.bytes > maxSharedBytes {
		t.Errorf("%d bytes of messages held; at most %d", s.bytes, maxSharedBytes)
	}
	held := 0
	for _, e := range s.entries {
		held += e.size
	}
	if held != s.bytes {
		t.Errorf("entries hold %d bytes, counted %d", held, s.bytes)
	}
	// A malformed message is an error for every consumer.
	if _, _, err := s.wires("profiles", 2, []byte(`[{"type":`)); err == nil {
		t.Error("a malformed message decoded")
	}
}
