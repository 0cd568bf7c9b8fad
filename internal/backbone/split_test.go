package backbone

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/kizuna-community/kizuna/internal/event"
)

// FuzzSplitArray checks that splitArray finds the same elements as json.Unmarshal whenever that
// succeeds, and that whatever it returns for other input fails when the elements are decoded.
func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`[]`, ` [ ] `, `[{"a":"b,]}"}, {"c":[1,{"d":"\"]"}]}]`, `[1, "x" ,null,true]`, `[{},]`,
		`[,{}]`, `[{}`, `{}`, `[{]}]`, `[{"a":"\\"}]`, `[{}] x`, `[ {"a" : 1 } ]`, `["\u005d"]`, `[{}}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want []json.RawMessage
		wantErr := json.Unmarshal(data, &want)
		got, err := splitArray(data)
		if wantErr == nil {
			if err != nil {
				t.Fatalf("splitArray(%q): %v", data, err)
			}
			if len(got) != len(want) {
				t.Fatalf("splitArray(%q) = %q; want %q", data, got, want)
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("splitArray(%q)[%d] = %q; want %q", data, i, got[i], want[i])
				}
			}
			return
		}
		if err != nil {
			return
		}
		for _, r := range got {
			var v any
			if json.Unmarshal(r, &v) != nil {
				return
			}
		}
		t.Fatalf("splitArray(%q) = %q with every element valid, but json.Unmarshal: %v", data, got, wantErr)
	})
}

// BenchmarkDecode measures decoding one full stream message of events, as a consumer does.
//
//	go test -run '^$' -bench Decode ./internal/backbone/
func BenchmarkDecode(b *testing.B) {
	evs := benchEvents(1200)
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := range evs {
		if i > 0 {
			buf.WriteByte(',')
		}
		p, _ := json.Marshal(&evs[i])
		buf.Write(p)
	}
	buf.WriteByte(']')
	data := buf.Bytes()
	forms := []struct {
		name string
		c    Consumer
	}{
		{"full", Consumer{Handle: func(context.Context, []event.Event) error { return nil }}},
		{"lean", Consumer{HandleLean: func(context.Context, []Lean) error { return nil }}},
		{"wanting-none", Consumer{Want: func(*event.Event) bool { return false }}},
	}
	for _, f := range forms {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var bt batch
				if err := bt.decode(0, data, f.c, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
