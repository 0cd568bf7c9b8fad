package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	gojson "github.com/goccy/go-json"
)

// decode decodes JSON from a client into v. It tries go-json, which takes a third of the time
// encoding/json does, and goes back to encoding/json when that fails, so that what is accepted,
// and what an error says, is exactly encoding/json's.
func decode[T any](data []byte, v *T) error {
	if gojson.Unmarshal(data, v) == nil {
		return nil
	}
	*v = *new(T)
	return json.Unmarshal(data, v)
}

// wireEvent is one call as Segment libraries send it. The device's own "timestamp" is what the
// event spec calls originalTimestamp; unknown fields (integrations, version …) are ignored.
type wireEvent struct {
	MessageID         flexString     `json:"messageId"`
	Type              string         `json:"type"`
	Event             string         `json:"event"`
	Name              string         `json:"name"`
	UserID            flexString     `json:"userId"`
	AnonymousID       flexString     `json:"anonymousId"`
	GroupID           flexString     `json:"groupId"`
	PreviousID        flexString     `json:"previousId"`
	Properties        map[string]any `json:"properties"`
	Traits            map[string]any `json:"traits"`
	Context           map[string]any `json:"context"`
	Timestamp         flexTime       `json:"timestamp"`
	OriginalTimestamp flexTime       `json:"originalTimestamp"`
	SentAt            flexTime       `json:"sentAt"`
	WriteKey          string         `json:"writeKey"`
}

// wireBatch is a /v1/batch body. Its context and sentAt apply to every event that has none.
type wireBatch struct {
	Batch    []json.RawMessage `json:"batch"`
	Context  map[string]any    `json:"context"`
	SentAt   flexTime          `json:"sentAt"`
	WriteKey string            `json:"writeKey"`
}

// flexString accepts a JSON string or number (some libraries send numeric user ids) or null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if s, ok := plainString(b); ok {
		*f = flexString(s)
		return nil
	}
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("must be a string")
		}
		*f = flexString(n.String())
	}
	return nil
}

// flexTime accepts an ISO-8601 time, an empty string or null.
type flexTime time.Time

func (f *flexTime) UnmarshalJSON(b []byte) error {
	var s *string
	if p, ok := plainString(bytes.TrimSpace(b)); ok {
		s = &p
	} else if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be an ISO-8601 time")
	}
	if s == nil || *s == "" {
		*f = flexTime{}
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return fmt.Errorf("%s is not an ISO-8601 time", strconv.Quote(*s))
	}
	*f = flexTime(t.UTC())
	return nil
}

func (f flexTime) time() time.Time { return time.Time(f) }

// plainString returns the JSON string b when it has no escapes and only printable ASCII, which
// needs no decoding: ids and timestamps nearly always.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	for _, c := range b[1 : len(b)-1] {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return "", false
		}
	}
	return string(b[1 : len(b)-1]), true
}
