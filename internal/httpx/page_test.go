package httpx

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/kizuna-community/kizuna/internal/errs"
)

func TestParsePage(t *testing.T) {
	cur := EncodeCursor("01JD0000000000000000000000")
	for _, tc := range []struct {
		query string
		want  Page
		field string
	}{
		{"", Page{Limit: 20}, ""},
		{"?limit=1", Page{Limit: 1}, ""},
		{"?limit=100&cursor=" + cur, Page{Limit: 100, Cursor: cur}, ""},
		{"?limit=0", Page{}, "limit"},
		{"?limit=101", Page{}, "limit"},
		{"?limit=-5", Page{}, "limit"},
		{"?limit=ten", Page{}, "limit"},
		{"?cursor=not*base64", Page{}, "cursor"},
	} {
		got, err := ParsePage(httptest.NewRequest("GET", "/members"+tc.query, nil), 20, 100)
		if tc.field != "" {
			if e, ok := errs.As(err); !ok || e.Kind != errs.KindInvalid || e.Field != tc.field {
				t.Errorf("%q: err = %v, want invalid %s", tc.query, err, tc.field)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.query, got, err, tc.want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, s := range []string{"01JD0000000000000000000000", "2026-11-22T10:00:00Z|42", "キズナ/?&="} {
		c := EncodeCursor(s)
		got, err := DecodeCursor(c)
		if err != nil || got != s {
			t.Errorf("DecodeCursor(EncodeCursor(%q)) = %q, %v", s, got, err)
		}
	}
	if _, err := DecodeCursor("%%%"); err == nil {
		t.Error("bad cursor decoded")
	}
	b, _ := json.Marshal(List[int]{Data: []int{1, 2}})
	if string(b) != `{"data":[1,2]}` {
		t.Errorf("List JSON = %s", b)
	}
}
