package parse

import (
	"strings"
	"testing"
	"time"
)

func FuzzDate(f *testing.F) {
	for _, s := range []string{"2025-01-02", "2025/1/2", "20250102", "令和元年5月1日", "平成31年4月30日", "R7.1.2",
		"２０２５年１月２日(木)", "2025-01-02T15:04:05+09:00", "㋿元年5月1日", "H99.99.99", "\xff\xfe", "令和"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Date(s)
		if err != nil {
			if !strings.Contains(err.Error(), "「") {
				t.Errorf("Date(%q): error %q does not quote the input", s, err)
			}
			return
		}
		if d.Location() != time.UTC {
			t.Errorf("Date(%q) = %v, not in UTC", s, d)
		}
	})
}

func FuzzNumber(f *testing.F) {
	for _, s := range []string{"1,234", "１，２３４", "¥1,234", "1,234円", "-12.5", "1.2e3", "▲1,234", "$12.34 USD",
		"1,23,4", ".5", "1e99999", "\\1", "USD", "円", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Number(s)
		if err == nil && (n != n) {
			t.Errorf("Number(%q) = NaN", s)
		}
		_, _ = Int(s)
		if m, cur, err := Money(s); err == nil && cur == "" {
			t.Errorf("Money(%q) = %d with no currency", s, m)
		}
	})
}
