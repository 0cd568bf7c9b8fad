// Package accounts owns members and staff, their roles, passwords, sessions, API keys and the
// audit log, and makes every authorisation decision (authz.go). It knows nothing of HTTP.
package accounts

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts/social"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the accounts tables.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "accounts", FS: sub}
}

// Notifier delivers the emails accounts need. The edge implements it, because it owns the
// wording and translations and knows the links' paths; accounts only hands over the token.
type Notifier interface {
	VerificationEmail(ctx context.Context, m Member, token string) error
	PasswordResetEmail(ctx context.Context, m Member, token string) error
}

// Deps are what the accounts service needs.
type Deps struct {
	DB       *db.DB
	Outbox   *backbone.Outbox
	Notifier Notifier
	Log      *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// HashParams is the password hashing cost; DefaultHashParams when nil.
	HashParams *HashParams
	// Providers are the social log-in providers set by configuration (KIZUNA_* settings); the
	// admin adds and switches others (LoginProviders).
	Providers []ProviderConfig
	// Social speaks to the providers; social.New(nil, Now) when nil.
	Social *social.Client
	// Consents records the choices made on the social permission screen; nil leaves them
	// unrecorded (logged), which the ledger would read as "unknown".
	Consents ConsentRecorder
}

// Service is the accounts part.
type Service struct {
	db     *db.DB
	outbox *backbone.Outbox
	notify Notifier
	log    *slog.Logger
	now    func() time.Time
	hash   HashParams
	dummy  string // a hash to verify against when the email is unknown, so timing tells nothing

	providers []ProviderConfig // set by configuration, by key order of Kinds
	social    *social.Client
	consents  ConsentRecorder // nil: choices are logged as unrecorded
}

// New returns the accounts service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, notify: d.Notifier, log: d.Log, now: d.Now, hash: DefaultHashParams()}
	if s.now == nil {
		s.now = time.Now
	}
	if d.HashParams != nil {
		s.hash = *d.HashParams
	}
	s.dummy = s.hash.hash("not a password of anyone")
	s.providers, s.social, s.consents = d.Providers, d.Social, d.Consents
	if s.social == nil {
		s.social = social.New(nil, s.now)
	}
	return s
}

// Lifetimes of the things accounts hands out.
const (
	SessionLifetime   = 30 * 24 * time.Hour
	verifyLifetime    = 48 * time.Hour
	resetLifetime     = time.Hour
	setupLifetime     = 24 * time.Hour
	failureWindow     = 15 * time.Minute
	maxEmailFailures  = 5  // per email address within failureWindow
	maxIPFailures     = 30 // per client address within failureWindow
	sessionTouchEvery = 5 * time.Minute
)

// Token kinds in account_tokens.
const (
	tokenVerify = "verify"
	tokenReset  = "reset"
	tokenSetup  = "setup"
)

// Member is one account: a community member or a staff member.
type Member struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	DisplayName   string    `json:"display_name"`
	Role          Role      `json:"role"`
	Locale        string    `json:"locale"`
	EmailVerified bool      `json:"email_verified"`
	Status        string    `json:"status"`
	CreatedAt     time.Time `json:"created_at"`
}

// Principal returns the member acting through a session.
func (m Member) Principal() Principal { return Principal{MemberID: m.ID, Role: m.Role} }

const memberCols = `id, email, display_name, role, locale, email_verified_at, status, created_at`

type scanner interface{ Scan(...any) error }

func scanMember(row scanner) (Member, error) {
	var m Member
	var verified sql.NullInt64
	var created int64
	err := row.Scan(&m.ID, &m.Email, &m.DisplayName, &m.Role, &m.Locale, &verified, &m.Status, &created)
	m.EmailVerified = verified.Valid
	m.CreatedAt = db.Time(created)
	return m, err
}

// GetMember returns the member with id.
func (s *Service) GetMember(ctx context.Context, id string) (Member, error) {
	m, err := scanMember(s.db.R.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, errs.NotFound("no member with id %s", id)
	}
	return m, err
}

// MemberByEmail returns the member with this email address, in any letter case.
func (s *Service) MemberByEmail(ctx context.Context, email string) (Member, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return Member{}, err
	}
	m, err := scanMember(s.db.R.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members WHERE email = $1`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return m, errs.NotFound("no member with email %s", email)
	}
	return m, err
}

// ListMembers returns up to limit members after the member id after, in id (sign-up) order,
// and the id to continue from, or "" at the end; tombstones of erased members are left out.
// Needs PermViewMembers.
func (s *Service) ListMembers(ctx context.Context, p Principal, after string, limit int) ([]Member, string, error) {
	if err := Authorize(p, PermViewMembers); err != nil {
		return nil, "", err
	}
	rows, err := s.db.R.QueryContext(ctx,
		`SELECT `+memberCols+` FROM members WHERE id > $1 AND status <> 'erased' ORDER BY id LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := db.TrimPage(out, limit, func(m Member) string { return m.ID })
	return out, next, nil
}

// CountMembers returns how many accounts there are, tombstones left out. Needs PermViewMembers.
func (s *Service) CountMembers(ctx context.Context, p Principal) (int, error) {
	if err := Authorize(p, PermViewMembers); err != nil {
		return 0, err
	}
	var n int
	err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE status <> 'erased'`).Scan(&n)
	return n, err
}

// SetRole changes a member's role. Needs PermManageMembers. The last administrator cannot be
// demoted, so nobody locks the community out of its own admin.
func (s *Service) SetRole(ctx context.Context, p Principal, memberID string, role Role) error {
	if err := Authorize(p, PermManageMembers); err != nil {
		return err
	}
	if !role.Valid() {
		return errs.Because(errs.Invalid("role", "unknown role %q; roles are %s", role, roleList()), "role_unknown")
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var old Role
		err := tx.QueryRowContext(ctx, `SELECT role FROM members WHERE id = $1`, memberID).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("no member with id %s", memberID)
		}
		if err != nil || old == role {
			return err
		}
		if old == RoleAdmin {
			var admins int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE role = 'admin' AND status = 'active'`).Scan(&admins); err != nil {
				return err
			}
			if admins <= 1 {
				return errs.Because(errs.Conflict("role", "this is the last administrator; make someone else an administrator first"), "last_admin")
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET role = $1, updated_at = $2 WHERE id = $3`,
			role, db.Now(s.now()), memberID); err != nil {
			return err
		}
		return s.Audit(ctx, tx, p, "member.role_changed", memberID, map[string]any{"from": old, "to": role})
	})
}

// Locales are the languages of the UI and of emails.
var Locales = []string{"ja", "en"}

// ValidLocale reports whether l is one of Locales.
func ValidLocale(l string) bool {
	for _, x := range Locales {
		if l == x {
			return true
		}
	}
	return false
}

// SetLocale changes the language a member reads the community and their email in.
func (s *Service) SetLocale(ctx context.Context, memberID, locale string) error {
	if !ValidLocale(locale) {
		return errs.Invalid("locale", "locale must be one of %s", strings.Join(Locales, ", "))
	}
	res, err := s.db.W.ExecContext(ctx, `UPDATE members SET locale = $1, updated_at = $2 WHERE id = $3`,
		locale, db.Now(s.now()), memberID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("no member with id %s", memberID)
	}
	return nil
}

// SweepExpired deletes expired sessions, tokens and social log-ins in progress, and old log-in
// failures.
func (s *Service) SweepExpired(ctx context.Context) error {
	now := s.now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			sql string
			arg int64
		}{
			{`DELETE FROM sessions WHERE expires_at < $1`, db.Now(now)},
			{`DELETE FROM account_tokens WHERE expires_at < $1`, db.Now(now)},
			{`DELETE FROM login_failures WHERE at < $1`, db.Now(now.Add(-failureWindow))},
			{`DELETE FROM social_flows WHERE expires_at < $1`, db.Now(now)},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.arg); err != nil {
				return err
			}
		}
		return nil
	})
}
