package parse

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// The formats NewReader reads.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// MaxLineBytes bounds one JSON Lines line, so that a file without line breaks cannot take all
// memory.
const MaxLineBytes = 8 << 20

// Record is one input row: its 1-based line number in the file and its fields by (mapped) name.
// For CSV, Line is the line the record starts on; a quoted field may run over several lines.
type Record struct {
	Line   int
	Fields map[string]string
}

// Invalid wraps the error a converter returned for field of this record in a *LineError, so the
// message names the line and the field: rec.Invalid("birthday", err). err must not be nil.
func (r Record) Invalid(field string, err error) *LineError {
	msg := err.Error()
	if e, ok := errs.As(err); ok {
		msg = e.Msg
	}
	return &LineError{Line: r.Line, Field: field, Msg: msg}
}

// LineError is a fault in one line of an import file: a malformed line, or a value that does not
// convert. It unwraps to an *errs.Error of kind errs.KindInvalid.
type LineError struct {
	Line  int    // 1-based line number in the file
	Field string // the field at fault, by mapped name; empty when the whole line is at fault
	Msg   string // what is wrong, safe to show to the person importing
}

func (e *LineError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Unwrap returns the error as an errs.KindInvalid error, so that edges map it like any other
// invalid input.
func (e *LineError) Unwrap() error {
	return &errs.Error{Kind: errs.KindInvalid, Field: e.Field, Msg: fmt.Sprintf("line %d: %s", e.Line, e.Msg)}
}

// Reader streams Records from a CSV file with a header row or a JSON Lines file. The input may
// be UTF-8, with or without a byte-order mark, or Shift_JIS (see the package comment). After a
// *LineError, Next may be called again to go on with the following record; any other error
// ends the file.
type Reader struct {
	format  string
	src     *sniffReader
	rename  func(source string) (string, bool)
	header  []string
	fields  []string // CSV: the mapped name of each column, "" for a column left out
	csv     *csv.Reader
	lines   *bufio.Scanner
	line    int // JSON Lines: the last line read
	seen    map[string]bool
	stopped error
}

// NewReader returns a Reader of format "csv" or "jsonl" over r. mapping renames source headers
// (CSV) or keys (JSON Lines) to field names; headers are matched ignoring case, width and
// surrounding spaces, and columns the mapping does not name are left out. A nil mapping keeps
// every column with a header, named by the header in lower case (after NFKC), trimmed, with
// each run of spaces turned into _ ("First Name" → first_name); columns with an empty header
// are left out. For CSV, NewReader reads the header row and
// rejects an empty file and headers that map to the same field twice.
func NewReader(r io.Reader, format string, mapping map[string]string) (*Reader, error) {
	rd := &Reader{format: format, src: newSniffReader(r), rename: renamer(mapping)}
	switch format {
	case FormatCSV:
		c := csv.NewReader(rd.src)
		c.FieldsPerRecord = -1
		rd.csv = c
		header, err := c.Read()
		if errors.Is(err, io.EOF) {
			return nil, &LineError{Line: 1, Msg: "the file is empty: a header row is expected"}
		}
		if err != nil {
			return nil, csvError(err)
		}
		rd.fields = make([]string, len(header))
		byField := map[string]string{}
		for i, h := range header {
			if i == 0 {
				h = strings.TrimPrefix(h, "\uFEFF")
			}
			h = strings.TrimSpace(h)
			header[i] = h
			if !utf8.ValidString(h) {
				return nil, &LineError{Line: 1, Msg: fmt.Sprintf("column %d: the header is not valid UTF-8", i+1)}
			}
			f, ok := rd.rename(h)
			if !ok {
				continue
			}
			if prev, dup := byField[f]; dup {
				return nil, &LineError{Line: 1, Msg: fmt.Sprintf("the headers %s and %s both name the field %s", quote(prev), quote(h), f)}
			}
			byField[f] = h
			rd.fields[i] = f
		}
		rd.header = header
	case FormatJSONL:
		sc := bufio.NewScanner(rd.src)
		sc.Buffer(make([]byte, 0, 64*1024), MaxLineBytes)
		rd.lines = sc
		rd.seen = map[string]bool{}
	default:
		return nil, errs.Invalid("format", "unknown import format %q (use csv or jsonl)", format)
	}
	return rd, nil
}

// renamer returns the function that maps a source header to a field name, and whether the
// column is kept.
func renamer(mapping map[string]string) func(string) (string, bool) {
	if mapping == nil {
		return func(h string) (string, bool) {
			f := strings.Join(strings.Fields(strings.ToLower(normalize(h))), "_")
			return f, f != ""
		}
	}
	folded := make(map[string]string, len(mapping))
	for from, to := range mapping {
		folded[foldCategory(from)] = to
	}
	return func(h string) (string, bool) {
		if to, ok := mapping[h]; ok {
			return to, true
		}
		to, ok := folded[foldCategory(h)]
		return to, ok
	}
}

// Header returns the source headers as the file has them (trimmed, without a byte-order mark),
// before mapping. For JSON Lines it is the keys seen so far, in order of first appearance.
func (r *Reader) Header() []string { return slices.Clone(r.header) }

// Encoding returns the encoding the input is read in, EncodingUTF8 or EncodingShiftJIS. It is
// decided at the first non-ASCII byte, so it may change from EncodingUTF8 while reading a file
// that starts with ASCII only.
func (r *Reader) Encoding() string { return r.src.encoding }

// Next returns the next record, or io.EOF at the end of the input. A malformed line gives a
// *LineError naming its line number. Empty lines, and CSV rows whose fields are all blank, are
// skipped.
func (r *Reader) Next() (Record, error) {
	if r.stopped != nil {
		return Record{}, r.stopped
	}
	if r.format == FormatCSV {
		return r.nextCSV()
	}
	return r.nextJSONL()
}

func (r *Reader) nextCSV() (Record, error) {
	row, err := r.csv.Read()
	for err == nil && blank(row) {
		row, err = r.csv.Read()
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return Record{}, csvError(err)
		}
		r.stopped = err
		return Record{}, err
	}
	line, _ := r.csv.FieldPos(0)
	if len(row) != len(r.fields) {
		return Record{}, &LineError{Line: line, Msg: fmt.Sprintf("has %d fields, but the header has %d", len(row), len(r.fields))}
	}
	rec := Record{Line: line, Fields: make(map[string]string, len(row))}
	for i, v := range row {
		f := r.fields[i]
		if f == "" {
			continue
		}
		if !utf8.ValidString(v) {
			return Record{}, &LineError{Line: line, Field: f, Msg: "is not valid UTF-8 (save the file as UTF-8 or Shift_JIS throughout)"}
		}
		rec.Fields[f] = v
	}
	return rec, nil
}

// blank reports whether every field of row is empty or white space, as in the ",,," rows
// spreadsheets leave below the data; Next skips them.
func blank(row []string) bool {
	for _, v := range row {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// csvError turns a CSV syntax error into a *LineError; other errors are returned as they are.
func csvError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	msg := pe.Err.Error()
	switch {
	case errors.Is(pe.Err, csv.ErrQuote):
		msg = `a quoted field has a stray or missing " (write "" for a quote inside quotes)`
	case errors.Is(pe.Err, csv.ErrBareQuote):
		msg = `a field has a " but is not quoted (quote the field and write "" for the quote)`
	}
	if pe.StartLine != 0 && pe.StartLine != pe.Line {
		msg += fmt.Sprintf(" (the record starts on line %d)", pe.StartLine)
	}
	return &LineError{Line: pe.Line, Msg: msg}
}

func (r *Reader) nextJSONL() (Record, error) {
	for r.lines.Scan() {
		r.line++
		b := bytes.TrimSpace(r.lines.Bytes())
		if r.line == 1 {
			b = bytes.TrimPrefix(b, utf8BOM)
		}
		if len(b) == 0 {
			continue
		}
		return r.decodeLine(b)
	}
	err := r.lines.Err()
	switch {
	case err == nil:
		err = io.EOF
	case errors.Is(err, bufio.ErrTooLong):
		err = &LineError{Line: r.line + 1, Msg: fmt.Sprintf("is longer than %d MiB", MaxLineBytes>>20)}
	}
	r.stopped = err
	return Record{}, err
}

// decodeLine reads one JSON object; strings are kept, numbers keep their text, booleans become
// "true" or "false" and null the empty string. Nested objects and arrays are rejected.
func (r *Reader) decodeLine(b []byte) (Record, error) {
	bad := func(field, format string, args ...any) (Record, error) {
		return Record{}, &LineError{Line: r.line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if !utf8.Valid(b) {
		return bad("", "is not valid UTF-8 (save the file as UTF-8 or Shift_JIS throughout)")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return bad("", "is not a JSON object (each line must be one object, e.g. {\"email\": \"a@example.com\"})")
	}
	keys, err := objectKeys(b)
	if err != nil {
		return bad("", "is not a JSON object")
	}
	rec := Record{Line: r.line, Fields: make(map[string]string, len(obj))}
	from := make(map[string]string, len(obj))
	for _, k := range keys {
		if !r.seen[k] {
			r.seen[k] = true
			r.header = append(r.header, k)
		}
		f, ok := r.rename(k)
		if !ok {
			continue
		}
		if prev, dup := from[f]; dup && prev != k {
			return bad(f, "the keys %s and %s both name this field", quote(prev), quote(k))
		}
		from[f] = k
		raw := obj[k]
		switch raw[0] {
		case '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return bad(f, "is not a JSON string")
			}
			rec.Fields[f] = s
		case '{', '[':
			return bad(f, "is a JSON object or array; only strings, numbers, true, false and null are read")
		case 'n':
			rec.Fields[f] = ""
		default: // a number, true or false: its JSON text
			rec.Fields[f] = string(raw)
		}
	}
	return rec, nil
}

// objectKeys returns the keys of the JSON object b in the order written.
func objectKeys(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
