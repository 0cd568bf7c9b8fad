package id

import (
	"sort"
	"testing"
	"time"
)

func TestNewSortsByTime(t *testing.T) {
	base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 100 {
		ids = append(ids, New(base.Add(time.Duration(i)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatalf("ids not sorted by time: %v", ids[:5])
	}
	if len(ids[0]) != 26 {
		t.Fatalf("len = %d, want 26", len(ids[0]))
	}
	// The ULID of the Unix epoch starts with zeros; the spec's maximum time starts with 7.
	if got := New(time.UnixMilli(0))[:10]; got != "0000000000" {
		t.Fatalf("epoch prefix = %q", got)
	}
	if got := New(time.UnixMilli(1<<48 - 1))[:10]; got != "7ZZZZZZZZZ" {
		t.Fatalf("max prefix = %q", got)
	}
}

func TestNewIsMonotonicWithinAMillisecond(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = New(now)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("id %d %s is not after %s", i, ids[i], ids[i-1])
		}
	}
}

func TestSecretUnique(t *testing.T) {
	if a, b := Secret(32), Secret(32); a == b || len(a) != 52 {
		t.Fatalf("secrets %q %q", a, b)
	}
}
