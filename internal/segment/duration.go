package segment

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Duration is an ISO 8601 duration of whole units, such as P30D, P1Y6M or PT12H. Years and
// months are calendar ones: P1M before 31 March is 28 or 29 February's day count away.
type Duration struct {
	Years, Months, Weeks, Days, Hours, Minutes, Seconds int
}

// ParseDuration reads an ISO 8601 duration (PnYnMnWnDTnHnMnS, whole numbers, at least one part).
func ParseDuration(s string) (Duration, error) {
	var d Duration
	bad := errors.New("not an ISO 8601 duration such as P30D or PT12H")
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" || len(s) > 40 {
		return d, bad
	}
	date, clock, hasT := strings.Cut(rest, "T")
	if hasT && clock == "" {
		return d, bad
	}
	parts := 0
	read := func(s string, units string, fields []*int) error {
		last := -1
		for s != "" {
			i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
			if i <= 0 {
				return bad
			}
			n, err := strconv.Atoi(s[:i])
			if err != nil || n > 100000 {
				return bad
			}
			u := strings.IndexByte(units, s[i])
			if u <= last {
				return bad // unknown unit, or units out of order or repeated
			}
			last = u
			*fields[u] = n
			parts++
			s = s[i+1:]
		}
		return nil
	}
	if err := read(date, "YMWD", []*int{&d.Years, &d.Months, &d.Weeks, &d.Days}); err != nil {
		return Duration{}, err
	}
	if err := read(clock, "HMS", []*int{&d.Hours, &d.Minutes, &d.Seconds}); err != nil {
		return Duration{}, err
	}
	if parts == 0 {
		return Duration{}, bad
	}
	return d, nil
}

// String writes d in ISO 8601 form.
func (d Duration) String() string {
	var b strings.Builder
	b.WriteByte('P')
	for _, p := range []struct {
		n int
		u byte
	}{{d.Years, 'Y'}, {d.Months, 'M'}, {d.Weeks, 'W'}, {d.Days, 'D'}} {
		if p.n != 0 {
			b.WriteString(strconv.Itoa(p.n))
			b.WriteByte(p.u)
		}
	}
	if d.Hours != 0 || d.Minutes != 0 || d.Seconds != 0 {
		b.WriteByte('T')
		for _, p := range []struct {
			n int
			u byte
		}{{d.Hours, 'H'}, {d.Minutes, 'M'}, {d.Seconds, 'S'}} {
			if p.n != 0 {
				b.WriteString(strconv.Itoa(p.n))
				b.WriteByte(p.u)
			}
		}
	}
	if b.Len() == 1 {
		return "PT0S"
	}
	return b.String()
}

// Before returns the time d before t.
func (d Duration) Before(t time.Time) time.Time {
	t = t.AddDate(-d.Years, -d.Months, -(d.Weeks*7 + d.Days))
	return t.Add(-(time.Duration(d.Hours)*time.Hour + time.Duration(d.Minutes)*time.Minute + time.Duration(d.Seconds)*time.Second))
}

// After returns the time d after t.
func (d Duration) After(t time.Time) time.Time {
	t = t.AddDate(d.Years, d.Months, d.Weeks*7+d.Days)
	return t.Add(time.Duration(d.Hours)*time.Hour + time.Duration(d.Minutes)*time.Minute + time.Duration(d.Seconds)*time.Second)
}
