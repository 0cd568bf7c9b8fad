package backbone

import (
	"fmt"
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
	s := newSharedDecoding(3)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for seq := 1; seq <= 300; seq++ {
				data := messages[seq]
				raws, wires, err := s.wires(uint64(seq), data)
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
	// One consumer alone, the others never coming: the entries stay bounded.
	for seq := 1000; seq < 1000+maxShared+500; seq++ {
		if _, _, err := s.wires(uint64(seq), message(seq)); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.entries) > maxShared || len(s.order) > maxShared {
		t.Errorf("%d entries, %d in order; at most %d", len(s.entries), len(s.order), maxShared)
	}
	// A malformed message is an error for every consumer.
	if _, _, err := s.wires(1, []byte(`[{"type":`)); err == nil {
		t.Error("a malformed message decoded")
	}
}
