package meetup

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestFoldLineKeepsCharactersWhole(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"ascii", strings.Repeat("a", 200)},
		{"japanese", strings.Repeat("日本語のテキスト、", 20)},
		{"mixed", "SUMMARY:" + strings.Repeat("aあ😀", 40)},
		{"exactly 75", strings.Repeat("x", 75)},
		{"76", strings.Repeat("x", 76)},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			foldLine(&b, tc.value)
			out := b.String()
			if !strings.HasSuffix(out, "\r\n") {
				t.Fatalf("no CRLF at the end: %q", out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
			for i, l := range lines {
				if len(l) > maxLineOctets {
					t.Errorf("line %d has %d octets", i, len(l))
				}
				if !utf8.ValidString(l) {
					t.Errorf("line %d splits a character: %q", i, l)
				}
				if i > 0 && !strings.HasPrefix(l, " ") {
					t.Errorf("continuation line %d does not start with a space", i)
				}
				// A fold happens only when the next character would not fit.
				if i < len(lines)-1 {
					_, next := utf8.DecodeRuneInString(strings.TrimPrefix(lines[i+1], " "))
					if len(l)+next <= maxLineOctets {
						t.Errorf("line %d folded early at %d octets", i, len(l))
					}
				}
			}
			if got := strings.ReplaceAll(strings.TrimSuffix(out, "\r\n"), "\r\n ", ""); got != tc.value {
				t.Fatalf("unfolding gives %q", got)
			}
			if tc.name == "exactly 75" && len(lines) != 1 {
				t.Fatal("a 75-octet line was folded")
			}
		})
	}
}

func TestEscapeText(t *testing.T) {
	got := escapeText("a,b;c\\d\r\ne\nf\rg\x00h\tі")
	if want := `a\,b\;c\\d\ne\nf\ng` + "h\tі"; got != want {
		t.Fatalf("escapeText = %q, want %q", got, want)
	}
}

func TestCalendarGolden(t *testing.T) {
	start := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	e := Event{ID: "01KEVENT", Title: "もくもく会, 渋谷", Place: "渋谷区道玄坂 1-2-3; 5F", StartsAt: start, EndsAt: start.Add(2 * time.Hour)}
	got := string(calendar(e, "持ち物: PC\n電源", false, time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC)))
	want := strings.Join([]string{
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		"PRODID:-//Kizuna//Meetup//EN",
		"CALSCALE:GREGORIAN",
		"METHOD:PUBLISH",
		"BEGIN:VEVENT",
		"UID:01KEVENT@kizuna",
		"DTSTAMP:20261130T010203Z",
		"DTSTART:20261205T100000Z",
		"DTEND:20261205T120000Z",
		`SUMMARY:もくもく会\, 渋谷`,
		`DESCRIPTION:持ち物: PC\n電源`,
		`LOCATION:渋谷区道玄坂 1-2-3\; 5F`,
		"END:VEVENT",
		"END:VCALENDAR",
		"",
	}, "\r\n")
	if got != want {
		t.Fatalf("calendar:\n%q\nwant\n%q", got, want)
	}
}

func FuzzFoldAndEscape(f *testing.F) {
	f.Add("日本語, テキスト; \\ \n 改行")
	f.Fuzz(func(t *testing.T, s string) {
		var b strings.Builder
		foldLine(&b, "DESCRIPTION:"+escapeText(s))
		for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n") {
			if len(l) > maxLineOctets || !utf8.ValidString(l) || strings.ContainsAny(l, "\r\n") {
				t.Fatalf("bad line %q", l)
			}
		}
	})
}
