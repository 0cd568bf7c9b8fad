package accounts

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// SignUpInput is what a person gives to join.
type SignUpInput struct {
	Email       string
	Password    string
	DisplayName string
	Locale      string
	// AnonymousID is the browser's tracking id (kizuna.js's anonymous id cookie), when there is
	// one: the identify call carries it, so what the visitor did before joining joins the
	// member's customer profile. Optional; see ValidAnonymousID.
	AnonymousID string

	social *socialSignUp // a sign-up through a provider: no password (SignUpSocial)
}

// maxAnonymousID bounds a browser tracking id; kizuna.js makes 36-character UUIDs.
const maxAnonymousID = 100

// ValidAnonymousID reports whether s may be passed as an anonymous id: at most 100 bytes of
// printable ASCII. It comes from a cookie the browser controls, so nothing else is let through.
func ValidAnonymousID(s string) bool {
	if s == "" || len(s) > maxAnonymousID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// checkAnonymousID refuses an anonymous id that is set but not valid.
func checkAnonymousID(s string) error {
	if s != "" && !ValidAnonymousID(s) {
		return errs.Invalid("anonymous_id", "anonymous id must be at most %d printable characters", maxAnonymousID)
	}
	return nil
}

const maxDisplayName = 50

// normalizeEmail checks an address and returns it in the form stored: trimmed and lower-case.
func normalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", errs.Because(errs.Invalid("email", "email is required"), "email_required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.IndexByte(s, '@')+1:], ".") {
		return "", errs.Because(errs.Invalid("email", "%q is not an email address", s), "email_invalid")
	}
	return s, nil
}

func (in *SignUpInput) check() error {
	var err error
	if in.Email, err = normalizeEmail(in.Email); err != nil {
		return err
	}
	if in.social == nil {
		if err := checkPassword(in.Password); err != nil {
			return err
		}
	}
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	if in.DisplayName == "" {
		in.DisplayName, _, _ = strings.Cut(in.Email, "@")
	}
	if utf8.RuneCountInString(in.DisplayName) > maxDisplayName {
		return errs.Because(errs.Invalid("display_name", "display name must be at most %d characters", maxDisplayName), "display_name_long", maxDisplayName)
	}
	if err := checkAnonymousID(in.AnonymousID); err != nil {
		return err
	}
	if in.Locale == "" {
		in.Locale = Locales[0]
	}
	if !ValidLocale(in.Locale) {
		return errs.Invalid("locale", "locale must be one of %s", strings.Join(Locales, ", "))
	}
	return nil
}

// SignUp creates a member account and sends the email that verifies the address. The member's
// identify call and "Member Signed Up" commit with the account.
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (Member, error) {
	m, token, err := s.createMember(ctx, in, RoleMember, false, nil)
	if err != nil {
		return m, err
	}
	s.sendVerification(ctx, m, token)
	return m, nil
}

// CreateMember creates an account with a role on someone's behalf (an administrator, an import,
// the demo). The address counts as verified: whoever creates it vouches for it. Needs
// PermManageMembers.
func (s *Service) CreateMember(ctx context.Context, p Principal, in SignUpInput, role Role) (Member, error) {
	if err := Authorize(p, PermManageMembers); err != nil {
		return Member{}, err
	}
	if !role.Valid() {
		return Member{}, errs.Because(errs.Invalid("role", "unknown role %q; roles are %s", role, roleList()), "role_unknown")
	}
	m, _, err := s.createMember(ctx, in, role, true, func(tx *sql.Tx, m Member) error {
		return s.Audit(ctx, tx, p, "member.created", m.ID, map[string]any{"email": m.Email, "role": role})
	})
	return m, err
}

// createMember inserts a member and its events; verified members get no verification token.
// also, when set, runs inside the same transaction.
func (s *Service) createMember(ctx context.Context, in SignUpInput, role Role, verified bool, also func(*sql.Tx, Member) error) (Member, string, error) {
	if err := in.check(); err != nil {
		return Member{}, "", err
	}
	now := s.now()
	m := Member{ID: id.New(now), Email: in.Email, DisplayName: in.DisplayName, Role: role,
		Locale: in.Locale, EmailVerified: verified, Status: "active", CreatedAt: now.Truncate(time.Millisecond)}
	hash := "" // an account made through a provider logs in through it until a password is set
	if in.social == nil {
		hash = s.hash.hash(in.Password)
	}
	var verifiedAt sql.NullInt64
	if verified {
		verifiedAt = sql.NullInt64{Int64: db.Now(now), Valid: true}
	}
	var token string
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO members (id, email, display_name, password_hash, role, locale, email_verified_at, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8) ON CONFLICT (email) DO NOTHING`,
			m.ID, m.Email, m.DisplayName, hash, m.Role, m.Locale, verifiedAt, db.Now(now))
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE id = $1`, m.ID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return errs.Because(errs.Conflict("email", "an account with this email address already exists"), "email_taken")
		}
		if !verified {
			if token, err = s.newToken(ctx, tx, tokenVerify, m.ID, verifyLifetime); err != nil {
				return err
			}
		}
		if also != nil {
			if err := also(tx, m); err != nil {
				return err
			}
		}
		identify := event.New(event.Identify, "", event.SourceCommunity, now)
		identify.UserID, identify.AnonymousID = m.ID, in.AnonymousID
		identify.Traits = map[string]any{"email": m.Email, "name": m.DisplayName, "locale": m.Locale, "createdAt": m.CreatedAt.UTC().Format(time.RFC3339)}
		signedUp := event.New(event.Track, "Member Signed Up", event.SourceCommunity, now)
		signedUp.UserID, signedUp.AnonymousID = m.ID, in.AnonymousID
		signedUp.Properties = map[string]any{"method": "email", "role": string(m.Role)}
		if sc := in.social; sc != nil {
			identify.Context = map[string]any{"externalIds": externalIDs(sc.provider, sc.identity.Subject)}
			if sc.identity.Picture != "" {
				identify.Traits["avatar"] = sc.identity.Picture
			}
			signedUp.Properties["method"] = sc.provider.Key
			signedUp.Properties["provider_kind"] = string(sc.provider.Kind)
		}
		return s.outbox.Emit(ctx, tx, identify, signedUp)
	})
	return m, token, err
}

func (s *Service) sendVerification(ctx context.Context, m Member, token string) {
	if token == "" || s.notify == nil {
		return
	}
	if err := s.notify.VerificationEmail(ctx, m, token); err != nil {
		// The account exists; the member can ask for the email again.
		s.log.Warn("sending the verification email", "member", m.ID, "err", err)
	}
}

// ResendVerification sends a fresh verification email to a member whose address is unverified.
func (s *Service) ResendVerification(ctx context.Context, memberID string) error {
	m, err := s.GetMember(ctx, memberID)
	if err != nil || m.EmailVerified {
		return err
	}
	var token string
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_tokens WHERE member_id = $1 AND kind = $2`, m.ID, tokenVerify); err != nil {
			return err
		}
		token, err = s.newToken(ctx, tx, tokenVerify, m.ID, verifyLifetime)
		return err
	})
	if err != nil {
		return err
	}
	return s.notify.VerificationEmail(ctx, m, token)
}

// hashToken is how tokens, session ids and API keys are stored: a leaked table grants nothing.
func hashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// newToken stores a one-time token of kind for member (may be empty) and returns it.
func (s *Service) newToken(ctx context.Context, tx *sql.Tx, kind, memberID string, life time.Duration) (string, error) {
	raw := id.Secret(32)
	now := s.now()
	var member sql.NullString
	if memberID != "" {
		member = sql.NullString{String: memberID, Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO account_tokens (token_hash, kind, member_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		hashToken(raw), kind, member, db.Now(now), db.Now(now.Add(life)))
	return raw, err
}

var errBadToken = errs.Because(errs.Invalid("token", "this link is invalid or has expired; ask for a new one"), "bad_token")

// useToken consumes a one-time token of kind and returns its member id.
func (s *Service) useToken(ctx context.Context, tx *sql.Tx, kind, raw string) (string, error) {
	var member sql.NullString
	err := tx.QueryRowContext(ctx, `DELETE FROM account_tokens WHERE token_hash = $1 AND kind = $2 AND expires_at > $3 RETURNING member_id`,
		hashToken(raw), kind, db.Now(s.now())).Scan(&member)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errBadToken
	}
	return member.String, err
}

// VerifyEmail marks the address of the token's member as verified.
func (s *Service) VerifyEmail(ctx context.Context, token string) (Member, error) {
	var memberID string
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if memberID, err = s.useToken(ctx, tx, tokenVerify, token); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE members SET email_verified_at = $1, updated_at = $1 WHERE id = $2`, db.Now(now), memberID); err != nil {
			return err
		}
		// The verification mail answers the sign-up that typed the address: its links are proven.
		if _, err := tx.ExecContext(ctx, `UPDATE member_identities SET email_unproven = 0 WHERE member_id = $1`, memberID); err != nil {
			return err
		}
		ev := event.New(event.Track, "Email Verified", event.SourceCommunity, now)
		ev.UserID = memberID
		return s.outbox.Emit(ctx, tx, ev)
	})
	if err != nil {
		return Member{}, err
	}
	return s.GetMember(ctx, memberID)
}

// RequestPasswordReset emails a reset link if an account has this address. It says nothing
// about whether one does, so it cannot be used to find out who is a member.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email, err := normalizeEmail(email)
	if err != nil {
		return err
	}
	m, err := scanMember(s.db.R.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members WHERE email = $1 AND status = 'active'`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var token string
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		// At most one reset email a minute per account, so nobody can flood an inbox.
		var recent int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM account_tokens WHERE member_id = $1 AND kind = $2 AND created_at > $3`,
			m.ID, tokenReset, db.Now(s.now().Add(-time.Minute))).Scan(&recent); err != nil || recent > 0 {
			return err
		}
		token, err = s.newToken(ctx, tx, tokenReset, m.ID, resetLifetime)
		return err
	})
	if err != nil || token == "" {
		return err
	}
	if err := s.notify.PasswordResetEmail(ctx, m, token); err != nil {
		return err
	}
	return nil
}

// ResetPassword sets a new password with a reset token, verifies the address (the member proved
// they read its mail) and ends every session of the member. Outside accounts linked while the
// address was unproven are unlinked: whoever linked them had typed the address without proving
// it, and the person who has just proven it need not be them (docs/social-login.md).
func (s *Service) ResetPassword(ctx context.Context, token, password string) (Member, error) {
	if err := checkPassword(password); err != nil {
		return Member{}, err
	}
	hash := s.hash.hash(password)
	var memberID string
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if memberID, err = s.useToken(ctx, tx, tokenReset, token); err != nil {
			return err
		}
		if err := s.unlinkUnproven(ctx, tx, memberID); err != nil {
			return err
		}
		now := db.Now(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE members SET password_hash = $1, email_verified_at = coalesce(email_verified_at, $2), updated_at = $2 WHERE id = $3`,
			hash, now, memberID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_tokens WHERE member_id = $1 AND kind = $2`, memberID, tokenReset); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE member_id = $1`, memberID); err != nil {
			return err
		}
		return s.Audit(ctx, tx, Principal{MemberID: memberID}, "member.password_reset", memberID, nil)
	})
	if err != nil {
		return Member{}, err
	}
	m, err := s.GetMember(ctx, memberID)
	if err == nil {
		s.clearFailures(ctx, m.Email)
	}
	return m, err
}

// unlinkUnproven removes, inside tx, the member's links made while the address was unverified,
// each with an audit entry and a "Social Account Unlinked" event.
func (s *Service) unlinkUnproven(ctx context.Context, tx *sql.Tx, memberID string) error {
	rows, err := tx.QueryContext(ctx, `DELETE FROM member_identities WHERE member_id = $1 AND email_unproven = 1 RETURNING provider`, memberID)
	if err != nil {
		return err
	}
	var providers []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return err
		}
		providers = append(providers, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	now := s.now()
	for _, p := range providers {
		if err := s.Audit(ctx, tx, Principal{MemberID: memberID}, "member.social_unlinked", memberID, map[string]any{"provider": p, "reason": "email_unproven"}); err != nil {
			return err
		}
		ev := event.New(event.Track, "Social Account Unlinked", event.SourceCommunity, now)
		ev.UserID = memberID
		ev.Properties = map[string]any{"provider": p, "reason": "email_unproven"}
		if err := s.outbox.Emit(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}
