package parse

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// BenchmarkReaderCSV reads a 10,000-row Japanese contact file and converts a date and an amount
// per row.
func BenchmarkReaderCSV(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("氏名,メール,誕生日,購入額\n")
	for range 10000 {
		sb.WriteString("山田 太郎,taro@example.jp,平成2年4月1日,\"¥12,345\"\n")
	}
	file := sb.String()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		r, err := NewReader(strings.NewReader(file), FormatCSV, nil)
		if err != nil {
			b.Fatal(err)
		}
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Date(rec.Fields["誕生日"]); err != nil {
				b.Fatal(err)
			}
			if _, _, err := Money(rec.Fields["購入額"]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
