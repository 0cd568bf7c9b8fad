package notify_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/notify"
)

var ctx = context.Background()

type fixture struct {
	db  *db.DB
	n   *notify.Service
	now time.Time
}

func newFixture(t *testing.T, e db.Engine) *fixture {
	t.Helper()
	d := dbtest.Open(t, e, notify.Migrations())
	f := &fixture{db: d, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	f.n = notify.New(notify.Deps{DB: d, Now: func() time.Time { return f.now }})
	return f
}

func (f *fixture) tryAdd(n notify.Notification) error {
	return f.db.Tx(ctx, func(tx *sql.Tx) error { return f.n.Add(ctx, tx, n) })
}

func (f *fixture) add(t *testing.T, n notify.Notification) {
	t.Helper()
	if err := f.tryAdd(n); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) unread(t *testing.T, member string) int {
	t.Helper()
	n, err := f.n.UnreadCount(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func titles(ns []notify.Notification) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, n.Title)
	}
	return out
}

func wantKind(t *testing.T, err error, kind errs.Kind, field string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Field != field {
		t.Fatalf("got error %v, want kind %v on field %q", err, kind, field)
	}
}

func TestAddListAndRead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		for i := range 5 {
			f.now = f.now.Add(time.Second)
			f.add(t, notify.Notification{MemberID: "yui", Type: notify.TypeReply, ActorID: "ken", Title: fmt.Sprintf("返信 %d", i), URL: fmt.Sprintf("/posts/%d", i)})
		}
		f.add(t, notify.Notification{MemberID: "ken", Type: notify.TypeMention, ActorID: "yui", Title: "ken's"})
		page, next, err := f.n.List(ctx, "yui", "", 2)
		if err != nil {
			t.Fatal(err)
		}
		n0 := page[0]
		if n0.MemberID != "yui" || n0.Type != "reply" || n0.ActorID != "ken" || n0.URL != "/posts/4" || !n0.CreatedAt.Equal(f.now) || n0.ReadAt != nil || n0.ID == "" {
			t.Fatalf("newest = %+v", n0)
		}
		got := titles(page)
		for next != "" {
			page, next, err = f.n.List(ctx, "yui", next, 2)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, titles(page)...)
		}
		if want := []string{"返信 4", "返信 3", "返信 2", "返信 1", "返信 0"}; !slices.Equal(got, want) {
			t.Fatalf("pages = %v, want %v", got, want)
		}
		if n := f.unread(t, "yui"); n != 5 {
			t.Fatalf("unread = %d", n)
		}

		all, _, _ := f.n.List(ctx, "yui", "", 0)
		kens, _, _ := f.n.List(ctx, "ken", "", 0)
		f.now = f.now.Add(time.Minute)
		// Another member's id is ignored, as is an unknown one.
		if err := f.n.MarkRead(ctx, "yui", all[0].ID, all[1].ID, kens[0].ID, "nope"); err != nil {
			t.Fatal(err)
		}
		if n := f.unread(t, "yui"); n != 3 {
			t.Errorf("unread after marking two = %d", n)
		}
		if n := f.unread(t, "ken"); n != 1 {
			t.Errorf("ken's notification was marked by yui: unread = %d", n)
		}
		all, _, _ = f.n.List(ctx, "yui", "", 0)
		if all[0].ReadAt == nil || !all[0].ReadAt.Equal(f.now) || all[2].ReadAt != nil {
			t.Errorf("read times: %v, %v", all[0].ReadAt, all[2].ReadAt)
		}
		if err := f.n.MarkAllRead(ctx, "yui"); err != nil {
			t.Fatal(err)
		}
		if n := f.unread(t, "yui"); n != 0 {
			t.Errorf("unread after mark all = %d", n)
		}
		if n := f.unread(t, "ken"); n != 1 {
			t.Errorf("mark all read reached another member: %d", n)
		}
	})
}

func TestAddSkipsAndRefuses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		// Nobody is told about what they did themselves.
		f.add(t, notify.Notification{MemberID: "yui", Type: notify.TypeReply, ActorID: "yui", Title: "self"})
		if n := f.unread(t, "yui"); n != 0 {
			t.Errorf("self notification added: %d", n)
		}
		wantKind(t, f.tryAdd(notify.Notification{MemberID: "yui", Type: "poke", ActorID: "ken"}), errs.KindInvalid, "type")
		wantKind(t, f.tryAdd(notify.Notification{Type: notify.TypeDM, ActorID: "ken"}), errs.KindInvalid, "member_id")
		// A system notification (no actor) arrives.
		f.add(t, notify.Notification{MemberID: "yui", Type: notify.TypeModeration, Title: "投稿が非表示になりました"})
		if n := f.unread(t, "yui"); n != 1 {
			t.Errorf("system notification: unread = %d", n)
		}
	})
}

func TestPreferences(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		prefs, err := f.n.Preferences(ctx, "yui")
		if err != nil {
			t.Fatal(err)
		}
		if len(prefs) != len(notify.Types) || slices.Contains(slices.Collect(maps.Values(prefs)), false) {
			t.Fatalf("defaults = %v", prefs)
		}
		for range 2 { // turning off twice is fine
			if err := f.n.SetPreference(ctx, "yui", notify.TypeMention, false); err != nil {
				t.Fatal(err)
			}
		}
		prefs, _ = f.n.Preferences(ctx, "yui")
		if prefs[notify.TypeMention] || !prefs[notify.TypeReply] {
			t.Fatalf("after turning mention off: %v", prefs)
		}
		if other, _ := f.n.Preferences(ctx, "ken"); !other[notify.TypeMention] {
			t.Fatalf("another member's preference changed: %v", other)
		}
		f.add(t, notify.Notification{MemberID: "yui", Type: notify.TypeMention, ActorID: "ken", Title: "muted"})
		f.add(t, notify.Notification{MemberID: "ken", Type: notify.TypeMention, ActorID: "yui", Title: "not muted"})
		if n := f.unread(t, "yui"); n != 0 {
			t.Errorf("muted type added: %d", n)
		}
		if n := f.unread(t, "ken"); n != 1 {
			t.Errorf("ken's mention: %d", n)
		}
		if err := f.n.SetPreference(ctx, "yui", notify.TypeMention, true); err != nil {
			t.Fatal(err)
		}
		f.add(t, notify.Notification{MemberID: "yui", Type: notify.TypeMention, ActorID: "ken", Title: "on again"})
		if n := f.unread(t, "yui"); n != 1 {
			t.Errorf("after turning mention on: %d", n)
		}
		wantKind(t, f.n.SetPreference(ctx, "yui", "poke", false), errs.KindInvalid, "type")
	})
}
