package privacy

import (
	"slices"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/errs"
)

func TestDeadlines(t *testing.T) {
	now := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	received := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in    RequestInput
		due   time.Time
		field string
	}{
		{RequestInput{ReceivedAt: received}, received.AddDate(0, 0, APPIDays), ""},                            // the community's default: APPI
		{RequestInput{Regime: "GDPR", ReceivedAt: received}, time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC), ""}, // one calendar month (Go's AddDate normalises 31 Feb)
		{RequestInput{Regime: "ccpa", ReceivedAt: received}, received.AddDate(0, 0, 45), ""},
		{RequestInput{Regime: "gdpr", ReceivedAt: received, DueAt: received.AddDate(0, 3, 0)}, received.AddDate(0, 3, 0), ""}, // the two-month extension
		{RequestInput{Regime: "gdpr", ReceivedAt: received, DueAt: received.AddDate(0, 3, 1)}, time.Time{}, "due_at"},
		{RequestInput{Regime: "appi", ReceivedAt: received, DueAt: received.AddDate(0, 0, 15)}, time.Time{}, "due_at"}, // APPI allows no extension
		{RequestInput{Regime: "appi", ReceivedAt: received, DueAt: received.AddDate(0, 0, 3)}, received.AddDate(0, 0, 3), ""},
		{RequestInput{ReceivedAt: received, DueAt: received}, time.Time{}, "due_at"},
		{RequestInput{ReceivedAt: now.Add(time.Hour)}, time.Time{}, "received_at"},
		{RequestInput{Regime: "eu"}, time.Time{}, "regime"},
	} {
		_, _, due, _, err := c.in.check(now, RegimeAPPI)
		if c.field != "" {
			if e, ok := errs.As(err); !ok || e.Field != c.field {
				t.Errorf("%+v: %v, want an error on %s", c.in, err, c.field)
			}
			continue
		}
		if err != nil || !due.Equal(c.due) {
			t.Errorf("%+v: due %v %v, want %v", c.in, due, err, c.due)
		}
	}
}

func TestFlattenToCSV(t *testing.T) {
	header, rows, err := flatten([]byte(`[{"id":"1","name":"渡辺","tags":["a","b"],"n":3,"at":null},{"id":"2","extra":{"k":true},"n":4.5}]`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"id", "name", "tags", "n", "at", "extra"}; !slices.Equal(header, want) {
		t.Fatalf("header %q, want %q", header, want)
	}
	if want := [][]string{{"1", "渡辺", `["a","b"]`, "3", "", ""}, {"2", "", "", "4.5", "", `{"k":true}`}}; !slices.EqualFunc(rows, want, slices.Equal) {
		t.Fatalf("rows %q, want %q", rows, want)
	}
	if h, r, err := flatten([]byte(`[]`)); err != nil || len(h) != 0 || len(r) != 0 {
		t.Fatalf("empty table: %q %q %v", h, r, err)
	}
}
