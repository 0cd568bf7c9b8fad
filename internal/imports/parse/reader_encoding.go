package parse

import (
	"bufio"
	"bytes"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// The encodings a Reader reports.
const (
	EncodingUTF8     = "utf-8"
	EncodingShiftJIS = "shift_jis"
)

// sniffWindow is how many bytes from the first non-ASCII byte on decide the encoding.
const sniffWindow = 4096

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// sniffReader passes ASCII through, and at the first non-ASCII byte decides once whether the
// rest is UTF-8 or Shift_JIS. ASCII reads the same in both, so nothing read before the decision
// needs decoding again.
type sniffReader struct {
	br       *bufio.Reader
	started  bool
	decided  io.Reader // nil until decided
	encoding string
}

func newSniffReader(r io.Reader) *sniffReader {
	return &sniffReader{br: bufio.NewReaderSize(r, 64*1024), encoding: EncodingUTF8}
}

func (s *sniffReader) Read(p []byte) (int, error) {
	if s.decided != nil {
		return s.decided.Read(p)
	}
	if !s.started {
		s.started = true
		if b, _ := s.br.Peek(3); bytes.Equal(b, utf8BOM) {
			_, _ = s.br.Discard(3)
			s.decided = s.br
			return s.decided.Read(p)
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Pass on the ASCII prefix of what is buffered.
	if s.br.Buffered() == 0 {
		if _, err := s.br.Peek(1); err != nil {
			return 0, err
		}
	}
	buf, _ := s.br.Peek(min(s.br.Buffered(), len(p)))
	n := 0
	for n < len(buf) && buf[n] < utf8.RuneSelf {
		n++
	}
	if n > 0 {
		copy(p, buf[:n])
		_, _ = s.br.Discard(n)
		return n, nil
	}
	// buf[0] is the first non-ASCII byte: decide on the window from here.
	window, err := s.br.Peek(sniffWindow)
	if looksUTF8(window, err != nil) {
		s.decided = s.br
	} else {
		s.encoding = EncodingShiftJIS
		s.decided = transform.NewReader(s.br, japanese.ShiftJIS.NewDecoder())
	}
	return s.decided.Read(p)
}

// looksUTF8 reports whether b is valid UTF-8, allowing a rune cut off at the end of the window
// unless the window reaches the end of the input.
func looksUTF8(b []byte, atEnd bool) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			return !atEnd && !utf8.FullRune(b)
		}
		b = b[size:]
	}
	return true
}
