package backbone

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/google/go-cmp/cmp"

	"github.com/kizuna-community/kizuna/internal/event"
)

// jsonEvents are events with what JSON encoders disagree on if anything: HTML characters,
// Japanese, emoji, control characters, nested maps and arrays, large and fractional numbers, and
// times with and without fractions of a second.
func jsonEvents() []event.Event {
	at := time.Date(2026, 12, 4, 9, 30, 0, 123456789, time.UTC)
	e := event.New(event.Track, "Order Completed", event.SourceTracking, at)
	e.UserID = "u-<script>&'\""
	e.AnonymousID = "匿名-🙂"
	e.Properties = map[string]any{
		"revenue": 12800.5, "count": 3.0, "big": 1e21, "neg": -0.25, "html": "<b>&amp;</b>", "jp": "東京の\tミートアップ\n",
		"ctrl": "\u0001\u007f\u2028\u2029", "nested": map[string]any{"a": []any{1.0, "x", nil, true, map[string]any{}}}, "empty": "",
	}
	e.Context = map[string]any{"source_id": "src-1", "traits": map[string]any{"email": "Ｔａｒｏ@example.jp"}, "page": map[string]any{"url": "https://example.jp/?a=1&b=2"}}
	id := event.New(event.Identify, "", event.SourceTracking, at.Add(-time.Hour))
	id.UserID = "42"
	id.Traits = map[string]any{"name": "山田 太郎", "plan": "enterprise", "age": 41.0}
	id.SentAt = at.Truncate(time.Second)
	return []event.Event{e, id}
}

// TestGoJSONAgreesWithEncodingJSON checks that the events Append encodes with go-json read back
// as encoding/json's own encoding does, and that the decoders consumers use give what
// encoding/json gives.
func TestGoJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, ev := range jsonEvents() {
		std, err := json.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := gojson.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(std, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(fast, &b); err != nil {
			t.Fatalf("go-json wrote JSON encoding/json cannot read: %v\n%s", err, fast)
		}
		if d := cmp.Diff(a, b); d != "" {
			t.Errorf("go-json encoding differs (-encoding/json +go-json):\n%s", d)
		}

		var want event.Event
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		var bt batch
		if err := bt.decode(0, append(append([]byte("["), fast...), ']'), Consumer{Handle: func(ctx context.Context, evs []event.Event) error { return nil }}, nil); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, bt.evs[0]); d != "" {
			t.Errorf("full decoding differs (-encoding/json +consumer):\n%s", d)
		}
		var lean batch
		if err := lean.decode(0, append(append([]byte("["), fast...), ']'), Consumer{HandleLean: func(ctx context.Context, evs []Lean) error { return nil }}, nil); err != nil {
			t.Fatal(err)
		}
		l := lean.leans[0]
		head := want
		head.Properties, head.Traits, head.Context = nil, nil, nil
		if d := cmp.Diff(head, l.Event); d != "" {
			t.Errorf("lean decoding differs (-encoding/json +consumer):\n%s", d)
		}
		for name, part := range map[string]struct {
			raw  json.RawMessage
			want map[string]any
		}{"properties": {l.Properties, want.Properties}, "traits": {l.Traits, want.Traits}, "context": {l.Context, want.Context}} {
			var got map[string]any
			if len(part.raw) > 0 {
				if err := json.Unmarshal(part.raw, &got); err != nil {
					t.Fatalf("lean %s: %v", name, err)
				}
			}
			if d := cmp.Diff(part.want, got); d != "" {
				t.Errorf("lean %s differs (-encoding/json +consumer):\n%s", name, d)
			}
		}
	}
}

// TestMalformedMessageIsDroppedWhole checks that a stream message with one bad event adds none of
// its events to the batch, in every form a consumer takes.
func TestMalformedMessageIsDroppedWhole(t *testing.T) {
	good, _ := gojson.Marshal(&jsonEvents()[0])
	data := []byte("[" + string(good) + `,{"type":7}]`)
	for name, c := range map[string]Consumer{
		"full": {Handle: func(context.Context, []event.Event) error { return nil }},
		"lean": {HandleLean: func(context.Context, []Lean) error { return nil }},
		"want": {Want: func(*event.Event) bool { return true }},
	} {
		var bt batch
		if err := bt.decode(0, data, c, nil); err == nil {
			t.Fatalf("%s: a message with a malformed event decoded", name)
		}
		if bt.n != 0 || len(bt.evs) != 0 || len(bt.leans) != 0 {
			t.Errorf("%s: the batch kept %d events (%d, %d) of a dropped message", name, bt.n, len(bt.evs), len(bt.leans))
		}
	}
}
