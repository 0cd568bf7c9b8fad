package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/meetup"
)

// event schedules an event through the service as the system.
func (s *site) event(space string, in meetup.EventInput) meetup.Event {
	s.t.Helper()
	e, err := s.mtp.Create(context.Background(), accounts.System(), space, in)
	if err != nil {
		s.t.Fatal(err)
	}
	return e
}

// rsvpAs answers an event through the service as the member with email.
func (s *site) rsvpAs(email, eventID, status string) meetup.Event {
	s.t.Helper()
	m, err := s.acc.GetMember(context.Background(), s.memberID(email))
	if err != nil {
		s.t.Fatal(err)
	}
	e, err := s.mtp.RSVP(context.Background(), m.Principal(), eventID, status)
	if err != nil {
		s.t.Fatal(err)
	}
	return e
}

// nextWeek is a start time a week from now at 10:00 UTC (19:00 in Tokyo).
func nextWeek() time.Time {
	d := time.Now().UTC().AddDate(0, 0, 7)
	return time.Date(d.Year(), d.Month(), d.Day(), 10, 0, 0, 0, time.UTC)
}

func TestEventPagesInBothLanguages(t *testing.T) {
	s := newSite(t)
	s.spaces()
	ja := s.member("mika@example.com", "ja")
	en := s.member("sam@example.com", "en")
	start := nextWeek()
	tokyo := s.event("guide", meetup.EventInput{Title: "東京ユーザー会 #12", Description: "**LT** 大会です", Place: "渋谷オフィス 5F",
		StartsAt: start, EndsAt: start.Add(2 * time.Hour), TimeZone: "Asia/Tokyo", Capacity: 30})
	webinar := s.event("guide", meetup.EventInput{Title: "Product webinar", Online: true, URL: "https://meet.example.com/abc",
		StartsAt: start.Add(24 * time.Hour), EndsAt: start.Add(25 * time.Hour), TimeZone: "UTC", SurveyURL: "https://forms.example.com/s"})
	past := s.event("guide", meetup.EventInput{Title: "勉強会 (終了)", Place: "大阪", StartsAt: start.AddDate(0, 0, -30), EndsAt: start.AddDate(0, 0, -30).Add(time.Hour),
		TimeZone: "Asia/Tokyo", SurveyURL: "https://forms.example.com/past"})
	s.event("team", meetup.EventInput{Title: "Team offsite", Place: "Hakone", StartsAt: start, EndsAt: start.Add(time.Hour), TimeZone: "Asia/Tokyo"})

	ja.get("/events").expect(t, http.StatusOK, "開催予定", "東京ユーザー会 #12", "Product webinar", "Team offsite", `aria-current="page">イベント`)
	if strings.Contains(ja.get("/events").Body, "勉強会 (終了)") {
		t.Fatal("a past event is listed as upcoming")
	}
	en.get("/events?tab=past").expect(t, http.StatusOK, "Past", "勉強会 (終了)")
	// The space's events tab, and the members-only event hidden from visitors.
	en.get("/s/guide/events").expect(t, http.StatusOK, "東京ユーザー会 #12", `class="tab tab-events" href="/s/guide/events" aria-current="page"`)
	en.get("/s/guide").expect(t, http.StatusOK, `href="/s/guide/events"`)
	if body := s.browser("en").get("/events").Body; strings.Contains(body, "Team offsite") || !strings.Contains(body, "Product webinar") {
		t.Fatal("a visitor's event list is wrong")
	}

	// Tokyo event: shown in its zone; a Japanese reader's zone is the same, so once.
	page := ja.get("/events/" + tokyo.ID)
	page.expect(t, http.StatusOK, "東京ユーザー会 #12", "<strong>LT</strong>", "渋谷オフィス 5F", "19:00 – 21:00 JST", "Asia/Tokyo", "残り 30 席", "参加する", "カレンダーに追加", `href="/events/`+tokyo.ID+`.ics"`)
	if strings.Contains(page.Body, "あなたの時間帯") {
		t.Fatal("the reader's time is repeated for a reader in the event's zone")
	}
	// An English reader reads UTC as well.
	en.get("/events/"+tokyo.ID).expect(t, http.StatusOK, "19:00 – 21:00 JST", "Your time: ", "10:00 – 12:00 UTC", "30 seats left", "I&#39;m going")
	// The webinar in UTC: the Japanese reader sees Tokyo time too.
	ja.get("/events/"+webinar.ID).expect(t, http.StatusOK, "10:00 – 11:00 UTC", "あなたの時間帯では", "19:00 – 20:00 JST", "オンライン")
	// The survey shows after the event only.
	ja.get("/events/"+past.ID).expect(t, http.StatusOK, "このイベントは終了しました", "アンケートに回答する", "https://forms.example.com/past")
	if strings.Contains(ja.get("/events/"+webinar.ID).Body, "forms.example.com") {
		t.Fatal("the survey is offered before the event")
	}
	s.browser("en").get("/events/"+tokyo.ID).expect(t, http.StatusOK, "Log in to RSVP")
	s.browser("en").get("/events/nope").expect(t, http.StatusNotFound)
}

func TestRSVPWaitlistThroughHTMX(t *testing.T) {
	s := newSite(t)
	s.spaces()
	first := s.member("first@example.com", "ja")
	second := s.member("second@example.com", "en")
	start := nextWeek()
	e := s.event("guide", meetup.EventInput{Title: "少人数ワークショップ", Place: "本社", StartsAt: start, EndsAt: start.Add(time.Hour), TimeZone: "Asia/Tokyo", Capacity: 1})

	first.htmx("/events/"+e.ID+"/rsvp", url.Values{"status": {"going"}}).
		expect(t, http.StatusOK, `id="rsvp"`, "参加登録しました", "参加予定です", `<span class="rsvp-n">1<span class="rsvp-cap"> / 1</span>`, `value="cancelled"`)
	res := second.htmx("/events/"+e.ID+"/rsvp", url.Values{"status": {"going"}})
	res.expect(t, http.StatusOK, "you are on the waitlist", "You are on the waitlist", `<span class="rsvp-n">1</span><span class="rsvp-l">waitlist</span>`)
	if strings.Contains(res.Body, "<html") {
		t.Fatal("htmx got a whole page, not the RSVP box")
	}
	second.get("/events/"+e.ID).expect(t, http.StatusOK, "Full: new RSVPs join the waitlist.")
	// The first steps back: the seat goes to the second.
	first.htmx("/events/"+e.ID+"/rsvp", url.Values{"status": {"cancelled"}}).expect(t, http.StatusOK, "参加登録を取り消しました")
	second.get("/events/"+e.ID).expect(t, http.StatusOK, "You are going")
	// Without JavaScript the form posts and comes back.
	first.post("/events/"+e.ID+"/rsvp", url.Values{"status": {"interested"}}).redirectsTo(t, "/events/"+e.ID+"#rsvp")
	first.htmx("/events/"+e.ID+"/rsvp", url.Values{"status": {"maybe"}}).expect(t, http.StatusBadRequest)
	s.browser("en").post("/events/"+e.ID+"/rsvp", url.Values{"status": {"going"}}).redirectsTo(t, "/login?next=%2F")
}

func TestEventCalendarAndJoinLink(t *testing.T) {
	s := newSite(t)
	s.spaces()
	m := s.member("nao@example.com", "ja")
	admin := s.admin("en")
	start := nextWeek()
	e := s.event("guide", meetup.EventInput{Title: "Webinar, part 1", Online: true, URL: "https://meet.example.com/secret-room",
		StartsAt: start, EndsAt: start.Add(time.Hour), TimeZone: "UTC"})

	res := m.get("/events/" + e.ID + ".ics")
	res.expect(t, http.StatusOK, "BEGIN:VCALENDAR", "SUMMARY:Webinar\\, part 1")
	if ct := res.Header.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="event-`+e.ID+`.ics"` {
		t.Fatalf("content disposition %q", cd)
	}
	// The join address stays hidden, on the page and in the calendar, until the member is going.
	if strings.Contains(res.Body, "secret-room") || strings.Contains(m.get("/events/"+e.ID).Body, "secret-room") {
		t.Fatal("the join link is shown before the member is going")
	}
	m.get("/events/"+e.ID).expect(t, http.StatusOK, "参加登録すると、ここに参加用リンクが表示されます")
	m.htmx("/events/"+e.ID+"/rsvp", url.Values{"status": {"interested"}}).expect(t, http.StatusOK, "興味あり")
	if strings.Contains(m.get("/events/"+e.ID).Body, "secret-room") {
		t.Fatal("the join link is shown to an interested member")
	}
	m.htmx("/events/"+e.ID+"/rsvp", url.Values{"status": {"going"}}).expect(t, http.StatusOK, `href="https://meet.example.com/secret-room"`)
	m.get("/events/"+e.ID+".ics").expect(t, http.StatusOK, "URL:https://meet.example.com/secret-room")
	// Staff see it, the attendee list and the check-in code.
	page := admin.get("/events/" + e.ID)
	page.expect(t, http.StatusOK, "meet.example.com/secret-room", "Attendees", "Test nao@example.com", "nao@example.com", "Mark attended", "Check-in code:")
	code := regexp.MustCompile(`Check-in code: <code>([A-Z0-9]+)</code>`).FindStringSubmatch(page.Body)
	if code == nil {
		t.Fatal("no check-in code for staff")
	}
	if strings.Contains(m.get("/events/"+e.ID).Body, code[1]) {
		t.Fatal("a member sees the check-in code")
	}
	admin.post("/events/"+e.ID+"/attended", url.Values{"member_id": {s.memberID("nao@example.com")}}).redirectsTo(t, "/events/"+e.ID+"?notice=attended#attendees")
	admin.get("/events/"+e.ID+"?notice=attended").expect(t, http.StatusOK, "Attendance recorded.", "✓ Attended")
	m.post("/events/"+e.ID+"/attended", url.Values{"member_id": {s.memberID("nao@example.com")}}).expect(t, http.StatusForbidden)
}

func TestCheckInDuringTheWindow(t *testing.T) {
	s := newSite(t)
	s.spaces()
	m := s.member("ren@example.com", "ja")
	admin := s.admin("en")
	now := time.Now().UTC()
	live := s.event("guide", meetup.EventInput{Title: "開催中のミートアップ", Place: "会場", StartsAt: now.Add(-30 * time.Minute), EndsAt: now.Add(time.Hour), TimeZone: "Asia/Tokyo"})
	later := s.event("guide", meetup.EventInput{Title: "来週のミートアップ", Place: "会場", StartsAt: nextWeek(), EndsAt: nextWeek().Add(time.Hour), TimeZone: "Asia/Tokyo"})
	if strings.Contains(m.get("/events/"+later.ID).Body, "check-in") {
		t.Fatal("the check-in form is offered a week early")
	}
	m.get("/events/"+live.ID).expect(t, http.StatusOK, "会場で案内されたコード")
	m.post("/events/"+live.ID+"/check-in", url.Values{"code": {"WRONG1"}}).expect(t, http.StatusUnprocessableEntity, `id="code-error">このイベントのチェックインコードではありません。`)
	code := regexp.MustCompile(`Check-in code: <code>([A-Z0-9]+)</code>`).FindStringSubmatch(admin.get("/events/" + live.ID).Body)
	if code == nil {
		t.Fatal("no check-in code for staff")
	}
	m.post("/events/"+live.ID+"/check-in", url.Values{"code": {strings.ToLower(code[1])}}).redirectsTo(t, "/events/"+live.ID+"?notice=checked_in")
	m.get("/events/"+live.ID+"?notice=checked_in").expect(t, http.StatusOK, "チェックインしました", "チェックイン済みです")
}

func TestEventFormsForStaff(t *testing.T) {
	s := newSite(t)
	s.spaces()
	admin := s.admin("ja")
	en := s.member("lou@example.com", "en")
	admin.get("/s/guide/events").expect(t, http.StatusOK, "イベントを作成", `href="/s/guide/events/new"`)
	if strings.Contains(en.get("/s/guide/events").Body, "/events/new") {
		t.Fatal("a member is offered the new event form")
	}
	en.get("/s/guide/events/new").expect(t, http.StatusForbidden)
	admin.get("/s/guide/events/new").expect(t, http.StatusOK, "新しいイベント", `type="datetime-local"`, `<option value="Asia/Tokyo" selected>`)

	form := url.Values{"title": {"Go 勉強会"}, "description": {"初心者歓迎"}, "place": {"渋谷"}, "starts_at": {"2031-05-14T19:00"},
		"ends_at": {"2031-05-14T18:00"}, "time_zone": {"Asia/Tokyo"}, "capacity": {"20"}}
	admin.post("/s/guide/events/new", form).expect(t, http.StatusUnprocessableEntity, `id="ends_at-error">終了日時は開始日時より後にしてください。`, `value="Go 勉強会"`)
	form.Set("ends_at", "")
	admin.post("/s/guide/events/new", form).expect(t, http.StatusUnprocessableEntity, `id="ends_at-error">日時を入力してください。`)
	form.Set("ends_at", "2031-05-14T21:00")
	form.Set("place", "")
	admin.post("/s/guide/events/new", form).expect(t, http.StatusUnprocessableEntity, `id="place-error">会場を入力してください。`)
	form.Set("place", "渋谷")
	form.Set("capacity", "many")
	admin.post("/s/guide/events/new", form).expect(t, http.StatusUnprocessableEntity, `id="capacity-error">定員は`)
	form.Set("capacity", "20")
	res := admin.post("/s/guide/events/new", form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/events/") {
		t.Fatalf("create: %d %q\n%s", res.StatusCode, loc, excerpt(res.Body))
	}
	admin.get(loc).expect(t, http.StatusOK, "Go 勉強会", "2031年5月14日(水) 19:00 – 21:00 JST", "残り 20 席")
	// The time zone is kept: a London event is read in London time.
	admin.get(loc+"/edit").expect(t, http.StatusOK, "イベントを編集", `value="2031-05-14T19:00"`)
	form.Set("time_zone", "Europe/London")
	admin.post(loc+"/edit", form).redirectsTo(t, loc+"?notice=saved")
	en.get(loc).expect(t, http.StatusOK, "Wed, 14 May 2031 19:00 – 21:00 BST", "18:00 – 20:00 UTC")
	en.get(loc+"/edit").expect(t, http.StatusForbidden)
	en.post(loc+"/edit", form).expect(t, http.StatusForbidden)
}

func TestPrivateSpaceEventIsInvisible(t *testing.T) {
	s := newSite(t)
	s.spaces()
	insider := s.member("in@example.com", "en")
	outsider := s.member("out@example.com", "en")
	if err := s.com.AddSpaceMember(context.Background(), accounts.System(), "secret", s.memberID("in@example.com"), "member"); err != nil {
		t.Fatal(err)
	}
	start := nextWeek()
	e := s.event("secret", meetup.EventInput{Title: "Falcon launch party", Place: "Rooftop", StartsAt: start, EndsAt: start.Add(time.Hour), TimeZone: "Asia/Tokyo"})
	insider.get("/events/"+e.ID).expect(t, http.StatusOK, "Falcon launch party")
	insider.get("/events").expect(t, http.StatusOK, "Falcon launch party")
	outsider.get("/events/"+e.ID).expect(t, http.StatusNotFound)
	outsider.get("/events/"+e.ID+".ics").expect(t, http.StatusNotFound)
	outsider.htmx("/events/"+e.ID+"/rsvp", url.Values{"status": {"going"}}).expect(t, http.StatusNotFound)
	outsider.get("/s/secret/events").expect(t, http.StatusNotFound)
	if strings.Contains(outsider.get("/events").Body, "Falcon") {
		t.Fatal("an outsider sees the private event in the list")
	}
	s.browser("en").get("/events/"+e.ID).expect(t, http.StatusNotFound)
}
