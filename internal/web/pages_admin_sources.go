package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/ingest"
)

// sourceRoutes are the admin pages of the tracking API's sources: who may send Segment-style
// calls, each with its write key.
func (s *Web) sourceRoutes(handle func(string, pageHandler)) {
	handle("GET /admin/sources", s.staff(accounts.PermManageSettings, s.adminSources))
	handle("POST /admin/sources", s.staff(accounts.PermManageSettings, s.createSource))
	handle("POST /admin/sources/{id}/revoke", s.staff(accounts.PermManageSettings, s.revokeSource))
}

// sourcesData is the sources page: the sources and, right after creating one, its write key.
type sourcesData struct {
	Sources []sourceRow
	Created *createdKey
	BaseURL string // where the tracking API is, for the example
}

// sourceRow is one source as the source-row template sees it.
type sourceRow struct {
	V *view
	ingest.Source
}

func (s *Web) sourceRows(r *http.Request, v *view) ([]sourceRow, error) {
	list, err := s.sources.List(r.Context(), v.principal())
	if err != nil {
		return nil, err
	}
	out := make([]sourceRow, len(list))
	for i, src := range list {
		out[i] = sourceRow{V: v, Source: src}
	}
	return out, nil
}

// trackingBase is the origin the tracking API answers on: the configured base URL, or else the
// one this request came to.
func (s *Web) trackingBase(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Web) adminSources(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.sources"), "sources"
	rows, err := s.sourceRows(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = sourcesData{Sources: rows, BaseURL: s.trackingBase(r)}
	s.render(w, r, 0, "admin-sources", v)
}

// createSource makes a source and shows its write key once: htmx gets the key panel and the
// refreshed table; a plain form post gets the whole page.
func (s *Web) createSource(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.sources"), "sources"
	r.ParseForm()
	v.Form = newForm(r)
	raw, src, err := s.sources.Create(r.Context(), v.principal(), r.PostForm.Get("name"))
	if err != nil {
		e, ok := errAs(err)
		if !ok {
			s.fail(w, r, v, err)
			return
		}
		switch {
		case e.Field == "name":
			v.Form.errors["name"] = v.T("sources.name_invalid")
		case e.Field != "":
			v.Form.errors[e.Field] = s.message(v, e)
		default:
			v.Form.alert = s.message(v, e)
		}
		if isHTMX(r) {
			s.fragment(w, r, http.StatusUnprocessableEntity, "admin-sources", "source-form", v)
			return
		}
		rows, lerr := s.sourceRows(r, v)
		if lerr != nil {
			s.fail(w, r, v, lerr)
			return
		}
		v.Data = sourcesData{Sources: rows, BaseURL: s.trackingBase(r)}
		s.render(w, r, http.StatusUnprocessableEntity, "admin-sources", v)
		return
	}
	rows, err := s.sourceRows(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = sourcesData{Sources: rows, Created: &createdKey{Raw: raw, Name: src.Name}, BaseURL: s.trackingBase(r)}
	v.Form = newForm(nil)
	if isHTMX(r) {
		s.fragment(w, r, http.StatusOK, "admin-sources", "source-created", v)
		return
	}
	s.render(w, r, http.StatusOK, "admin-sources", v)
}

// revokeSource stops a source's write key; htmx gets the updated row.
func (s *Web) revokeSource(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	if err := s.sources.Revoke(r.Context(), v.principal(), id); err != nil {
		s.fail(w, r, v, err)
		return
	}
	if !isHTMX(r) {
		s.redirect(w, r, "/admin/sources")
		return
	}
	rows, err := s.sourceRows(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	for _, row := range rows {
		if row.ID == id {
			s.fragment(w, r, http.StatusOK, "admin-sources", "source-row", row)
			return
		}
	}
	s.fail(w, r, v, fmt.Errorf("revoked source %s is missing from the list", id))
}

// trimBase is a base URL without its trailing slash.
func trimBase(u string) string { return strings.TrimRight(u, "/") }

// Snippet is a curl command that sends one event with writeKey to the tracking API.
func (d sourcesData) Snippet(writeKey string) string {
	return "curl -u " + writeKey + ": -H 'Content-Type: application/json' \\\n" +
		`  -d '{"batch":[{"type":"track","event":"Signed Up","userId":"u-1","properties":{"plan":"pro"}}]}' \` + "\n" +
		"  " + d.BaseURL + "/v1/batch"
}
