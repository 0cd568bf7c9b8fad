package api

import (
	"net/http"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/ingest"
)

// sourceRoutes are the operations on the tracking API's sources: the senders of Segment-style
// calls to /v1/batch and friends, each with its write key. Managing them is setting the
// community up, so they need the admin scope.
func (a *API) sourceRoutes() []route {
	const settings = accounts.PermManageSettings // admin scope
	return []route{
		{method: "GET", path: "/sources", perm: settings, handle: a.listSources},
		{method: "POST", path: "/sources", perm: settings, handle: a.createSource},
		{method: "DELETE", path: "/sources/{id}", perm: settings, handle: a.revokeSource},
	}
}

func (a *API) listSources(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	list, err := a.sources.List(r.Context(), p)
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

// newSource is the body of POST /sources.
type newSource struct {
	Name string `json:"name"`
}

// createdSource is the answer to POST /sources: the write key appears only here.
type createdSource struct {
	WriteKey string        `json:"write_key"`
	Source   ingest.Source `json:"source"`
}

func (a *API) createSource(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in newSource
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	raw, src, err := a.sources.Create(r.Context(), p, in.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/sources/"+src.ID)
	httpx.WriteJSON(w, http.StatusCreated, createdSource{WriteKey: raw, Source: src})
	return nil
}

func (a *API) revokeSource(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	if err := a.sources.Revoke(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
