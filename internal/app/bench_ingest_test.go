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
	if err := json.Unmarshal(ingestBatch(7, 3), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Batch) != 7 || body.SentAt == "" || body.Batch[0]["type"] != "track" || body.Batch[1]["name"] != "料金プラン" ||
		body.Batch[0]["anonymousId"] != "anon-0003" || body.Batch[0]["messageId"] == body.Batch[1]["messageId"] {
		t.Fatalf("%+v", body)
	}
}
