package api

import (
	"net/http"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
)

// badgeRoutes are the operations on badges and expert lists. Badges are public like the profiles
// they appear on, so any key reads them; keys see every space, so every per-space award too.
func (a *API) badgeRoutes() []route {
	const (
		manage   = accounts.PermManageCommunity // write scope
		settings = accounts.PermManageSettings  // admin scope: a badge is part of how the community is set up
	)
	rts := []route{
		{method: "GET", path: "/badges", handle: a.listBadges},
		{method: "POST", path: "/badges", perm: settings, handle: a.createBadge},
		{method: "GET", path: "/members/{id}/badges", handle: a.listMemberBadges},
		{method: "POST", path: "/members/{id}/badges", perm: manage, handle: a.awardBadge},
		{method: "DELETE", path: "/members/{id}/badges/{slug}", perm: manage, handle: a.revokeBadge},
	}
	if a.community != nil {
		rts = append(rts, route{method: "GET", path: "/spaces/{ref}/experts", handle: a.listExperts})
	}
	return rts
}

func (a *API) listBadges(w http.ResponseWriter, r *http.Request, _ accounts.Principal) error {
	list, err := a.badges.Badges(r.Context())
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

func (a *API) createBadge(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in badges.BadgeInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	b, err := a.badges.CreateBadge(r.Context(), p, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, b)
	return nil
}

// member returns the member with this id, for operations on a member's things: a member that
// does not exist answers 404, like GET /members/{id}.
func (a *API) member(r *http.Request, p accounts.Principal) (accounts.Member, error) {
	if err := accounts.Authorize(p, accounts.PermViewMembers); err != nil {
		return accounts.Member{}, err
	}
	return a.acc.GetMember(r.Context(), r.PathValue("id"))
}

func (a *API) listMemberBadges(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	m, err := a.member(r, p)
	if err != nil {
		return err
	}
	list, err := a.badges.MemberBadges(r.Context(), m.ID)
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

// awardInput is the body of POST /members/{id}/badges.
type awardInput struct {
	Badge   string `json:"badge"`    // the badge's slug
	SpaceID string `json:"space_id"` // a space's id or slug, for a per-space award
	Reason  string `json:"reason"`
}

// spaceID turns a space's id or slug into its id for the badges part, which takes ids only. A
// space that is not there is a bad field, since it is named in the body or query.
func (a *API) spaceID(r *http.Request, p accounts.Principal, ref string) (string, error) {
	if ref = strings.TrimSpace(ref); ref == "" || a.community == nil {
		return ref, nil
	}
	sp, err := a.community.Space(r.Context(), p, ref)
	if errs.KindOf(err) == errs.KindNotFound {
		return "", errs.Invalid("space_id", "no space %s", ref)
	}
	return sp.ID, err
}

func (a *API) awardBadge(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in awardInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	if strings.TrimSpace(in.Badge) == "" {
		return errs.Invalid("badge", "name the badge to award by its slug")
	}
	m, err := a.member(r, p)
	if err != nil {
		return err
	}
	spaceID, err := a.spaceID(r, p, in.SpaceID)
	if err != nil {
		return err
	}
	if err := a.badges.Award(r.Context(), p, in.Badge, m.ID, spaceID, in.Reason); err != nil {
		return err
	}
	list, err := a.badges.MemberBadges(r.Context(), m.ID)
	if err != nil {
		return err
	}
	for _, mb := range list {
		if mb.Slug == strings.ToLower(strings.TrimSpace(in.Badge)) && mb.SpaceID == spaceID {
			httpx.WriteJSON(w, http.StatusOK, mb)
			return nil
		}
	}
	return errs.NotFound("the award of %s was not found after it was made", in.Badge)
}

func (a *API) revokeBadge(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	m, err := a.member(r, p)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	spaceID, err := a.spaceID(r, p, q.Get("space_id"))
	if err != nil {
		return err
	}
	slug := r.PathValue("slug")
	err = a.badges.Revoke(r.Context(), p, slug, m.ID, spaceID, q.Get("reason"))
	if errs.KindOf(err) == errs.KindInvalid {
		if e, ok := errs.As(err); ok && e.Field == "badge" {
			return errs.Because(errs.NotFound("no badge %s", slug), "badge_unknown", slug) // the badge is in the path
		}
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listExperts(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	// The badges part does not check visibility: the space must be one the key may see.
	sp, err := a.community.Space(r.Context(), p, r.PathValue("ref"))
	if err != nil {
		return err
	}
	list, err := a.badges.Experts(r.Context(), sp.ID)
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}
