package accounts

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts/social"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Social log-in, in three steps:
//
//  1. StartSocial stores the round trip (state, nonce, PKCE verifier) bound to a browser secret
//     that the edge keeps in a cookie, and returns the provider's authorization URL.
//  2. FinishSocial takes the callback: the state must be one this browser started, the code is
//     exchanged and the identity verified. A linked identity logs its member in. Anything else
//     becomes a pending decision: sign up, link to the signed-in member, or — when the provider
//     vouches for an address that already has an account — log in to that account first. Nothing
//     is ever linked to an account by email alone, and an address the provider does not vouch
//     for never leads to an account at all.
//  3. The permission screen shows the pending identity, what Kizuna reads from it and the
//     opt-ins; SignUpSocial or LinkSocial carries out the decision and records the choices.

// Lifetimes of social log-ins in progress.
const (
	socialAuthLifetime    = 10 * time.Minute // from leaving for the provider to its callback
	socialPendingLifetime = 30 * time.Minute // on the permission screen
)

// Intents of a social log-in.
const (
	IntentLogIn = "login" // log in, or sign up when no account has the identity
	IntentLink  = "link"  // link to the signed-in member
)

// Modes of a pending social identity: what the permission screen offers.
const (
	PendingSignUp    = "signup"    // a new account
	PendingLink      = "link"      // link to the member who started it
	PendingCollision = "collision" // the provider's verified address has an account: log in to it, then link
)

// SocialStart is the beginning of a social log-in.
type SocialStart struct {
	Intent      string // IntentLogIn or IntentLink
	MemberID    string // the signed-in member, required for IntentLink
	Next        string // a local path to go to afterwards; the caller checks it
	RedirectURI string // the callback URL registered at the provider
	// Browser is the browser's secret from an earlier start, kept so that a pending decision
	// survives logging in with another provider in between; "" or malformed starts a new one.
	Browser string
}

// authFlow is what a round trip keeps between start and callback.
type authFlow struct {
	Nonce       string `json:"nonce"`
	Verifier    string `json:"verifier"`
	RedirectURI string `json:"redirect_uri"`
	Intent      string `json:"intent"`
	MemberID    string `json:"member_id,omitempty"`
	Next        string `json:"next,omitempty"`
}

// pendingFlow is what waits for the permission screen.
type pendingFlow struct {
	Mode     string          `json:"mode"`
	Identity social.Identity `json:"identity"`
	MemberID string          `json:"member_id,omitempty"`
	Next     string          `json:"next,omitempty"`
}

// browserSecretLen is the length of id.Secret(32).
const browserSecretLen = 52

// validBrowser reports whether b looks like a browser secret StartSocial made.
func validBrowser(b string) bool {
	if len(b) != browserSecretLen {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func stateKey(state string) string     { return hashToken("state:" + state) }
func pendingKey(browser string) string { return hashToken("pending:" + browser) }

var (
	errSocialState   = errs.Because(errs.Unauthenticated("this log-in was not started in this browser or has expired; start again"), "social_state")
	errSocialFailed  = errs.Because(errs.Unauthenticated("the provider's answer could not be verified; try again"), "social_failed")
	errSocialDenied  = errs.Because(errs.Unauthenticated("the log-in was cancelled at the provider"), "social_denied")
	errPendingGone   = errs.Because(errs.NotFound("this sign-in has expired; start again"), "social_pending_gone")
	errSocialSession = errs.Because(errs.Forbidden("log in to the account you started linking from"), "social_other_member")
)

// StartSocial begins a log-in with the provider key and returns the provider's authorization URL
// and the browser secret to keep in a cookie until the callback.
func (s *Service) StartSocial(ctx context.Context, key string, st SocialStart) (authURL, browser string, err error) {
	p, err := s.loginProvider(ctx, key)
	if err != nil {
		return "", "", err
	}
	switch st.Intent {
	case IntentLogIn:
		st.MemberID = ""
	case IntentLink:
		if st.MemberID == "" {
			return "", "", errs.Unauthenticated("log in to link an account")
		}
	default:
		return "", "", errs.Invalid("intent", "intent must be %s or %s", IntentLogIn, IntentLink)
	}
	browser = st.Browser
	if !validBrowser(browser) {
		browser = id.Secret(32)
	}
	r := social.NewRequest(st.RedirectURI)
	authURL, err = s.social.AuthCodeURL(ctx, p.cfg, r)
	if err != nil {
		s.log.WarnContext(ctx, "starting a social log-in", "provider", key, "err", err)
		return "", "", errs.Because(errs.Unauthenticated("%s could not be reached; try again later", p.Name), "provider_unreachable", p.Name)
	}
	data, err := json.Marshal(authFlow{Nonce: r.Nonce, Verifier: r.Verifier, RedirectURI: r.RedirectURI, Intent: st.Intent, MemberID: st.MemberID, Next: st.Next})
	if err != nil {
		return "", "", err
	}
	now := s.now()
	_, err = s.db.W.ExecContext(ctx, `INSERT INTO social_flows (token_hash, kind, browser_hash, provider, data, created_at, expires_at) VALUES ($1, 'auth', $2, $3, $4, $5, $6)`,
		stateKey(r.State), hashToken(browser), key, string(data), db.Now(now), db.Now(now.Add(socialAuthLifetime)))
	if err != nil {
		return "", "", err
	}
	return authURL, browser, nil
}

// SocialCallback is the provider's redirect back, with the browser that received it.
type SocialCallback struct {
	State, Code             string
	Error, ErrorDescription string // error=… when the person declined or the provider failed
	Browser                 string // the browser secret from its cookie
	SignedIn                string // the member of the browser's session, or ""
}

// SocialOutcome is where a callback leads.
type SocialOutcome struct {
	// LoggedIn: the identity is linked; Session is the new session of Member.
	LoggedIn bool
	Session  Session
	Member   Member
	// AlreadyLinked: a member linking an identity that is already theirs.
	AlreadyLinked bool
	// Pending: the permission screen comes next (PendingSocial reads it).
	Pending bool
	Next    string
}

// FinishSocial completes a round trip. Errors carry reasons: social_state (not started in this
// browser, tampered or expired), social_denied (cancelled at the provider), social_failed (the
// answer did not verify), social_linked_elsewhere, social_no_account (the provider allows no
// sign-ups), suspended.
func (s *Service) FinishSocial(ctx context.Context, key string, cb SocialCallback, c Client) (SocialOutcome, error) {
	if cb.State == "" || !validBrowser(cb.Browser) {
		return SocialOutcome{}, errSocialState
	}
	var browserHash, provider, data string
	var expires int64
	err := s.db.W.QueryRowContext(ctx, `DELETE FROM social_flows WHERE token_hash = $1 AND kind = 'auth' RETURNING browser_hash, provider, data, expires_at`,
		stateKey(cb.State)).Scan(&browserHash, &provider, &data, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return SocialOutcome{}, errSocialState
	}
	if err != nil {
		return SocialOutcome{}, err
	}
	// The state must have been issued to this very browser (login CSRF), for this provider, lately.
	if subtle.ConstantTimeCompare([]byte(browserHash), []byte(hashToken(cb.Browser))) != 1 || provider != key || !s.now().Before(db.Time(expires)) {
		return SocialOutcome{}, errSocialState
	}
	var f authFlow
	if err := json.Unmarshal([]byte(data), &f); err != nil {
		return SocialOutcome{}, err
	}
	if cb.Error != "" {
		err := social.Denied(cb.Error, cb.ErrorDescription)
		if social.IsDenied(err) {
			return SocialOutcome{Next: f.Next}, errSocialDenied
		}
		s.log.WarnContext(ctx, "social log-in failed at the provider", "provider", key, "err", err)
		return SocialOutcome{}, errSocialFailed
	}
	p, err := s.loginProvider(ctx, key)
	if err != nil {
		return SocialOutcome{}, err
	}
	ident, err := s.social.Exchange(ctx, p.cfg, social.Request{State: cb.State, Nonce: f.Nonce, Verifier: f.Verifier, RedirectURI: f.RedirectURI}, cb.Code)
	if err != nil {
		s.log.WarnContext(ctx, "social log-in refused", "provider", key, "ip", c.IP, "err", err)
		return SocialOutcome{}, errSocialFailed
	}
	if f.Intent == IntentLink && f.MemberID != cb.SignedIn {
		return SocialOutcome{}, errSocialSession
	}
	// An address that is not one, verified or not, is no address at all.
	if e, err := normalizeEmail(ident.Email); err == nil {
		ident.Email = e
	} else {
		ident.Email, ident.EmailVerified = "", false
	}

	owner, err := s.identityOwner(ctx, s.db.R, key, ident.Subject)
	if err != nil {
		return SocialOutcome{}, err
	}
	if owner != "" {
		if f.Intent == IntentLink {
			if owner == f.MemberID {
				return SocialOutcome{AlreadyLinked: true, Next: f.Next}, nil
			}
			return SocialOutcome{}, errs.Because(errs.Conflict("", "this %s account is linked to another account", p.Name), "social_linked_elsewhere", p.Name)
		}
		return s.socialLogIn(ctx, p, owner, ident, f.Next, c)
	}

	pend := pendingFlow{Mode: PendingSignUp, Identity: ident, Next: f.Next}
	switch {
	case f.Intent == IntentLink:
		pend.Mode, pend.MemberID = PendingLink, f.MemberID
	case ident.EmailVerified:
		if m, err := s.MemberByEmail(ctx, ident.Email); err == nil {
			pend.Mode, pend.MemberID = PendingCollision, m.ID
		} else if errs.KindOf(err) != errs.KindNotFound && errs.KindOf(err) != errs.KindInvalid {
			return SocialOutcome{}, err
		}
	}
	if pend.Mode == PendingSignUp && !p.AllowSignUp {
		return SocialOutcome{}, errs.Because(errs.Unauthenticated("no account is linked to this %s account; log in with your email address and link it in your account settings", p.Name), "social_no_account", p.Name)
	}
	b, err := json.Marshal(pend)
	if err != nil {
		return SocialOutcome{}, err
	}
	now := s.now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		pk := pendingKey(cb.Browser)
		if _, err := tx.ExecContext(ctx, `DELETE FROM social_flows WHERE token_hash = $1`, pk); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO social_flows (token_hash, kind, browser_hash, provider, data, created_at, expires_at) VALUES ($1, 'pending', $2, $3, $4, $5, $6)`,
			pk, hashToken(cb.Browser), key, string(b), db.Now(now), db.Now(now.Add(socialPendingLifetime)))
		return err
	})
	if err != nil {
		return SocialOutcome{}, err
	}
	return SocialOutcome{Pending: true, Next: f.Next}, nil
}

// socialLogIn starts a session for the member who linked the identity, refreshing what the
// provider says about them.
func (s *Service) socialLogIn(ctx context.Context, p LoginProvider, memberID string, ident social.Identity, next string, c Client) (SocialOutcome, error) {
	m, err := s.GetMember(ctx, memberID)
	if err != nil {
		return SocialOutcome{}, err
	}
	if m.Status != StatusActive {
		return SocialOutcome{}, errs.Because(errs.Forbidden("this account is suspended"), "suspended")
	}
	if _, err := s.db.W.ExecContext(ctx, `UPDATE member_identities SET name = $1, email = $2, picture_url = $3, last_login_at = $4 WHERE provider = $5 AND subject = $6`,
		ident.Name, ident.Email, ident.Picture, db.Now(s.now()), p.Key, ident.Subject); err != nil {
		return SocialOutcome{}, err
	}
	sess, err := s.startSession(ctx, m, c, p.Key)
	if err != nil {
		return SocialOutcome{}, err
	}
	return SocialOutcome{LoggedIn: true, Session: sess, Member: m, Next: next}, nil
}

// identityOwner returns the member who linked provider's subject, or "".
func (s *Service) identityOwner(ctx context.Context, q db.Queryer, provider, subject string) (string, error) {
	var m string
	err := q.QueryRowContext(ctx, `SELECT member_id FROM member_identities WHERE provider = $1 AND subject = $2`, provider, subject).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return m, err
}

// PendingSocial is a provider's identity waiting for the person's decision.
type PendingSocial struct {
	Provider LoginProvider
	Identity social.Identity
	Mode     string // PendingSignUp, PendingLink or PendingCollision
	// MemberID is the member linking (PendingLink) or the one who has the provider's verified
	// address (PendingCollision).
	MemberID  string
	Next      string
	ExpiresAt time.Time
}

// PendingSocial returns the browser's pending identity.
func (s *Service) PendingSocial(ctx context.Context, browser string) (PendingSocial, error) {
	return s.pending(ctx, s.db.R, browser)
}

func (s *Service) pending(ctx context.Context, q db.Queryer, browser string) (PendingSocial, error) {
	if !validBrowser(browser) {
		return PendingSocial{}, errPendingGone
	}
	var provider, data string
	var expires int64
	err := q.QueryRowContext(ctx, `SELECT provider, data, expires_at FROM social_flows WHERE token_hash = $1 AND kind = 'pending'`,
		pendingKey(browser)).Scan(&provider, &data, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !s.now().Before(db.Time(expires))) {
		return PendingSocial{}, errPendingGone
	}
	if err != nil {
		return PendingSocial{}, err
	}
	var f pendingFlow
	if err := json.Unmarshal([]byte(data), &f); err != nil {
		return PendingSocial{}, err
	}
	p, err := s.loginProvider(ctx, provider)
	if err != nil {
		return PendingSocial{}, err
	}
	return PendingSocial{Provider: p, Identity: f.Identity, Mode: f.Mode, MemberID: f.MemberID, Next: f.Next, ExpiresAt: db.Time(expires)}, nil
}

// CancelSocial forgets every social log-in the browser has in progress: its pending identity and
// any round trip not yet back from the provider. The edge calls it on cancel and on logout, so
// nothing started in a browser waits there for the next person to log in.
func (s *Service) CancelSocial(ctx context.Context, browser string) error {
	if !validBrowser(browser) {
		return nil
	}
	_, err := s.db.W.ExecContext(ctx, `DELETE FROM social_flows WHERE token_hash = $1 OR browser_hash = $2`, pendingKey(browser), hashToken(browser))
	return err
}

// takePending consumes the browser's pending identity inside tx, so the decision is carried out
// once.
func (s *Service) takePending(ctx context.Context, tx *sql.Tx, browser string) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM social_flows WHERE token_hash = $1 AND kind = 'pending' AND expires_at > $2`, pendingKey(browser), db.Now(s.now()))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errPendingGone
	}
	return nil
}

// SocialConsents are the choices made on the permission screen and the wording's version.
type SocialConsents struct {
	Choices     []ConsentChoice
	TextVersion string
	Locale      string
}

func (s *Service) evidence(src, provider string, sc SocialConsents, c Client) ConsentEvidence {
	return ConsentEvidence{At: s.now().UTC(), Source: src, TextVersion: sc.TextVersion, Locale: sc.Locale, Provider: provider,
		IP: c.IP, UserAgent: truncate(c.UserAgent, 300)}
}

// SocialSignUp is what a person confirms on the permission screen of a sign-up.
type SocialSignUp struct {
	DisplayName string
	// Email is asked for only when the provider vouches for none; a vouched-for address is used
	// as it is and counts as verified. Another address gets the usual verification email.
	Email  string
	Locale string
}

// SignUpSocial creates an account for the browser's pending identity, links it, records the
// consent choices and signs the new member in.
func (s *Service) SignUpSocial(ctx context.Context, browser string, in SocialSignUp, sc SocialConsents, c Client) (Member, Session, error) {
	pend, err := s.PendingSocial(ctx, browser)
	if err != nil {
		return Member{}, Session{}, err
	}
	switch {
	case pend.Mode == PendingCollision:
		return Member{}, Session{}, errs.Because(errs.Conflict("email", "an account with this email address already exists; log in to it to link"), "email_taken_link")
	case pend.Mode != PendingSignUp:
		return Member{}, Session{}, errs.Because(errs.Conflict("", "this sign-in is for linking an account"), "social_not_signup")
	case !pend.Provider.AllowSignUp:
		return Member{}, Session{}, errs.Because(errs.Unauthenticated("no account is linked to this %s account; log in with your email address and link it in your account settings", pend.Provider.Name), "social_no_account", pend.Provider.Name)
	}
	ident := pend.Identity
	su := SignUpInput{Email: in.Email, DisplayName: in.DisplayName, Locale: in.Locale, AnonymousID: c.AnonymousID,
		social: &socialSignUp{provider: pend.Provider, identity: ident}}
	verified := false
	if ident.EmailVerified {
		if e, err := normalizeEmail(ident.Email); err == nil {
			su.Email, verified = e, true
		}
	}
	if strings.TrimSpace(su.DisplayName) == "" {
		su.DisplayName = ident.Name
	}
	m, token, err := s.createMember(ctx, su, RoleMember, verified, func(tx *sql.Tx, m Member) error {
		if err := s.takePending(ctx, tx, browser); err != nil {
			return err
		}
		return s.insertIdentity(ctx, tx, pend.Provider, ident, m.ID)
	})
	if err != nil {
		return Member{}, Session{}, err
	}
	s.sendVerification(ctx, m, token)
	s.recordConsents(ctx, m.ID, sc.Choices, s.evidence(ConsentSourceSocialSignUp, pend.Provider.Key, sc, c))
	sess, err := s.startSession(ctx, m, c, pend.Provider.Key)
	return m, sess, err
}

// socialSignUp is the provider identity a sign-up comes with: the account gets no password, and
// its events carry the identity.
type socialSignUp struct {
	provider LoginProvider
	identity social.Identity
}

// externalIDs is the context.externalIds entry that puts the identity on the member's profile.
func externalIDs(p LoginProvider, subject string) []any {
	return []any{map[string]any{"id": subject, "type": p.IdentifierType(), "collection": "users", "encoding": "none"}}
}

// insertIdentity links the provider's identity to memberID inside tx.
func (s *Service) insertIdentity(ctx context.Context, tx *sql.Tx, p LoginProvider, ident social.Identity, memberID string) error {
	if owner, err := s.identityOwner(ctx, tx, p.Key, ident.Subject); err != nil {
		return err
	} else if owner != "" {
		return errs.Because(errs.Conflict("", "this %s account is linked to another account", p.Name), "social_linked_elsewhere", p.Name)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM member_identities WHERE member_id = $1 AND provider = $2`, memberID, p.Key).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errs.Because(errs.Conflict("", "another %s account is linked already; unlink it first", p.Name), "social_provider_taken", p.Name)
	}
	// A link made while the member's address is unverified is marked unproven: it rests on an
	// address that was typed, not proven (see ResetPassword).
	now := db.Now(s.now())
	_, err := tx.ExecContext(ctx, `INSERT INTO member_identities (provider, subject, member_id, name, email, picture_url, linked_at, last_login_at, email_unproven)
		SELECT $1, $2, id, $4, $5, $6, $7, $7, CASE WHEN email_verified_at IS NULL THEN 1 ELSE 0 END FROM members WHERE id = $3`,
		p.Key, ident.Subject, memberID, ident.Name, ident.Email, ident.Picture, now)
	return err
}

// LinkSocial links the browser's pending identity to the signed-in member and records the
// consent choices. An identity pending for a sign-up links to whoever has logged in since: they
// proved both accounts are theirs. One pending for a link, or for the account with the
// provider's verified address (a collision), links only to that member.
func (s *Service) LinkSocial(ctx context.Context, browser, memberID string, sc SocialConsents, c Client) (Member, error) {
	pend, err := s.PendingSocial(ctx, browser)
	if err != nil {
		return Member{}, err
	}
	if (pend.Mode == PendingLink || pend.Mode == PendingCollision) && pend.MemberID != memberID {
		return Member{}, errSocialSession
	}
	m, err := s.GetMember(ctx, memberID)
	if err != nil {
		return Member{}, err
	}
	now := s.now()
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.takePending(ctx, tx, browser); err != nil {
			return err
		}
		if err := s.insertIdentity(ctx, tx, pend.Provider, pend.Identity, m.ID); err != nil {
			return err
		}
		if err := s.Audit(ctx, tx, m.Principal(), "member.social_linked", m.ID, map[string]any{"provider": pend.Provider.Key}); err != nil {
			return err
		}
		identify := event.New(event.Identify, "", event.SourceCommunity, now)
		identify.UserID, identify.AnonymousID = m.ID, c.AnonymousID
		identify.Context = map[string]any{"externalIds": externalIDs(pend.Provider, pend.Identity.Subject)}
		linked := event.New(event.Track, "Social Account Linked", event.SourceCommunity, now)
		linked.UserID = m.ID
		linked.Properties = map[string]any{"provider": pend.Provider.Key, "provider_kind": string(pend.Provider.Kind)}
		return s.outbox.Emit(ctx, tx, identify, linked)
	})
	if err != nil {
		return Member{}, err
	}
	s.recordConsents(ctx, m.ID, sc.Choices, s.evidence(ConsentSourceSocialLink, pend.Provider.Key, sc, c))
	return m, nil
}

// SocialIdentity is an outside account linked to a member.
type SocialIdentity struct {
	Provider    string    `json:"provider"`
	Subject     string    `json:"subject"`
	Name        string    `json:"name"`
	Email       string    `json:"email,omitempty"`
	Picture     string    `json:"picture,omitempty"`
	LinkedAt    time.Time `json:"linked_at"`
	LastLoginAt time.Time `json:"last_login_at,omitzero"`
}

// SocialIdentities lists the accounts linked to a member, by provider key.
func (s *Service) SocialIdentities(ctx context.Context, memberID string) ([]SocialIdentity, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT provider, subject, name, email, picture_url, linked_at, coalesce(last_login_at, 0)
		FROM member_identities WHERE member_id = $1 ORDER BY provider`, memberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SocialIdentity
	for rows.Next() {
		var si SocialIdentity
		var linked, last int64
		if err := rows.Scan(&si.Provider, &si.Subject, &si.Name, &si.Email, &si.Picture, &linked, &last); err != nil {
			return nil, err
		}
		si.LinkedAt, si.LastLoginAt = db.Time(linked), db.Time(last)
		out = append(out, si)
	}
	return out, rows.Err()
}

// HasPassword reports whether the member can log in with a password.
func (s *Service) HasPassword(ctx context.Context, memberID string) (bool, error) {
	var hash string
	err := s.db.R.QueryRowContext(ctx, `SELECT password_hash FROM members WHERE id = $1`, memberID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return false, errs.NotFound("no member with id %s", memberID)
	}
	return hash != "", err
}

// UnlinkSocial removes the member's link to provider. The last way to log in cannot be removed:
// a member without a password keeps at least one linked account of an enabled provider (a
// switched-off provider logs nobody in, so it does not count). The member's row is locked on
// PostgreSQL, so two unlinks at once cannot each see the other's link as the remaining one. The
// identifier stays on the customer profile, as history of who the person was; erasure removes it.
func (s *Service) UnlinkSocial(ctx context.Context, memberID, provider string) error {
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		q := `SELECT password_hash FROM members WHERE id = $1`
		if s.db.Engine == db.Postgres {
			q += ` FOR UPDATE` // SQLite's single writer serialises the transactions already
		}
		var hash string
		err := tx.QueryRowContext(ctx, q, memberID).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("no member with id %s", memberID)
		}
		if err != nil {
			return err
		}
		var subject string
		err = tx.QueryRowContext(ctx, `DELETE FROM member_identities WHERE member_id = $1 AND provider = $2 RETURNING subject`, memberID, provider).Scan(&subject)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("no %s account is linked", provider)
		}
		if err != nil {
			return err
		}
		if hash == "" {
			usable, err := s.usableProviderKeys(ctx, tx)
			if err != nil {
				return err
			}
			if usable[provider] {
				n, err := s.usableIdentities(ctx, tx, memberID, usable)
				if err != nil {
					return err
				}
				if n == 0 {
					return errs.Because(errs.Conflict("", "this is your only way to log in; set a password or link another account first"), "last_login_method")
				}
			}
		}
		if err := s.Audit(ctx, tx, Principal{MemberID: memberID}, "member.social_unlinked", memberID, map[string]any{"provider": provider}); err != nil {
			return err
		}
		ev := event.New(event.Track, "Social Account Unlinked", event.SourceCommunity, now)
		ev.UserID = memberID
		ev.Properties = map[string]any{"provider": provider}
		return s.outbox.Emit(ctx, tx, ev)
	})
}

// usableProviderKeys is the set of providers members may log in with now.
func (s *Service) usableProviderKeys(ctx context.Context, q db.Queryer) (map[string]bool, error) {
	all, err := s.loadProviders(ctx, q)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, p := range all {
		if p.Usable() {
			out[p.Key] = true
		}
	}
	return out, nil
}

// usableIdentities counts the member's linked accounts of usable providers.
func (s *Service) usableIdentities(ctx context.Context, q db.Queryer, memberID string, usable map[string]bool) (int, error) {
	rows, err := q.QueryContext(ctx, `SELECT provider FROM member_identities WHERE member_id = $1`, memberID)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return 0, err
		}
		if usable[p] {
			n++
		}
	}
	return n, rows.Err()
}
