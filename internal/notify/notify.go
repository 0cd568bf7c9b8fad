// Package notify is the in-app notification inbox: other parts add notifications inside their own
// transactions, members list them, mark them read and turn types they do not want off.
package notify

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the notification tables.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "notify", FS: sub}
}

// The notification types.
const (
	TypeMention        = "mention"
	TypeReply          = "reply"
	TypeAnswer         = "answer"
	TypeAnswerAccepted = "answer_accepted"
	TypeIdeaStatus     = "idea_status"
	TypeDM             = "dm"
	TypeEventUpdate    = "event_update"
	TypeModeration     = "moderation"
)

// Types lists every notification type, in the order a preferences page shows them.
var Types = []string{TypeMention, TypeReply, TypeAnswer, TypeAnswerAccepted, TypeIdeaStatus, TypeDM, TypeEventUpdate, TypeModeration}

// ValidType reports whether t is one of Types.
func ValidType(t string) bool { return slices.Contains(Types, t) }

// Page sizes of List.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	maxTitle     = 200 // characters kept of a title
	maxMarkRead  = 500 // ids per MarkRead call
)

// Notification is one entry of a member's inbox.
type Notification struct {
	ID        string     `json:"id"`
	MemberID  string     `json:"member_id"` // recipient
	Type      string     `json:"type"`      // one of Types
	ActorID   string     `json:"actor_id"`  // who caused it ("" for the system)
	Title     string     `json:"title"`     // e.g. the post title
	URL       string     `json:"url"`       // local path to open
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
}

// Deps are what the notify service needs.
type Deps struct {
	DB *db.DB
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service is the notify part.
type Service struct {
	db  *db.DB
	now func() time.Time
}

// New returns the notify service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

func unknownType(t string) error {
	return errs.Because(errs.Invalid("type", "unknown notification type %q; types are %s", t, strings.Join(Types, ", ")), "notify_type_unknown")
}

// Add puts n in its recipient's inbox inside the caller's transaction, so it commits with the
// change it tells about. It adds nothing when the recipient caused it or turned the type off. An
// empty ID or CreatedAt is filled in.
func (s *Service) Add(ctx context.Context, tx *sql.Tx, n Notification) error {
	if !ValidType(n.Type) {
		return unknownType(n.Type)
	}
	if n.MemberID == "" {
		return errs.Invalid("member_id", "a notification needs a recipient")
	}
	if n.MemberID == n.ActorID {
		return nil
	}
	var muted int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM notification_muted WHERE member_id = $1 AND type = $2`,
		n.MemberID, n.Type).Scan(&muted); err != nil {
		return fmt.Errorf("reading notification preferences: %w", err)
	}
	if muted > 0 {
		return nil
	}
	now := s.now()
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now
	}
	if n.ID == "" {
		n.ID = id.New(now)
	}
	if utf8.RuneCountInString(n.Title) > maxTitle {
		n.Title = string([]rune(n.Title)[:maxTitle-1]) + "…"
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO notifications (id, member_id, type, actor_id, title, url, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		n.ID, n.MemberID, n.Type, n.ActorID, n.Title, n.URL, db.Now(n.CreatedAt)); err != nil {
		return fmt.Errorf("adding notification: %w", err)
	}
	return nil
}

// List returns up to limit of the member's notifications older than the one with id before (all
// when ""), newest first, and the id to continue before, or "" at the end.
func (s *Service) List(ctx context.Context, memberID, before string, limit int) ([]Notification, string, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	q := `SELECT id, member_id, type, actor_id, title, url, created_at, read_at FROM notifications WHERE member_id = $1`
	args := []any{memberID}
	if before != "" {
		q += ` AND id < $2`
		args = append(args, before)
	}
	q += ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args)+1)
	args = append(args, limit+1)
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("listing notifications: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var n Notification
		var created int64
		var read sql.NullInt64
		if err := rows.Scan(&n.ID, &n.MemberID, &n.Type, &n.ActorID, &n.Title, &n.URL, &created, &read); err != nil {
			return nil, "", err
		}
		n.CreatedAt = db.Time(created)
		if read.Valid {
			t := db.Time(read.Int64)
			n.ReadAt = &t
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("listing notifications: %w", err)
	}
	out, next := db.TrimPage(out, limit, func(n Notification) string { return n.ID })
	return out, next, nil
}

// UnreadCount returns how many of the member's notifications are unread.
func (s *Service) UnreadCount(ctx context.Context, memberID string) (int, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM notifications WHERE member_id = $1 AND read_at IS NULL`, memberID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting unread notifications: %w", err)
	}
	return n, nil
}

// MarkRead marks the notifications ids read. Ids of other members' notifications, unknown ids and
// notifications already read are left alone.
func (s *Service) MarkRead(ctx context.Context, memberID string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > maxMarkRead {
		return errs.Invalid("ids", "at most %d notifications at once", maxMarkRead)
	}
	args := []any{db.Now(s.now()), memberID}
	ps := make([]string, len(ids))
	for i, x := range ids {
		args = append(args, x)
		ps[i] = "$" + strconv.Itoa(len(args))
	}
	_, err := s.db.W.ExecContext(ctx, `UPDATE notifications SET read_at = $1
		WHERE member_id = $2 AND read_at IS NULL AND id IN (`+strings.Join(ps, ", ")+`)`, args...)
	if err != nil {
		return fmt.Errorf("marking notifications read: %w", err)
	}
	return nil
}

// MarkAllRead marks every notification of the member read.
func (s *Service) MarkAllRead(ctx context.Context, memberID string) error {
	_, err := s.db.W.ExecContext(ctx, `UPDATE notifications SET read_at = $1 WHERE member_id = $2 AND read_at IS NULL`,
		db.Now(s.now()), memberID)
	if err != nil {
		return fmt.Errorf("marking notifications read: %w", err)
	}
	return nil
}

// Preferences returns every type with whether the member receives it (true unless turned off).
func (s *Service) Preferences(ctx context.Context, memberID string) (map[string]bool, error) {
	out := make(map[string]bool, len(Types))
	for _, t := range Types {
		out[t] = true
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT type FROM notification_muted WHERE member_id = $1`, memberID)
	if err != nil {
		return nil, fmt.Errorf("reading notification preferences: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		if ValidType(t) {
			out[t] = false
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading notification preferences: %w", err)
	}
	return out, nil
}

// SetPreference turns notifications of type typ on or off for the member.
func (s *Service) SetPreference(ctx context.Context, memberID, typ string, enabled bool) error {
	if !ValidType(typ) {
		return unknownType(typ)
	}
	var err error
	if enabled {
		_, err = s.db.W.ExecContext(ctx, `DELETE FROM notification_muted WHERE member_id = $1 AND type = $2`, memberID, typ)
	} else {
		_, err = s.db.W.ExecContext(ctx, `INSERT INTO notification_muted (member_id, type) VALUES ($1, $2)
			ON CONFLICT (member_id, type) DO NOTHING`, memberID, typ)
	}
	if err != nil {
		return fmt.Errorf("saving notification preference: %w", err)
	}
	return nil
}
