package app

import (
	"encoding/json"
	"testing"
)

func TestIngestBatchIsValidJSON(t *testing.T) {
	var body struct {
		Batch  []map[string]any `json:"batch"`
		SentAt string           `json:"sentAt"`
	}
	if err := json.Unmarshal(ingestBatch(7, 3, 500), &body); err != nil {
		t.Fatal(err)
	}
	// Event 0 is number 3 of the run: person 3·7919 mod 500 = 257. Every tenth is an identify.
	if len(body.Batch) != 7 || body.SentAt == "" || body.Batch[0]["type"] != "track" || body.Batch[1]["name"] != "料金プラン" ||
		body.Batch[0]["anonymousId"] != "anon-0257" || body.Batch[0]["messageId"] == body.Batch[1]["messageId"] ||
		body.Batch[6]["type"] != "identify" || body.Batch[6]["userId"] == "" {
		t.Fatalf("%+v", body)
	}
}
