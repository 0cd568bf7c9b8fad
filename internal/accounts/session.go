package accounts

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Session is a signed-in browser. Token is the cookie value; only its hash is stored.
type Session struct {
	Token     string
	MemberID  string
	ExpiresAt time.Time
}

// Client describes where a log-in comes from, for throttling and for the member's session list.
type Client struct {
	IP        string
	UserAgent string
	// AnonymousID is the browser's tracking id, when there is one (see SignUpInput.AnonymousID):
	// "Member Logged In" carries it, linking the browser's history to the member.
	AnonymousID string
}

var errBadLogin = errs.Because(errs.Unauthenticated("the email address or password is wrong"), "bad_login")

// LogIn checks an email and password and starts a session. Repeated failures for one address or
// from one client address are refused for a while before any password is checked.
func (s *Service) LogIn(ctx context.Context, email, password string, c Client) (Session, Member, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return Session{}, Member{}, err
	}
	if err := checkAnonymousID(c.AnonymousID); err != nil {
		return Session{}, Member{}, err
	}
	if err := s.checkThrottle(ctx, email, c.IP); err != nil {
		return Session{}, Member{}, err
	}
	var hash string
	row := s.db.R.QueryRowContext(ctx, `SELECT `+memberCols+`, password_hash FROM members WHERE email = $1`, email)
	var m Member
	var verified sql.NullInt64
	var created int64
	err = row.Scan(&m.ID, &m.Email, &m.DisplayName, &m.Role, &m.Locale, &verified, &m.Status, &created, &hash)
	m.EmailVerified, m.CreatedAt = verified.Valid, db.Time(created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		verifyPassword(s.dummy, password) // take as long as for a real account
		return Session{}, Member{}, s.failed(ctx, email, c.IP)
	case err != nil:
		return Session{}, Member{}, err
	case hash == "" || !verifyPassword(hash, password) || m.Status == StatusErasing:
		// An account being erased answers like one that does not exist.
		return Session{}, Member{}, s.failed(ctx, email, c.IP)
	case m.Status != "active":
		return Session{}, Member{}, errs.Because(errs.Forbidden("this account is suspended"), "suspended")
	}
	s.clearFailures(ctx, email)
	sess, err := s.startSession(ctx, m, c, "password")
	return sess, m, err
}

// startSession creates a session for m; the log-in is audited for staff and tracked for everyone.
func (s *Service) startSession(ctx context.Context, m Member, c Client, method string) (Session, error) {
	now := s.now()
	sess := Session{Token: id.Secret(32), MemberID: m.ID, ExpiresAt: now.Add(SessionLifetime)}
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, member_id, created_at, expires_at, last_seen_at, ip, user_agent) VALUES ($1, $2, $3, $4, $3, $5, $6)`,
			hashToken(sess.Token), m.ID, db.Now(now), db.Now(sess.ExpiresAt), c.IP, truncate(c.UserAgent, 300)); err != nil {
			return err
		}
		if m.Role.Staff() {
			if err := s.Audit(ctx, tx, m.Principal(), "session.started", m.ID, map[string]any{"ip": c.IP, "method": method}); err != nil {
				return err
			}
		}
		ev := event.New(event.Track, "Member Logged In", event.SourceCommunity, now)
		ev.UserID, ev.AnonymousID = m.ID, c.AnonymousID
		ev.Properties = map[string]any{"method": method}
		return s.outbox.Emit(ctx, tx, ev)
	})
	return sess, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (s *Service) checkThrottle(ctx context.Context, email, ip string) error {
	since := db.Now(s.now().Add(-failureWindow))
	var byEmail, byIP int
	err := s.db.R.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM login_failures WHERE key = $1 AND at > $3),
		(SELECT count(*) FROM login_failures WHERE key = $2 AND at > $3)`,
		"email:"+email, "ip:"+ip, since).Scan(&byEmail, &byIP)
	if err != nil {
		return err
	}
	if byEmail >= maxEmailFailures || (ip != "" && byIP >= maxIPFailures) {
		return errs.Because(errs.TooMany("too many failed log-ins; wait %d minutes or reset your password", int(failureWindow.Minutes())), "throttled", int(failureWindow.Minutes()))
	}
	return nil
}

// failed records a failed log-in and returns the error to show.
func (s *Service) failed(ctx context.Context, email, ip string) error {
	now := db.Now(s.now())
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO login_failures (key, at) VALUES ($1, $3), ($2, $3)`, "email:"+email, "ip:"+ip, now)
	if err != nil {
		return err
	}
	s.log.Warn("failed log-in", "ip", ip)
	return errBadLogin
}

func (s *Service) clearFailures(ctx context.Context, email string) {
	if _, err := s.db.W.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, "email:"+email); err != nil {
		s.log.Warn("clearing log-in failures", "err", err)
	}
}

// SessionMember returns the member of a live session token. Sessions slide: use keeps them alive
// for SessionLifetime, and the last-seen time is written at most every few minutes.
func (s *Service) SessionMember(ctx context.Context, token string) (Member, error) {
	if token == "" {
		return Member{}, errs.Unauthenticated("not logged in")
	}
	h := hashToken(token)
	now := s.now()
	var lastSeen int64
	row := s.db.R.QueryRowContext(ctx, `SELECT m.id, m.email, m.display_name, m.role, m.locale, m.email_verified_at, m.status, m.created_at, s.last_seen_at
		FROM sessions s JOIN members m ON m.id = s.member_id WHERE s.token_hash = $1 AND s.expires_at > $2`, h, db.Now(now))
	var m Member
	var verified sql.NullInt64
	var created int64
	err := row.Scan(&m.ID, &m.Email, &m.DisplayName, &m.Role, &m.Locale, &verified, &m.Status, &created, &lastSeen)
	m.EmailVerified, m.CreatedAt = verified.Valid, db.Time(created)
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, errs.Because(errs.Unauthenticated("your session has ended; log in again"), "session_ended")
	}
	if err != nil {
		return Member{}, err
	}
	if m.Status != "active" {
		return Member{}, errs.Because(errs.Unauthenticated("this account is suspended"), "suspended")
	}
	if now.Sub(db.Time(lastSeen)) > sessionTouchEvery {
		if _, err := s.db.W.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3`,
			db.Now(now), db.Now(now.Add(SessionLifetime)), h); err != nil {
			s.log.Warn("touching session", "err", err)
		}
	}
	return m, nil
}

// LogOut ends the session with token.
func (s *Service) LogOut(ctx context.Context, token string) error {
	_, err := s.db.W.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashToken(token))
	return err
}
