package accounts

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
)

// Member statuses.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	// StatusErasing is an account whose owner asked to be forgotten: it can no longer log in,
	// and the privacy part erases it shortly (see BeginErasure).
	StatusErasing = "erasing"
	// StatusErased is a tombstone: the opaque account that stands for an erased person in
	// what stays of their activity (see AddTombstone). It has no personal data and cannot log in.
	StatusErased = "erased"
)

// Suspend stops a member from logging in and taking part, ending their sessions, with a reason
// kept in the audit log. Moderators may suspend members; suspending staff needs
// PermManageMembers, and nobody suspends themselves.
func (s *Service) Suspend(ctx context.Context, p Principal, memberID, reason string) error {
	return s.setStatus(ctx, p, memberID, StatusSuspended, reason)
}

// Reinstate lifts a suspension.
func (s *Service) Reinstate(ctx context.Context, p Principal, memberID, reason string) error {
	return s.setStatus(ctx, p, memberID, StatusActive, reason)
}

func (s *Service) setStatus(ctx context.Context, p Principal, memberID, status, reason string) error {
	if err := Authorize(p, PermModerate); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if status == StatusSuspended && reason == "" {
		return errs.Because(errs.Invalid("reason", "say why the member is suspended"), "reason_required")
	}
	if memberID == p.MemberID {
		return errs.Invalid("member_id", "you cannot suspend yourself")
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var role Role
		var old string
		err := tx.QueryRowContext(ctx, `SELECT role, status FROM members WHERE id = $1`, memberID).Scan(&role, &old)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("no member with id %s", memberID)
		}
		if err != nil || old == status {
			return err
		}
		if old == StatusErasing || old == StatusErased {
			return errs.NotFound("no member with id %s", memberID)
		}
		if role.Staff() && !Allowed(p, PermManageMembers) {
			return errs.Forbidden("only administrators may suspend staff")
		}
		if role == RoleAdmin && status == StatusSuspended {
			var admins int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE role = 'admin' AND status = 'active'`).Scan(&admins); err != nil {
				return err
			}
			if admins <= 1 {
				return errs.Because(errs.Conflict("role", "this is the last administrator; make someone else an administrator first"), "last_admin")
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET status = $1, updated_at = $2 WHERE id = $3`, status, db.Now(now), memberID); err != nil {
			return err
		}
		if status == StatusSuspended {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE member_id = $1`, memberID); err != nil {
				return err
			}
		}
		action := map[string]string{StatusSuspended: "member.suspended", StatusActive: "member.reinstated"}[status]
		if err := s.Audit(ctx, tx, p, action, memberID, map[string]any{"reason": reason}); err != nil {
			return err
		}
		name := map[string]string{StatusSuspended: "Member Suspended", StatusActive: "Member Reinstated"}[status]
		ev := event.New(event.Track, name, event.SourceCommunity, now)
		ev.UserID = memberID
		ev.Properties = map[string]any{"by": p.MemberID}
		return s.outbox.Emit(ctx, tx, ev)
	})
}
