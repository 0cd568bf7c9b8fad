package dm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/dm"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/notify"
)

var ctx = context.Background()

type fixture struct {
	db     *db.DB
	acc    *accounts.Service
	notify *notify.Service
	dm     *dm.Service
	now    time.Time

	yui, ken, aoi, staff accounts.Member
}

func newFixture(t *testing.T, e db.Engine) *fixture {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations(), notify.Migrations(), dm.Migrations())
	f := &fixture{db: d, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	out := backbone.NewOutbox(d)
	f.acc = accounts.New(accounts.Deps{DB: d, Outbox: out, HashParams: accounts.TestHashParams(), Now: clock})
	f.notify = notify.New(notify.Deps{DB: d, Now: clock})
	f.dm = dm.New(dm.Deps{DB: d, Outbox: out, Accounts: f.acc, Notify: f.notify, Now: clock})
	member := func(name string, role accounts.Role) accounts.Member {
		m, err := f.acc.CreateMember(ctx, accounts.System(), accounts.SignUpInput{
			Email: name + "@example.jp", Password: "correct horse battery", DisplayName: name}, role)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	f.yui, f.ken, f.aoi = member("yui", accounts.RoleMember), member("ken", accounts.RoleMember), member("aoi", accounts.RoleMember)
	f.staff = member("sato", accounts.RoleCS)
	// Only what dm emits from here on.
	if _, err := d.W.Exec(`DELETE FROM outbox`); err != nil {
		t.Fatal(err)
	}
	return f
}

// sentEvents returns the events waiting in the outbox, in order.
func (f *fixture) sentEvents(t *testing.T) []event.Event {
	t.Helper()
	rows, err := f.db.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(p, "秘密") {
			t.Errorf("an event carries the message body: %s", p)
		}
		out = append(out, ev)
	}
	return out
}

func (f *fixture) send(t *testing.T, from accounts.Member, to accounts.Member, body string) dm.Message {
	t.Helper()
	m, err := f.dm.Send(ctx, from.Principal(), to.ID, body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fixture) unread(t *testing.T, m accounts.Member) int {
	t.Helper()
	n, err := f.dm.UnreadTotal(ctx, m.Principal())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantKind(t *testing.T, err error, kind errs.Kind, field string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Field != field {
		t.Fatalf("got error %v, want kind %v on field %q", err, kind, field)
	}
}

func TestSendAndReceive(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		m1 := f.send(t, f.yui, f.ken, "  こんにちは、**ケン**さん！ 秘密の話です  ")
		if m1.Body != "こんにちは、**ケン**さん！ 秘密の話です" || m1.SenderID != f.yui.ID || m1.ConversationID == "" || !m1.CreatedAt.Equal(f.now) {
			t.Fatalf("message = %+v", m1)
		}
		f.now = f.now.Add(time.Minute)
		m2 := f.send(t, f.ken, f.yui, "はい、どうぞ")
		if m2.ConversationID != m1.ConversationID {
			t.Fatalf("a reply opened a second conversation: %s, %s", m1.ConversationID, m2.ConversationID)
		}
		f.now = f.now.Add(time.Minute)
		f.send(t, f.yui, f.ken, "[資料](https://example.jp/doc) を見てください")

		if n := f.unread(t, f.ken); n != 2 {
			t.Errorf("ken unread = %d, want 2", n)
		}
		if n := f.unread(t, f.yui); n != 1 {
			t.Errorf("yui unread = %d, want 1", n)
		}
		convs, err := f.dm.Conversations(ctx, f.ken.Principal(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(convs) != 1 {
			t.Fatalf("ken's conversations = %+v", convs)
		}
		c := convs[0]
		if c.ID != m1.ConversationID || c.Other.ID != f.yui.ID || c.Other.DisplayName != "yui" || c.Unread != 2 ||
			c.LastMessage != "資料 を見てください" || !c.LastAt.Equal(f.now) {
			t.Errorf("conversation = %+v", c)
		}

		msgs, next, err := f.dm.Messages(ctx, f.ken.Principal(), c.ID, "", 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || msgs[0].Body != "[資料](https://example.jp/doc) を見てください" || msgs[1].ID != m2.ID || next == "" {
			t.Fatalf("first page = %+v, next %q", msgs, next)
		}
		msgs, next, err = f.dm.Messages(ctx, f.yui.Principal(), c.ID, next, 2)
		if err != nil || len(msgs) != 1 || msgs[0].ID != m1.ID || next != "" {
			t.Fatalf("second page = %+v, next %q, %v", msgs, next, err)
		}

		if err := f.dm.MarkRead(ctx, f.ken.Principal(), c.ID); err != nil {
			t.Fatal(err)
		}
		if n := f.unread(t, f.ken); n != 0 {
			t.Errorf("ken unread after reading = %d", n)
		}
		if n := f.unread(t, f.yui); n != 1 {
			t.Errorf("ken's reading changed yui's unread: %d", n)
		}

		// A second conversation comes first in the list once it is newer.
		f.now = f.now.Add(time.Minute)
		f.send(t, f.aoi, f.ken, "はじめまして")
		convs, _ = f.dm.Conversations(ctx, f.ken.Principal(), 0)
		if len(convs) != 2 || convs[0].Other.ID != f.aoi.ID || convs[1].Other.ID != f.yui.ID || convs[0].Unread != 1 || convs[1].Unread != 0 {
			t.Errorf("conversations = %+v", convs)
		}
		if convs, _ := f.dm.Conversations(ctx, f.ken.Principal(), 1); len(convs) != 1 {
			t.Errorf("limit 1 gave %d", len(convs))
		}
	})
}

func TestOutsidersSeeNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		m := f.send(t, f.yui, f.ken, "秘密")
		for _, p := range []accounts.Principal{f.aoi.Principal(), f.staff.Principal()} {
			_, _, err := f.dm.Messages(ctx, p, m.ConversationID, "", 0)
			wantKind(t, err, errs.KindNotFound, "")
			wantKind(t, f.dm.MarkRead(ctx, p, m.ConversationID), errs.KindNotFound, "")
			if convs, err := f.dm.Conversations(ctx, p, 0); err != nil || len(convs) != 0 {
				t.Errorf("outsider's conversations = %v, %v", convs, err)
			}
		}
		// A conversation that does not exist looks the same as one that is not yours.
		_, _, err := f.dm.Messages(ctx, f.aoi.Principal(), "01JNOTACONVERSATION0000000", "", 0)
		wantKind(t, err, errs.KindNotFound, "")

		_, _, err = f.dm.Messages(ctx, accounts.Principal{}, m.ConversationID, "", 0)
		wantKind(t, err, errs.KindUnauthenticated, "")
		_, err = f.dm.UnreadTotal(ctx, accounts.Principal{})
		wantKind(t, err, errs.KindUnauthenticated, "")
	})
}

func TestSendRefuses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		if _, err := f.db.W.Exec(`UPDATE members SET status = 'suspended' WHERE id = $1`, f.aoi.ID); err != nil {
			t.Fatal(err)
		}
		key := accounts.Principal{APIKeyID: "key1", Role: accounts.RoleAdmin, Scopes: []accounts.Scope{accounts.ScopeAdmin}}
		for _, c := range []struct {
			name  string
			p     accounts.Principal
			to    string
			body  string
			kind  errs.Kind
			field string
		}{
			{"self", f.yui.Principal(), f.yui.ID, "hi", errs.KindInvalid, "to"},
			{"blank", f.yui.Principal(), f.ken.ID, " \n\t ", errs.KindInvalid, "body"},
			{"too long", f.yui.Principal(), f.ken.ID, strings.Repeat("あ", dm.MaxBody+1), errs.KindInvalid, "body"},
			{"unknown recipient", f.yui.Principal(), "01JNOBODY00000000000000000", "hi", errs.KindNotFound, ""},
			{"suspended recipient", f.yui.Principal(), f.aoi.ID, "hi", errs.KindNotFound, ""},
			{"anonymous", accounts.Principal{}, f.ken.ID, "hi", errs.KindUnauthenticated, ""},
			{"api key", key, f.ken.ID, "hi", errs.KindForbidden, ""},
			{"system", accounts.System(), f.ken.ID, "hi", errs.KindForbidden, ""},
		} {
			_, err := f.dm.Send(ctx, c.p, c.to, c.body)
			e, ok := errs.As(err)
			if !ok || e.Kind != c.kind || e.Field != c.field {
				t.Errorf("%s: err = %v, want %v on %q", c.name, err, c.kind, c.field)
			}
		}
		// Exactly MaxBody characters after trimming is fine.
		f.send(t, f.yui, f.ken, " "+strings.Repeat("あ", dm.MaxBody)+" ")
		if evs := f.sentEvents(t); len(evs) != 1 {
			t.Errorf("refused sends emitted events: %d", len(evs))
		}
	})
}

func TestSendEmitsEventAndNotifies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		m := f.send(t, f.staff, f.yui, "秘密のご案内です。ご確認ください。")
		evs := f.sentEvents(t)
		if len(evs) != 1 {
			t.Fatalf("events = %+v", evs)
		}
		ev := evs[0]
		want := map[string]any{"conversation_id": m.ConversationID, "message_id": m.ID, "recipient_id": f.yui.ID, "from_staff": true}
		if ev.Type != event.Track || ev.Event != "Message Sent" || ev.UserID != f.staff.ID || ev.Source != event.SourceCommunity ||
			fmt.Sprint(ev.Properties) != fmt.Sprint(want) {
			t.Errorf("event = %+v", ev)
		}
		f.send(t, f.ken, f.yui, "秘密")
		if evs := f.sentEvents(t); len(evs) != 2 || evs[1].Properties["from_staff"] != false || evs[1].UserID != f.ken.ID {
			t.Errorf("member's event = %+v", evs[1:])
		}

		ns, _, err := f.notify.List(ctx, f.yui.ID, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 2 {
			t.Fatalf("notifications = %+v", ns)
		}
		n := ns[1]
		if n.Type != notify.TypeDM || n.ActorID != f.staff.ID || n.URL != "/messages/"+m.ConversationID || n.Title != "秘密のご案内です。ご確認ください。" {
			t.Errorf("notification = %+v", n)
		}
		// A member who turned DM notifications off still gets the message, without a notification.
		if err := f.notify.SetPreference(ctx, f.ken.ID, notify.TypeDM, false); err != nil {
			t.Fatal(err)
		}
		f.send(t, f.yui, f.ken, "通知なし")
		if c, _ := f.notify.UnreadCount(ctx, f.ken.ID); c != 0 || f.unread(t, f.ken) != 1 {
			t.Errorf("muted: %d notifications, %d unread messages", c, f.unread(t, f.ken))
		}
	})
}

func TestFloodLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		start := f.now
		for i := range dm.FloodLimit {
			f.now = start.Add(time.Duration(i) * time.Second)
			f.send(t, f.yui, f.ken, fmt.Sprintf("メッセージ %d", i))
		}
		f.now = start.Add(30 * time.Second)
		for _, to := range []accounts.Member{f.ken, f.aoi} { // the limit is per sender, not per conversation
			_, err := f.dm.Send(ctx, f.yui.Principal(), to.ID, "もう一通")
			if e, ok := errs.As(err); !ok || e.Kind != errs.KindTooMany || e.Reason != "dm_flood" {
				t.Fatalf("21st message: err = %v", err)
			}
		}
		// Someone else is not held up by yui's flood.
		f.send(t, f.ken, f.yui, "返信")
		if n := len(f.sentEvents(t)); n != dm.FloodLimit+1 {
			t.Errorf("%d events, want %d", n, dm.FloodLimit+1)
		}
		// Once the first message is a minute old, one more may go.
		f.now = start.Add(time.Minute + time.Millisecond)
		f.send(t, f.yui, f.ken, "落ち着きました")
		_, err := f.dm.Send(ctx, f.yui.Principal(), f.ken.ID, "もう一通")
		if errs.KindOf(err) != errs.KindTooMany {
			t.Errorf("second message after the window moved: %v", err)
		}
	})
}

func TestExcerpt(t *testing.T) {
	for in, want := range map[string]string{
		"# 見出し\n\n本文の**強調**と`コード`": "見出し 本文の強調とコード",
		"> 引用\n続き": "引用 続き",
		"![図](/a.png) と [リンク](https://x.jp)": "図 と リンク",
		"a](b) [c](d) [e]":       "a](b) c [e]",
		"snake_case と 10~20":     "snake_case と 10~20",
		"<b>tags stay text</b>":  "<b>tags stay text</b>",
		strings.Repeat("あ", 150): strings.Repeat("あ", 99) + "…",
	} {
		if got := dm.Excerpt(in); got != want {
			t.Errorf("Excerpt(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzExcerpt checks that an excerpt is one short line of valid text whatever the Markdown.
func FuzzExcerpt(f *testing.F) {
	f.Add("# 見出し\n[a](b) ![c](d) **e**")
	f.Add("[[[]]]((()))](](")
	f.Add("\xff\n\n>")
	f.Fuzz(func(t *testing.T, md string) {
		out := dm.Excerpt(md)
		if !utf8.ValidString(out) && utf8.ValidString(md) {
			t.Fatalf("invalid UTF-8 from valid input: %q", out)
		}
		if strings.ContainsAny(out, "\n\r\t") || utf8.RuneCountInString(out) > 100 {
			t.Fatalf("excerpt %q of %q", out, md)
		}
	})
}
