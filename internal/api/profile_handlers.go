package api

import (
	"net/http"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// profileRoutes are the identity graph's operations: find the profile behind any identifier,
// see how it was put together, and undo a wrong merge.
func (a *API) profileRoutes() []route {
	return []route{
		{method: "GET", path: "/profiles/lookup", perm: accounts.PermViewMembers, handle: a.lookupProfile},
		{method: "GET", path: "/profiles/{id}", perm: accounts.PermViewMembers, handle: a.getIdentityProfile},
		{method: "GET", path: "/profiles/{id}/merges", perm: accounts.PermViewMembers, handle: a.profileMerges},
		{method: "POST", path: "/merges/{id}/undo", perm: accounts.PermManageMembers, handle: a.undoMerge},
	}
}

// profileView is a profile as the API shows it: its id and the identifiers that make it up.
type profileView struct {
	ID          string                `json:"id"`
	Identifiers []identity.Identifier `json:"identifiers"`
}

func (a *API) writeProfile(w http.ResponseWriter, r *http.Request, id string) error {
	ids, err := a.identity.Identifiers(r.Context(), id)
	if err != nil {
		return err
	}
	if ids == nil {
		ids = []identity.Identifier{}
	}
	httpx.WriteJSON(w, http.StatusOK, profileView{ID: id, Identifiers: ids})
	return nil
}

func (a *API) lookupProfile(w http.ResponseWriter, r *http.Request, _ accounts.Principal) error {
	q := r.URL.Query()
	switch {
	case q.Get("type") == "":
		return errs.Invalid("type", "give the identifier's type, e.g. email, phone, user_id or crm:salesforce")
	case q.Get("value") == "":
		return errs.Invalid("value", "give the identifier's value")
	}
	id, err := a.identity.Lookup(r.Context(), q.Get("type"), q.Get("value"))
	if err != nil {
		return err
	}
	return a.writeProfile(w, r, id)
}

func (a *API) getIdentityProfile(w http.ResponseWriter, r *http.Request, _ accounts.Principal) error {
	return a.writeProfile(w, r, r.PathValue("id"))
}

func (a *API) profileMerges(w http.ResponseWriter, r *http.Request, _ accounts.Principal) error {
	list, err := a.identity.Merges(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

func (a *API) undoMerge(w http.ResponseWriter, r *http.Request, _ accounts.Principal) error {
	if err := a.identity.Unmerge(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
