package accounts

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// HasAdmin reports whether an active administrator exists.
func (s *Service) HasAdmin(ctx context.Context) (bool, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE role = 'admin' AND status = 'active'`).Scan(&n)
	return n > 0, err
}

// SetupToken returns a fresh one-time token for creating the first administrator, replacing any
// earlier one. Whoever started the server gets it; it is refused once an administrator exists.
func (s *Service) SetupToken(ctx context.Context) (string, error) {
	var token string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE role = 'admin'`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.Because(errs.Conflict("", "an administrator already exists"), "admin_exists")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_tokens WHERE kind = $1`, tokenSetup); err != nil {
			return err
		}
		var err error
		token, err = s.newToken(ctx, tx, tokenSetup, "", setupLifetime)
		return err
	})
	return token, err
}

// CheckSetupToken reports whether token is the live set-up token, without using it.
func (s *Service) CheckSetupToken(ctx context.Context, token string) error {
	var n int
	err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM account_tokens WHERE token_hash = $1 AND kind = $2 AND expires_at > $3`,
		hashToken(token), tokenSetup, db.Now(s.now())).Scan(&n)
	if err == nil && n == 0 {
		return errBadToken
	}
	return err
}

// CompleteSetup uses the set-up token to create the first administrator, whose address counts as
// verified (they hold the operator's link), and signs them in.
func (s *Service) CompleteSetup(ctx context.Context, token string, in SignUpInput, c Client) (Member, Session, error) {
	m, _, err := s.createMember(ctx, in, RoleAdmin, true, func(tx *sql.Tx, m Member) error {
		if _, err := s.useToken(ctx, tx, tokenSetup, token); err != nil {
			return err
		}
		return s.Audit(ctx, tx, m.Principal(), "setup.completed", m.ID, map[string]any{"email": m.Email})
	})
	if err != nil {
		return m, Session{}, err
	}
	sess, err := s.startSession(ctx, m, c, "setup")
	return m, sess, err
}

// CreateAdmin creates an administrator from the operator's command line, or, if the address
// already has an account, makes it an administrator with this password: the way back in for an
// operator who lost access.
func (s *Service) CreateAdmin(ctx context.Context, email, password, name string) (Member, error) {
	in := SignUpInput{Email: email, Password: password, DisplayName: name}
	if err := in.check(); err != nil {
		return Member{}, err
	}
	existing, err := scanMember(s.db.R.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members WHERE email = $1`, in.Email))
	if errors.Is(err, sql.ErrNoRows) {
		m, _, err := s.createMember(ctx, in, RoleAdmin, true, func(tx *sql.Tx, m Member) error {
			return s.Audit(ctx, tx, System(), "admin.created", m.ID, map[string]any{"email": m.Email})
		})
		return m, err
	}
	if err != nil {
		return Member{}, err
	}
	hash := s.hash.hash(in.Password)
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := db.Now(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE members SET role = 'admin', status = 'active', password_hash = $1,
			email_verified_at = coalesce(email_verified_at, $2), updated_at = $2 WHERE id = $3`, hash, now, existing.ID); err != nil {
			return err
		}
		return s.Audit(ctx, tx, System(), "admin.promoted", existing.ID, map[string]any{"email": existing.Email, "from": existing.Role})
	})
	if err != nil {
		return Member{}, err
	}
	s.clearFailures(ctx, existing.Email)
	return s.GetMember(ctx, existing.ID)
}
