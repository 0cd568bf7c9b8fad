package meetup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/search"
)

// RSVP statuses. A member's status is "" before they answer.
const (
	Going      = "going"
	Waitlisted = "waitlisted" // wanted to go when the event was full; promoted in order when a seat frees
	Interested = "interested"
	Cancelled  = "cancelled"
)

// Event is a meetup or webinar in a space.
type Event struct {
	ID              string    `json:"id"`
	SpaceID         string    `json:"space_id"`
	Title           string    `json:"title"`
	Description     string    `json:"description"`      // Markdown as written
	DescriptionHTML string    `json:"description_html"` // sanitised HTML
	Online          bool      `json:"online"`
	URL             string    `json:"url"` // where to join; the edge shows it only to people going
	Place           string    `json:"place"`
	StartsAt        time.Time `json:"starts_at"`
	EndsAt          time.Time `json:"ends_at"`
	TimeZone        string    `json:"time_zone"` // IANA name the event is shown in
	Capacity        int       `json:"capacity"`  // 0: unlimited
	Going           int       `json:"going"`
	Waitlisted      int       `json:"waitlisted"`
	Interested      int       `json:"interested"`
	SurveyURL       string    `json:"survey_url"`
	CheckInCode     string    `json:"check_in_code,omitempty"` // only in views of those who manage the event
	CreatedAt       time.Time `json:"created_at"`
	// The viewer's relation to the event.
	MyRSVP    string `json:"my_rsvp"`
	CheckedIn bool   `json:"checked_in"`
	CanManage bool   `json:"can_manage"`
}

// Over reports whether the event has ended at now.
func (e Event) Over(now time.Time) bool { return !now.Before(e.EndsAt) }

// Full reports whether every seat is taken.
func (e Event) Full() bool { return e.Capacity > 0 && e.Going >= e.Capacity }

// EventInput is what staff write about an event.
type EventInput struct {
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Online      bool      `json:"online"`
	URL         string    `json:"url"`
	Place       string    `json:"place"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	TimeZone    string    `json:"time_zone"`
	Capacity    int       `json:"capacity"`
	SurveyURL   string    `json:"survey_url"`
}

// Limits of what an event may hold.
const (
	maxTitle       = 200
	maxDescription = 50000
	maxPlace       = 300
	maxURL         = 2000
	maxCapacity    = 100000
	maxDuration    = 14 * 24 * time.Hour
)

func (in *EventInput) check() error {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	in.URL = strings.TrimSpace(in.URL)
	in.Place = strings.TrimSpace(in.Place)
	in.TimeZone = strings.TrimSpace(in.TimeZone)
	in.SurveyURL = strings.TrimSpace(in.SurveyURL)
	switch {
	case in.Title == "":
		return errs.Because(errs.Invalid("title", "title is required"), "title_required")
	case utf8.RuneCountInString(in.Title) > maxTitle:
		return errs.Because(errs.Invalid("title", "title must be at most %d characters", maxTitle), "title_long", maxTitle)
	case utf8.RuneCountInString(in.Description) > maxDescription:
		return errs.Invalid("description", "description must be at most %d characters", maxDescription)
	case in.StartsAt.IsZero():
		return errs.Invalid("starts_at", "say when the event starts")
	case in.EndsAt.IsZero() || !in.EndsAt.After(in.StartsAt):
		return errs.Because(errs.Invalid("ends_at", "the event must end after it starts"), "ends_before_start")
	case in.EndsAt.Sub(in.StartsAt) > maxDuration:
		return errs.Invalid("ends_at", "an event lasts at most 14 days")
	case in.Capacity < 0 || in.Capacity > maxCapacity:
		return errs.Invalid("capacity", "capacity must be 0 (unlimited) to %d", maxCapacity)
	case utf8.RuneCountInString(in.Place) > maxPlace:
		return errs.Invalid("place", "place must be at most %d characters", maxPlace)
	case in.Online && in.URL == "":
		return errs.Invalid("url", "an online event needs the address to join it")
	case !in.Online && in.Place == "":
		return errs.Invalid("place", "say where the event takes place")
	}
	if err := checkURL("url", in.URL); err != nil {
		return err
	}
	if err := checkURL("survey_url", in.SurveyURL); err != nil {
		return err
	}
	// "Local" is the server's zone, which means nothing to readers; "" would be UTC by accident.
	if in.TimeZone == "" || in.TimeZone == "Local" {
		return errs.Invalid("time_zone", "give the event's time zone, e.g. Asia/Tokyo")
	}
	if _, err := time.LoadLocation(in.TimeZone); err != nil {
		return errs.Invalid("time_zone", "unknown time zone %q; use an IANA name such as Asia/Tokyo", in.TimeZone)
	}
	in.StartsAt, in.EndsAt = in.StartsAt.UTC().Truncate(time.Millisecond), in.EndsAt.UTC().Truncate(time.Millisecond)
	return nil
}

// checkURL accepts "" and absolute http(s) addresses only, so no javascript: or data: link is stored.
func checkURL(field, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > maxURL {
		return errs.Because(errs.Invalid(field, "give an http:// or https:// address"), "url_invalid")
	}
	return nil
}

const eventCols = `e.id, e.space_id, e.title, e.description, e.description_html, e.online, e.url, e.place, e.starts_at, e.ends_at,
	e.time_zone, e.capacity, e.going, e.waitlisted, e.interested, e.survey_url, e.check_in_code, e.created_at,
	coalesce(r.status, ''), r.checked_in_at`

// eventFrom joins the viewer's RSVP; $1 is the viewer's member id ("" matches nothing).
const eventFrom = ` FROM meetup_events e LEFT JOIN meetup_rsvps r ON r.event_id = e.id AND r.member_id = $1 `

func scanEvent(row interface{ Scan(...any) error }) (Event, error) {
	var e Event
	var online int
	var starts, ends, created int64
	var checkedIn sql.NullInt64
	err := row.Scan(&e.ID, &e.SpaceID, &e.Title, &e.Description, &e.DescriptionHTML, &online, &e.URL, &e.Place, &starts, &ends,
		&e.TimeZone, &e.Capacity, &e.Going, &e.Waitlisted, &e.Interested, &e.SurveyURL, &e.CheckInCode, &created,
		&e.MyRSVP, &checkedIn)
	e.Online, e.CheckedIn = online == 1, checkedIn.Valid
	e.StartsAt, e.EndsAt, e.CreatedAt = db.Time(starts), db.Time(ends), db.Time(created)
	return e, err
}

// errNoEvent hides whether an event the reader may not see exists.
func errNoEvent(id string) error { return errs.NotFound("no event %s", id) }

// load returns an event p may see with its space, check-in code included: callers that show it
// go through present.
func (s *Service) load(ctx context.Context, p accounts.Principal, eventID string) (Event, community.Space, error) {
	e, err := scanEvent(s.db.R.QueryRowContext(ctx, `SELECT `+eventCols+eventFrom+`WHERE e.id = $2`, p.MemberID, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, community.Space{}, errNoEvent(eventID)
	}
	if err != nil {
		return Event{}, community.Space{}, fmt.Errorf("loading event %s: %w", eventID, err)
	}
	sp, err := s.community.Space(ctx, p, e.SpaceID)
	if errs.KindOf(err) == errs.KindNotFound {
		return Event{}, community.Space{}, errNoEvent(eventID)
	}
	if err != nil {
		return Event{}, community.Space{}, err
	}
	e.CanManage = canManage(p, sp)
	return e, sp, nil
}

// present hides what only the event's managers see.
func present(e Event) Event {
	if !e.CanManage {
		e.CheckInCode = ""
	}
	return e
}

// Get returns an event p may see, with p's relation to it.
func (s *Service) Get(ctx context.Context, p accounts.Principal, eventID string) (Event, error) {
	e, _, err := s.load(ctx, p, eventID)
	return present(e), err
}

// Create schedules an event in a space. Community staff and the space's moderators may.
func (s *Service) Create(ctx context.Context, p accounts.Principal, spaceRef string, in EventInput) (Event, error) {
	if p.Anonymous() {
		return Event{}, errs.Unauthenticated("log in to create events")
	}
	sp, err := s.community.Space(ctx, p, spaceRef)
	if err != nil {
		return Event{}, err
	}
	if !canManage(p, sp) {
		return Event{}, errs.Forbidden("only community staff and the space's moderators may create events")
	}
	if err := in.check(); err != nil {
		return Event{}, err
	}
	now := s.now()
	eventID := id.New(now)
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meetup_events (id, space_id, title, description, description_html, online, url, place,
			starts_at, ends_at, time_zone, capacity, survey_url, check_in_code, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)`,
			eventID, sp.ID, in.Title, in.Description, s.md.HTML(in.Description), db.Bool(in.Online), in.URL, in.Place,
			db.Now(in.StartsAt), db.Now(in.EndsAt), in.TimeZone, in.Capacity, in.SurveyURL, newCheckInCode(), p.Actor(), db.Now(now)); err != nil {
			return fmt.Errorf("adding event: %w", err)
		}
		if err := s.index(ctx, tx, eventID, sp.ID, in, now); err != nil {
			return err
		}
		if err := s.acc.Audit(ctx, tx, p, "event.created", eventID, map[string]any{"space_id": sp.ID, "title": in.Title}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Event Created", p.Actor(), now, map[string]any{
			"event_id": eventID, "space_id": sp.ID, "online": in.Online, "capacity": in.Capacity,
			"starts_at": in.StartsAt.Format(time.RFC3339), "time_zone": in.TimeZone,
		}))
	})
	if err != nil {
		return Event{}, err
	}
	return s.Get(ctx, p, eventID)
}

func (s *Service) index(ctx context.Context, tx *sql.Tx, eventID, spaceID string, in EventInput, at time.Time) error {
	if s.search == nil {
		return nil
	}
	body := s.md.Text(in.Description)
	if in.Place != "" {
		body = in.Place + " " + body
	}
	return s.search.Put(ctx, tx, search.Doc{Kind: search.KindEvent, ID: eventID, SpaceID: spaceID, Title: in.Title, Body: body,
		URL: "/events/" + eventID, At: at})
}

// Update rewrites an event. When its time or place changes, everyone going or waitlisted is
// notified; when its capacity grows, waitlisted members move up.
func (s *Service) Update(ctx context.Context, p accounts.Principal, eventID string, in EventInput) (Event, error) {
	if p.Anonymous() {
		return Event{}, errs.Unauthenticated("log in to edit events")
	}
	old, _, err := s.load(ctx, p, eventID)
	if err != nil {
		return Event{}, err
	}
	if !old.CanManage {
		return Event{}, errs.Forbidden("only community staff and the space's moderators may edit events")
	}
	if err := in.check(); err != nil {
		return Event{}, err
	}
	timeChanged := !in.StartsAt.Equal(old.StartsAt) || !in.EndsAt.Equal(old.EndsAt)
	placeChanged := in.Online != old.Online || in.Place != old.Place || in.URL != old.URL
	now := s.now()
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE meetup_events SET title = $1, description = $2, description_html = $3, online = $4, url = $5,
			place = $6, starts_at = $7, ends_at = $8, time_zone = $9, capacity = $10, survey_url = $11, updated_at = $12 WHERE id = $13`,
			in.Title, in.Description, s.md.HTML(in.Description), db.Bool(in.Online), in.URL, in.Place, db.Now(in.StartsAt), db.Now(in.EndsAt),
			in.TimeZone, in.Capacity, in.SurveyURL, db.Now(now), eventID); err != nil {
			return fmt.Errorf("updating event %s: %w", eventID, err)
		}
		notified := 0
		if timeChanged || placeChanged {
			members, err := memberIDs(ctx, tx, `SELECT member_id FROM meetup_rsvps WHERE event_id = $1 AND status IN ('going', 'waitlisted') ORDER BY member_id`, eventID)
			if err != nil {
				return err
			}
			for _, m := range members {
				if err := s.notifyMember(ctx, tx, m, p.Actor(), in.Title, eventID); err != nil {
					return err
				}
			}
			notified = len(members)
		}
		if in.Capacity != old.Capacity {
			if _, err := s.promote(ctx, tx, eventID, old.SpaceID, in.Title, now); err != nil {
				return err
			}
		}
		if err := recount(ctx, tx, eventID); err != nil {
			return err
		}
		if err := s.index(ctx, tx, eventID, old.SpaceID, in, old.CreatedAt); err != nil {
			return err
		}
		if err := s.acc.Audit(ctx, tx, p, "event.updated", eventID, map[string]any{"time_changed": timeChanged, "place_changed": placeChanged}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Event Updated", p.Actor(), now, map[string]any{
			"event_id": eventID, "space_id": old.SpaceID, "time_changed": timeChanged, "place_changed": placeChanged, "notified": notified,
		}))
	})
	if err != nil {
		return Event{}, err
	}
	return s.Get(ctx, p, eventID)
}

func (s *Service) notifyMember(ctx context.Context, tx *sql.Tx, memberID, actor, title, eventID string) error {
	if s.notify == nil {
		return nil
	}
	return s.notify.Add(ctx, tx, notify.Notification{MemberID: memberID, Type: notify.TypeEventUpdate, ActorID: actor, Title: title, URL: "/events/" + eventID})
}

func memberIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// recount stores the event's RSVP counts from its RSVPs.
func recount(ctx context.Context, tx *sql.Tx, eventID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE meetup_events SET
		going = (SELECT count(*) FROM meetup_rsvps WHERE event_id = $1 AND status = 'going'),
		waitlisted = (SELECT count(*) FROM meetup_rsvps WHERE event_id = $1 AND status = 'waitlisted'),
		interested = (SELECT count(*) FROM meetup_rsvps WHERE event_id = $1 AND status = 'interested')
		WHERE id = $1`, eventID)
	if err != nil {
		return fmt.Errorf("counting RSVPs of event %s: %w", eventID, err)
	}
	return nil
}

// ListQuery selects events.
type ListQuery struct {
	SpaceID  string // id or slug; "" for every space the reader may see
	Upcoming bool   // events not over yet, soonest first
	Past     bool   // events that ended, latest first
	Limit    int
	Cursor   string
}

// List returns the events p may see, with the cursor of the next page ("" at the end). Without
// Upcoming or Past it lists every event, latest start first.
func (s *Service) List(ctx context.Context, p accounts.Principal, q ListQuery) ([]Event, string, error) {
	if q.Upcoming && q.Past {
		return nil, "", errs.Invalid("past", "ask for upcoming or past events, not both")
	}
	q.Limit = db.Limit(q.Limit, 20, 100)
	spaces := map[string]community.Space{}
	if q.SpaceID != "" {
		sp, err := s.community.Space(ctx, p, q.SpaceID)
		if err != nil {
			return nil, "", err
		}
		spaces[sp.ID] = sp
	} else {
		all, err := s.community.Spaces(ctx, p)
		if err != nil {
			return nil, "", err
		}
		for _, sp := range all {
			spaces[sp.ID] = sp
		}
	}
	if len(spaces) == 0 {
		return []Event{}, "", nil
	}
	args := []any{p.MemberID}
	arg := func(x any) string {
		args = append(args, x)
		return "$" + strconv.Itoa(len(args))
	}
	ph := make([]string, 0, len(spaces))
	for spaceID := range spaces {
		ph = append(ph, arg(spaceID))
	}
	where := []string{"e.space_id IN (" + strings.Join(ph, ", ") + ")"}
	// An event is upcoming until it ends, so one under way still shows with the ones to come.
	now := db.Now(s.now())
	order, cmp := "e.starts_at DESC, e.id DESC", "<"
	switch {
	case q.Upcoming:
		where = append(where, "e.ends_at > "+arg(now))
		order, cmp = "e.starts_at, e.id", ">"
	case q.Past:
		where = append(where, "e.ends_at <= "+arg(now))
	}
	if q.Cursor != "" {
		at, after, ok := strings.Cut(q.Cursor, ".")
		ms, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || after == "" {
			return nil, "", errs.Invalid("cursor", "invalid cursor")
		}
		// Row values compare like the ORDER BY, on both engines.
		where = append(where, fmt.Sprintf("(e.starts_at, e.id) %s (%s, %s)", cmp, arg(ms), arg(after)))
	}
	query := `SELECT ` + eventCols + eventFrom + `WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order + ` LIMIT ` + arg(q.Limit+1)
	rows, err := s.db.R.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("listing events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, "", err
		}
		e.CanManage = canManage(p, spaces[e.SpaceID])
		out = append(out, present(e))
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(out) <= q.Limit {
		return out, "", nil
	}
	out = out[:q.Limit]
	last := out[q.Limit-1]
	return out, fmt.Sprintf("%d.%s", db.Now(last.StartsAt), last.ID), nil
}
