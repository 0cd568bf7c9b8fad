package api

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// segmentRoutes are segments: reading them and their members needs the read scope; creating and
// deleting them, and exporting members with their addresses, the write scope (marketers).
func (a *API) segmentRoutes() []route {
	const read, write = accounts.PermViewMembers, accounts.PermManageMarketing
	return []route{
		{method: "GET", path: "/segments", perm: read, handle: a.listSegments},
		{method: "GET", path: "/segments/templates", perm: read, handle: a.listSegmentTemplates},
		{method: "POST", path: "/segments", perm: write, handle: a.createSegment},
		{method: "GET", path: "/segments/{id}", perm: read, handle: a.getSegment},
		{method: "DELETE", path: "/segments/{id}", perm: write, handle: a.deleteSegment},
		{method: "GET", path: "/segments/{id}/members", perm: read, handle: a.segmentMembers},
		{method: "GET", path: "/segments/{id}/members.csv", perm: write, handle: a.segmentMembersCSV},
		{method: "GET", path: "/segments/{id}/sizes", perm: read, handle: a.segmentSizes},
	}
}

func (a *API) listSegments(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	list, err := a.segments.List(r.Context(), p)
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

// segmentTemplateView is a playbook template with its definition as JSON (placeholders {{name}}
// in string values), not as a string.
type segmentTemplateView struct {
	segment.Template
	Definition json.RawMessage `json:"definition"`
}

func (a *API) listSegmentTemplates(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var out []segmentTemplateView
	for _, t := range segment.Templates() {
		if t.Params == nil {
			t.Params = []segment.TemplateParam{}
		}
		out = append(out, segmentTemplateView{Template: t, Definition: json.RawMessage(t.Definition)})
	}
	writeList(w, out, "")
	return nil
}

func (a *API) createSegment(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var body struct {
		Name       string            `json:"name"`
		Definition json.RawMessage   `json:"definition"`
		Template   string            `json:"template"`
		Params     map[string]string `json:"params"`
	}
	if err := httpx.DecodeJSON(w, r, &body, maxBody); err != nil {
		return err
	}
	var seg segment.Segment
	var err error
	switch {
	case body.Template != "" && len(body.Definition) > 0:
		return errs.Invalid("template", "give a definition or a template, not both")
	case body.Template != "":
		seg, err = a.segments.CreateFromTemplate(r.Context(), p, body.Name, body.Template, body.Params)
	case len(body.Params) > 0:
		return errs.Invalid("template", "params fill a template; give the template's id")
	default:
		seg, err = a.segments.Create(r.Context(), p, body.Name, body.Definition)
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, seg)
	return nil
}

func (a *API) getSegment(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	seg, err := a.segments.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, seg)
	return nil
}

func (a *API) deleteSegment(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	if err := a.segments.Delete(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// segmentMembersView is a page of a segment's members.
type segmentMembersView struct {
	Profiles   []segment.Member `json:"profiles"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

func (a *API) segmentMembers(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, after, err := parsePageSized(r, 100, 1000)
	if err != nil {
		return err
	}
	members, next, err := a.segments.Members(r.Context(), p, r.PathValue("id"), after, page.Limit)
	if err != nil {
		return err
	}
	v := segmentMembersView{Profiles: members}
	if next != "" {
		v.NextCursor = httpx.EncodeCursor(next)
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// segmentMembersCSV streams every member of a segment as CSV (id, entered_at and a few traits);
// the export is audited.
func (a *API) segmentMembersCSV(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	id := r.PathValue("id")
	return a.segments.ExportCSV(r.Context(), p, id, func() io.Writer {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="segment-`+id+`.csv"`)
		return w
	})
}

// segmentSizes is a segment's size history: one point an hour at most, oldest first, since the
// time given (RFC 3339; default 90 days ago).
func (a *API) segmentSizes(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	since := time.Now().AddDate(0, 0, -90)
	if q := r.URL.Query().Get("since"); q != "" {
		t, err := time.Parse(time.RFC3339, q)
		if err != nil {
			return errs.Invalid("since", "must be a date-time such as 2026-04-01T00:00:00Z")
		}
		since = t
	}
	sizes, err := a.segments.Sizes(r.Context(), p, r.PathValue("id"), since)
	if err != nil {
		return err
	}
	writeList(w, sizes, "")
	return nil
}
