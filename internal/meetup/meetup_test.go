package meetup_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/search"
)

var ctx = context.Background()

type fixture struct {
	t      *testing.T
	db     *db.DB
	acc    *accounts.Service
	notify *notify.Service
	search *search.Index
	c      *community.Service
	m      *meetup.Service
	mu     sync.Mutex // guards now while RSVPs race in TestLastSeatGoesToOne
	now    time.Time
	seen   int // outbox rows already looked at by events()
}

func newFixture(t *testing.T, e db.Engine) *fixture {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations(), notify.Migrations(), search.Migrations(), community.Migrations(), meetup.Migrations())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &fixture{t: t, db: d, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.now = f.now.Add(time.Second)
		return f.now
	}
	ob := backbone.NewOutbox(d)
	f.acc = accounts.New(accounts.Deps{DB: d, Outbox: ob, Log: log, HashParams: accounts.TestHashParams(), Now: clock})
	f.notify = notify.New(notify.Deps{DB: d, Now: clock})
	f.search = search.New(d)
	f.c = community.New(community.Deps{DB: d, Outbox: ob, Accounts: f.acc, Notify: f.notify, Search: f.search, Log: log, Now: clock})
	f.m = meetup.New(meetup.Deps{DB: d, Outbox: ob, Accounts: f.acc, Community: f.c, Notify: f.notify, Search: f.search, Log: log, Now: clock})
	return f
}

func (f *fixture) member(email string, role accounts.Role) accounts.Principal {
	f.t.Helper()
	m, err := f.acc.CreateMember(ctx, accounts.System(), accounts.SignUpInput{Email: email, Password: "member password", DisplayName: strings.Split(email, "@")[0]}, role)
	if err != nil {
		f.t.Fatal(err)
	}
	return m.Principal()
}

func (f *fixture) space(p accounts.Principal, slug string, vis community.Visibility) community.Space {
	f.t.Helper()
	sp, err := f.c.CreateSpace(ctx, p, community.SpaceInput{Slug: slug, Name: slug, Visibility: vis})
	if err != nil {
		f.t.Fatal(err)
	}
	return sp
}

// events returns the track events committed since the last call, as "Name" or "Name key=value".
func (f *fixture) events(keys ...string) []string {
	f.t.Helper()
	rows, err := f.db.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	i := 0
	for rows.Next() {
		var p string
		rows.Scan(&p)
		i++
		if i <= f.seen {
			continue
		}
		var ev struct {
			Type       string         `json:"type"`
			Event      string         `json:"event"`
			Properties map[string]any `json:"properties"`
		}
		json.Unmarshal([]byte(p), &ev)
		if ev.Type != "track" || ev.Event == "Member Signed Up" {
			continue
		}
		s := ev.Event
		for _, k := range keys {
			if v, ok := ev.Properties[k]; ok {
				b, _ := json.Marshal(v)
				s += " " + k + "=" + string(b)
			}
		}
		out = append(out, s)
	}
	f.seen = i
	return out
}

func (f *fixture) wantEvents(want ...string) {
	f.t.Helper()
	if got := f.events(); strings.Join(got, "|") != strings.Join(want, "|") {
		f.t.Fatalf("events = %q, want %q", got, want)
	}
}

func (f *fixture) wantEventsWith(keys []string, want ...string) {
	f.t.Helper()
	if got := f.events(keys...); strings.Join(got, "|") != strings.Join(want, "|") {
		f.t.Fatalf("events = %q\nwant     %q", got, want)
	}
}

func wantKind(t *testing.T, err error, kind errs.Kind) {
	t.Helper()
	if errs.KindOf(err) != kind {
		t.Fatalf("got %v, want kind %v", err, kind)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	if e, ok := errs.As(err); !ok || e.Kind != errs.KindInvalid || e.Field != field {
		t.Fatalf("got %v, want invalid %s", err, field)
	}
}

func wantReason(t *testing.T, err error, kind errs.Kind, reason string) {
	t.Helper()
	if e, ok := errs.As(err); !ok || e.Kind != kind || e.Reason != reason {
		t.Fatalf("got %v, want %v %s", err, kind, reason)
	}
}

// meetupIn returns an offline event input starting in d from the fixture's clock, lasting two hours.
func (f *fixture) meetupIn(d time.Duration) meetup.EventInput {
	start := f.now.Add(d).Truncate(time.Minute)
	return meetup.EventInput{Title: "東京ミートアップ", Description: "**LT** と懇親会", Place: "渋谷区 1-2-3", StartsAt: start, EndsAt: start.Add(2 * time.Hour), TimeZone: "Asia/Tokyo"}
}

func TestCreateChecksRightsAndInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		member := f.member("yui@example.jp", accounts.RoleMember)
		spaceMod := f.member("mod@example.jp", accounts.RoleMember)
		f.space(cm, "tokyo", community.Public)
		if err := f.c.AddSpaceMember(ctx, cm, "tokyo", spaceMod.MemberID, community.SpaceModerator); err != nil {
			t.Fatal(err)
		}
		f.events()

		_, err := f.m.Create(ctx, member, "tokyo", f.meetupIn(24*time.Hour))
		wantKind(t, err, errs.KindForbidden)
		_, err = f.m.Create(ctx, accounts.Principal{}, "tokyo", f.meetupIn(24*time.Hour))
		wantKind(t, err, errs.KindUnauthenticated)

		bad := func(field string, change func(*meetup.EventInput)) {
			t.Helper()
			in := f.meetupIn(24 * time.Hour)
			change(&in)
			_, err := f.m.Create(ctx, cm, "tokyo", in)
			wantField(t, err, field)
		}
		bad("title", func(in *meetup.EventInput) { in.Title = "  " })
		bad("title", func(in *meetup.EventInput) { in.Title = strings.Repeat("あ", 201) })
		bad("starts_at", func(in *meetup.EventInput) { in.StartsAt = time.Time{} })
		bad("ends_at", func(in *meetup.EventInput) { in.EndsAt = in.StartsAt.Add(-time.Minute) })
		bad("ends_at", func(in *meetup.EventInput) { in.EndsAt = in.StartsAt })
		bad("time_zone", func(in *meetup.EventInput) { in.TimeZone = "Mars/Olympus" })
		bad("time_zone", func(in *meetup.EventInput) { in.TimeZone = "" })
		bad("url", func(in *meetup.EventInput) { in.Online, in.URL = true, "javascript:alert(1)" })
		bad("url", func(in *meetup.EventInput) { in.Online, in.URL = true, "" })
		bad("survey_url", func(in *meetup.EventInput) { in.SurveyURL = "data:text/html,<script>alert(1)</script>" })
		bad("place", func(in *meetup.EventInput) { in.Place = "" })
		bad("capacity", func(in *meetup.EventInput) { in.Capacity = -1 })
		f.wantEvents()

		in := f.meetupIn(24 * time.Hour)
		in.Description = "<script>alert(1)</script>\n\n**LT** 大会 [x](javascript:alert(1))"
		in.Capacity = 30
		ev, err := f.m.Create(ctx, cm, "tokyo", in)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(ev.DescriptionHTML, "<script") || !strings.Contains(ev.DescriptionHTML, "&lt;script&gt;") ||
			strings.Contains(ev.DescriptionHTML, `href="javascript`) || !strings.Contains(ev.DescriptionHTML, "<strong>LT</strong>") {
			t.Fatalf("description html %q", ev.DescriptionHTML)
		}
		if !ev.CanManage || len(ev.CheckInCode) != 6 || ev.TimeZone != "Asia/Tokyo" || !ev.StartsAt.Equal(in.StartsAt) || ev.Capacity != 30 {
			t.Fatalf("event %+v", ev)
		}
		f.wantEventsWith([]string{"event_id"}, `Event Created event_id="`+ev.ID+`"`)
		entries, _, _ := f.acc.ListAudit(ctx, accounts.System(), "", 1)
		if entries[0].Action != "event.created" || entries[0].Target != ev.ID {
			t.Fatalf("audit %+v", entries[0])
		}
		seen, err := f.m.Get(ctx, member, ev.ID)
		if err != nil || seen.CheckInCode != "" || seen.CanManage {
			t.Fatalf("a member's view shows the code or management: %+v %v", seen, err)
		}
		hits, _, err := f.search.Search(ctx, search.Query{Text: "大会", Kinds: []string{search.KindEvent}, SpaceIDs: []string{ev.SpaceID}})
		if err != nil || len(hits) != 1 || hits[0].URL != "/events/"+ev.ID || strings.Contains(hits[0].Snippet, "**") {
			t.Fatalf("search hits %+v %v", hits, err)
		}

		// A member who moderates the space runs its events too.
		online := f.meetupIn(48 * time.Hour)
		online.Online, online.Place, online.URL = true, "", "https://meet.example.jp/abc"
		if _, err := f.m.Create(ctx, spaceMod, "tokyo", online); err != nil {
			t.Fatal(err)
		}
		f.wantEvents("Event Created")
	})
}

func TestWaitlistAndPromotion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		a := f.member("a@example.jp", accounts.RoleMember)
		b := f.member("b@example.jp", accounts.RoleMember)
		c := f.member("c@example.jp", accounts.RoleMember)
		d := f.member("d@example.jp", accounts.RoleMember)
		f.space(cm, "tokyo", community.Members)
		in := f.meetupIn(24 * time.Hour)
		in.Capacity = 2
		ev, err := f.m.Create(ctx, cm, "tokyo", in)
		if err != nil {
			t.Fatal(err)
		}
		f.events()

		_, err = f.m.RSVP(ctx, accounts.Principal{}, ev.ID, meetup.Going)
		wantKind(t, err, errs.KindUnauthenticated)
		_, err = f.m.RSVP(ctx, a, ev.ID, "maybe")
		wantField(t, err, "status")
		for _, p := range []accounts.Principal{a, b} {
			got, err := f.m.RSVP(ctx, p, ev.ID, meetup.Going)
			if err != nil || got.MyRSVP != meetup.Going {
				t.Fatalf("rsvp: %+v %v", got, err)
			}
		}
		got, err := f.m.RSVP(ctx, c, ev.ID, meetup.Going)
		if err != nil || got.MyRSVP != meetup.Waitlisted || got.Going != 2 || got.Waitlisted != 1 || !got.Full() {
			t.Fatalf("third going: %+v %v", got, err)
		}
		if _, err := f.m.RSVP(ctx, d, ev.ID, meetup.Going); err != nil {
			t.Fatal(err)
		}
		keys := []string{"status", "previous_status", "waitlisted"}
		f.wantEventsWith(keys,
			`Event RSVP Changed status="going" previous_status="" waitlisted=false`,
			`Event RSVP Changed status="going" previous_status="" waitlisted=false`,
			`Event RSVP Changed status="waitlisted" previous_status="" waitlisted=true`,
			`Event RSVP Changed status="waitlisted" previous_status="" waitlisted=true`)
		if _, err := f.m.RSVP(ctx, c, ev.ID, meetup.Going); err != nil {
			t.Fatal(err)
		}
		f.wantEvents() // answering the same again changes nothing

		before, _ := f.notify.UnreadCount(ctx, c.MemberID)
		got, err = f.m.RSVP(ctx, a, ev.ID, meetup.Cancelled)
		if err != nil || got.MyRSVP != meetup.Cancelled || got.Going != 2 || got.Waitlisted != 1 {
			t.Fatalf("cancel: %+v %v", got, err)
		}
		f.wantEventsWith([]string{"status", "previous_status"},
			`Event RSVP Changed status="cancelled" previous_status="going"`, `Event Waitlist Promoted`)
		if after, _ := f.notify.UnreadCount(ctx, c.MemberID); after != before+1 {
			t.Fatal("the promoted member was not notified")
		}
		list, _, _ := f.notify.List(ctx, c.MemberID, "", 1)
		if list[0].Type != notify.TypeEventUpdate || list[0].URL != "/events/"+ev.ID || list[0].ActorID != "" {
			t.Fatalf("notification %+v", list[0])
		}
		if n, _ := f.notify.UnreadCount(ctx, d.MemberID); n != 0 {
			t.Fatal("the member still waiting was notified")
		}
		if got, _ := f.m.Get(ctx, c, ev.ID); got.MyRSVP != meetup.Going {
			t.Fatalf("promoted member's rsvp = %q", got.MyRSVP)
		}

		// Interested from going frees the seat too; from the waitlist it only leaves the queue.
		if _, err := f.m.RSVP(ctx, b, ev.ID, meetup.Interested); err != nil {
			t.Fatal(err)
		}
		f.wantEvents("Event RSVP Changed", "Event Waitlist Promoted")
		got, _ = f.m.Get(ctx, d, ev.ID)
		if got.MyRSVP != meetup.Going || got.Going != 2 || got.Waitlisted != 0 || got.Interested != 1 {
			t.Fatalf("after interested: %+v", got)
		}

		// Growing the capacity lets the waitlist in.
		e2in := f.meetupIn(30 * time.Hour)
		e2in.Capacity = 1
		e2, _ := f.m.Create(ctx, cm, "tokyo", e2in)
		for _, p := range []accounts.Principal{a, b, c} {
			f.m.RSVP(ctx, p, e2.ID, meetup.Going)
		}
		f.events()
		e2in.Capacity = 0
		got, err = f.m.Update(ctx, cm, e2.ID, e2in)
		if err != nil || got.Going != 3 || got.Waitlisted != 0 {
			t.Fatalf("unlimited: %+v %v", got, err)
		}
		f.wantEvents("Event Waitlist Promoted", "Event Waitlist Promoted", "Event Updated")

		// No answers once it is over.
		f.now = ev.EndsAt
		_, err = f.m.RSVP(ctx, d, ev.ID, meetup.Cancelled)
		wantReason(t, err, errs.KindConflict, "event_over")
	})
}

func TestEventsFollowSpaceVisibility(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		insider := f.member("insider@example.jp", accounts.RoleMember)
		outsider := f.member("outsider@example.jp", accounts.RoleMember)
		f.space(cm, "open", community.Public)
		f.space(cm, "secret", community.Private)
		if err := f.c.AddSpaceMember(ctx, cm, "secret", insider.MemberID, community.SpaceMember); err != nil {
			t.Fatal(err)
		}
		open, _ := f.m.Create(ctx, cm, "open", f.meetupIn(24*time.Hour))
		secret, err := f.m.Create(ctx, cm, "secret", f.meetupIn(25*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.m.RSVP(ctx, outsider, secret.ID, meetup.Going)
		wantKind(t, err, errs.KindNotFound)
		_, err = f.m.Get(ctx, outsider, secret.ID)
		wantKind(t, err, errs.KindNotFound)
		_, err = f.m.ICS(ctx, outsider, secret.ID)
		wantKind(t, err, errs.KindNotFound)
		wantKind(t, f.m.CheckIn(ctx, outsider, secret.ID, "ABCDEF"), errs.KindNotFound)
		_, _, err = f.m.List(ctx, outsider, meetup.ListQuery{SpaceID: "secret"})
		wantKind(t, err, errs.KindNotFound)
		_, err = f.m.Get(ctx, outsider, "01NOSUCHEVENT")
		wantKind(t, err, errs.KindNotFound)
		if got, err := f.m.RSVP(ctx, insider, secret.ID, meetup.Going); err != nil || got.MyRSVP != meetup.Going {
			t.Fatalf("insider: %+v %v", got, err)
		}
		ids := func(p accounts.Principal) string {
			evs, _, err := f.m.List(ctx, p, meetup.ListQuery{Upcoming: true})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range evs {
				out = append(out, e.ID)
			}
			return strings.Join(out, " ")
		}
		if got := ids(outsider); got != open.ID {
			t.Errorf("outsider lists %q", got)
		}
		if got := ids(accounts.Principal{}); got != open.ID {
			t.Errorf("anonymous lists %q", got)
		}
		if got := ids(insider); got != open.ID+" "+secret.ID {
			t.Errorf("insider lists %q", got)
		}
	})
}

func TestCheckInAndAttendance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		a := f.member("a@example.jp", accounts.RoleMember)
		walkIn := f.member("walkin@example.jp", accounts.RoleMember)
		waiting := f.member("waiting@example.jp", accounts.RoleMember)
		absent := f.member("absent@example.jp", accounts.RoleMember)
		spaceMod := f.member("mod@example.jp", accounts.RoleMember)
		f.space(cm, "tokyo", community.Public)
		f.c.AddSpaceMember(ctx, cm, "tokyo", spaceMod.MemberID, community.SpaceModerator)
		in := f.meetupIn(24 * time.Hour)
		in.Capacity = 2
		ev, _ := f.m.Create(ctx, cm, "tokyo", in)
		for _, p := range []accounts.Principal{a, absent, waiting} {
			if _, err := f.m.RSVP(ctx, p, ev.ID, meetup.Going); err != nil {
				t.Fatal(err)
			}
		}
		f.events()
		code := ev.CheckInCode

		// Too early, then inside the window.
		f.now = ev.StartsAt.Add(-61 * time.Minute)
		wantReason(t, f.m.CheckIn(ctx, a, ev.ID, code), errs.KindConflict, "check_in_closed")
		f.now = ev.StartsAt.Add(-50 * time.Minute)
		wantField(t, f.m.CheckIn(ctx, a, ev.ID, "ZZZZZZ"), "code")
		wantKind(t, f.m.CheckIn(ctx, accounts.Principal{}, ev.ID, code), errs.KindUnauthenticated)
		if err := f.m.CheckIn(ctx, a, ev.ID, " "+strings.ToLower(code)+" "); err != nil {
			t.Fatal(err)
		}
		if err := f.m.CheckIn(ctx, a, ev.ID, code); err != nil {
			t.Fatalf("checking in twice: %v", err)
		}
		f.wantEventsWith([]string{"method"}, `Event Attended method="code"`)
		if got, _ := f.m.Get(ctx, a, ev.ID); !got.CheckedIn {
			t.Fatal("not checked in")
		}
		wantReason(t, f.m.CheckIn(ctx, waiting, ev.ID, code), errs.KindConflict, "waitlisted")
		f.now = ev.EndsAt.Add(119 * time.Minute)
		if err := f.m.CheckIn(ctx, walkIn, ev.ID, code); err != nil {
			t.Fatalf("walk-in: %v", err)
		}
		f.wantEvents("Event Attended")
		f.now = ev.EndsAt.Add(2*time.Hour + time.Second)
		wantReason(t, f.m.CheckIn(ctx, absent, ev.ID, code), errs.KindConflict, "check_in_closed")

		// Staff mark attendance at any time, once per member.
		wantKind(t, f.m.MarkAttended(ctx, a, ev.ID, absent.MemberID), errs.KindForbidden)
		wantField(t, f.m.MarkAttended(ctx, cm, ev.ID, "01NOSUCHMEMBER"), "member_id")
		if err := f.m.MarkAttended(ctx, cm, ev.ID, absent.MemberID); err != nil {
			t.Fatal(err)
		}
		if err := f.m.MarkAttended(ctx, spaceMod, ev.ID, a.MemberID); err != nil {
			t.Fatal(err)
		}
		f.wantEventsWith([]string{"method"}, `Event Attended method="staff"`)
		entries, _, _ := f.acc.ListAudit(ctx, accounts.System(), "", 2)
		if entries[0].Action != "event.attendance_marked" || entries[1].Action != "event.attendance_marked" {
			t.Fatalf("audit %+v", entries)
		}

		_, err := f.m.Attendees(ctx, a, ev.ID)
		wantKind(t, err, errs.KindForbidden)
		list, err := f.m.Attendees(ctx, cm, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, at := range list {
			s := at.DisplayName + ":" + at.Status
			if at.CheckedInAt != nil {
				s += ":" + at.Method
			}
			if at.Email == "" {
				t.Errorf("staff see no email of %s", at.DisplayName)
			}
			got = append(got, s)
		}
		if want := "a:going:code absent:going:staff waiting:waitlisted walkin::code"; strings.Join(got, " ") != want {
			t.Fatalf("attendees %q, want %q", strings.Join(got, " "), want)
		}
		modList, err := f.m.Attendees(ctx, spaceMod, ev.ID)
		if err != nil || len(modList) != 4 || modList[0].Email != "" {
			t.Fatalf("a space moderator who is a member sees no emails: %+v %v", modList, err)
		}
	})
}

func TestUpdateNotifiesAttendees(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		a := f.member("a@example.jp", accounts.RoleMember)
		fan := f.member("fan@example.jp", accounts.RoleMember)
		f.space(cm, "tokyo", community.Public)
		in := f.meetupIn(24 * time.Hour)
		ev, _ := f.m.Create(ctx, cm, "tokyo", in)
		f.m.RSVP(ctx, a, ev.ID, meetup.Going)
		f.m.RSVP(ctx, fan, ev.ID, meetup.Interested)
		f.events()

		_, err := f.m.Update(ctx, a, ev.ID, in)
		wantKind(t, err, errs.KindForbidden)
		in.Title = "東京ミートアップ（改）"
		in.SurveyURL = "https://forms.example.jp/s"
		if _, err := f.m.Update(ctx, cm, ev.ID, in); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.notify.UnreadCount(ctx, a.MemberID); n != 0 {
			t.Fatal("notified of a change that moved neither time nor place")
		}
		in.StartsAt, in.EndsAt = in.StartsAt.Add(time.Hour), in.EndsAt.Add(time.Hour)
		got, err := f.m.Update(ctx, cm, ev.ID, in)
		if err != nil || !got.StartsAt.Equal(in.StartsAt) || got.Title != in.Title || got.SurveyURL != in.SurveyURL {
			t.Fatalf("updated: %+v %v", got, err)
		}
		if n, _ := f.notify.UnreadCount(ctx, a.MemberID); n != 1 {
			t.Fatalf("attendee notifications = %d", n)
		}
		if n, _ := f.notify.UnreadCount(ctx, fan.MemberID); n != 0 {
			t.Fatal("interested members are not attendees")
		}
		f.wantEventsWith([]string{"time_changed", "notified"}, "Event Updated time_changed=false notified=0", "Event Updated time_changed=true notified=1")
		entries, _, _ := f.acc.ListAudit(ctx, accounts.System(), "", 1)
		if entries[0].Action != "event.updated" {
			t.Fatalf("audit %+v", entries[0])
		}
	})
}

func TestListUpcomingAndPastPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		f.space(cm, "tokyo", community.Public)
		f.space(cm, "osaka", community.Public)
		// Seven events a day apart, created out of order; the clock then moves to the fourth's end.
		byStart := make([]string, 7)
		base := f.now
		for _, i := range []int{3, 0, 6, 1, 5, 2, 4} {
			in := f.meetupIn(0)
			in.StartsAt = base.Add(time.Duration(i+1) * 24 * time.Hour)
			in.EndsAt = in.StartsAt.Add(time.Hour)
			slug := "tokyo"
			if i%2 == 1 {
				slug = "osaka"
			}
			ev, err := f.m.Create(ctx, cm, slug, in)
			if err != nil {
				t.Fatal(err)
			}
			byStart[i] = ev.ID
		}
		f.now = base.Add(4*24*time.Hour + 30*time.Minute) // the fourth is under way: still upcoming
		pages := func(q meetup.ListQuery) string {
			var got []string
			for range 10 {
				page, next, err := f.m.List(ctx, accounts.Principal{}, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > q.Limit {
					t.Fatalf("page of %d", len(page))
				}
				for _, ev := range page {
					got = append(got, ev.ID)
				}
				if q.Cursor = next; next == "" {
					break
				}
			}
			return strings.Join(got, " ")
		}
		ids := func(is ...int) string {
			var out []string
			for _, i := range is {
				out = append(out, byStart[i])
			}
			return strings.Join(out, " ")
		}
		if got, want := pages(meetup.ListQuery{Upcoming: true, Limit: 2}), ids(3, 4, 5, 6); got != want {
			t.Errorf("upcoming %q, want %q", got, want)
		}
		if got, want := pages(meetup.ListQuery{Past: true, Limit: 2}), ids(2, 1, 0); got != want {
			t.Errorf("past %q, want %q", got, want)
		}
		if got, want := pages(meetup.ListQuery{Limit: 3}), ids(6, 5, 4, 3, 2, 1, 0); got != want {
			t.Errorf("all %q, want %q", got, want)
		}
		if got, want := pages(meetup.ListQuery{SpaceID: "osaka", Upcoming: true, Limit: 1}), ids(3, 5); got != want {
			t.Errorf("osaka upcoming %q, want %q", got, want)
		}
		_, _, err := f.m.List(ctx, accounts.Principal{}, meetup.ListQuery{Cursor: "nonsense"})
		wantField(t, err, "cursor")
		_, _, err = f.m.List(ctx, accounts.Principal{}, meetup.ListQuery{Upcoming: true, Past: true})
		wantField(t, err, "past")
	})
}

func TestICS(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		a := f.member("a@example.jp", accounts.RoleMember)
		f.space(cm, "tokyo", community.Public)
		in := meetup.EventInput{
			Title:       "Kizuna 勉強会; 第3回, 東京\\大阪",
			Description: "# 概要\n\nコミュニティ運営のノウハウを共有します。参加者同士で交流し、次回のテーマを決めましょう。懇親会もあります。",
			Online:      true, URL: "https://meet.example.jp/kizuna?room=3",
			StartsAt: time.Date(2026, 12, 5, 19, 0, 0, 0, time.FixedZone("JST", 9*3600)), TimeZone: "Asia/Tokyo",
		}
		in.EndsAt = in.StartsAt.Add(90 * time.Minute)
		ev, err := f.m.Create(ctx, cm, "tokyo", in)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := f.m.ICS(ctx, a, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := string(raw)
		if !strings.HasSuffix(out, "END:VCALENDAR\r\n") || strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\n") || strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\r") {
			t.Fatalf("lines must end in CRLF only:\n%q", out)
		}
		for _, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
			if len(l) > 75 || !utf8.ValidString(l) {
				t.Errorf("line of %d octets or split character: %q", len(l), l)
			}
		}
		unfolded := strings.ReplaceAll(out, "\r\n ", "")
		for _, want := range []string{
			"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n",
			"BEGIN:VEVENT\r\nUID:" + ev.ID + "@kizuna\r\n",
			"DTSTART:20261205T100000Z\r\nDTEND:20261205T113000Z\r\n",
			`SUMMARY:Kizuna 勉強会\; 第3回\, 東京\\大阪` + "\r\n",
			"DESCRIPTION:概要 コミュニティ運営のノウハウを共有します。参加者同士で交流し、次回のテーマを決めましょう。懇親会もあります。\r\n",
			"LOCATION:Online\r\n",
			"END:VEVENT\r\nEND:VCALENDAR\r\n",
		} {
			if !strings.Contains(unfolded, want) {
				t.Errorf("missing %q in\n%s", want, unfolded)
			}
		}
		if !strings.Contains(out, "\r\n ") {
			t.Error("the long description was not folded")
		}
		if strings.Contains(unfolded, "meet.example.jp") {
			t.Error("the join address is in the calendar of someone not going")
		}
		if _, err := f.m.RSVP(ctx, a, ev.ID, meetup.Going); err != nil {
			t.Fatal(err)
		}
		raw, _ = f.m.ICS(ctx, a, ev.ID)
		unfolded = strings.ReplaceAll(string(raw), "\r\n ", "")
		if !strings.Contains(unfolded, "\r\nLOCATION:https://meet.example.jp/kizuna?room=3\r\nURL:https://meet.example.jp/kizuna?room=3\r\n") {
			t.Errorf("going: no join address in\n%s", unfolded)
		}
	})
}

func TestLastSeatGoesToOne(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		cm := f.member("cm@example.jp", accounts.RoleCommunityManager)
		f.space(cm, "tokyo", community.Public)
		in := f.meetupIn(24 * time.Hour)
		in.Capacity = 2
		ev, _ := f.m.Create(ctx, cm, "tokyo", in)
		var members []accounts.Principal
		for i := range 8 {
			members = append(members, f.member(string(rune('a'+i))+"@example.jp", accounts.RoleMember))
		}
		errc := make(chan error, len(members))
		for _, p := range members {
			go func() {
				_, err := f.m.RSVP(ctx, p, ev.ID, meetup.Going)
				errc <- err
			}()
		}
		for range members {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
		got, _ := f.m.Get(ctx, cm, ev.ID)
		if got.Going != 2 || got.Waitlisted != 6 {
			t.Fatalf("going %d waitlisted %d, want 2 and 6", got.Going, got.Waitlisted)
		}
	})
}
