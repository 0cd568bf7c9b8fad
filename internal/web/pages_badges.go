package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// badgeRoutes registers the badge admin; Routes calls it when the service is there. Profiles and
// space pages show badges and experts by themselves.
func (s *Web) badgeRoutes(handle func(string, pageHandler)) {
	handle("GET /admin/badges", s.staff(accounts.PermManageCommunity, s.adminBadges))
	handle("POST /admin/badges", s.staff(accounts.PermManageCommunity, s.createBadge))
	handle("POST /admin/badges/award", s.staff(accounts.PermManageCommunity, s.awardBadge))
}

// BadgeName is a badge's name in the reader's language: built-in badges are translated by slug,
// the others are shown as staff named them.
func (v *view) BadgeName(b badges.Badge) string {
	if s, ok := v.cat["badge.name."+b.Slug]; ok {
		return s
	}
	return b.Name
}

// BadgeDesc is a badge's description, translated like BadgeName.
func (v *view) BadgeDesc(b badges.Badge) string {
	if s, ok := v.cat["badge.desc."+b.Slug]; ok {
		return s
	}
	return b.Description
}

// builtinBadges are the badges the migration seeds, whose names the catalogues translate.
var builtinBadges = []string{badges.Staff, badges.EarlyAdopter, badges.Expert, badges.Helpful}

// profileBadge is a badge on a profile, with the space it was awarded in.
type profileBadge struct {
	badges.MemberBadge
	SpaceName string
	SpaceSlug string
}

// profileBadges lists the badges of a member that the reader may see: per-space awards only for
// spaces the reader can open.
func (s *Web) profileBadges(ctx context.Context, p accounts.Principal, memberID string) ([]profileBadge, error) {
	held, err := s.bdg.MemberBadges(ctx, memberID)
	if err != nil {
		return nil, err
	}
	spaces := map[string]*community.Space{}
	out := make([]profileBadge, 0, len(held))
	for _, mb := range held {
		pb := profileBadge{MemberBadge: mb}
		if mb.SpaceID != "" {
			sp, seen := spaces[mb.SpaceID]
			if !seen {
				got, err := s.com.Space(ctx, p, mb.SpaceID)
				switch {
				case err == nil:
					sp = &got
				case errs.KindOf(err) != errs.KindNotFound && errs.KindOf(err) != errs.KindForbidden:
					return nil, err
				}
				spaces[mb.SpaceID] = sp
			}
			if sp == nil {
				continue
			}
			pb.SpaceName, pb.SpaceSlug = sp.Name, sp.Slug
		}
		out = append(out, pb)
	}
	return out, nil
}

// experts is the experts box of a space's sidebar.
type experts struct {
	V    *view
	Rows []badges.ExpertRow
}

// ExpertURL is an expert's profile.
func (v *view) ExpertURL(e badges.ExpertRow) string {
	if e.Handle != "" {
		return "/members/" + url.PathEscape(e.Handle)
	}
	return "/members/" + url.PathEscape(e.MemberID)
}

// ---- the admin ----

// adminBadgesData is the badge admin.
type adminBadgesData struct {
	Badges []badges.Badge
	Spaces []community.Space
}

func (s *Web) badgesPage(w http.ResponseWriter, r *http.Request, v *view, status int, err error) {
	v.Title, v.Section = v.T("admin.nav.badges"), "badges"
	list, lerr := s.bdg.Badges(r.Context())
	if lerr != nil {
		s.fail(w, r, v, lerr)
		return
	}
	spaces, serr := s.com.Spaces(r.Context(), v.principal())
	if serr != nil {
		s.fail(w, r, v, serr)
		return
	}
	v.Data = adminBadgesData{Badges: list, Spaces: spaces}
	if s.formFailed(w, r, v, "admin-badges", err) {
		return
	}
	s.render(w, r, status, "admin-badges", v)
}

func (s *Web) adminBadges(w http.ResponseWriter, r *http.Request, v *view) {
	switch r.URL.Query().Get("notice") {
	case "created":
		v.Notice = v.T("badges.created")
	case "awarded":
		v.Notice = v.T("badges.awarded")
	case "revoked":
		v.Notice = v.T("badges.revoked")
	}
	v.Form.values = url.Values{"kind": {badges.KindManual}}
	s.badgesPage(w, r, v, 0, nil)
}

func (s *Web) createBadge(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	v.Form = newForm(r)
	f := r.PostForm
	_, err := s.bdg.CreateBadge(r.Context(), v.principal(), badges.BadgeInput{Slug: f.Get("slug"), Name: f.Get("name"),
		Description: f.Get("description"), Kind: f.Get("kind"), Rule: f.Get("rule")})
	if err != nil {
		s.badgesPage(w, r, v, 0, err)
		return
	}
	s.redirect(w, r, "/admin/badges?notice=created")
}

// awardBadge awards or revokes a badge to the member with the handle typed.
func (s *Web) awardBadge(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	v.Form = newForm(r)
	f := r.PostForm
	handle := strings.TrimPrefix(strings.TrimSpace(f.Get("handle")), "@")
	pr, err := s.com.Profile(r.Context(), handle)
	if errs.KindOf(err) == errs.KindNotFound || handle == "" {
		err = errs.Because(errs.Invalid("handle", "no member %s", handle), "member_unknown")
	}
	if err == nil {
		if f.Get("action") == "revoke" {
			err = s.bdg.Revoke(r.Context(), v.principal(), f.Get("badge"), pr.MemberID, f.Get("space"), f.Get("reason"))
		} else {
			err = s.bdg.Award(r.Context(), v.principal(), f.Get("badge"), pr.MemberID, f.Get("space"), f.Get("reason"))
		}
	}
	if e, ok := errAs(err); ok && e.Field != "" {
		err = errsField(e, "award_"+e.Field)
	} else if ok && e.Kind == errs.KindNotFound { // badge_not_held
		c := *e
		c.Kind, c.Field = errs.KindInvalid, "award_badge"
		err = &c
	}
	if err != nil {
		s.badgesPage(w, r, v, 0, err)
		return
	}
	if f.Get("action") == "revoke" {
		s.redirect(w, r, "/admin/badges?notice=revoked")
		return
	}
	s.redirect(w, r, "/admin/badges?notice=awarded")
}
