package badges

import (
	"context"
	"database/sql"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
)

// Award is a badge held by a member, community-wide or in one space.
type Award struct {
	BadgeID   string    `json:"badge_id"`
	MemberID  string    `json:"member_id"`
	SpaceID   string    `json:"space_id,omitempty"` // "" for community-wide; set for per-space experts
	Reason    string    `json:"reason,omitempty"`
	AwardedAt time.Time `json:"awarded_at"`
	AwardedBy string    `json:"awarded_by"` // a member id, system (rules) or api_key:ID
}

// MemberBadge is a badge a member holds, with the award.
type MemberBadge struct {
	Badge
	Award
}

// How an award came about, in the Badge Awarded event.
const (
	methodRule   = "rule"
	methodManual = "manual"
)

const maxReason = 500

// Award gives a member a badge, community-wide (spaceID "") or in one space. Staff may award any
// badge, rule badges too (naming an expert by hand), and award again one they revoked. Awarding a
// badge the member holds changes nothing. Needs PermManageCommunity; audited.
func (s *Service) Award(ctx context.Context, p accounts.Principal, badgeSlug, memberID, spaceID, reason string) error {
	if err := accounts.Authorize(p, accounts.PermManageCommunity); err != nil {
		return err
	}
	b, spaceID, reason, err := s.checkAward(ctx, badgeSlug, memberID, spaceID, reason)
	if err != nil {
		return err
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO badge_awards (badge_id, member_id, space_id, reason, awarded_at, awarded_by) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (badge_id, member_id, space_id) DO UPDATE SET reason = excluded.reason, awarded_at = excluded.awarded_at,
				awarded_by = excluded.awarded_by, revoked_at = NULL, revoked_by = ''
			WHERE badge_awards.revoked_at IS NOT NULL`,
			b.ID, memberID, spaceID, reason, db.Now(now), p.Actor())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // held already
		}
		if err := s.acc.Audit(ctx, tx, p, "badge.awarded", memberID, map[string]any{"badge": b.Slug, "space_id": spaceID, "reason": reason}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, awarded(b, memberID, spaceID, methodManual, p.Actor(), now))
	})
}

// awarded is the Badge Awarded event; it is about the member who received the badge.
func awarded(b Badge, memberID, spaceID, method, by string, now time.Time) event.Event {
	return event.Community("Badge Awarded", memberID, now, map[string]any{"badge": b.Slug, "badge_id": b.ID, "space_id": spaceID,
		"method": method, "rule": b.Rule, "awarded_by": by})
}

// Revoke takes a badge back. The award stays on record as revoked, so rules do not award it
// again; Award restores it. Needs PermManageCommunity; audited.
func (s *Service) Revoke(ctx context.Context, p accounts.Principal, badgeSlug, memberID, spaceID, reason string) error {
	if err := accounts.Authorize(p, accounts.PermManageCommunity); err != nil {
		return err
	}
	b, spaceID, reason, err := s.checkAward(ctx, badgeSlug, memberID, spaceID, reason)
	if err != nil {
		return err
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE badge_awards SET revoked_at = $1, revoked_by = $2
			WHERE badge_id = $3 AND member_id = $4 AND space_id = $5 AND revoked_at IS NULL`, db.Now(now), p.Actor(), b.ID, memberID, spaceID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Because(errs.NotFound("the member does not hold the badge %s", b.Slug), "badge_not_held", b.Slug)
		}
		if err := s.acc.Audit(ctx, tx, p, "badge.revoked", memberID, map[string]any{"badge": b.Slug, "space_id": spaceID, "reason": reason}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Badge Revoked", memberID, now, map[string]any{"badge": b.Slug, "badge_id": b.ID,
			"space_id": spaceID, "revoked_by": p.Actor()}))
	})
}

// checkAward checks the input of Award and Revoke and returns the badge, the space and the reason.
func (s *Service) checkAward(ctx context.Context, badgeSlug, memberID, spaceID, reason string) (Badge, string, string, error) {
	b, err := s.Badge(ctx, badgeSlug)
	if errs.KindOf(err) == errs.KindNotFound {
		return b, "", "", errs.Because(errs.Invalid("badge", "no badge %s", badgeSlug), "badge_unknown", badgeSlug)
	}
	if err != nil {
		return b, "", "", err
	}
	if _, err := s.acc.GetMember(ctx, memberID); err != nil {
		if errs.KindOf(err) == errs.KindNotFound {
			return b, "", "", errs.Invalid("member_id", "no member with id %s", memberID)
		}
		return b, "", "", err
	}
	spaceID, reason = strings.TrimSpace(spaceID), strings.TrimSpace(reason)
	if spaceID != "" {
		var n int
		if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM spaces WHERE id = $1`, spaceID).Scan(&n); err != nil {
			return b, "", "", err
		}
		if n == 0 {
			return b, "", "", errs.Invalid("space_id", "no space %s", spaceID)
		}
	}
	if utf8.RuneCountInString(reason) > maxReason {
		return b, "", "", errs.Because(errs.Invalid("reason", "reason must be at most %d characters", maxReason), "reason_long", maxReason)
	}
	return b, spaceID, reason, nil
}

// MemberBadges lists the badges a member holds (not revoked ones), built-in badges first, then
// by space. Badges are public like the profile they appear on; callers that show per-space
// awards to a reader should leave out spaces the reader may not see.
func (s *Service) MemberBadges(ctx context.Context, memberID string) ([]MemberBadge, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT b.id, b.slug, b.name, b.description, b.kind, b.rule, b.created_at,
		a.member_id, a.space_id, a.reason, a.awarded_at, a.awarded_by
		FROM badge_awards a JOIN badges b ON b.id = a.badge_id
		WHERE a.member_id = $1 AND a.revoked_at IS NULL ORDER BY b.id, a.space_id`, memberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []MemberBadge{}
	for rows.Next() {
		var mb MemberBadge
		var created, at int64
		if err := rows.Scan(&mb.Badge.ID, &mb.Slug, &mb.Name, &mb.Description, &mb.Kind, &mb.Rule, &created,
			&mb.MemberID, &mb.SpaceID, &mb.Reason, &at, &mb.AwardedBy); err != nil {
			return nil, err
		}
		mb.BadgeID, mb.Badge.CreatedAt, mb.AwardedAt = mb.Badge.ID, db.Time(created), db.Time(at)
		out = append(out, mb)
	}
	return out, rows.Err()
}

// ExpertRow is one member of a space's expert list.
type ExpertRow struct {
	MemberID        string `json:"member_id"`
	DisplayName     string `json:"display_name"`
	Handle          string `json:"handle"`
	AcceptedAnswers int    `json:"accepted_answers"` // in the space (anywhere, for the community-wide list)
	Points          int    `json:"points"`
}

// acceptedAnswers counts a member's replies accepted as the answer to someone else's question,
// neither hidden; the caller adds the member and space conditions. It starts from the member's
// comments (indexed by author) and looks each post up by its key.
const acceptedAnswers = `FROM comments c JOIN posts p ON p.id = c.post_id AND p.accepted_comment_id = c.id
	WHERE p.author_id <> c.author_id AND p.hidden = 0 AND c.hidden = 0`

// Experts is the expert programme of a space: active members holding the expert badge for that
// space or community-wide, most accepted answers in the space first, then most points. With
// spaceID "" it lists the community-wide experts by accepted answers anywhere. Callers check that
// the reader may see the space.
func (s *Service) Experts(ctx context.Context, spaceID string) ([]ExpertRow, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT e.member_id, m.display_name, coalesce(pr.handle, ''), coalesce(pr.points, 0),
		(SELECT count(*) `+acceptedAnswers+` AND c.author_id = e.member_id AND ($2 = '' OR p.space_id = $2)) AS answers
		FROM (SELECT DISTINCT a.member_id FROM badge_awards a JOIN badges b ON b.id = a.badge_id
			WHERE b.slug = $1 AND a.revoked_at IS NULL AND (a.space_id = $2 OR a.space_id = '')) e
		JOIN members m ON m.id = e.member_id LEFT JOIN profiles pr ON pr.member_id = e.member_id
		WHERE m.status = 'active'
		ORDER BY answers DESC, coalesce(pr.points, 0) DESC, e.member_id`, Expert, spaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ExpertRow{}
	for rows.Next() {
		var r ExpertRow
		if err := rows.Scan(&r.MemberID, &r.DisplayName, &r.Handle, &r.Points, &r.AcceptedAnswers); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
