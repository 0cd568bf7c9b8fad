package api

import (
	"net/http"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/meetup"
)

// Page sizes of event lists, as the meetup part serves them.
const eventsDefault, eventsMax = 20, 100

// eventRoutes are the operations on community events. Events follow their space's visibility,
// so keys see every event.
func (a *API) eventRoutes() []route {
	const (
		manage = accounts.PermManageCommunity // write scope
		actAs  = accounts.PermActAsMember     // admin scope
	)
	return []route{
		{method: "GET", path: "/spaces/{ref}/events", handle: a.listEvents},
		{method: "POST", path: "/spaces/{ref}/events", perm: manage, handle: a.createEvent},
		{method: "GET", path: "/events/{id}", handle: a.getEvent},
		{method: "GET", path: "/events/{id}.ics", handle: a.eventCalendar},
		{method: "PATCH", path: "/events/{id}", perm: manage, handle: a.updateEvent},
		{method: "GET", path: "/events/{id}/attendees", perm: manage, handle: a.listAttendees},
		{method: "POST", path: "/events/{id}/rsvp", perm: actAs, handle: a.rsvp},
		{method: "POST", path: "/events/{id}/attendance", perm: manage, handle: a.markAttended},
	}
}

// presentEvent hides the address to join an online event from those who are neither going nor
// managing it: a read key is no attendee. The meetup part leaves this to the edge.
func presentEvent(e meetup.Event) meetup.Event {
	if e.MyRSVP != meetup.Going && !e.CanManage {
		e.URL = ""
	}
	return e
}

// eventBody is the body of POST /spaces/{ref}/events and PATCH /events/{id}: meetup.EventInput
// with its times as text, so a time that does not parse is named (encoding/json would only say
// the body is malformed).
type eventBody struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Online      bool   `json:"online"`
	URL         string `json:"url"`
	Place       string `json:"place"`
	StartsAt    string `json:"starts_at"`
	EndsAt      string `json:"ends_at"`
	TimeZone    string `json:"time_zone"`
	Capacity    int    `json:"capacity"`
	SurveyURL   string `json:"survey_url"`
}

// input parses the times; an empty one stays zero, which the meetup part refuses by name.
func (b eventBody) input() (meetup.EventInput, error) {
	in := meetup.EventInput{Title: b.Title, Description: b.Description, Online: b.Online, URL: b.URL, Place: b.Place,
		TimeZone: b.TimeZone, Capacity: b.Capacity, SurveyURL: b.SurveyURL}
	for _, t := range []struct {
		field, text string
		dst         *time.Time
	}{{"starts_at", b.StartsAt, &in.StartsAt}, {"ends_at", b.EndsAt, &in.EndsAt}} {
		if t.text == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.text)
		if err != nil {
			return in, errs.Invalid(t.field, "must be a time such as 2026-12-01T19:00:00+09:00 (RFC 3339)")
		}
		*t.dst = v
	}
	return in, nil
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, pos, err := parsePageSized(r, eventsDefault, eventsMax)
	if err != nil {
		return err
	}
	q := meetup.ListQuery{SpaceID: r.PathValue("ref"), Limit: page.Limit, Cursor: pos}
	switch when := r.URL.Query().Get("when"); when {
	case "":
	case "upcoming":
		q.Upcoming = true
	case "past":
		q.Past = true
	default:
		return errs.Invalid("when", "when must be upcoming or past")
	}
	list, next, err := a.meetup.List(r.Context(), p, q)
	if err != nil {
		return err
	}
	for i := range list {
		list[i] = presentEvent(list[i])
	}
	writeList(w, list, next)
	return nil
}

func (a *API) createEvent(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var body eventBody
	if err := httpx.DecodeJSON(w, r, &body, maxBody); err != nil {
		return err
	}
	in, err := body.input()
	if err != nil {
		return err
	}
	e, err := a.meetup.Create(r.Context(), p, r.PathValue("ref"), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/events/"+e.ID)
	httpx.WriteJSON(w, http.StatusCreated, presentEvent(e))
	return nil
}

func (a *API) getEvent(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	e, err := a.meetup.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, presentEvent(e))
	return nil
}

func (a *API) eventCalendar(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	id := r.PathValue("id")
	b, err := a.meetup.ICS(r.Context(), p, id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="event-`+id+`.ics"`)
	_, err = w.Write(b)
	return err
}

// updateEvent applies the fields given over the event as it is: the meetup part rewrites an
// event whole.
func (a *API) updateEvent(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	id := r.PathValue("id")
	e, err := a.meetup.Get(r.Context(), p, id)
	if err != nil {
		return err
	}
	body := eventBody{Title: e.Title, Description: e.Description, Online: e.Online, URL: e.URL, Place: e.Place,
		StartsAt: e.StartsAt.Format(time.RFC3339Nano), EndsAt: e.EndsAt.Format(time.RFC3339Nano), TimeZone: e.TimeZone,
		Capacity: e.Capacity, SurveyURL: e.SurveyURL}
	if err := httpx.DecodeJSON(w, r, &body, maxBody); err != nil {
		return err
	}
	in, err := body.input()
	if err != nil {
		return err
	}
	if e, err = a.meetup.Update(r.Context(), p, id, in); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, presentEvent(e))
	return nil
}

func (a *API) listAttendees(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	list, err := a.meetup.Attendees(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

// rsvpInput is the body of POST /events/{id}/rsvp.
type rsvpInput struct {
	Status   string `json:"status"`
	MemberID string `json:"member_id"`
}

func (a *API) rsvp(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in rsvpInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	mp, err := a.actingMember(r, p, in.MemberID)
	if err != nil {
		return err
	}
	e, err := a.meetup.RSVP(r.Context(), mp, r.PathValue("id"), in.Status)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, presentEvent(e))
	return nil
}

// attendanceInput is the body of POST /events/{id}/attendance.
type attendanceInput struct {
	MemberID string `json:"member_id"`
}

func (a *API) markAttended(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in attendanceInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	if in.MemberID == "" {
		return errs.Invalid("member_id", "name the member who came")
	}
	if err := a.meetup.MarkAttended(r.Context(), p, r.PathValue("id"), in.MemberID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
