package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/meetup"
)

// eventsPerPage is how many events a list shows at a time.
const eventsPerPage = 20

// The check-in window as meetup.CheckIn enforces it: from an hour before the start to two hours
// after the end. The page only uses it to decide whether to offer the form; the service decides.
const (
	checkInOpens  = time.Hour
	checkInCloses = 2 * time.Hour
)

// eventZones are the time zones the event form offers, Asia/Tokyo first; an event saved with
// another zone keeps it in the list.
var eventZones = []string{"Asia/Tokyo", "UTC", "Asia/Seoul", "Asia/Shanghai", "Asia/Taipei", "Asia/Singapore",
	"Asia/Bangkok", "Asia/Kolkata", "Australia/Sydney", "Europe/London", "Europe/Paris", "Europe/Berlin",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Pacific/Honolulu"}

// eventRoutes registers the event pages; Routes calls it when the meetup and community services are there.
func (s *Web) eventRoutes(handle func(string, pageHandler)) {
	handle("GET /events", s.eventsPage)
	handle("GET /events/{id}", s.eventPage) // also /events/{id}.ics
	handle("GET /events/{id}/edit", s.signedIn(s.eventEditForm))
	handle("POST /events/{id}/edit", s.signedIn(s.eventEdit))
	handle("POST /events/{id}/rsvp", s.signedIn(s.rsvp))
	handle("POST /events/{id}/check-in", s.signedIn(s.checkIn))
	handle("POST /events/{id}/attended", s.signedIn(s.markAttended))
	handle("GET /s/{slug}/events", s.spaceEvents)
	handle("GET /s/{slug}/events/new", s.signedIn(s.eventNewForm))
	handle("POST /s/{slug}/events/new", s.signedIn(s.eventCreate))
}

// eventZone loads an event's IANA zone. Without the tz database on the host it falls back to
// fixed JST for Asia/Tokyo (no daylight saving since 1951) and to UTC for the rest, which the
// page then names.
func eventZone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	if name == "Asia/Tokyo" {
		return time.FixedZone("JST", 9*60*60)
	}
	return time.UTC
}

// manages reports whether p runs events in sp, as meetup decides: community staff and the
// space's moderators. Used only to offer the "new event" button.
func manages(p accounts.Principal, sp community.Space) bool {
	return accounts.Allowed(p, accounts.PermManageCommunity) || sp.Role == community.SpaceModerator
}

// ---- view helpers ----

// span formats start–end in loc in the reader's language; the end omits its date on the same day.
func (v *view) span(start, end time.Time, loc *time.Location) string {
	start, end = start.In(loc), end.In(loc)
	sameDay := start.Format("20060102") == end.Format("20060102")
	var day, endDay string
	if v.Lang == "ja" {
		wd := []string{"日", "月", "火", "水", "木", "金", "土"}
		day = fmt.Sprintf("%d年%d月%d日(%s)", start.Year(), start.Month(), start.Day(), wd[start.Weekday()])
		endDay = fmt.Sprintf("%d年%d月%d日(%s) ", end.Year(), end.Month(), end.Day(), wd[end.Weekday()])
	} else {
		day = start.Format("Mon, 2 Jan 2006")
		endDay = end.Format("Mon, 2 Jan 2006") + " "
	}
	if sameDay {
		endDay = ""
	}
	return day + " " + start.Format("15:04") + " – " + endDay + end.Format("15:04") + " " + zoneLabel(start)
}

// zoneLabel is a time's zone abbreviation, or its UTC offset when the zone has only a number.
func zoneLabel(t time.Time) string {
	name, _ := t.Zone()
	if name != "" && !strings.HasPrefix(name, "+") && !strings.HasPrefix(name, "-") {
		return name
	}
	return "UTC" + t.Format("-07:00")
}

// EventWhen is when the event takes place in its own time zone.
func (v *view) EventWhen(e meetup.Event) string {
	return v.span(e.StartsAt, e.EndsAt, eventZone(e.TimeZone))
}

// EventWhenReader is when the event takes place in the reader's zone (Asia/Tokyo for Japanese,
// UTC for English), or "" when that reads the same as the event's own.
func (v *view) EventWhenReader(e meetup.Event) string {
	_, evOff := e.StartsAt.In(eventZone(e.TimeZone)).Zone()
	_, myOff := e.StartsAt.In(v.loc).Zone()
	if evOff == myOff {
		return ""
	}
	return v.span(e.StartsAt, e.EndsAt, v.loc)
}

// EventMonth and EventDay are the calendar leaf of an event card, in the event's zone.
func (v *view) EventMonth(e meetup.Event) string {
	t := e.StartsAt.In(eventZone(e.TimeZone))
	if v.Lang == "ja" {
		return strconv.Itoa(int(t.Month())) + "月"
	}
	return t.Format("Jan")
}

// EventDay is the day of the month an event starts, in its zone.
func (v *view) EventDay(e meetup.Event) int { return e.StartsAt.In(eventZone(e.TimeZone)).Day() }

// RSVPName is the translated name of an RSVP status.
func (v *view) RSVPName(st string) string {
	if st == "" {
		return v.T("event.walk_in")
	}
	return v.T("event.rsvp." + st)
}

// ---- lists ----

// eventCard is one event in a list.
type eventCard struct {
	V *view
	meetup.Event
	SpaceName string
	SpaceSlug string
}

// eventsData is an event list: across spaces, or one space's tab.
type eventsData struct {
	V         *view
	Tabs      []tab
	Past      bool
	Events    []eventCard
	More      string
	Space     *spaceData // the space's header, on a space's events tab
	CanCreate bool
}

// eventList reads one page of events and the spaces to name them by.
func (s *Web) eventList(r *http.Request, v *view, spaceID string, past bool, base string) (eventsData, error) {
	d := eventsData{V: v, Past: past}
	q := meetup.ListQuery{SpaceID: spaceID, Upcoming: !past, Past: past, Limit: eventsPerPage, Cursor: r.URL.Query().Get("cursor")}
	events, next, err := s.mtp.List(r.Context(), v.principal(), q)
	if err != nil {
		return d, err
	}
	spaces, err := s.com.Spaces(r.Context(), v.principal())
	if err != nil {
		return d, err
	}
	byID := map[string]community.Space{}
	for _, sp := range spaces {
		byID[sp.ID] = sp
	}
	for _, e := range events {
		sp := byID[e.SpaceID]
		d.Events = append(d.Events, eventCard{V: v, Event: e, SpaceName: sp.Name, SpaceSlug: sp.Slug})
	}
	d.Tabs = []tab{
		{Label: v.T("events.tab.upcoming"), URL: base, Current: !past},
		{Label: v.T("events.tab.past"), URL: base + "?tab=past", Current: past},
	}
	if next != "" {
		u := url.Values{"cursor": {next}}
		if past {
			u.Set("tab", "past")
		}
		d.More = withQuery(base, u)
	}
	return d, nil
}

func (s *Web) eventsPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Nav2 = v.T("events.title"), "events"
	d, err := s.eventList(r, v, "", r.URL.Query().Get("tab") == "past", "/events")
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = d
	if isHTMX(r) {
		s.fragment(w, r, 0, "events", "event-page", d)
		return
	}
	s.render(w, r, 0, "events", v)
}

func (s *Web) spaceEvents(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	sp, err := s.com.Space(r.Context(), v.principal(), r.PathValue("slug"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	base := "/s/" + url.PathEscape(sp.Slug) + "/events"
	d, err := s.eventList(r, v, sp.ID, r.URL.Query().Get("tab") == "past", base)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	head := s.spaceHead(v, sp, "events")
	d.Space, d.CanCreate = &head, manages(v.principal(), sp)
	v.Title, v.Data = v.T("events.space_title", sp.Name), d
	if isHTMX(r) {
		s.fragment(w, r, 0, "space-events", "event-page", d)
		return
	}
	s.render(w, r, 0, "space-events", v)
}

// ---- one event ----

// rsvpBox is the RSVP panel of an event page: counts, the visitor's answer and its buttons, and
// the join address for those going. htmx replaces it after each answer.
type rsvpBox struct {
	V *view
	meetup.Event
	IsOver  bool
	ShowURL bool
	Message string // what just happened, e.g. "you are on the waitlist"
}

// attendeeRow is one attendee in the managers' list.
type attendeeRow struct {
	V *view
	meetup.Attendee
	EventID string
}

// eventData is the event page.
type eventData struct {
	Event       meetup.Event
	Space       community.Space
	DescHTML    template.HTML
	RSVP        rsvpBox
	CheckInOpen bool
	IsOver      bool
	Attendees   []attendeeRow
}

func (s *Web) newRSVPBox(v *view, e meetup.Event, now time.Time) rsvpBox {
	return rsvpBox{V: v, Event: e, IsOver: e.Over(now), ShowURL: e.Online && e.URL != "" && (e.MyRSVP == meetup.Going || e.CanManage)}
}

// loadEvent reads the event of the path and its space, or shows why not and reports false.
func (s *Web) loadEvent(w http.ResponseWriter, r *http.Request, v *view, id string) (meetup.Event, community.Space, bool) {
	e, err := s.mtp.Get(r.Context(), v.principal(), id)
	if err != nil {
		s.fail(w, r, v, err)
		return e, community.Space{}, false
	}
	sp, err := s.com.Space(r.Context(), v.principal(), e.SpaceID)
	if err != nil {
		s.fail(w, r, v, err)
		return e, sp, false
	}
	return e, sp, true
}

func (s *Web) eventPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "events"
	id := r.PathValue("id")
	if cal, ok := strings.CutSuffix(id, ".ics"); ok {
		s.eventICS(w, r, v, cal)
		return
	}
	e, sp, ok := s.loadEvent(w, r, v, id)
	if !ok {
		return
	}
	s.showEvent(w, r, v, 0, e, sp)
}

// showEvent renders the event page with status (0 for 200), keeping v.Form for a failed form.
func (s *Web) showEvent(w http.ResponseWriter, r *http.Request, v *view, status int, e meetup.Event, sp community.Space) {
	now := time.Now()
	d := eventData{Event: e, Space: sp, DescHTML: safeHTML(e.DescriptionHTML), RSVP: s.newRSVPBox(v, e, now), IsOver: e.Over(now),
		CheckInOpen: v.Member != nil && !now.Before(e.StartsAt.Add(-checkInOpens)) && !now.After(e.EndsAt.Add(checkInCloses))}
	if e.CanManage {
		list, err := s.mtp.Attendees(r.Context(), v.principal(), e.ID)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		for _, a := range list {
			d.Attendees = append(d.Attendees, attendeeRow{V: v, Attendee: a, EventID: e.ID})
		}
	}
	switch r.URL.Query().Get("notice") {
	case "checked_in":
		v.Notice = v.T("event.checked_in_notice")
	case "attended":
		v.Notice = v.T("event.attended_notice")
	case "saved":
		v.Notice = v.T("event.saved_notice")
	}
	v.Title, v.Data = e.Title, d
	s.render(w, r, status, "event", v)
}

// eventICS serves the event as an iCalendar file to download.
func (s *Web) eventICS(w http.ResponseWriter, r *http.Request, v *view, id string) {
	cal, err := s.mtp.ICS(r.Context(), v.principal(), id)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	// Ids are ULIDs, but the name is built from the path: keep it to safe characters.
	name := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
			return r
		}
		return -1
	}, id)
	w.Header().Set("Content-Disposition", `attachment; filename="event-`+name+`.ics"`)
	w.Write(cal)
}

// rsvp records the visitor's answer; htmx gets the refreshed RSVP box, a plain post goes back.
func (s *Web) rsvp(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	e, err := s.mtp.RSVP(r.Context(), v.principal(), id, r.PostFormValue("status"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if !isHTMX(r) {
		s.redirect(w, r, "/events/"+url.PathEscape(id)+"#rsvp")
		return
	}
	box := s.newRSVPBox(v, e, time.Now())
	switch e.MyRSVP {
	case meetup.Going:
		box.Message = v.T("event.msg.going")
	case meetup.Waitlisted:
		box.Message = v.T("event.msg.waitlisted")
	case meetup.Interested:
		box.Message = v.T("event.msg.interested")
	case meetup.Cancelled:
		box.Message = v.T("event.msg.cancelled")
	}
	s.fragment(w, r, 0, "event", "rsvp-box", box)
}

func (s *Web) checkIn(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "events"
	r.ParseForm()
	e, sp, ok := s.loadEvent(w, r, v, r.PathValue("id"))
	if !ok {
		return
	}
	v.Form = newForm(r)
	err := s.mtp.CheckIn(r.Context(), v.principal(), e.ID, r.PostForm.Get("code"))
	if err != nil {
		if _, known := errAs(err); !known {
			s.fail(w, r, v, err)
			return
		}
		s.eventFormFailed(w, r, v, e, sp, err)
		return
	}
	s.redirect(w, r, "/events/"+url.PathEscape(e.ID)+"?notice=checked_in")
}

// eventFormFailed shows a form error on the event page.
func (s *Web) eventFormFailed(w http.ResponseWriter, r *http.Request, v *view, e meetup.Event, sp community.Space, err error) {
	e2, _ := errAs(err)
	msg := s.message(v, e2)
	if e2.Field != "" {
		v.Form.errors[e2.Field] = msg
	} else {
		v.Form.alert = msg
	}
	status := http.StatusUnprocessableEntity
	if e2.Kind == errs.KindConflict {
		status = http.StatusConflict
	}
	s.showEvent(w, r, v, status, e, sp)
}

func (s *Web) markAttended(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	if err := s.mtp.MarkAttended(r.Context(), v.principal(), id, r.PostFormValue("member_id")); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/events/"+url.PathEscape(id)+"?notice=attended#attendees")
}

// ---- the event form ----

// eventFormData is the new-event and edit form.
type eventFormData struct {
	Space  community.Space
	Edit   bool
	Action string
	Cancel string
	Zones  []string
}

// eventFormValues fills the form from an event, times in its own zone.
func eventFormValues(e meetup.Event) url.Values {
	loc := eventZone(e.TimeZone)
	u := url.Values{"title": {e.Title}, "description": {e.Description}, "url": {e.URL}, "place": {e.Place},
		"starts_at": {e.StartsAt.In(loc).Format("2006-01-02T15:04")}, "ends_at": {e.EndsAt.In(loc).Format("2006-01-02T15:04")},
		"time_zone": {e.TimeZone}, "capacity": {strconv.Itoa(e.Capacity)}, "survey_url": {e.SurveyURL}}
	if e.Online {
		u.Set("online", "1")
	}
	return u
}

func zonesWith(cur string) []string {
	if cur == "" || slices.Contains(eventZones, cur) {
		return eventZones
	}
	return append([]string{cur}, eventZones...)
}

func (s *Web) eventNewForm(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	sp, err := s.com.Space(r.Context(), v.principal(), r.PathValue("slug"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if !manages(v.principal(), sp) {
		s.fail(w, r, v, errs.Forbidden("only community staff and the space's moderators may create events"))
		return
	}
	v.Form.values = url.Values{"time_zone": {"Asia/Tokyo"}, "capacity": {"0"}}
	v.Title = v.T("event.new_title")
	v.Data = eventFormData{Space: sp, Action: "/s/" + url.PathEscape(sp.Slug) + "/events/new", Cancel: "/s/" + url.PathEscape(sp.Slug) + "/events", Zones: eventZones}
	s.render(w, r, 0, "event-form", v)
}

// eventInput reads the form. Times are wall-clock times in the chosen zone; a field that cannot
// be read comes back as that field's error.
func eventInput(f url.Values) (meetup.EventInput, error) {
	in := meetup.EventInput{Title: f.Get("title"), Description: f.Get("description"), Online: f.Get("online") != "",
		URL: f.Get("url"), Place: f.Get("place"), TimeZone: f.Get("time_zone"), SurveyURL: f.Get("survey_url")}
	loc, err := time.LoadLocation(in.TimeZone)
	if err != nil || in.TimeZone == "" || in.TimeZone == "Local" {
		if in.TimeZone != "Asia/Tokyo" {
			return in, errs.Because(errs.Invalid("time_zone", "unknown time zone"), "event_time_zone")
		}
		loc = eventZone(in.TimeZone)
	}
	for _, t := range []struct {
		field string
		dst   *time.Time
	}{{"starts_at", &in.StartsAt}, {"ends_at", &in.EndsAt}} {
		raw := strings.TrimSpace(f.Get(t.field))
		if raw == "" {
			return in, errs.Because(errs.Invalid(t.field, "give a date and time"), "event_time_required")
		}
		at, err := time.ParseInLocation("2006-01-02T15:04", raw, loc)
		if err != nil {
			return in, errs.Because(errs.Invalid(t.field, "give a date and time"), "event_time_invalid")
		}
		*t.dst = at
	}
	if c := strings.TrimSpace(f.Get("capacity")); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			return in, errs.Because(errs.Invalid("capacity", "capacity must be a number"), "event_capacity")
		}
		in.Capacity = n
	}
	return in, nil
}

// withFieldReason gives a field error without a reason code one named after the field, so a form
// words every message in the reader's language (err.<prefix><field>, e.g. err.event_place).
func withFieldReason(err error, prefix string) error {
	e, ok := errAs(err)
	if !ok || e.Reason != "" || e.Field == "" {
		return err
	}
	c := *e
	c.Reason = prefix + e.Field
	return &c
}

func (s *Web) eventCreate(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	r.ParseForm()
	v.Form = newForm(r)
	v.Title = v.T("event.new_title")
	sp, err := s.com.Space(r.Context(), v.principal(), r.PathValue("slug"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = eventFormData{Space: sp, Action: "/s/" + url.PathEscape(sp.Slug) + "/events/new", Cancel: "/s/" + url.PathEscape(sp.Slug) + "/events",
		Zones: zonesWith(r.PostForm.Get("time_zone"))}
	in, err := eventInput(r.PostForm)
	var e meetup.Event
	if err == nil {
		e, err = s.mtp.Create(r.Context(), v.principal(), sp.ID, in)
	}
	if s.formFailed(w, r, v, "event-form", withFieldReason(err, "event_")) {
		return
	}
	s.redirect(w, r, "/events/"+url.PathEscape(e.ID))
}

func (s *Web) eventEditForm(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "events"
	e, sp, ok := s.loadEvent(w, r, v, r.PathValue("id"))
	if !ok {
		return
	}
	if !e.CanManage {
		s.fail(w, r, v, errs.Forbidden("only community staff and the space's moderators may edit events"))
		return
	}
	v.Form.values = eventFormValues(e)
	v.Title = v.T("event.edit_title")
	v.Data = eventFormData{Space: sp, Edit: true, Action: "/events/" + url.PathEscape(e.ID) + "/edit", Cancel: "/events/" + url.PathEscape(e.ID),
		Zones: zonesWith(e.TimeZone)}
	s.render(w, r, 0, "event-form", v)
}

func (s *Web) eventEdit(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "events"
	r.ParseForm()
	e, sp, ok := s.loadEvent(w, r, v, r.PathValue("id"))
	if !ok {
		return
	}
	v.Form = newForm(r)
	v.Title = v.T("event.edit_title")
	v.Data = eventFormData{Space: sp, Edit: true, Action: "/events/" + url.PathEscape(e.ID) + "/edit", Cancel: "/events/" + url.PathEscape(e.ID),
		Zones: zonesWith(r.PostForm.Get("time_zone"))}
	in, err := eventInput(r.PostForm)
	if err == nil {
		_, err = s.mtp.Update(r.Context(), v.principal(), e.ID, in)
	}
	if s.formFailed(w, r, v, "event-form", withFieldReason(err, "event_")) {
		return
	}
	s.redirect(w, r, "/events/"+url.PathEscape(e.ID)+"?notice=saved")
}

// inputField is one labelled input of a form, for the ev-field partial.
type inputField struct {
	Name, Type, Label, Value, Err, Hint string
}

// fieldOf describes the input name of v's form with its label from the catalogue.
func fieldOf(v *view, name, typ, labelKey string) inputField {
	f := inputField{Name: name, Type: typ, Label: v.T(labelKey), Value: v.Form.Value(name), Err: v.Form.Err(name)}
	switch name {
	case "capacity":
		f.Hint = v.T("event.capacity_hint")
	case "survey_url":
		f.Hint = v.T("field.optional")
	}
	return f
}
