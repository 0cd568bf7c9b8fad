package meetup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
)

// RSVP records p's answer to an event: going, interested or cancelled. Going to a full event puts
// p on the waitlist (MyRSVP says waitlisted). When someone going steps back, the member waiting
// longest gets the seat and is notified, in the same transaction. Answering the same again
// changes nothing.
func (s *Service) RSVP(ctx context.Context, p accounts.Principal, eventID, status string) (Event, error) {
	m, err := s.attendee(ctx, p)
	if err != nil {
		return Event{}, err
	}
	if status != Going && status != Interested && status != Cancelled {
		return Event{}, errs.Invalid("status", "status must be going, interested or cancelled")
	}
	e, _, err := s.load(ctx, p, eventID)
	if err != nil {
		return Event{}, err
	}
	now := s.now()
	if e.Over(now) {
		return Event{}, errs.Because(errs.Conflict("", "this event is over"), "event_over")
	}
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		// Touching the event row first locks it on PostgreSQL, so RSVPs to one event take turns
		// and two members never get the last seat. SQLite has one writer anyway.
		var capacity, going int
		if err := tx.QueryRowContext(ctx, `UPDATE meetup_events SET going = going WHERE id = $1 RETURNING capacity`, eventID).Scan(&capacity); err != nil {
			return fmt.Errorf("locking event %s: %w", eventID, err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM meetup_rsvps WHERE event_id = $1 AND status = 'going'`, eventID).Scan(&going); err != nil {
			return err
		}
		prev, err := rsvpStatus(ctx, tx, eventID, m.ID)
		if err != nil {
			return err
		}
		next := status
		switch {
		case status == Going && (prev == Going || prev == Waitlisted):
			next = prev
		case status == Going && capacity > 0 && going >= capacity:
			next = Waitlisted
		case status == Cancelled && prev == "":
			next = prev // nothing to cancel
		}
		if next == prev {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO meetup_rsvps (event_id, member_id, status, status_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (event_id, member_id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at`,
			eventID, m.ID, next, db.Now(now)); err != nil {
			return fmt.Errorf("saving RSVP: %w", err)
		}
		if err := s.outbox.Emit(ctx, tx, event.Community("Event RSVP Changed", m.ID, now, map[string]any{
			"event_id": eventID, "space_id": e.SpaceID, "status": next, "previous_status": prev, "waitlisted": next == Waitlisted,
		})); err != nil {
			return err
		}
		if prev == Going {
			if _, err := s.promote(ctx, tx, eventID, e.SpaceID, e.Title, now); err != nil {
				return err
			}
		}
		return recount(ctx, tx, eventID)
	})
	if err != nil {
		return Event{}, err
	}
	return s.Get(ctx, p, eventID)
}

// rsvpStatus returns a member's status for an event, "" when they have none.
func rsvpStatus(ctx context.Context, tx *sql.Tx, eventID, memberID string) (string, error) {
	var st string
	err := tx.QueryRowContext(ctx, `SELECT status FROM meetup_rsvps WHERE event_id = $1 AND member_id = $2`, eventID, memberID).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return st, err
}

// promote gives free seats to waitlisted members, longest waiting first, notifying each, and
// returns who moved up. The caller holds the event's row lock and recounts afterwards.
func (s *Service) promote(ctx context.Context, tx *sql.Tx, eventID, spaceID, title string, now time.Time) ([]string, error) {
	var capacity, going int
	if err := tx.QueryRowContext(ctx, `SELECT capacity FROM meetup_events WHERE id = $1`, eventID).Scan(&capacity); err != nil {
		return nil, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM meetup_rsvps WHERE event_id = $1 AND status = 'going'`, eventID).Scan(&going); err != nil {
		return nil, err
	}
	query := `SELECT member_id FROM meetup_rsvps WHERE event_id = $1 AND status = 'waitlisted' ORDER BY status_at, member_id`
	args := []any{eventID}
	if capacity > 0 {
		if going >= capacity {
			return nil, nil
		}
		query += ` LIMIT $2`
		args = append(args, capacity-going)
	}
	promoted, err := memberIDs(ctx, tx, query, args...)
	if err != nil {
		return nil, err
	}
	for _, m := range promoted {
		if _, err := tx.ExecContext(ctx, `UPDATE meetup_rsvps SET status = 'going', status_at = $1 WHERE event_id = $2 AND member_id = $3`,
			db.Now(now), eventID, m); err != nil {
			return nil, fmt.Errorf("promoting %s: %w", m, err)
		}
		// The notification names no actor: who gave up the seat is not the waiting member's business.
		if err := s.notifyMember(ctx, tx, m, "", title, eventID); err != nil {
			return nil, err
		}
		if err := s.outbox.Emit(ctx, tx, event.Community("Event Waitlist Promoted", m, now, map[string]any{"event_id": eventID, "space_id": spaceID})); err != nil {
			return nil, err
		}
	}
	return promoted, nil
}
