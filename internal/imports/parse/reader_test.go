package parse

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// readAll reads every record, collecting line errors and stopping at any other error.
func readAll(t *testing.T, r *Reader) (recs []Record, lineErrs []*LineError) {
	t.Helper()
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs, lineErrs
		}
		var le *LineError
		if errors.As(err, &le) {
			lineErrs = append(lineErrs, le)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		recs = append(recs, rec)
	}
}

func newReader(t *testing.T, in, format string, mapping map[string]string) *Reader {
	t.Helper()
	r, err := NewReader(strings.NewReader(in), format, mapping)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return r
}

func shiftJIS(t *testing.T, s string) string {
	t.Helper()
	b, err := japanese.ShiftJIS.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReaderCSV(t *testing.T) {
	const file = "\uFEFFFirst Name, Email ,Note\r\n" +
		"太郎,taro@example.jp,\"multi\nline, with comma\"\r\n" +
		"花子,hanako@example.jp,\"say \"\"hi\"\"\"\r\n" +
		"\r\n" +
		",,\r\n" +
		"次郎,jiro@example.jp,\"a\n\nb\"\r\n" +
		"三郎,saburo@example.jp,last\r\n"
	r := newReader(t, file, FormatCSV, nil)
	if got, want := r.Header(), []string{"First Name", "Email", "Note"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Header() = %q, want %q", got, want)
	}
	recs, lineErrs := readAll(t, r)
	if len(lineErrs) != 0 {
		t.Fatalf("line errors: %v", lineErrs)
	}
	want := []Record{
		{Line: 2, Fields: map[string]string{"first_name": "太郎", "email": "taro@example.jp", "note": "multi\nline, with comma"}},
		{Line: 4, Fields: map[string]string{"first_name": "花子", "email": "hanako@example.jp", "note": `say "hi"`}},
		{Line: 7, Fields: map[string]string{"first_name": "次郎", "email": "jiro@example.jp", "note": "a\n\nb"}},
		{Line: 10, Fields: map[string]string{"first_name": "三郎", "email": "saburo@example.jp", "note": "last"}},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records:\n got %v\nwant %v", recs, want)
	}
	if r.Encoding() != EncodingUTF8 {
		t.Errorf("Encoding() = %q", r.Encoding())
	}
}

func TestReaderCSVMapping(t *testing.T) {
	const file = "氏名,メールアドレス,ＴＥＬ,メモ\n山田 太郎,yamada@example.jp,03-1234-5678,無視\n"
	r := newReader(t, file, FormatCSV, map[string]string{"氏名": "name", "メールアドレス": "email", "tel": "phone", "なし": "absent"})
	recs, lineErrs := readAll(t, r)
	want := []Record{{Line: 2, Fields: map[string]string{"name": "山田 太郎", "email": "yamada@example.jp", "phone": "03-1234-5678"}}}
	if len(lineErrs) != 0 || !reflect.DeepEqual(recs, want) {
		t.Errorf("got %v, %v; want %v", recs, lineErrs, want)
	}
	if got := r.Header(); !reflect.DeepEqual(got, []string{"氏名", "メールアドレス", "ＴＥＬ", "メモ"}) {
		t.Errorf("Header() = %q", got)
	}
}

func TestReaderCSVShiftJIS(t *testing.T) {
	// A long ASCII stretch first, so the decision falls after the first buffer fill.
	file := shiftJIS(t, "name,city,memo\n"+strings.Repeat("ascii,only,row\n", 6000)+"山田太郎,東京都千代田区,\"表\n示\"\nソニー,能登,ー\n")
	r, err := NewReader(strings.NewReader(file), FormatCSV, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs, lineErrs := readAll(t, r)
	if len(lineErrs) != 0 || len(recs) != 6002 {
		t.Fatalf("got %d records, %v", len(recs), lineErrs)
	}
	want := []Record{
		{Line: 6002, Fields: map[string]string{"name": "山田太郎", "city": "東京都千代田区", "memo": "表\n示"}},
		{Line: 6004, Fields: map[string]string{"name": "ソニー", "city": "能登", "memo": "ー"}},
	}
	if !reflect.DeepEqual(recs[6000:], want) {
		t.Errorf("got %v, want %v", recs[6000:], want)
	}
	if r.Encoding() != EncodingShiftJIS {
		t.Errorf("Encoding() = %q, want %q", r.Encoding(), EncodingShiftJIS)
	}
}

func TestReaderCSVShiftJISHeader(t *testing.T) {
	file := shiftJIS(t, "氏名,メール\n佐藤,sato@example.jp\n")
	r := newReader(t, file, FormatCSV, map[string]string{"氏名": "name", "メール": "email"})
	recs, lineErrs := readAll(t, r)
	want := []Record{{Line: 2, Fields: map[string]string{"name": "佐藤", "email": "sato@example.jp"}}}
	if len(lineErrs) != 0 || !reflect.DeepEqual(recs, want) {
		t.Errorf("got %v, %v; want %v", recs, lineErrs, want)
	}
}

func TestReaderCSVErrors(t *testing.T) {
	const file = "a,b\n1,2\n3\n4,5,6\n7,\"x\"y\n8,9\n"
	r := newReader(t, file, FormatCSV, nil)
	recs, lineErrs := readAll(t, r)
	if len(recs) != 2 || recs[0].Line != 2 || recs[1].Line != 6 {
		t.Errorf("records = %v", recs)
	}
	var lines []int
	for _, e := range lineErrs {
		lines = append(lines, e.Line)
		if errs.KindOf(e) != errs.KindInvalid {
			t.Errorf("%v: kind %v", e, errs.KindOf(e))
		}
	}
	if !reflect.DeepEqual(lines, []int{3, 4, 5}) {
		t.Errorf("line errors on %v (%v), want 3, 4, 5", lines, lineErrs)
	}
	if got := lineErrs[0].Error(); got != "line 3: has 1 fields, but the header has 2" {
		t.Errorf("message = %q", got)
	}
}

func TestReaderCSVInvalidUTF8AfterUTF8(t *testing.T) {
	// The Shift_JIS row lies beyond the window that decided UTF-8.
	file := "name\n" + strings.Repeat("東京\n", 1000) + shiftJIS(t, "大阪") + "\n"
	r := newReader(t, file, FormatCSV, nil)
	recs, lineErrs := readAll(t, r)
	if len(recs) != 1000 || len(lineErrs) != 1 || lineErrs[0].Line != 1002 || lineErrs[0].Field != "name" {
		t.Errorf("got %d records, %v", len(recs), lineErrs)
	}
	if r.Encoding() != EncodingUTF8 {
		t.Errorf("Encoding() = %q", r.Encoding())
	}
}

func TestNewReaderErrors(t *testing.T) {
	tests := []struct {
		in, format string
		mapping    map[string]string
		wantErr    string
	}{
		{in: "", format: FormatCSV, wantErr: "line 1: the file is empty"},
		{in: "\uFEFF", format: FormatCSV, wantErr: "line 1: the file is empty"},
		{in: "Email,email\n", format: FormatCSV, wantErr: "both name the field email"},
		{in: "a,b\n", format: FormatCSV, mapping: map[string]string{"a": "x", "b": "x"}, wantErr: "both name the field x"},
		{in: "\"a\n", format: FormatCSV, wantErr: "line"},
		{in: "a\n", format: "xlsx", wantErr: "unknown import format"},
	}
	for _, tt := range tests {
		_, err := NewReader(strings.NewReader(tt.in), tt.format, tt.mapping)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("NewReader(%q, %q) error = %v, want one containing %q", tt.in, tt.format, err, tt.wantErr)
		}
	}
}

func TestReaderJSONL(t *testing.T) {
	const file = "\uFEFF{\"Email\": \"a@example.jp\", \"Age\": 42, \"VIP\": true, \"Memo\": null, \"Score\": 1.50}\n" +
		"\n" +
		"{\"Email\": \"b@example.jp\", \"Age\": 7 \n" +
		"{\"Email\": \"c@example.jp\", \"Tags\": [\"x\"]}\n" +
		"[1, 2]\r\n" +
		"{\"Email\": \"d@example.jp\", \"名前\": \"鈴木\"}\r\n"
	r := newReader(t, file, FormatJSONL, nil)
	recs, lineErrs := readAll(t, r)
	want := []Record{
		{Line: 1, Fields: map[string]string{"email": "a@example.jp", "age": "42", "vip": "true", "memo": "", "score": "1.50"}},
		{Line: 6, Fields: map[string]string{"email": "d@example.jp", "名前": "鈴木"}},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records:\n got %v\nwant %v", recs, want)
	}
	var got []string
	for _, e := range lineErrs {
		got = append(got, e.Error())
	}
	wantErrs := []string{
		`line 3: is not a JSON object (each line must be one object, e.g. {"email": "a@example.com"})`,
		"line 4: tags: is a JSON object or array; only strings, numbers, true, false and null are read",
		`line 5: is not a JSON object (each line must be one object, e.g. {"email": "a@example.com"})`,
	}
	if !reflect.DeepEqual(got, wantErrs) {
		t.Errorf("line errors:\n got %q\nwant %q", got, wantErrs)
	}
	if h := r.Header(); !reflect.DeepEqual(h, []string{"Email", "Age", "VIP", "Memo", "Score", "Tags", "名前"}) {
		t.Errorf("Header() = %q", h)
	}
}

func TestReaderJSONLMapping(t *testing.T) {
	const file = `{"メール": "a@example.jp", "ignored": 1, "ＮＡＭＥ": "田中"}` + "\n" + `{"mail": "x", "メール": "y"}`
	r := newReader(t, file, FormatJSONL, map[string]string{"メール": "email", "mail": "email", "name": "name"})
	recs, lineErrs := readAll(t, r)
	want := []Record{{Line: 1, Fields: map[string]string{"email": "a@example.jp", "name": "田中"}}}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records = %v, want %v", recs, want)
	}
	if len(lineErrs) != 1 || lineErrs[0].Line != 2 || lineErrs[0].Field != "email" {
		t.Errorf("line errors = %v", lineErrs)
	}
}

func TestReaderJSONLShiftJIS(t *testing.T) {
	file := shiftJIS(t, `{"name": "高橋", "city": "大阪"}`+"\n")
	r := newReader(t, file, FormatJSONL, nil)
	recs, lineErrs := readAll(t, r)
	want := []Record{{Line: 1, Fields: map[string]string{"name": "高橋", "city": "大阪"}}}
	if len(lineErrs) != 0 || !reflect.DeepEqual(recs, want) || r.Encoding() != EncodingShiftJIS {
		t.Errorf("got %v, %v, %s", recs, lineErrs, r.Encoding())
	}
}

func TestReaderJSONLTooLong(t *testing.T) {
	file := `{"a": "b"}` + "\n" + `{"a": "` + strings.Repeat("x", MaxLineBytes) + `"}` + "\n"
	r := newReader(t, file, FormatJSONL, nil)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Next()
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 {
		t.Fatalf("err = %v, want a line 2 error", err)
	}
	if _, err := r.Next(); err != le {
		t.Errorf("after a too-long line Next = %v, want the same error", err)
	}
}

func TestRecordInvalid(t *testing.T) {
	rec := Record{Line: 12, Fields: map[string]string{"birthday": "2025/13/01"}}
	_, err := Date(rec.Fields["birthday"])
	le := rec.Invalid("birthday", err)
	want := "line 12: birthday: 「2025/13/01」 is not a date: there is no month 13 (use 2025-01-02, 2025/01/02 or 令和7年1月2日)"
	if le.Error() != want {
		t.Errorf("Error() = %q, want %q", le.Error(), want)
	}
	if e, ok := errs.As(le); !ok || e.Kind != errs.KindInvalid || e.Field != "birthday" {
		t.Errorf("errs.As = %v, %v", e, ok)
	}
}
