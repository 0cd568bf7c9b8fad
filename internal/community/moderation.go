package community

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// ReportReasons are why content or a member may be reported.
var ReportReasons = []string{"spam", "abuse", "off_topic", "other"}

// Report statuses.
const (
	ReportOpen      = "open"
	ReportResolved  = "resolved"
	ReportDismissed = "dismissed"
)

// Report is one member's flag on a post, a reply or a member.
type Report struct {
	ID         string     `json:"id"`
	TargetKind string     `json:"target_kind"`
	TargetID   string     `json:"target_id"`
	SpaceID    string     `json:"space_id"`
	ReporterID string     `json:"reporter_id"`
	Reason     string     `json:"reason"`
	Note       string     `json:"note"`
	Status     string     `json:"status"`
	ResolvedBy string     `json:"resolved_by,omitempty"`
	Resolution string     `json:"resolution,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
	// Excerpt is the reported text (or the member's name), for the queue.
	Excerpt string `json:"excerpt"`
	// PostID is the thread to open: the post, or the post a reported reply is on.
	PostID string `json:"post_id,omitempty"`
}

// ReportInput is what a member says when reporting.
type ReportInput struct {
	TargetKind string `json:"target_kind"`
	TargetID   string `json:"target_id"`
	Reason     string `json:"reason"`
	Note       string `json:"note"`
}

// ReportContent flags a post, reply or member for the moderators. Reporting the same thing again
// while the first report is open changes nothing.
func (s *Service) ReportContent(ctx context.Context, p accounts.Principal, in ReportInput) (Report, error) {
	if p.MemberID == "" {
		return Report{}, errs.Unauthenticated("log in to report")
	}
	if !slices.Contains(ReportReasons, in.Reason) {
		return Report{}, errs.Invalid("reason", "reason must be one of %s", strings.Join(ReportReasons, ", "))
	}
	in.Note = strings.TrimSpace(in.Note)
	if utf8.RuneCountInString(in.Note) > 1000 {
		return Report{}, errs.Invalid("note", "the note must be at most 1000 characters")
	}
	v, err := s.viewer(ctx, p)
	if err != nil {
		return Report{}, err
	}
	spaceID := ""
	switch in.TargetKind {
	case "post":
		post, _, err := s.post(ctx, v, in.TargetID)
		if err != nil {
			return Report{}, errs.Invalid("target_id", "no post %s", in.TargetID)
		}
		spaceID = post.SpaceID
	case "comment":
		c, err := s.comment(ctx, in.TargetID)
		if err != nil {
			return Report{}, errs.Invalid("target_id", "no reply %s", in.TargetID)
		}
		post, _, err := s.post(ctx, v, c.PostID)
		if err != nil {
			return Report{}, errs.Invalid("target_id", "no reply %s", in.TargetID)
		}
		spaceID = post.SpaceID
	case "member":
		if _, err := s.acc.GetMember(ctx, in.TargetID); err != nil {
			return Report{}, errs.Invalid("target_id", "no member %s", in.TargetID)
		}
	default:
		return Report{}, errs.Invalid("target_kind", "report a post, a comment or a member")
	}
	now := s.now()
	r := Report{ID: id.New(now), TargetKind: in.TargetKind, TargetID: in.TargetID, SpaceID: spaceID, ReporterID: p.MemberID,
		Reason: in.Reason, Note: in.Note, Status: ReportOpen, CreatedAt: now.Truncate(time.Millisecond)}
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO reports (id, target_kind, target_id, space_id, reporter_id, reason, note, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
			r.ID, r.TargetKind, r.TargetID, r.SpaceID, r.ReporterID, r.Reason, r.Note, db.Now(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Already reported and still open: answer with that report.
			var created int64
			err := tx.QueryRowContext(ctx, `SELECT id, reason, note, created_at FROM reports WHERE target_kind = $1 AND target_id = $2 AND reporter_id = $3 AND status = 'open'`,
				r.TargetKind, r.TargetID, r.ReporterID).Scan(&r.ID, &r.Reason, &r.Note, &created)
			r.CreatedAt = db.Time(created)
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Content Reported", p.MemberID, now, map[string]any{
			"report_id": r.ID, "target_kind": r.TargetKind, "target_id": r.TargetID, "space_id": spaceID, "reason": r.Reason}))
	})
	return r, err
}

// moderatedSpaces returns whether v moderates the whole community, and otherwise the spaces v
// moderates.
func (v viewer) moderatedSpaces() (all bool, spaces []string) {
	if accounts.Allowed(v.p, accounts.PermModerate) || accounts.Allowed(v.p, accounts.PermManageCommunity) {
		return true, nil
	}
	for sp, role := range v.roles {
		if role == SpaceModerator {
			spaces = append(spaces, sp)
		}
	}
	return false, spaces
}

// Reports lists reports with a status (open by default), oldest first, for the moderators who
// handle them: community-wide moderators see all, space moderators those in their spaces.
func (s *Service) Reports(ctx context.Context, p accounts.Principal, status, cursor string, limit int) ([]Report, string, error) {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return nil, "", err
	}
	all, spaces := v.moderatedSpaces()
	if !all && len(spaces) == 0 {
		return nil, "", errs.Forbidden("only moderators see reports")
	}
	if status == "" {
		status = ReportOpen
	}
	if status != ReportOpen && status != ReportResolved && status != ReportDismissed {
		return nil, "", errs.Invalid("status", "status must be open, resolved or dismissed")
	}
	limit = db.Limit(limit, 50, 200)
	args := []any{status, cursor, limit + 1}
	q := `SELECT id, target_kind, target_id, space_id, reporter_id, reason, note, status, resolved_by, resolution, created_at, resolved_at
		FROM reports WHERE status = $1 AND id > $2`
	if !all {
		ph := make([]string, len(spaces))
		for i, sp := range spaces {
			args = append(args, sp)
			ph[i] = "$" + strconv.Itoa(len(args))
		}
		q += ` AND space_id IN (` + strings.Join(ph, ", ") + `)`
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY id LIMIT $3`, args...)
	if err != nil {
		return nil, "", err
	}
	var out []Report
	for rows.Next() {
		var r Report
		var created int64
		var resolved sql.NullInt64
		if err := rows.Scan(&r.ID, &r.TargetKind, &r.TargetID, &r.SpaceID, &r.ReporterID, &r.Reason, &r.Note, &r.Status,
			&r.ResolvedBy, &r.Resolution, &created, &resolved); err != nil {
			rows.Close()
			return nil, "", err
		}
		r.CreatedAt, r.ResolvedAt = db.Time(created), optTime(resolved)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	for i := range out {
		s.describeTarget(ctx, &out[i])
	}
	out, next := db.TrimPage(out, limit, func(r Report) string { return r.ID })
	if out == nil {
		out = []Report{}
	}
	return out, next, nil
}

// describeTarget fills the excerpt and thread of a report; a target that is gone leaves them empty.
func (s *Service) describeTarget(ctx context.Context, r *Report) {
	switch r.TargetKind {
	case "post":
		var title, body string
		if s.db.R.QueryRowContext(ctx, `SELECT title, body FROM posts WHERE id = $1`, r.TargetID).Scan(&title, &body) == nil {
			r.Excerpt, r.PostID = title+" — "+s.md.Excerpt(body, 120), r.TargetID
		}
	case "comment":
		if c, err := s.comment(ctx, r.TargetID); err == nil {
			r.Excerpt, r.PostID = s.md.Excerpt(c.Body, 160), c.PostID
		}
	case "member":
		if m, err := s.acc.GetMember(ctx, r.TargetID); err == nil {
			r.Excerpt = m.DisplayName
		}
	}
}

// Report resolutions.
const (
	ResolveDismiss = "dismiss" // nothing wrong
	ResolveHide    = "hide"    // hide the reported post or reply
)

// ResolveReport closes a report, hiding the reported content when action is hide; every open
// report on the same target closes with it.
func (s *Service) ResolveReport(ctx context.Context, p accounts.Principal, reportID, action, note string) error {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return err
	}
	var r Report
	err = s.db.R.QueryRowContext(ctx, `SELECT target_kind, target_id, space_id, status FROM reports WHERE id = $1`, reportID).
		Scan(&r.TargetKind, &r.TargetID, &r.SpaceID, &r.Status)
	all, spaces := v.moderatedSpaces()
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !all && !slices.Contains(spaces, r.SpaceID)) {
		return errs.NotFound("no report %s", reportID)
	}
	if err != nil {
		return err
	}
	if r.Status != ReportOpen {
		return errs.Because(errs.Conflict("", "this report is already closed"), "report_closed")
	}
	status := ReportDismissed
	switch action {
	case ResolveDismiss:
	case ResolveHide:
		status = ReportResolved
		reason := "reported: " + strings.TrimSpace(note)
		switch r.TargetKind {
		case "post":
			err = s.Moderate(ctx, p, r.TargetID, ActionHide, reason)
		case "comment":
			err = s.HideComment(ctx, p, r.TargetID, true, reason)
		default:
			err = errs.Invalid("action", "a member cannot be hidden; suspend them instead")
		}
		if err != nil {
			return err
		}
	default:
		return errs.Invalid("action", "action must be dismiss or hide")
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE reports SET status = $1, resolved_by = $2, resolution = $3, resolved_at = $4
			WHERE target_kind = $5 AND target_id = $6 AND status = 'open'`, status, p.Actor(), strings.TrimSpace(note), db.Now(now), r.TargetKind, r.TargetID); err != nil {
			return err
		}
		if err := s.acc.Audit(ctx, tx, p, "report."+status, reportID, map[string]any{"target_kind": r.TargetKind, "target_id": r.TargetID, "note": note}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Report Resolved", p.Actor(), now, map[string]any{"report_id": reportID, "status": status, "target_kind": r.TargetKind}))
	})
}

// Settings are community-wide moderation settings.
type Settings struct {
	// FirstPostApproval holds the first post of every new member for a moderator's approval.
	FirstPostApproval bool `json:"first_post_approval"`
}

// Settings returns the community's settings.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	return settingsFrom(ctx, s.db.R)
}

func settingsFrom(ctx context.Context, q db.Queryer) (Settings, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM community_settings WHERE key = 'first_post_approval'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return Settings{}, nil
	}
	return Settings{FirstPostApproval: v == "true"}, err
}

// SetSettings changes the community's settings. Needs PermManageCommunity.
func (s *Service) SetSettings(ctx context.Context, p accounts.Principal, in Settings) error {
	if err := accounts.Authorize(p, accounts.PermManageCommunity); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO community_settings (key, value) VALUES ('first_post_approval', $1)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.FormatBool(in.FirstPostApproval)); err != nil {
			return err
		}
		return s.acc.Audit(ctx, tx, p, "community.settings_changed", "community", map[string]any{"first_post_approval": in.FirstPostApproval})
	})
}

// needsApproval reports whether a post by author must wait for a moderator: first-post approval
// is on, the author is not staff, and they have no published post yet.
func needsApproval(ctx context.Context, tx *sql.Tx, author accounts.Member) (bool, error) {
	if author.Role.Staff() {
		return false, nil
	}
	set, err := settingsFrom(ctx, tx)
	if err != nil || !set.FirstPostApproval {
		return false, err
	}
	var n int
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM posts WHERE author_id = $1 AND pending = 0 AND hidden = 0`, author.ID).Scan(&n)
	return n == 0, err
}

// PendingPosts lists posts waiting for approval, oldest first, for the moderators who handle them.
func (s *Service) PendingPosts(ctx context.Context, p accounts.Principal, cursor string, limit int) ([]Post, string, error) {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return nil, "", err
	}
	all, spaces := v.moderatedSpaces()
	if !all && len(spaces) == 0 {
		return nil, "", errs.Forbidden("only moderators see posts waiting for approval")
	}
	limit = db.Limit(limit, 50, 200)
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+postCols+postFrom+`WHERE p.pending = 1 AND p.id > $1 ORDER BY p.id LIMIT $2`, cursor, limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []Post{}
	for rows.Next() {
		post, err := scanPost(rows)
		if err != nil {
			return nil, "", err
		}
		if all || slices.Contains(spaces, post.SpaceID) {
			post.CanModerate = true
			out = append(out, post)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := db.TrimPage(out, limit, func(p Post) string { return p.ID })
	return out, next, nil
}

// ApprovePost publishes a post that waited for approval: it appears in lists and search, and
// the members it mentions are told.
func (s *Service) ApprovePost(ctx context.Context, p accounts.Principal, postID string) error {
	return s.decidePending(ctx, p, postID, true, "")
}

// RejectPost keeps a waiting post hidden for good, with a reason.
func (s *Service) RejectPost(ctx context.Context, p accounts.Principal, postID, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return errs.Because(errs.Invalid("reason", "say why the post is rejected"), "reason_required")
	}
	return s.decidePending(ctx, p, postID, false, reason)
}

func (s *Service) decidePending(ctx context.Context, p accounts.Principal, postID string, approve bool, reason string) error {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return err
	}
	post, sp, err := s.post(ctx, v, postID)
	if err != nil {
		return err
	}
	if !post.CanModerate {
		return errs.Forbidden("only moderators may approve posts")
	}
	if !post.pending {
		return errs.Because(errs.Conflict("", "this post is not waiting for approval"), "not_pending")
	}
	author, err := s.acc.GetMember(ctx, post.Author.ID)
	if err != nil {
		return err
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		name, action := "Post Rejected", "post.rejected"
		if approve {
			name, action = "Post Approved", "post.approved"
			if _, err := tx.ExecContext(ctx, `UPDATE posts SET version = version + 1, pending = 0, hidden = 0, last_activity_at = $1 WHERE id = $2`, db.Now(now), postID); err != nil {
				return err
			}
			if err := s.indexPost(ctx, tx, postID, sp.ID, author.ID, post.Title, post.Body, post.CreatedAt); err != nil {
				return err
			}
			if err := s.notifyMentions(ctx, tx, sp, author, post.Body, post.Title, "/posts/"+postID); err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, `UPDATE posts SET version = version + 1, pending = 0 WHERE id = $1`, postID); err != nil {
			return err
		}
		if err := s.acc.Audit(ctx, tx, p, action, postID, map[string]any{"reason": reason, "author_id": author.ID}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community(name, p.Actor(), now, map[string]any{"post_id": postID, "space_id": sp.ID, "author_id": author.ID}))
	})
}
