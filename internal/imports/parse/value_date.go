package parse

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// dateHint is what every date error suggests instead.
const dateHint = "(use 2025-01-02, 2025/01/02 or 令和7年1月2日)"

var (
	// 2025-01-02, 2025/1/2, 2025.01.02; the two separators must match (checked in code).
	dateSeparated = regexp.MustCompile(`^(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})$`)
	dateCompact   = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`)
	dateKanji     = regexp.MustCompile(`^(\d{4})年(\d{1,2})月(\d{1,2})日$`)
	// 令和7年1月2日, 令和元年5月1日, R7年1月2日
	dateEraKanji = regexp.MustCompile(`^(明治|大正|昭和|平成|令和|[MTSHR])(元|\d{1,2})年(\d{1,2})月(\d{1,2})日$`)
	// R7.1.2, H31/4/30, 令和7.1.2
	dateEraSeparated = regexp.MustCompile(`^(明治|大正|昭和|平成|令和|[MTSHR])(元|\d{1,2})([-/.])(\d{1,2})([-/.])(\d{1,2})$`)
	// a trailing day of the week: (木), (木曜), (木曜日)
	dateWeekday = regexp.MustCompile(`\(([日月火水木金土])(?:曜日?)?\)$`)
)

// era is one Japanese era: its name, its first day and its last day (zero for the current era).
type era struct {
	name   string
	abbrev string
	first  time.Time
	last   time.Time
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// eras lists the modern eras, newest first. 明治 is taken from its proclamation on 1868-10-23
// (Gregorian); earlier dates of 明治元年 were counted in the old calendar and are not accepted.
var eras = []era{
	{name: "令和", abbrev: "R", first: day(2019, 5, 1)},
	{name: "平成", abbrev: "H", first: day(1989, 1, 8), last: day(2019, 4, 30)},
	{name: "昭和", abbrev: "S", first: day(1926, 12, 25), last: day(1989, 1, 7)},
	{name: "大正", abbrev: "T", first: day(1912, 7, 30), last: day(1926, 12, 24)},
	{name: "明治", abbrev: "M", first: day(1868, 10, 23), last: day(1912, 7, 29)},
}

var weekdays = map[string]time.Weekday{
	"日": time.Sunday, "月": time.Monday, "火": time.Tuesday, "水": time.Wednesday,
	"木": time.Thursday, "金": time.Friday, "土": time.Saturday,
}

// Date reads a calendar date or an RFC 3339 date-time.
//
// Accepted dates (after NFKC, so full-width digits and ／ are fine; spaces are ignored):
// 2025-01-02, 2025/01/02, 2025/1/2, 2025.01.02, 20250102, 2025年1月2日, and Japanese era dates
// 令和7年1月2日, 令和元年5月1日, 平成31年4月30日, R7.1.2, H31.4.30, R7/1/2 (eras 明治 M, 大正 T,
// 昭和 S, 平成 H, 令和 R). An era date must fall inside its era: 令和元年4月30日 is rejected,
// because that day is 平成31年4月30日. A trailing day of the week such as (木) or (木曜日) is
// allowed and must be right.
//
// A date is returned as midnight UTC of that day, so that it means the same day wherever it is
// shown. An RFC 3339 date-time (2025-01-02T15:04:05+09:00) is returned as the same instant in
// UTC. The empty string is an error; callers decide whether a field is optional.
func Date(s string) (time.Time, error) {
	in := s
	s = normalize(s)
	if s == "" {
		return time.Time{}, invalid("date_empty", in, "is empty: a date is expected %s", dateHint)
	}
	if len(s) > 10 && (s[10] == 'T' || s[10] == 't') && allDigits(s[:4]) {
		t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			return time.Time{}, invalid("date_invalid", in, "is not a date-time (use RFC 3339, e.g. 2025-01-02T15:04:05+09:00) or a date %s", dateHint)
		}
		return t.UTC(), nil
	}
	s = strings.Join(strings.Fields(s), "")

	var weekday string
	if m := dateWeekday.FindStringSubmatch(s); m != nil {
		weekday = m[1]
		s = s[:len(s)-len(m[0])]
	}

	t, err := parseDay(in, strings.ToUpper(s))
	if err != nil {
		return time.Time{}, err
	}
	if weekday != "" && t.Weekday() != weekdays[weekday] {
		return time.Time{}, invalid("date_weekday", in, "is not a date: %s was a %s, not (%s) %s", t.Format("2006-01-02"), t.Weekday(), weekday, dateHint)
	}
	return t, nil
}

// parseDay reads the normalised, space-free date s; in is the original input for messages.
func parseDay(in, s string) (time.Time, error) {
	notDate := func() (time.Time, error) {
		return time.Time{}, invalid("date_invalid", in, "is not a date %s", dateHint)
	}
	if m := dateSeparated.FindStringSubmatch(s); m != nil {
		if m[2] != m[4] {
			return notDate()
		}
		return calendarDay(in, atoi(m[1]), atoi(m[3]), atoi(m[5]))
	}
	if m := dateCompact.FindStringSubmatch(s); m != nil {
		return calendarDay(in, atoi(m[1]), atoi(m[2]), atoi(m[3]))
	}
	if m := dateKanji.FindStringSubmatch(s); m != nil {
		return calendarDay(in, atoi(m[1]), atoi(m[2]), atoi(m[3]))
	}
	if m := dateEraKanji.FindStringSubmatch(s); m != nil {
		return eraDay(in, m[1], m[2], atoi(m[3]), atoi(m[4]))
	}
	if m := dateEraSeparated.FindStringSubmatch(s); m != nil {
		if m[3] != m[5] {
			return notDate()
		}
		return eraDay(in, m[1], m[2], atoi(m[4]), atoi(m[6]))
	}
	return notDate()
}

// atoi reads a short run of ASCII digits the regular expressions already matched.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// calendarDay checks that y-m-d exists in the Gregorian calendar.
func calendarDay(in string, y, m, d int) (time.Time, error) {
	if y < 1 {
		return time.Time{}, invalid("date_invalid", in, "is not a date: there is no year %d %s", y, dateHint)
	}
	if m < 1 || m > 12 {
		return time.Time{}, invalid("date_invalid", in, "is not a date: there is no month %d %s", m, dateHint)
	}
	t := day(y, time.Month(m), d)
	if d < 1 || t.Day() != d {
		return time.Time{}, invalid("date_invalid", in, "is not a date: %s %d has no day %d %s", time.Month(m), y, d, dateHint)
	}
	return t, nil
}

// eraDay converts a Japanese era date and checks that it falls inside the era.
func eraDay(in, name, year string, m, d int) (time.Time, error) {
	var e era
	for _, c := range eras {
		if c.name == name || c.abbrev == name {
			e = c
		}
	}
	n := 1
	if year != "元" {
		n = atoi(year)
	}
	if n < 1 {
		return time.Time{}, invalid("date_invalid", in, "is not a date: era years start at 元年 (1) %s", dateHint)
	}
	t, err := calendarDay(in, e.first.Year()+n-1, m, d)
	if err != nil {
		return time.Time{}, err
	}
	if t.Before(e.first) || (!e.last.IsZero() && t.After(e.last)) {
		span := fmt.Sprintf("began on %s", e.first.Format("2006-01-02"))
		if !e.last.IsZero() {
			span = fmt.Sprintf("ran from %s to %s", e.first.Format("2006-01-02"), e.last.Format("2006-01-02"))
		}
		return time.Time{}, invalid("date_era", in, "is not a date: %s %s %s", e.name, span, dateHint)
	}
	return t, nil
}

// dateTimeLocal is a date followed by a time of day without an offset: "2025/01/02 10:30",
// "2025-01-02T10:30:15", "2025年1月2日 10時30分".
var dateTimeLocal = regexp.MustCompile(`^(.+?)(?:\s+|T)(\d{1,2})(?::(\d{2})(?::(\d{2}))?|時(\d{1,2})分(?:(\d{1,2})秒)?)$`)

// DateTime reads a point in time: an RFC 3339 date-time with its offset, a date and time of day
// without one (2025/01/02 10:30, 2025-01-02 10:30:15, 2025-01-02T10:30, 2025年1月2日 10時30分),
// read in loc, or any date Date accepts, read as the start of that day in loc. CRM exports write
// local times without an offset, and a Japanese one means Japan's. It returns the time in UTC.
func DateTime(s string, loc *time.Location) (time.Time, error) {
	in := s
	s = normalize(s)
	if m := dateTimeLocal.FindStringSubmatch(s); m != nil && !strings.ContainsAny(m[0][len(m[1]):], "+Zz") {
		d, err := Date(m[1])
		if err != nil {
			return time.Time{}, invalid("date_invalid", in, "is not a date and time (use 2025-01-02 10:30, 2025/01/02 10:30:15 or 2025-01-02T10:30:00+09:00)")
		}
		h, mi, sec := atoi(m[2]), atoi(m[3]+m[5]), atoi(m[4]+m[6])
		if h > 23 || mi > 59 || sec > 59 {
			return time.Time{}, invalid("date_invalid", in, "is not a time of day: %02d:%02d:%02d", h, mi, sec)
		}
		return time.Date(d.Year(), d.Month(), d.Day(), h, mi, sec, 0, loc).UTC(), nil
	}
	t, err := Date(in)
	if err != nil {
		return time.Time{}, err
	}
	if len(s) > 10 && (s[10] == 'T' || s[10] == 't') && allDigits(s[:4]) {
		return t, nil // RFC 3339 with its offset
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc).UTC(), nil
}
