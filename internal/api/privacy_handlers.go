package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/privacy"
)

// privacyRoutes are data-subject requests: a customer's data exported or erased on their behalf
// (the admin scope), the requests with their deadlines (the read scope), and the privacy
// settings.
func (a *API) privacyRoutes() []route {
	const act = accounts.PermManageMembers
	return []route{
		{method: "POST", path: "/profiles/{id}/export", perm: act, handle: a.exportProfile},
		{method: "POST", path: "/profiles/{id}/erasure", perm: act, handle: a.eraseProfile},
		{method: "GET", path: "/privacy/requests", perm: accounts.PermViewMembers, handle: a.listPrivacyRequests},
		{method: "GET", path: "/privacy/requests/{id}", perm: accounts.PermViewMembers, handle: a.getPrivacyRequest},
		{method: "POST", path: "/privacy/requests/{id}/run", perm: act, handle: a.runPrivacyRequest},
		{method: "POST", path: "/privacy/requests/{id}/decline", perm: act, handle: a.declinePrivacyRequest},
		{method: "GET", path: "/privacy/settings", perm: accounts.PermViewMembers, handle: a.getPrivacySettings},
		{method: "PUT", path: "/privacy/settings", perm: accounts.PermManageSettings, handle: a.putPrivacySettings},
	}
}

// requestBody is how a data-subject request came in: the body of POST /profiles/{id}/export and
// /erasure, all optional.
type requestBody struct {
	Regime     string `json:"regime"`      // appi, gdpr or ccpa; the community's default when empty
	ReceivedAt string `json:"received_at"` // RFC 3339; now when empty
	DueAt      string `json:"due_at"`      // RFC 3339; the regime's deadline when empty
	Note       string `json:"note"`
	Hold       bool   `json:"hold"` // erasure: record it as open, run it later
}

// readRequest decodes an optional request body.
func readRequest(w http.ResponseWriter, r *http.Request) (privacy.RequestInput, error) {
	var b requestBody
	if r.ContentLength != 0 { // no body at all: every field takes its default
		if err := httpx.DecodeJSON(w, r, &b, maxBody); err != nil {
			return privacy.RequestInput{}, err
		}
	}
	in := privacy.RequestInput{Regime: privacy.Regime(b.Regime), Note: b.Note, Hold: b.Hold}
	for _, f := range []struct {
		name string
		v    string
		to   *time.Time
	}{{"received_at", b.ReceivedAt, &in.ReceivedAt}, {"due_at", b.DueAt, &in.DueAt}} {
		if s := strings.TrimSpace(f.v); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return in, errs.Invalid(f.name, "must be an RFC 3339 date-time such as 2026-04-01T10:30:00+09:00")
			}
			*f.to = t
		}
	}
	return in, nil
}

// exportProfile answers with the zip of everything kept about the profile's person, and records
// the request (Location names it) and the audit entry.
func (a *API) exportProfile(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	in, err := readRequest(w, r)
	if err != nil {
		return err
	}
	if in.Hold {
		return errs.Invalid("hold", "an export is answered at once; only an erasure can be held")
	}
	req, zipped, err := a.privacy.Export(r.Context(), p, privacy.Ref{ProfileID: r.PathValue("id")}, in)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="`+privacy.ExportFileName(req)+`"`)
	h.Set("Content-Length", strconv.Itoa(len(zipped)))
	h.Set("Cache-Control", "no-store")
	h.Set("Location", Prefix+"/privacy/requests/"+req.ID)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(zipped)
	return err
}

// eraseProfile records an erasure of the profile's person: 202 while it runs (poll the request
// until completed), 201 when held.
func (a *API) eraseProfile(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	in, err := readRequest(w, r)
	if err != nil {
		return err
	}
	req, err := a.privacy.RequestErasure(r.Context(), p, privacy.Ref{ProfileID: r.PathValue("id")}, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/privacy/requests/"+req.ID)
	status := http.StatusAccepted
	if in.Hold {
		status = http.StatusCreated
	}
	httpx.WriteJSON(w, status, req)
	return nil
}

func (a *API) listPrivacyRequests(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, after, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := privacy.Filter{Kind: privacy.Kind(q.Get("kind")), Status: privacy.Status(q.Get("status")), ProfileID: q.Get("profile_id"), MemberID: q.Get("member_id")}
	for _, b := range []struct {
		name string
		to   *bool
	}{{"overdue", &f.Overdue}, {"pending", &f.Pending}} {
		if v := q.Get(b.name); v != "" {
			if *b.to, err = strconv.ParseBool(v); err != nil {
				return errs.Invalid(b.name, "must be true or false")
			}
		}
	}
	list, next, err := a.privacy.Requests(r.Context(), p, f, after, page.Limit)
	if err != nil {
		return err
	}
	writeList(w, list, next)
	return nil
}

func (a *API) getPrivacyRequest(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	req, err := a.privacy.Request(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, req)
	return nil
}

func (a *API) runPrivacyRequest(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	req, err := a.privacy.Run(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, req)
	return nil
}

func (a *API) declinePrivacyRequest(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var b struct {
		Reason string `json:"reason"`
	}
	if err := httpx.DecodeJSON(w, r, &b, maxBody); err != nil {
		return err
	}
	req, err := a.privacy.Decline(r.Context(), p, r.PathValue("id"), b.Reason)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, req)
	return nil
}

func (a *API) getPrivacySettings(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	set, err := a.privacy.Settings(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, set)
	return nil
}

func (a *API) putPrivacySettings(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var b privacy.Settings
	if err := httpx.DecodeJSON(w, r, &b, maxBody); err != nil {
		return err
	}
	set, err := a.privacy.SetSettings(r.Context(), p, b)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, set)
	return nil
}
