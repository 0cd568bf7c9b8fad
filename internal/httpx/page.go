package httpx

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// Page is where a list request starts and how many items it wants.
type Page struct {
	Cursor string // as sent in ?cursor=, already checked to decode; DecodeCursor gives the position
	Limit  int
}

// List is the JSON envelope of every paginated response.
type List[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// ParsePage reads ?limit= (1..maxLimit, def when absent) and ?cursor= from r.
func ParsePage(r *http.Request, def, maxLimit int) (Page, error) {
	q := r.URL.Query()
	p := Page{Limit: def, Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return Page{}, errs.Invalid("limit", "must be a whole number from 1 to %d", maxLimit)
		}
		p.Limit = n
	}
	if p.Cursor != "" {
		if _, err := DecodeCursor(p.Cursor); err != nil {
			return Page{}, err
		}
	}
	return p, nil
}

// EncodeCursor makes an opaque cursor from a position such as the last id of a page.
func EncodeCursor(s string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// DecodeCursor returns the position inside a cursor made by EncodeCursor.
func DecodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 {
		return "", errs.Invalid("cursor", "invalid cursor")
	}
	return string(b), nil
}
