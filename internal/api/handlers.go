package api

import (
	"net/http"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/httpx"
)

// Page sizes of list operations.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// meResponse describes the caller.
type meResponse struct {
	Type   string          `json:"type"` // api_key
	APIKey accounts.APIKey `json:"api_key"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	k, err := a.acc.GetAPIKey(r.Context(), p, p.APIKeyID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, meResponse{Type: "api_key", APIKey: k})
	return nil
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, after, err := parsePage(r)
	if err != nil {
		return err
	}
	list, next, err := a.acc.ListMembers(r.Context(), p, after, page.Limit)
	if err != nil {
		return err
	}
	writeList(w, list, next)
	return nil
}

func (a *API) getMember(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	if err := accounts.Authorize(p, accounts.PermViewMembers); err != nil {
		return err
	}
	m, err := a.acc.GetMember(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, m)
	return nil
}

// memberPatch is the body of PATCH /members/{id}.
type memberPatch struct {
	Role *accounts.Role `json:"role"`
}

func (a *API) patchMember(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in memberPatch
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	id := r.PathValue("id")
	if in.Role != nil {
		if err := a.acc.SetRole(r.Context(), p, id, *in.Role); err != nil {
			return err
		}
	}
	return a.getMember(w, r, p)
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	keys, err := a.acc.ListAPIKeys(r.Context(), p)
	if err != nil {
		return err
	}
	writeList(w, keys, "")
	return nil
}

// newAPIKey is the body of POST /api-keys.
type newAPIKey struct {
	Name   string           `json:"name"`
	Scopes []accounts.Scope `json:"scopes"`
}

// createdAPIKey is the answer to POST /api-keys: the key itself appears only here.
type createdAPIKey struct {
	Key    string          `json:"key"`
	APIKey accounts.APIKey `json:"api_key"`
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in newAPIKey
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	raw, k, err := a.acc.CreateAPIKey(r.Context(), p, in.Name, in.Scopes)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/api-keys/"+k.ID)
	httpx.WriteJSON(w, http.StatusCreated, createdAPIKey{Key: raw, APIKey: k})
	return nil
}

func (a *API) revokeAPIKey(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	if err := a.acc.RevokeAPIKey(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, before, err := parsePage(r)
	if err != nil {
		return err
	}
	list, next, err := a.acc.ListAudit(r.Context(), p, before, page.Limit)
	if err != nil {
		return err
	}
	writeList(w, list, next)
	return nil
}

// parsePage reads ?limit and ?cursor and returns the position the cursor holds.
func parsePage(r *http.Request) (httpx.Page, string, error) {
	return parsePageSized(r, defaultLimit, maxLimit)
}

// parsePageSized is parsePage for a list with its own default and largest page.
func parsePageSized(r *http.Request, def, most int) (httpx.Page, string, error) {
	page, err := httpx.ParsePage(r, def, most)
	if err != nil || page.Cursor == "" {
		return page, "", err
	}
	pos, err := httpx.DecodeCursor(page.Cursor)
	return page, pos, err
}

// writeList writes a page of items; data is [] rather than null when empty.
func writeList[T any](w http.ResponseWriter, items []T, next string) {
	if items == nil {
		items = []T{}
	}
	out := httpx.List[T]{Data: items}
	if next != "" {
		out.NextCursor = httpx.EncodeCursor(next)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}
