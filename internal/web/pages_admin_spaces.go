package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// adminSpaceRoutes registers the spaces admin; communityRoutes calls it.
func (s *Web) adminSpaceRoutes(handle func(string, pageHandler)) {
	handle("GET /admin/spaces", s.staff(accounts.PermManageCommunity, s.adminSpaces))
	handle("POST /admin/spaces", s.staff(accounts.PermManageCommunity, s.createSpace))
	handle("GET /admin/spaces/{slug}", s.staff(accounts.PermManageCommunity, s.adminSpace))
	handle("POST /admin/spaces/{slug}/members", s.staff(accounts.PermManageCommunity, s.addSpaceMember))
}

// Visibilities lists the space visibilities, most open first, for the create form.
func (v *view) Visibilities() []community.Visibility {
	return []community.Visibility{community.Public, community.Members, community.Private}
}

// adminSpacesData is the spaces admin: the create form and every space.
type adminSpacesData struct {
	Spaces []community.Space
}

func (s *Web) adminSpaces(w http.ResponseWriter, r *http.Request, v *view) {
	if r.URL.Query().Get("notice") == "created" {
		v.Notice = v.T("spaces_admin.created")
	}
	v.Form.values = url.Values{"visibility": {string(community.Public)}}
	s.spacesPage(w, r, v, nil)
}

// spacesPage renders the spaces admin, with err beside its field when the create form failed.
func (s *Web) spacesPage(w http.ResponseWriter, r *http.Request, v *view, err error) {
	v.Title, v.Section = v.T("admin.nav.spaces"), "spaces"
	list, lerr := s.com.Spaces(r.Context(), v.principal())
	if lerr != nil {
		s.fail(w, r, v, lerr)
		return
	}
	v.Data = adminSpacesData{Spaces: list}
	if !s.formFailed(w, r, v, "admin-spaces", withFieldReason(err, "space_")) {
		s.render(w, r, 0, "admin-spaces", v)
	}
}

// splitCategories reads the categories field: one per line or separated by commas.
func splitCategories(s string) []string {
	var out []string
	for _, c := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == '、' || r == '，' }) {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func (s *Web) createSpace(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	v.Form = newForm(r)
	f := r.PostForm
	_, err := s.com.CreateSpace(r.Context(), v.principal(), community.SpaceInput{Slug: f.Get("slug"), Name: f.Get("name"),
		Description: strings.TrimSpace(f.Get("description")), Visibility: community.Visibility(f.Get("visibility")),
		Categories: splitCategories(f.Get("categories"))})
	if err != nil {
		s.spacesPage(w, r, v, err)
		return
	}
	s.redirect(w, r, "/admin/spaces?notice=created")
}

// adminSpaceData is one space's members panel.
type adminSpaceData struct {
	Space community.Space
}

func (s *Web) adminSpace(w http.ResponseWriter, r *http.Request, v *view) {
	if name := r.URL.Query().Get("added"); name != "" {
		v.Notice = v.T("spaces_admin.added", name)
	}
	v.Form.values = url.Values{"role": {community.SpaceMember}}
	s.spaceAdminPage(w, r, v, nil)
}

// spaceAdminPage renders a space's members panel, with err beside its field when the invitation failed.
func (s *Web) spaceAdminPage(w http.ResponseWriter, r *http.Request, v *view, err error) {
	sp, serr := s.com.Space(r.Context(), v.principal(), r.PathValue("slug"))
	if serr != nil {
		s.fail(w, r, v, serr)
		return
	}
	v.Title, v.Section, v.Data = sp.Name, "spaces", adminSpaceData{Space: sp}
	if !s.formFailed(w, r, v, "admin-space", withFieldReason(err, "space_")) {
		s.render(w, r, 0, "admin-space", v)
	}
}

// addSpaceMember invites the member named by handle or email into the space with a space role.
func (s *Web) addSpaceMember(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	v.Form = newForm(r)
	who := strings.TrimSpace(r.PostForm.Get("member"))
	memberID, name, err := s.resolveMember(r, who)
	if err == nil {
		err = s.com.AddSpaceMember(r.Context(), v.principal(), r.PathValue("slug"), memberID, r.PostForm.Get("role"))
		if e, ok := errAs(err); ok && e.Field == "member_id" {
			err = errs.Because(errsField(e, "member"), "space_member_unknown")
		}
	}
	if err != nil {
		s.spaceAdminPage(w, r, v, err)
		return
	}
	s.redirect(w, r, withQuery("/admin/spaces/"+url.PathEscape(r.PathValue("slug")), url.Values{"added": {name}}))
}

// resolveMember finds a member by email address (with an @ inside) or by handle (a leading @ is
// dropped) and returns their id and display name.
func (s *Web) resolveMember(r *http.Request, who string) (string, string, error) {
	unknown := errs.Because(errs.Invalid("member", "no member %s", who), "space_member_unknown")
	if who == "" {
		return "", "", unknown
	}
	if strings.Contains(strings.TrimPrefix(who, "@"), "@") {
		m, err := s.acc.MemberByEmail(r.Context(), who)
		if err != nil {
			if errs.KindOf(err) == errs.KindNotFound || errs.KindOf(err) == errs.KindInvalid {
				return "", "", unknown
			}
			return "", "", err
		}
		return m.ID, m.DisplayName, nil
	}
	pr, err := s.com.Profile(r.Context(), strings.TrimPrefix(who, "@"))
	if err != nil {
		if errs.KindOf(err) == errs.KindNotFound {
			return "", "", unknown
		}
		return "", "", err
	}
	return pr.MemberID, pr.DisplayName, nil
}
