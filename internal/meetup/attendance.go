package meetup

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
)

// Check-in methods, as Event Attended reports them.
const (
	MethodCode  = "code"
	MethodStaff = "staff"
)

// The check-in window: members may check in from an hour before the start to two hours after the end.
const (
	checkInOpens  = time.Hour
	checkInCloses = 2 * time.Hour
)

// CheckIn checks p in with the code shown at the event. Members going and walk-ins may; someone
// on the waitlist has no seat. Checking in again changes nothing.
func (s *Service) CheckIn(ctx context.Context, p accounts.Principal, eventID, code string) error {
	m, err := s.attendee(ctx, p)
	if err != nil {
		return err
	}
	e, _, err := s.load(ctx, p, eventID)
	if err != nil {
		return err
	}
	now := s.now()
	if now.Before(e.StartsAt.Add(-checkInOpens)) || now.After(e.EndsAt.Add(checkInCloses)) {
		return errs.Because(errs.Conflict("", "check-in is open from an hour before the event to two hours after it"), "check_in_closed")
	}
	code = strings.ToUpper(strings.TrimSpace(code))
	if subtle.ConstantTimeCompare([]byte(code), []byte(e.CheckInCode)) != 1 {
		return errs.Because(errs.Invalid("code", "that is not this event's check-in code"), "check_in_code_wrong")
	}
	// Interested and cancelled hold no seat, so they check in like walk-ins; the waitlist waits.
	if e.MyRSVP == Waitlisted {
		return errs.Because(errs.Conflict("", "you are on the waitlist; ask the staff at the event"), "waitlisted")
	}
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		_, err := s.attend(ctx, tx, e.ID, e.SpaceID, m.ID, MethodCode, now)
		return err
	})
}

// MarkAttended records that a member came, as staff saw it. Community staff and the space's
// moderators may, at any time.
func (s *Service) MarkAttended(ctx context.Context, p accounts.Principal, eventID, memberID string) error {
	if p.Anonymous() {
		return errs.Unauthenticated("log in to mark attendance")
	}
	e, _, err := s.load(ctx, p, eventID)
	if err != nil {
		return err
	}
	if !e.CanManage {
		return errs.Forbidden("only community staff and the space's moderators may mark attendance")
	}
	if _, err := s.acc.GetMember(ctx, memberID); err != nil {
		if errs.KindOf(err) == errs.KindNotFound {
			return errs.Invalid("member_id", "no member with id %s", memberID)
		}
		return err
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		marked, err := s.attend(ctx, tx, e.ID, e.SpaceID, memberID, MethodStaff, now)
		if err != nil {
			return err
		}
		return s.acc.Audit(ctx, tx, p, "event.attendance_marked", e.ID, map[string]any{"member_id": memberID, "already_checked_in": !marked})
	})
}

// attend records the member's attendance once and emits Event Attended the first time only. It
// reports whether this was the first time.
func (s *Service) attend(ctx context.Context, tx *sql.Tx, eventID, spaceID, memberID, method string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO meetup_rsvps (event_id, member_id, status, status_at, checked_in_at, check_in_method)
		VALUES ($1, $2, '', $3, $3, $4)
		ON CONFLICT (event_id, member_id) DO UPDATE SET checked_in_at = excluded.checked_in_at, check_in_method = excluded.check_in_method
		WHERE meetup_rsvps.checked_in_at IS NULL`, eventID, memberID, db.Now(now), method)
	if err != nil {
		return false, fmt.Errorf("recording attendance: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil // checked in before: no change, no event
	}
	return true, s.outbox.Emit(ctx, tx, event.Community("Event Attended", memberID, now, map[string]any{"event_id": eventID, "space_id": spaceID, "method": method}))
}

// Attendee is one member's RSVP and attendance, as the event's managers see it.
type Attendee struct {
	MemberID    string     `json:"member_id"`
	DisplayName string     `json:"display_name"`
	Email       string     `json:"email,omitempty"` // only for staff, not for a space moderator who is a member
	Status      string     `json:"status"`          // going, waitlisted, interested, cancelled; "" for a walk-in
	CheckedInAt *time.Time `json:"checked_in_at"`
	Method      string     `json:"method,omitempty"` // how they checked in: code or staff
}

// Attendees lists who answered or came: going, then the waitlist in order, then interested and
// walk-ins; cancellations only when the member came after all. For the event's managers only.
func (s *Service) Attendees(ctx context.Context, p accounts.Principal, eventID string) ([]Attendee, error) {
	if p.Anonymous() {
		return nil, errs.Unauthenticated("log in to see attendees")
	}
	e, _, err := s.load(ctx, p, eventID)
	if err != nil {
		return nil, err
	}
	if !e.CanManage {
		return nil, errs.Forbidden("only community staff and the space's moderators may see attendees")
	}
	showEmail := accounts.Allowed(p, accounts.PermViewMembers)
	rows, err := s.db.R.QueryContext(ctx, `SELECT r.member_id, m.display_name, m.email, r.status, r.checked_in_at, r.check_in_method
		FROM meetup_rsvps r JOIN members m ON m.id = r.member_id
		WHERE r.event_id = $1 AND (r.status <> 'cancelled' OR r.checked_in_at IS NOT NULL)
		ORDER BY CASE r.status WHEN 'going' THEN 0 WHEN 'waitlisted' THEN 1 WHEN 'interested' THEN 2 ELSE 3 END, r.status_at, r.member_id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("listing attendees: %w", err)
	}
	defer rows.Close()
	out := []Attendee{}
	for rows.Next() {
		var a Attendee
		var checked sql.NullInt64
		if err := rows.Scan(&a.MemberID, &a.DisplayName, &a.Email, &a.Status, &checked, &a.Method); err != nil {
			return nil, err
		}
		if !showEmail {
			a.Email = ""
		}
		if checked.Valid {
			t := db.Time(checked.Int64)
			a.CheckedInAt = &t
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
