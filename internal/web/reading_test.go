package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/stream"
)

// TestReadingReports sends the beacons of app.js to a site whose community puts reading events on
// a real backbone (embedded stream, event log) and reads them back from the log.
func TestReadingReports(t *testing.T) {
	bbDB := dbtest.Open(t, db.SQLite, backbone.Migrations())
	logDB := dbtest.Open(t, db.SQLite, backbone.LogMigrations())
	st, err := stream.Open(context.Background(), stream.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bb := backbone.New(backbone.Deps{DB: bbDB, LogDB: logDB, Stream: st})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bb.Run(ctx) }()
	defer func() { stop(); <-done }()

	s := newSiteWith(t, bb)
	s.spaces()
	reader := s.member("reader@example.com", "ja")
	post := s.postAs("reader@example.com", "guide", community.PostInput{Title: "読み物", Body: "長い記事"})
	secret := s.postAs("reader@example.com", "team", community.PostInput{Title: "社内", Body: "x"})
	visitor := s.browser("en")

	// The page names the endpoint in a data attribute, the same for every visitor.
	visitor.get("/posts/"+post.ID).expect(t, http.StatusOK, `data-read="/posts/`+post.ID+`/read"`)
	aid := visitor.cookie("kizuna_aid")
	if len(aid) != 32 {
		t.Fatalf("anonymous id %q", aid)
	}
	send := func(b *browser, id, contentType, body string) page {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/posts/"+id+"/read", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		return page{Response: res, Body: string(data)}
	}
	for _, c := range []struct {
		b          *browser
		id, ct, in string
		status     int
		contains   string
	}{
		{visitor, post.ID, "application/x-www-form-urlencoded;charset=UTF-8", "view=1&referrer=https%3A%2F%2Fsearch.example%2F", http.StatusNoContent, ""},
		{visitor, post.ID, "application/x-www-form-urlencoded;charset=UTF-8", "seconds=15", http.StatusNoContent, ""},
		{reader, post.ID, "text/plain;charset=UTF-8", `{"seconds": 7}`, http.StatusNoContent, ""},
		{reader, post.ID, "text/plain;charset=UTF-8", "seconds=15", http.StatusNoContent, ""},
		{reader, post.ID, "application/json", `{"view": true}`, http.StatusNoContent, ""},
		{reader, post.ID, "application/x-www-form-urlencoded", "seconds=600", http.StatusBadRequest, "seconds must be 1 to 60"},
		{reader, post.ID, "application/x-www-form-urlencoded", "seconds=abc", http.StatusBadRequest, "whole number"},
		{reader, post.ID, "application/x-www-form-urlencoded", "", http.StatusBadRequest, ""},
		{visitor, secret.ID, "application/x-www-form-urlencoded", "view=1", http.StatusNotFound, "not found"},
		{reader, "nope", "application/x-www-form-urlencoded", "view=1", http.StatusNotFound, ""},
	} {
		res := send(c.b, c.id, c.ct, c.in)
		if res.StatusCode != c.status || !strings.Contains(res.Body, c.contains) {
			t.Errorf("%s %q: %d %q, want %d with %q", c.ct, c.in, res.StatusCode, res.Body, c.status, c.contains)
		}
		if res.StatusCode >= 400 && !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%q: error answered as %q", c.in, res.Header.Get("Content-Type"))
		}
	}
	// A cross-site beacon is refused before it counts.
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/posts/"+post.ID+"/read", strings.NewReader("view=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res, err := visitor.c.Do(req); err != nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site beacon: %v %v", res.StatusCode, err)
	}

	// What reached the event log.
	want := []string{"Post Viewed anon 0", "Post Read anon 15", "Post Read member 7", "Post Read member 15", "Post Viewed member 0"}
	var got []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = got[:0]
		rows, err := logDB.R.Query(`SELECT payload FROM events WHERE event IN ('Post Viewed', 'Post Read') ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var payload string
			rows.Scan(&payload)
			var ev struct {
				Event, UserID, AnonymousID string
				Properties                 map[string]any
				Context                    map[string]map[string]any
			}
			json.Unmarshal([]byte(payload), &ev)
			who := "member"
			if ev.UserID == "" {
				who = "anon"
				if ev.AnonymousID != aid {
					t.Fatalf("anonymous id %q, want the cookie's %q", ev.AnonymousID, aid)
				}
			}
			sec, _ := ev.Properties["seconds"].(float64)
			got = append(got, ev.Event+" "+who+" "+strconv.Itoa(int(sec)))
			if ev.Event == "Post Viewed" && who == "anon" && ev.Context["page"]["referrer"] != "https://search.example/" {
				t.Errorf("referrer %v", ev.Context["page"])
			}
		}
		rows.Close()
		if len(got) >= len(want) {
			break
		}
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("events: %q, want %q", got, want)
	}
}
