package meetup

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Service)(nil)

// rsvpExport is one of the subject's RSVPs.
type rsvpExport struct {
	EventID       string     `json:"event_id"`
	EventTitle    string     `json:"event_title"`
	StartsAt      time.Time  `json:"starts_at"`
	Status        string     `json:"status"`
	StatusAt      time.Time  `json:"status_at"`
	CheckedInAt   *time.Time `json:"checked_in_at"`
	CheckInMethod string     `json:"check_in_method"`
}

// ExportSubject returns the subject's RSVPs and attendance.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.MemberIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.MemberIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT r.event_id, e.title, e.starts_at, r.status, r.status_at, r.checked_in_at, r.check_in_method
		FROM meetup_rsvps r JOIN meetup_events e ON e.id = r.event_id WHERE r.member_id `+in+` ORDER BY e.starts_at`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting RSVPs: %w", err)
	}
	defer rows.Close()
	out := []rsvpExport{}
	for rows.Next() {
		var r rsvpExport
		var starts, at int64
		var checked sql.NullInt64
		if err := rows.Scan(&r.EventID, &r.EventTitle, &starts, &r.Status, &at, &checked, &r.CheckInMethod); err != nil {
			return nil, err
		}
		r.StartsAt, r.StatusAt = db.Time(starts), db.Time(at)
		if checked.Valid {
			t := db.Time(checked.Int64)
			r.CheckedInAt = &t
		}
		out = append(out, r)
	}
	return []dsr.Table{{Name: "event_rsvps", Rows: out}}, rows.Err()
}

// EraseSubject deletes the subject's RSVPs to events still to come, giving their seats to the
// waitlist as a cancellation does, and keeps those of events that are over under the tombstone,
// so attendance figures stay true without saying who came. Events they created name the
// tombstone as creator.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	for _, m := range e.MemberIDs {
		rows, err := tx.QueryContext(ctx, `SELECT r.event_id, r.status, e.space_id, e.title, e.ends_at FROM meetup_rsvps r
			JOIN meetup_events e ON e.id = r.event_id WHERE r.member_id = $1`, m)
		if err != nil {
			return fmt.Errorf("erasing RSVPs: %w", err)
		}
		type rsvp struct {
			event, status, space, title string
			ends                        int64
		}
		var list []rsvp
		for rows.Next() {
			var r rsvp
			if err := rows.Scan(&r.event, &r.status, &r.space, &r.title, &r.ends); err != nil {
				rows.Close()
				return err
			}
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range list {
			if r.ends <= db.Now(e.At) {
				// (A second account of the same person that came too is dropped, not counted twice.)
				if _, err := tx.ExecContext(ctx, `UPDATE meetup_rsvps SET member_id = $1 WHERE event_id = $2 AND member_id = $3
					AND NOT EXISTS (SELECT 1 FROM meetup_rsvps t WHERE t.event_id = $2 AND t.member_id = $1)`, e.Tombstone, r.event, m); err != nil {
					return fmt.Errorf("erasing RSVP to %s: %w", r.event, err)
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM meetup_rsvps WHERE event_id = $1 AND member_id = $2`, r.event, m); err != nil {
					return err
				}
				if err := recount(ctx, tx, r.event); err != nil {
					return err
				}
				continue
			}
			// Lock the event row as an RSVP does, so the seat goes to exactly one waiting member.
			if _, err := tx.ExecContext(ctx, `UPDATE meetup_events SET going = going WHERE id = $1`, r.event); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM meetup_rsvps WHERE event_id = $1 AND member_id = $2`, r.event, m); err != nil {
				return fmt.Errorf("erasing RSVP to %s: %w", r.event, err)
			}
			if r.status == Going {
				if _, err := s.promote(ctx, tx, r.event, r.space, r.title, e.At); err != nil {
					return err
				}
			}
			if err := recount(ctx, tx, r.event); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE meetup_events SET created_by = $2 WHERE created_by = $1`, m, e.Tombstone); err != nil {
			return err
		}
	}
	return nil
}
