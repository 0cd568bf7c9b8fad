package parse

import (
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/errs"
)

func TestDate(t *testing.T) {
	jan2 := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr string // a part of the message; empty when no error is expected
	}{
		{in: "2025-01-02", want: jan2},
		{in: "2025/01/02", want: jan2},
		{in: "2025/1/2", want: jan2},
		{in: "2025.01.02", want: jan2},
		{in: "20250102", want: jan2},
		{in: " 2025-01-02 ", want: jan2},
		{in: "2025年1月2日", want: jan2},
		{in: "2025年01月02日", want: jan2},
		{in: "2025 年 1 月 2 日", want: jan2},
		{in: "２０２５／０１／０２", want: jan2},
		{in: "２０２５年１月２日", want: jan2},
		{in: "令和7年1月2日", want: jan2},
		{in: "令和７年１月２日", want: jan2},
		{in: "㋿7年1月2日", want: jan2},
		{in: "R7.1.2", want: jan2},
		{in: "r7.1.2", want: jan2},
		{in: "R07/01/02", want: jan2},
		{in: "令和7.1.2", want: jan2},
		{in: "R7年1月2日", want: jan2},
		{in: "2025年1月2日(木)", want: jan2},
		{in: "2025/01/02（木曜日）", want: jan2},
		{in: "2025-01-02T15:04:05+09:00", want: time.Date(2025, 1, 2, 6, 4, 5, 0, time.UTC)},
		{in: "2025-01-02T15:04:05.5Z", want: time.Date(2025, 1, 2, 15, 4, 5, 5e8, time.UTC)},
		{in: "2025-01-02t15:04:05z", want: time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)},
		// era boundaries
		{in: "令和元年5月1日", want: time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC)},
		{in: "R元.5.1", want: time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC)},
		{in: "令和1年5月1日", want: time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC)},
		{in: "平成31年4月30日", want: time.Date(2019, 4, 30, 0, 0, 0, 0, time.UTC)},
		{in: "H31.4.30", want: time.Date(2019, 4, 30, 0, 0, 0, 0, time.UTC)},
		{in: "㍻31年4月30日", want: time.Date(2019, 4, 30, 0, 0, 0, 0, time.UTC)},
		{in: "平成元年1月8日", want: time.Date(1989, 1, 8, 0, 0, 0, 0, time.UTC)},
		{in: "昭和64年1月7日", want: time.Date(1989, 1, 7, 0, 0, 0, 0, time.UTC)},
		{in: "S60.4.1", want: time.Date(1985, 4, 1, 0, 0, 0, 0, time.UTC)},
		{in: "昭和元年12月25日", want: time.Date(1926, 12, 25, 0, 0, 0, 0, time.UTC)},
		{in: "大正15年12月24日", want: time.Date(1926, 12, 24, 0, 0, 0, 0, time.UTC)},
		{in: "T15年12月24日", want: time.Date(1926, 12, 24, 0, 0, 0, 0, time.UTC)},
		{in: "t15.12.24", want: time.Date(1926, 12, 24, 0, 0, 0, 0, time.UTC)},
		{in: "M45.7.29", want: time.Date(1912, 7, 29, 0, 0, 0, 0, time.UTC)},
		{in: "大正元年7月30日", want: time.Date(1912, 7, 30, 0, 0, 0, 0, time.UTC)},
		{in: "明治45年7月29日", want: time.Date(1912, 7, 29, 0, 0, 0, 0, time.UTC)},
		{in: "2024/2/29", want: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{in: "令和元年4月30日", wantErr: "令和 began on 2019-05-01"},
		{in: "平成31年5月1日", wantErr: "平成 ran from 1989-01-08 to 2019-04-30"},
		{in: "H32.1.1", wantErr: "平成 ran from"},
		{in: "平成元年1月7日", wantErr: "平成 ran from"},
		{in: "昭和64年1月8日", wantErr: "昭和 ran from"},
		{in: "大正元年7月29日", wantErr: "大正 ran from"},
		{in: "令和0年1月1日", wantErr: "元年"},
		{in: "2025/13/01", wantErr: "「2025/13/01」 is not a date: there is no month 13 (use 2025-01-02, 2025/01/02 or 令和7年1月2日)"},
		{in: "2025/02/29", wantErr: "has no day 29"},
		{in: "2025/1/0", wantErr: "has no day 0"},
		{in: "0000-01-01", wantErr: "no year 0"},
		{in: "2025-01/02", wantErr: "is not a date"},
		{in: "2025年1月2日(金)", wantErr: "was a Thursday"},
		{in: "2025-1-2-3", wantErr: "is not a date"},
		{in: "01/02/2025", wantErr: "is not a date"},
		{in: "2025年1月", wantErr: "is not a date"},
		{in: "X7.1.2", wantErr: "is not a date"},
		{in: "2025-01-02T25:00:00Z", wantErr: "RFC 3339"},
		{in: "", wantErr: "is empty"},
		{in: "tomorrow", wantErr: "is not a date"},
	}
	for _, tt := range tests {
		got, err := Date(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Date(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			if err != nil && errs.KindOf(err) != errs.KindInvalid {
				t.Errorf("Date(%q): error kind %v, want invalid", tt.in, errs.KindOf(err))
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("Date(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestDateTime(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m, s int) time.Time { return time.Date(2025, 1, 2, h, m, s, 0, tokyo).UTC() }
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{in: "2025/01/02 10:30", want: at(10, 30, 0)},
		{in: "2025-01-02 10:30:15", want: at(10, 30, 15)},
		{in: "2025-01-02T10:30", want: at(10, 30, 0)},
		{in: "2025-01-02T10:30:15", want: at(10, 30, 15)},
		{in: "２０２５／０１／０２　９：０５", want: at(9, 5, 0)},
		{in: "2025年1月2日 10時30分", want: at(10, 30, 0)},
		{in: "令和7年1月2日 10時30分15秒", want: at(10, 30, 15)},
		{in: "2025/01/02", want: at(0, 0, 0)},
		{in: "令和7年1月2日", want: at(0, 0, 0)},
		{in: "2025-01-02T10:30:00+09:00", want: at(10, 30, 0)},
		{in: "2025-01-02T01:30:00Z", want: at(10, 30, 0)},
		{in: "2025/01/02 24:00", wantErr: "not a time of day"},
		{in: "2025/01/02 10:60", wantErr: "not a time of day"},
		{in: "2025/13/02 10:00", wantErr: "not a date and time"},
		{in: "yesterday 10:00", wantErr: "not a date and time"},
		{in: "soon", wantErr: "not a date"},
		{in: "", wantErr: "empty"},
	}
	for _, tt := range tests {
		got, err := DateTime(tt.in, tokyo)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("DateTime(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("DateTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
