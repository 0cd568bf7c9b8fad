package community

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/markdown"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/search"
)

// Profile is a member as the community sees them.
type Profile struct {
	MemberID    string        `json:"member_id"`
	Handle      string        `json:"handle"`
	DisplayName string        `json:"display_name"`
	Role        accounts.Role `json:"role"`
	Bio         string        `json:"bio"`
	BioHTML     string        `json:"bio_html"`
	Points      int           `json:"points"`
	JoinedAt    time.Time     `json:"joined_at"`
}

var handleChars = regexp.MustCompile(`[^a-z0-9_.-]+`)

// ensureProfile gives m a profile if they have none and returns their handle: the part of their
// email before @, made unique with a number.
func (s *Service) ensureProfile(ctx context.Context, tx *sql.Tx, m accounts.Member) (string, error) {
	var handle string
	err := tx.QueryRowContext(ctx, `SELECT handle FROM profiles WHERE member_id = $1`, m.ID).Scan(&handle)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return handle, err
	}
	local, _, _ := strings.Cut(m.Email, "@")
	base := strings.Trim(handleChars.ReplaceAllString(strings.ToLower(local), ""), ".-")
	if base == "" {
		base = "member"
	}
	base = base[:min(len(base), 30)]
	for i := 1; ; i++ {
		handle = base
		if i > 1 {
			handle += strconv.Itoa(i)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO profiles (member_id, handle, updated_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			m.ID, handle, db.Now(s.now()))
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return handle, s.indexProfile(ctx, tx, m, handle, "")
		}
	}
}

func (s *Service) indexProfile(ctx context.Context, tx *sql.Tx, m accounts.Member, handle, bio string) error {
	if s.search == nil {
		return nil
	}
	return s.search.Put(ctx, tx, search.Doc{Kind: "member", ID: m.ID, Title: m.DisplayName + " @" + handle, Body: s.md.Text(bio),
		URL: "/members/" + handle, AuthorID: m.ID, At: m.CreatedAt})
}

// Profile returns the profile with this handle or member id. A member who has not written yet
// gets their profile made on this first look.
func (s *Service) Profile(ctx context.Context, ref string) (Profile, error) {
	pr, err := s.profile(ctx, ref)
	if !errors.Is(err, sql.ErrNoRows) {
		return pr, err
	}
	m, err := s.acc.GetMember(ctx, ref)
	if err != nil || m.Status != accounts.StatusActive {
		return Profile{}, errs.NotFound("no member %s", ref)
	}
	if err := s.db.Tx(ctx, func(tx *sql.Tx) error { _, err := s.ensureProfile(ctx, tx, m); return err }); err != nil {
		return Profile{}, err
	}
	pr, err = s.profile(ctx, m.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return Profile{}, errs.NotFound("no member %s", ref)
	}
	return pr, err
}

// profile reads the profile of an active member by handle (any letter case) or member id.
func (s *Service) profile(ctx context.Context, ref string) (Profile, error) {
	var pr Profile
	var created int64
	err := s.db.R.QueryRowContext(ctx, `SELECT p.member_id, p.handle, m.display_name, m.role, p.bio, p.bio_html, p.points, m.created_at
		FROM profiles p JOIN members m ON m.id = p.member_id WHERE (p.handle = $1 OR p.member_id = $2) AND m.status = 'active'`, strings.ToLower(ref), ref).
		Scan(&pr.MemberID, &pr.Handle, &pr.DisplayName, &pr.Role, &pr.Bio, &pr.BioHTML, &pr.Points, &created)
	pr.JoinedAt = db.Time(created)
	return pr, err
}

// SetBio changes p's own profile text (Markdown, sanitised when shown).
func (s *Service) SetBio(ctx context.Context, p accounts.Principal, bio string) (Profile, error) {
	m, err := s.actor(ctx, p, "")
	if err != nil {
		return Profile{}, err
	}
	bio = strings.TrimSpace(bio)
	if utf8.RuneCountInString(bio) > 2000 {
		return Profile{}, errs.Invalid("bio", "the profile text must be at most 2000 characters")
	}
	now := s.now()
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		handle, err := s.ensureProfile(ctx, tx, m)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE profiles SET bio = $1, bio_html = $2, updated_at = $3 WHERE member_id = $4`,
			bio, s.md.HTML(bio), db.Now(now), m.ID); err != nil {
			return err
		}
		if err := s.indexProfile(ctx, tx, m, handle, bio); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Profile Updated", m.ID, now, map[string]any{"fields": []string{"bio"}}))
	})
	if err != nil {
		return Profile{}, err
	}
	return s.Profile(ctx, m.ID)
}

func (s *Service) addPoints(ctx context.Context, tx *sql.Tx, memberID string, n int) error {
	_, err := tx.ExecContext(ctx, `UPDATE profiles SET points = points + $1 WHERE member_id = $2`, n, memberID)
	return err
}

// notifyMember notifies one member unless they muted the space.
func (s *Service) notifyMember(ctx context.Context, tx *sql.Tx, spaceID string, n notify.Notification) error {
	if s.notify == nil || n.MemberID == "" {
		return nil
	}
	var muted int
	err := tx.QueryRowContext(ctx, `SELECT muted FROM space_members WHERE space_id = $1 AND member_id = $2`, spaceID, n.MemberID).Scan(&muted)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if muted == 1 {
		return nil
	}
	return s.notify.Add(ctx, tx, n)
}

// memberByHandle finds the member with a handle. A member who has not written yet has no
// profile; their handle will be the part of their email before @, so that finds them too.
func (s *Service) memberByHandle(ctx context.Context, tx *sql.Tx, handle string) (string, accounts.Role, error) {
	handle = strings.ToLower(handle)
	var memberID string
	var role accounts.Role
	err := tx.QueryRowContext(ctx, `SELECT p.member_id, m.role FROM profiles p JOIN members m ON m.id = p.member_id WHERE p.handle = $1`, handle).
		Scan(&memberID, &role)
	if !errors.Is(err, sql.ErrNoRows) {
		return memberID, role, err
	}
	if handleChars.MatchString(handle) {
		return "", "", nil
	}
	row := tx.QueryRowContext(ctx, `SELECT `+memberColsForProfile+` FROM members m WHERE m.email LIKE $1 ESCAPE '\' AND m.status = 'active'
		AND NOT EXISTS (SELECT 1 FROM profiles p WHERE p.member_id = m.id) ORDER BY m.id LIMIT 1`, escapeLike(handle)+"@%")
	var m accounts.Member
	var created int64
	err = row.Scan(&m.ID, &m.Email, &m.DisplayName, &m.Role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	m.CreatedAt = db.Time(created)
	got, err := s.ensureProfile(ctx, tx, m)
	if err != nil || got != handle {
		return "", "", err // the handle went to someone else first
	}
	return m.ID, m.Role, nil
}

const memberColsForProfile = `m.id, m.email, m.display_name, m.role, m.created_at`

// escapeLike makes s match itself literally in a LIKE pattern with the default escape.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// notifyMentions notifies each member @mentioned in body who may see the space.
func (s *Service) notifyMentions(ctx context.Context, tx *sql.Tx, sp Space, author accounts.Member, body, title, url string) error {
	handles := markdown.Mentions(body)
	if len(handles) == 0 {
		return nil
	}
	for _, h := range handles {
		memberID, role, err := s.memberByHandle(ctx, tx, h)
		if err != nil {
			return err
		}
		if memberID == "" {
			continue
		}
		v, err := s.viewer(ctx, accounts.Principal{MemberID: memberID, Role: role})
		if err != nil {
			return err
		}
		if !v.canSee(sp) {
			continue // never tell someone about a space they may not see
		}
		if err := s.notifyMember(ctx, tx, sp.ID, notify.Notification{MemberID: memberID, Type: notify.TypeMention, ActorID: author.ID, Title: title, URL: url}); err != nil {
			return err
		}
	}
	return nil
}

// Search finds posts, replies and members p may see.
func (s *Service) Search(ctx context.Context, p accounts.Principal, q search.Query) ([]search.Hit, string, error) {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return nil, "", err
	}
	if q.SpaceIDs, err = s.visibleSpaceIDs(ctx, v); err != nil {
		return nil, "", err
	}
	q.NoSpace = true
	return s.search.Search(ctx, q)
}
