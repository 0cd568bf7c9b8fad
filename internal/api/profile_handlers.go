package api

import (
	"net/http"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
)

// profileRoutes are the customer profiles: find the profile behind any identifier, read it
// whole (traits, computed attributes, account), its timeline and trait history, see how it was
// put together, and undo a wrong merge.
func (a *API) profileRoutes() []route {
	return []route{
		{method: "GET", path: "/profiles", perm: accounts.PermViewMembers, handle: a.findProfiles},
		{method: "GET", path: "/profiles/lookup", perm: accounts.PermViewMembers, handle: a.lookupProfile},
		{method: "GET", path: "/profiles/{id}", perm: accounts.PermViewMembers, handle: a.getCustomerProfile},
		{method: "GET", path: "/profiles/{id}/events", perm: accounts.PermViewMembers, handle: a.profileEvents},
		{method: "GET", path: "/profiles/{id}/traits", perm: accounts.PermViewMembers, handle: a.profileTraitHistory},
		{method: "GET", path: "/profiles/{id}/merges", perm: accounts.PermViewMembers, handle: a.profileMerges},
		{method: "POST", path: "/merges/{id}/undo", perm: accounts.PermManageMembers, handle: a.undoMerge},
	}
}

func (a *API) findProfiles(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	list, err := a.profiles.Find(r.Context(), p, r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

func (a *API) lookupProfile(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	q := r.URL.Query()
	switch {
	case q.Get("type") == "":
		return errs.Invalid("type", "give the identifier's type, e.g. email, phone, user_id or crm:salesforce")
	case q.Get("value") == "":
		return errs.Invalid("value", "give the identifier's value")
	}
	pr, err := a.profiles.Lookup(r.Context(), p, q.Get("type"), q.Get("value"))
	if err != nil {
		return err
	}
	v, err := a.withScores(r, p, pr)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) getCustomerProfile(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	pr, err := a.profiles.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := a.withScores(r, p, pr)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) profileEvents(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, after, err := parsePage(r)
	if err != nil {
		return err
	}
	list, next, err := a.profiles.Events(r.Context(), p, r.PathValue("id"), after, page.Limit)
	if err != nil {
		return err
	}
	writeList(w, list, next)
	return nil
}

func (a *API) profileTraitHistory(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	list, err := a.profiles.TraitHistory(r.Context(), p, r.PathValue("id"), r.URL.Query().Get("name"))
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

func (a *API) profileMerges(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	if _, err := a.profiles.Get(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
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
