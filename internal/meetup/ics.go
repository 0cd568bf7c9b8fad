package meetup

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
)

// ICS returns the event as an RFC 5545 calendar with one VEVENT, for p to add to a calendar. An
// online event's address is in it only for those going and the event's managers, as on its page.
func (s *Service) ICS(ctx context.Context, p accounts.Principal, eventID string) ([]byte, error) {
	e, _, err := s.load(ctx, p, eventID)
	if err != nil {
		return nil, err
	}
	return calendar(e, s.md.Text(e.Description), e.MyRSVP == Going || e.CanManage, s.now()), nil
}

// icsTime is the UTC DATE-TIME form of RFC 5545 §3.3.5.
const icsTime = "20060102T150405Z"

// calendar writes the VCALENDAR of e; description is its plain text.
func calendar(e Event, description string, showJoinURL bool, now time.Time) []byte {
	var b strings.Builder
	line := func(name, value string) { foldLine(&b, name+":"+value) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//Kizuna//Meetup//EN")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	line("BEGIN", "VEVENT")
	line("UID", e.ID+"@kizuna")
	line("DTSTAMP", now.UTC().Format(icsTime))
	line("DTSTART", e.StartsAt.UTC().Format(icsTime))
	line("DTEND", e.EndsAt.UTC().Format(icsTime))
	line("SUMMARY", escapeText(e.Title))
	if description != "" {
		line("DESCRIPTION", escapeText(description))
	}
	joinURL := e.URL
	if e.Online && !showJoinURL {
		joinURL = ""
	}
	switch {
	case !e.Online && e.Place != "":
		line("LOCATION", escapeText(e.Place))
	case joinURL != "":
		line("LOCATION", escapeText(joinURL))
	case e.Online:
		line("LOCATION", "Online")
	}
	// URL is a URI, not TEXT: it is not escaped. Input checks keep it to http(s) without control characters.
	if joinURL != "" {
		line("URL", joinURL)
	}
	line("END", "VEVENT")
	line("END", "VCALENDAR")
	return []byte(b.String())
}

// escapeText escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and line
// breaks; other control characters are dropped, as the format has no way to write them.
func escapeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == ';':
			b.WriteString(`\;`)
		case r == ',':
			b.WriteString(`\,`)
		case r == '\n' || r == '\r':
			b.WriteString(`\n`)
		case r == '\t' || (r >= 0x20 && r != 0x7f):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maxLineOctets is the longest content line RFC 5545 §3.1 allows, without the CRLF.
const maxLineOctets = 75

// foldLine writes one content line ending in CRLF, folded so no line is longer than 75 octets: a
// continuation line starts with a space, and a fold never splits a UTF-8 sequence.
func foldLine(b *strings.Builder, line string) {
	n := 0
	for i := 0; i < len(line); {
		_, size := utf8.DecodeRuneInString(line[i:])
		if n+size > maxLineOctets {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteString(line[i : i+size])
		n += size
		i += size
	}
	b.WriteString("\r\n")
}
