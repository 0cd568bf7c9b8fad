package notify

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Service)(nil)

// mutedExport is a notification type the member turned off.
type mutedExport struct {
	MemberID string `json:"member_id"`
	Type     string `json:"type"`
}

// ExportSubject returns the subject's inbox and the notification types they turned off.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.MemberIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.MemberIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, member_id, type, actor_id, title, url, created_at, read_at FROM notifications
		WHERE member_id `+in+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting notifications: %w", err)
	}
	list := []Notification{}
	for rows.Next() {
		var n Notification
		var created int64
		var read sql.NullInt64
		if err := rows.Scan(&n.ID, &n.MemberID, &n.Type, &n.ActorID, &n.Title, &n.URL, &created, &read); err != nil {
			rows.Close()
			return nil, err
		}
		n.CreatedAt = db.Time(created)
		if read.Valid {
			t := db.Time(read.Int64)
			n.ReadAt = &t
		}
		list = append(list, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.R.QueryContext(ctx, `SELECT member_id, type FROM notification_muted WHERE member_id `+in+` ORDER BY type`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting notification settings: %w", err)
	}
	defer rows.Close()
	muted := []mutedExport{}
	for rows.Next() {
		var m mutedExport
		if err := rows.Scan(&m.MemberID, &m.Type); err != nil {
			return nil, err
		}
		muted = append(muted, m)
	}
	return []dsr.Table{{Name: "notifications", Rows: list}, {Name: "notifications_muted", Rows: muted}}, rows.Err()
}

// EraseSubject deletes the subject's inbox and settings, and the notifications others got that
// quote them (a direct message's excerpt; with the community's removal policy every one they
// caused); the others name the tombstone as who caused them.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.MemberIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.MemberIDs, 1)
	quoting := `DELETE FROM notifications WHERE type = '` + TypeDM + `' AND actor_id ` + in
	if e.RemoveContent {
		quoting = `DELETE FROM notifications WHERE actor_id ` + in
	}
	for _, q := range []string{
		`DELETE FROM notifications WHERE member_id ` + in,
		`DELETE FROM notification_muted WHERE member_id ` + in,
		quoting,
	} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("erasing notifications: %w", err)
		}
	}
	for _, m := range e.MemberIDs {
		if _, err := tx.ExecContext(ctx, `UPDATE notifications SET actor_id = $2 WHERE actor_id = $1`, m, e.Tombstone); err != nil {
			return fmt.Errorf("erasing notifications: %w", err)
		}
	}
	return nil
}
