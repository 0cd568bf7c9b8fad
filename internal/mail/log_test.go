package mail

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestLogSenderLogsBodyAndKeepsLast100(t *testing.T) {
	var buf bytes.Buffer
	l := NewLog(slog.New(slog.NewTextHandler(&buf, nil)))
	link := "https://kizuna.example/verify?token=abc123"
	if err := l.Send(context.Background(), Message{To: "a@example.jp", Subject: "確認", Text: "開いてください: " + link}); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, link) || !strings.Contains(out, "a@example.jp") || !strings.Contains(out, "確認") {
		t.Fatalf("log = %s", out)
	}
	for i := range 150 {
		_ = l.Send(context.Background(), Message{To: fmt.Sprintf("u%d@example.jp", i)})
	}
	sent := l.Sent()
	if len(sent) != 100 || sent[0].To != "u50@example.jp" || sent[99].To != "u149@example.jp" {
		t.Fatalf("kept %d, first %q, last %q", len(sent), sent[0].To, sent[len(sent)-1].To)
	}
}
