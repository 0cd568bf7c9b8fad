package accounts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/errs"
)

var _ dsr.Part = (*Service)(nil)

// BeginErasure closes memberID's account at its owner's or staff's request, inside tx, before
// the privacy part erases it: the account can no longer log in, its sessions and tokens end. The
// last active administrator cannot be erased (a conflict, reason last_admin), so nobody locks the
// community out of its own admin.
func (s *Service) BeginErasure(ctx context.Context, tx *sql.Tx, memberID string) error {
	var role Role
	var status string
	err := tx.QueryRowContext(ctx, `SELECT role, status FROM members WHERE id = $1`, memberID).Scan(&role, &status)
	if errors.Is(err, sql.ErrNoRows) || status == StatusErased {
		return errs.NotFound("no member with id %s", memberID)
	}
	if err != nil {
		return err
	}
	if role == RoleAdmin && status == StatusActive {
		var admins int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE role = 'admin' AND status = 'active'`).Scan(&admins); err != nil {
			return err
		}
		if admins <= 1 {
			return errs.Because(errs.Conflict("member_id", "this is the last administrator; make someone else an administrator first"), "last_admin")
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE members SET status = $1, updated_at = $2 WHERE id = $3`, StatusErasing, db.Now(s.now()), memberID); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM sessions WHERE member_id = $1`, `DELETE FROM account_tokens WHERE member_id = $1`} {
		if _, err := tx.ExecContext(ctx, q, memberID); err != nil {
			return err
		}
	}
	return nil
}

// AddTombstone adds the account that stands for an erased person, inside tx: id is the opaque
// tombstone id, and the row holds nothing else about anyone (no name, an address under the
// reserved .invalid domain that no mail reaches, no password, status erased). Whatever stays of
// the person's activity (posts kept anonymised, reactions, votes, the other side of a
// conversation) points to it, and pages show it as a former member. Adding it again does nothing.
func (s *Service) AddTombstone(ctx context.Context, tx *sql.Tx, id string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO members (id, email, display_name, password_hash, role, locale, status, created_at, updated_at)
		VALUES ($1, $2, '', '', $3, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING`,
		id, strings.ToLower(id)+"@erased.invalid", RoleMember, Locales[0], StatusErased, db.Now(at))
	if err != nil {
		return fmt.Errorf("adding tombstone %s: %w", id, err)
	}
	return nil
}

// accountExport is a member's account as their data export shows it.
type accountExport struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	DisplayName   string    `json:"display_name"`
	Role          Role      `json:"role"`
	Locale        string    `json:"locale"`
	EmailVerified bool      `json:"email_verified"`
	Status        string    `json:"status"`
	CreatedAt     time.Time `json:"created_at"`
}

// sessionExport is one log-in session, without its secret.
type sessionExport struct {
	MemberID   string    `json:"member_id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
}

// ExportSubject returns the subject's accounts, their log-in sessions and the audit log entries
// about them or done by them.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.MemberIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.MemberIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+memberCols+` FROM members WHERE id `+in+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting accounts: %w", err)
	}
	acc := []accountExport{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		acc = append(acc, accountExport(m))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.R.QueryContext(ctx, `SELECT member_id, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions
		WHERE member_id `+in+` ORDER BY created_at`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting sessions: %w", err)
	}
	sessions := []sessionExport{}
	for rows.Next() {
		var e sessionExport
		var c, l, x int64
		if err := rows.Scan(&e.MemberID, &c, &l, &x, &e.IP, &e.UserAgent); err != nil {
			rows.Close()
			return nil, err
		}
		e.CreatedAt, e.LastSeenAt, e.ExpiresAt = db.Time(c), db.Time(l), db.Time(x)
		sessions = append(sessions, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	in2, _ := db.InList(sub.MemberIDs, len(args)+1)
	audit, err := auditEntries(ctx, s.db.R, `WHERE target `+in+` OR (actor_kind = 'member' AND actor_id `+in2+`)`, append(args, args...)...)
	if err != nil {
		return nil, err
	}
	linked := []SocialIdentity{}
	for _, id := range sub.MemberIDs {
		ids, err := s.SocialIdentities(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("exporting linked accounts: %w", err)
		}
		linked = append(linked, ids...)
	}
	return []dsr.Table{{Name: "account", Rows: acc}, {Name: "sessions", Rows: sessions}, {Name: "linked_accounts", Rows: linked},
		{Name: "audit_log", Rows: audit}}, nil
}

// auditEntries reads the audit log entries matching where through q.
func auditEntries(ctx context.Context, q db.Queryer, where string, args ...any) ([]AuditEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, at, actor_kind, actor_id, action, target, details FROM audit_log `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		var details string
		if err := rows.Scan(&e.ID, &at, &e.ActorKind, &e.ActorID, &e.Action, &e.Target, &details); err != nil {
			return nil, err
		}
		e.At = db.Time(at)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, err
		}
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// personalDetails are the audit details that describe the person an entry is about rather than
// what was done: an erasure drops them from entries about the erased person.
var personalDetails = []string{"email", "ip", "name", "display_name"}

// EraseSubject deletes the subject's accounts (and with them their sessions, tokens and the
// rows other parts cascade from members) and their recent log-in failures. The audit log stays,
// as the record of what staff did, with the tombstone in place of the subject's ids and without
// the details that describe the person (email, IP address). API keys they created stay, created
// by the tombstone. It runs after every other part: those repoint their rows to the tombstone
// account (AddTombstone) before the accounts go.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.MemberIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.MemberIDs, 1)
	var emails []string
	rows, err := tx.QueryContext(ctx, `SELECT email FROM members WHERE id `+in, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var em string
		if err := rows.Scan(&em); err != nil {
			rows.Close()
			return err
		}
		emails = append(emails, em)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	emails = append(emails, e.Values("email")...)
	for _, em := range emails {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, "email:"+em); err != nil {
			return err
		}
	}
	// The audit log: entries about or by the person keep what was done, not who they were.
	in2, _ := db.InList(e.MemberIDs, len(args)+1)
	entries, err := auditEntries(ctx, tx, `WHERE target `+in+` OR (actor_kind = 'member' AND actor_id `+in2+`)`, append(args, args...)...)
	if err != nil {
		return err
	}
	for _, a := range entries {
		for _, k := range personalDetails {
			delete(a.Details, k)
		}
		b, err := json.Marshal(a.Details)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET details = $1 WHERE id = $2`, string(b), a.ID); err != nil {
			return err
		}
	}
	for _, m := range e.MemberIDs {
		for _, q := range []string{
			`UPDATE audit_log SET target = $2 WHERE target = $1`,
			`UPDATE audit_log SET actor_id = $2 WHERE actor_kind = 'member' AND actor_id = $1`,
			`UPDATE api_keys SET created_by = $2 WHERE created_by = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, m, e.Tombstone); err != nil {
				return fmt.Errorf("erasing account %s: %w", m, err)
			}
		}
	}
	// Ids and addresses inside other entries' details (an author_id, a member_id, an email).
	for _, v := range e.IDs() {
		if err := db.Replace(ctx, tx, "audit_log", "details", v, e.Tombstone); err != nil {
			return err
		}
	}
	for _, em := range emails {
		if err := db.Replace(ctx, tx, "audit_log", "details", em, ""); err != nil {
			return err
		}
	}
	// Log-ins in progress that name the person (a pending link, a collision) go; their linked
	// accounts go with the members rows (ON DELETE CASCADE).
	for _, v := range append(slices.Clone(e.MemberIDs), emails...) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM social_flows WHERE data LIKE $1`, "%"+v+"%"); err != nil {
			return fmt.Errorf("erasing log-ins in progress: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM member_identities WHERE member_id `+in, args...); err != nil {
		return fmt.Errorf("erasing linked accounts: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM members WHERE id `+in, args...); err != nil {
		return fmt.Errorf("deleting accounts: %w", err)
	}
	return nil
}
