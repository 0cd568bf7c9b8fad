package community

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Visibility says who may see a space and what is in it.
type Visibility string

// The visibilities.
const (
	Public  Visibility = "public"  // everyone, also logged out
	Members Visibility = "members" // every logged-in member
	Private Visibility = "private" // only the space's members, by invitation
)

// Space roles.
const (
	SpaceModerator = "moderator"
	SpaceMember    = "member"
)

// Space is a place for one topic, product or group.
type Space struct {
	ID          string     `json:"id"`
	Slug        string     `json:"slug"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Visibility  Visibility `json:"visibility"`
	Categories  []Category `json:"categories"`
	CreatedAt   time.Time  `json:"created_at"`
	// The viewer's relation to the space.
	Joined bool   `json:"joined"`
	Role   string `json:"role,omitempty"`
	Muted  bool   `json:"muted"`
}

// Category groups posts within a space.
type Category struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// viewer is what decides what a principal may see: whether they see every space, whether they
// are signed in, and the spaces they belong to with their role there.
type viewer struct {
	p      accounts.Principal
	all    bool // staff who run the community, the system, API keys
	signed bool
	roles  map[string]string
	muted  map[string]bool
}

func (s *Service) viewer(ctx context.Context, p accounts.Principal) (viewer, error) {
	v := viewer{p: p, signed: !p.Anonymous(), roles: map[string]string{}, muted: map[string]bool{}}
	v.all = p.IsSystem() || p.APIKeyID != "" || accounts.Allowed(p, accounts.PermManageCommunity) || accounts.Allowed(p, accounts.PermModerate)
	if p.MemberID == "" {
		return v, nil
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT space_id, role, muted FROM space_members WHERE member_id = $1`, p.MemberID)
	if err != nil {
		return v, err
	}
	defer rows.Close()
	for rows.Next() {
		var sp, role string
		var muted int
		if err := rows.Scan(&sp, &role, &muted); err != nil {
			return v, err
		}
		v.roles[sp], v.muted[sp] = role, muted == 1
	}
	return v, rows.Err()
}

func (v viewer) canSee(sp Space) bool {
	switch {
	case v.all || sp.Visibility == Public:
		return true
	case sp.Visibility == Members:
		return v.signed
	default:
		_, ok := v.roles[sp.ID]
		return ok
	}
}

// canModerate reports whether the viewer moderates the space: community-wide moderators and
// managers, and the space's own moderators.
func (v viewer) canModerate(spaceID string) bool {
	return accounts.Allowed(v.p, accounts.PermModerate) || accounts.Allowed(v.p, accounts.PermManageCommunity) || v.roles[spaceID] == SpaceModerator
}

// canPost reports whether the viewer may write in the space (it can see it and, if private,
// belongs to it).
func (v viewer) canPost(sp Space) bool {
	if !v.canSee(sp) || !v.signed {
		return false
	}
	if sp.Visibility == Private && !v.all {
		_, ok := v.roles[sp.ID]
		return ok
	}
	return true
}

func (v viewer) decorate(sp *Space) {
	sp.Role = v.roles[sp.ID]
	sp.Joined = sp.Role != ""
	sp.Muted = v.muted[sp.ID]
}

// visibleSpaceIDs lists the spaces v may see, for search.
func (s *Service) visibleSpaceIDs(ctx context.Context, v viewer) ([]string, error) {
	all, err := s.allSpaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sp := range all {
		if v.canSee(sp) {
			out = append(out, sp.ID)
		}
	}
	return out, nil
}

const spaceCols = `id, slug, name, description, visibility, created_at`

func scanSpace(row interface{ Scan(...any) error }) (Space, error) {
	var sp Space
	var created int64
	err := row.Scan(&sp.ID, &sp.Slug, &sp.Name, &sp.Description, &sp.Visibility, &created)
	sp.CreatedAt = db.Time(created)
	return sp, err
}

func (s *Service) allSpaces(ctx context.Context) ([]Space, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+spaceCols+` FROM spaces ORDER BY name, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Space
	for rows.Next() {
		sp, err := scanSpace(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}

// Spaces lists the spaces p may see, by name.
func (s *Service) Spaces(ctx context.Context, p accounts.Principal) ([]Space, error) {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return nil, err
	}
	all, err := s.allSpaces(ctx)
	if err != nil {
		return nil, err
	}
	out := []Space{}
	for _, sp := range all {
		if v.canSee(sp) {
			v.decorate(&sp)
			out = append(out, sp)
		}
	}
	return out, nil
}

// errNoSpace hides whether a space the reader may not see exists.
func errNoSpace(ref string) error { return errs.NotFound("no space %s", ref) }

// Space returns the space with this id or slug, if p may see it.
func (s *Service) Space(ctx context.Context, p accounts.Principal, ref string) (Space, error) {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return Space{}, err
	}
	sp, err := s.space(ctx, v, ref)
	if err != nil {
		return sp, err
	}
	return sp, s.withCategories(ctx, &sp)
}

// space loads the space with this id or slug for v, without its categories.
func (s *Service) space(ctx context.Context, v viewer, ref string) (Space, error) {
	sp, err := scanSpace(s.db.R.QueryRowContext(ctx, `SELECT `+spaceCols+` FROM spaces WHERE id = $1 OR slug = $1`, ref))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !v.canSee(sp)) {
		return Space{}, errNoSpace(ref)
	}
	if err != nil {
		return Space{}, err
	}
	v.decorate(&sp)
	return sp, nil
}

// withCategories loads the space's categories into sp.
func (s *Service) withCategories(ctx context.Context, sp *Space) error {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, name FROM space_categories WHERE space_id = $1 ORDER BY position, name`, sp.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	sp.Categories = []Category{}
	for rows.Next() {
		var c Category
		if err := rows.Scan(&c.ID, &c.Name); err != nil {
			return err
		}
		sp.Categories = append(sp.Categories, c)
	}
	return rows.Err()
}

// SpaceInput is what a space is made of.
type SpaceInput struct {
	Slug        string     `json:"slug"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Visibility  Visibility `json:"visibility"`
	Categories  []string   `json:"categories"`
}

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

func (in *SpaceInput) check() error {
	in.Slug = strings.ToLower(strings.TrimSpace(in.Slug))
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case !slugRe.MatchString(in.Slug):
		return errs.Invalid("slug", "slug must be 2-63 lower-case letters, digits or hyphens")
	case in.Name == "" || utf8.RuneCountInString(in.Name) > 80:
		return errs.Invalid("name", "name is required, at most 80 characters")
	case utf8.RuneCountInString(in.Description) > 2000:
		return errs.Invalid("description", "description must be at most 2000 characters")
	}
	if in.Visibility == "" {
		in.Visibility = Public
	}
	if in.Visibility != Public && in.Visibility != Members && in.Visibility != Private {
		return errs.Invalid("visibility", "visibility must be public, members or private")
	}
	return nil
}

// CreateSpace makes a space; its creator becomes its first moderator. Needs PermManageCommunity.
func (s *Service) CreateSpace(ctx context.Context, p accounts.Principal, in SpaceInput) (Space, error) {
	if err := accounts.Authorize(p, accounts.PermManageCommunity); err != nil {
		return Space{}, err
	}
	if err := in.check(); err != nil {
		return Space{}, err
	}
	now := s.now()
	sp := Space{ID: id.New(now), Slug: in.Slug, Name: in.Name, Description: in.Description, Visibility: in.Visibility, CreatedAt: now.Truncate(time.Millisecond)}
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM spaces WHERE slug = $1`, in.Slug).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.Because(errs.Conflict("slug", "a space with slug %q exists", in.Slug), "slug_taken")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO spaces (id, slug, name, description, visibility, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
			sp.ID, sp.Slug, sp.Name, sp.Description, sp.Visibility, p.Actor(), db.Now(now)); err != nil {
			return err
		}
		for i, c := range in.Categories {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO space_categories (id, space_id, name, position) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
				id.New(now), sp.ID, c, i); err != nil {
				return err
			}
		}
		if p.MemberID != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO space_members (space_id, member_id, role, joined_at) VALUES ($1, $2, $3, $4)`,
				sp.ID, p.MemberID, SpaceModerator, db.Now(now)); err != nil {
				return err
			}
		}
		if err := s.acc.Audit(ctx, tx, p, "space.created", sp.ID, map[string]any{"slug": sp.Slug, "visibility": sp.Visibility}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Space Created", p.Actor(), now, map[string]any{"space_id": sp.ID, "visibility": string(sp.Visibility)}))
	})
	if err != nil {
		return Space{}, err
	}
	return s.Space(ctx, p, sp.ID)
}

// Join makes p follow a space. Private spaces need an invitation (AddSpaceMember).
func (s *Service) Join(ctx context.Context, p accounts.Principal, spaceRef string) error {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return err
	}
	if p.MemberID == "" {
		return errs.Unauthenticated("log in to join a space")
	}
	sp, err := s.space(ctx, v, spaceRef)
	if err != nil {
		return err
	}
	if sp.Joined {
		return nil
	}
	if sp.Visibility == Private {
		return errs.Because(errs.Forbidden("this space is by invitation only"), "invitation_only")
	}
	return s.addMember(ctx, p, sp.ID, p.MemberID, SpaceMember, "Space Joined")
}

// Leave stops p following a space.
func (s *Service) Leave(ctx context.Context, p accounts.Principal, spaceRef string) error {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return err
	}
	sp, err := s.space(ctx, v, spaceRef)
	if err != nil || !sp.Joined {
		return err
	}
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM space_members WHERE space_id = $1 AND member_id = $2`, sp.ID, p.MemberID); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Space Left", p.MemberID, now, map[string]any{"space_id": sp.ID}))
	})
}

// SetMuted mutes or unmutes a space p follows: no notifications from it.
func (s *Service) SetMuted(ctx context.Context, p accounts.Principal, spaceRef string, muted bool) error {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return err
	}
	sp, err := s.space(ctx, v, spaceRef)
	if err != nil {
		return err
	}
	if !sp.Joined {
		return errs.Because(errs.Conflict("", "join the space first"), "not_joined")
	}
	_, err = s.db.W.ExecContext(ctx, `UPDATE space_members SET muted = $1 WHERE space_id = $2 AND member_id = $3`, db.Bool(muted), sp.ID, p.MemberID)
	return err
}

// AddSpaceMember invites a member into a space (any visibility) with a space role. Needs the
// space's moderation rights.
func (s *Service) AddSpaceMember(ctx context.Context, p accounts.Principal, spaceRef, memberID, role string) error {
	v, err := s.viewer(ctx, p)
	if err != nil {
		return err
	}
	sp, err := s.space(ctx, v, spaceRef)
	if err != nil {
		return err
	}
	if !v.canModerate(sp.ID) {
		return errs.Forbidden("only the space's moderators may add members")
	}
	if role != SpaceModerator && role != SpaceMember {
		return errs.Invalid("role", "space role must be moderator or member")
	}
	if _, err := s.acc.GetMember(ctx, memberID); err != nil {
		if errs.KindOf(err) == errs.KindNotFound {
			return errs.Invalid("member_id", "no member with id %s", memberID)
		}
		return err
	}
	return s.addMember(ctx, p, sp.ID, memberID, role, "Space Joined")
}

func (s *Service) addMember(ctx context.Context, p accounts.Principal, spaceID, memberID, role, evName string) error {
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO space_members (space_id, member_id, role, joined_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (space_id, member_id) DO UPDATE SET role = excluded.role`, spaceID, memberID, role, db.Now(now)); err != nil {
			return err
		}
		if p.MemberID != memberID {
			if err := s.acc.Audit(ctx, tx, p, "space.member_added", spaceID, map[string]any{"member_id": memberID, "role": role}); err != nil {
				return err
			}
		}
		return s.outbox.Emit(ctx, tx, event.Community(evName, memberID, now, map[string]any{"space_id": spaceID, "role": role}))
	})
}
