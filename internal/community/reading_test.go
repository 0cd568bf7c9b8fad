package community_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/search"
	"github.com/kizuna-community/kizuna/internal/stream"
)

func TestReadingBecomesEvents(t *testing.T) {
	d := dbtest.Open(t, db.SQLite, backbone.Migrations(), accounts.Migrations(), notify.Migrations(), search.Migrations(), community.Migrations())
	logDB := dbtest.Open(t, db.SQLite, backbone.LogMigrations())
	st, err := stream.Open(context.Background(), stream.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bb := backbone.New(backbone.Deps{DB: d, LogDB: logDB, Stream: st})
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bb.Run(runCtx) }()
	defer func() { stop(); <-done }()

	acc := accounts.New(accounts.Deps{DB: d, Outbox: bb.Outbox(), HashParams: accounts.TestHashParams()})
	c := community.New(community.Deps{DB: d, Outbox: bb.Outbox(), Accounts: acc, Notify: notify.New(notify.Deps{DB: d}), Search: search.New(d), Events: bb})
	cm, _ := acc.CreateMember(ctx, accounts.System(), accounts.SignUpInput{Email: "cm@example.jp", Password: "member password"}, accounts.RoleCommunityManager)
	reader, _ := acc.CreateMember(ctx, accounts.System(), accounts.SignUpInput{Email: "reader@example.jp", Password: "member password"}, accounts.RoleMember)
	c.CreateSpace(ctx, cm.Principal(), community.SpaceInput{Slug: "talk", Name: "雑談"})
	c.CreateSpace(ctx, cm.Principal(), community.SpaceInput{Slug: "secret", Name: "秘密", Visibility: community.Private})
	p, _ := c.CreatePost(ctx, cm.Principal(), "talk", community.PostInput{Title: "読み物", Body: "長い記事"})
	hidden, _ := c.CreatePost(ctx, cm.Principal(), "secret", community.PostInput{Title: "秘密", Body: "x"})

	anon := accounts.Principal{}
	for _, r := range []community.Reading{{View: true, AnonymousID: "a-1", Path: "/posts/" + p.ID}, {Seconds: 15, AnonymousID: "a-1"}} {
		if err := c.RecordReading(ctx, anon, p.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RecordReading(ctx, reader.Principal(), p.ID, community.Reading{Seconds: 15}); err != nil {
		t.Fatal(err)
	}
	if e, ok := errs.As(c.RecordReading(ctx, reader.Principal(), p.ID, community.Reading{Seconds: 600})); !ok || e.Field != "seconds" {
		t.Fatal("an hour of reading in one heartbeat was accepted")
	}
	if errs.KindOf(c.RecordReading(ctx, reader.Principal(), hidden.ID, community.Reading{View: true})) != errs.KindNotFound {
		t.Fatal("reading a post in a private space was recorded")
	}
	deadline := time.Now().Add(20 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
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
			}
			json.Unmarshal([]byte(payload), &ev)
			who := ev.UserID
			if who == "" {
				who = ev.AnonymousID
			} else {
				who = "member"
			}
			got = append(got, ev.Event+" "+who+" "+jsonString(ev.Properties["seconds"]))
		}
		rows.Close()
		if len(got) == 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Join(got, "|") != "Post Viewed a-1 |Post Read a-1 15|Post Read member 15" {
		t.Fatalf("reading events %q", got)
	}
}

// jsonString is v as JSON, or "" when absent.
func jsonString(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
