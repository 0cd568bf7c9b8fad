package ingest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeAgreesWithEncodingJSON checks that decode accepts exactly what encoding/json accepts,
// with the same result, for batches and for single calls.
func FuzzDecodeAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"batch":[{"type":"track","event":"A","userId":42,"messageId":"m\u00e9","timestamp":"2026-12-04T09:30:00.5+09:00"}],"sentAt":"2026-12-04T00:30:01Z","context":{"ip":"203.0.113.7"}}`,
		`{"batch":[{"type":"identify","userId":"u","traits":{"name":"山田","email":"Ｔａｒｏ@example.jp"}}],"writeKey":"k"}`,
		`{"batch":[{"type":"page","anonymousId":null,"properties":{"a":[1,2.5e3,null,true,{"b":"\"<>&"}]}}]}`,
		`{"batch":[]} x`, `{"batch":[{]}`, `{"batch":{}}`, `{"batch":[1]}`, `{"userId":{}}`, `{"timestamp":5}`, `{"timestamp":"yesterday"}`,
		`{"sentAt":"2026-12-04T00:30:01Z","sentAt":null}`, `{"properties":{"a":1,"a":2}}`, "{\"event\":\"\xff\xfe\"}", `{"event":"\ud800"}`,
		`{"userId":"a\tb"}`, `{"userId":1e400}`, `{"type":"track" "event":"x"}`, `[]`, `null`, ``, `{"batch":[{"properties":[]}]}`,
	} {
		f.Add([]byte(s))
	}
	timeEqual := cmp.Comparer(func(a, b flexTime) bool { return time.Time(a).Equal(time.Time(b)) })
	f.Fuzz(func(t *testing.T, data []byte) {
		var wantB, gotB wireBatch
		errStd, errOurs := json.Unmarshal(data, &wantB), decode(data, &gotB)
		if (errStd == nil) != (errOurs == nil) {
			t.Fatalf("batch %q: encoding/json says %v, decode says %v", data, errStd, errOurs)
		}
		if errStd == nil {
			if d := cmp.Diff(wantB, gotB, timeEqual); d != "" {
				t.Fatalf("batch %q decodes differently (-encoding/json +decode):\n%s", data, d)
			}
		}
		var wantE, gotE wireEvent
		errStd, errOurs = json.Unmarshal(data, &wantE), decode(data, &gotE)
		if (errStd == nil) != (errOurs == nil) {
			t.Fatalf("event %q: encoding/json says %v, decode says %v", data, errStd, errOurs)
		}
		if errStd == nil {
			if d := cmp.Diff(wantE, gotE, timeEqual); d != "" {
				t.Fatalf("event %q decodes differently (-encoding/json +decode):\n%s", data, d)
			}
		}
	})
}
