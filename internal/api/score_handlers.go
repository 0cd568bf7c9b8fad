package api

import (
	"net/http"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/score"
)

// scoreRoutes are score models and people's scores: reading them needs the read scope,
// creating, changing and deleting models the write scope (marketers build them).
func (a *API) scoreRoutes() []route {
	const read, write = accounts.PermViewMembers, accounts.PermManageMarketing
	rts := []route{
		{method: "GET", path: "/scores", perm: read, handle: a.listScoreModels},
		{method: "POST", path: "/scores", perm: write, handle: a.createScoreModel},
		{method: "GET", path: "/scores/{id}", perm: read, handle: a.getScoreModel},
		{method: "PUT", path: "/scores/{id}", perm: write, handle: a.updateScoreModel},
		{method: "DELETE", path: "/scores/{id}", perm: write, handle: a.deleteScoreModel},
	}
	if a.identity != nil && a.profiles != nil {
		rts = append(rts, route{method: "GET", path: "/profiles/{id}/scores", perm: read, handle: a.profileScores})
	}
	return rts
}

func (a *API) listScoreModels(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	list, err := a.scores.List(r.Context(), p)
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

func (a *API) createScoreModel(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var body score.Input
	if err := httpx.DecodeJSON(w, r, &body, maxBody); err != nil {
		return err
	}
	m, err := a.scores.Create(r.Context(), p, body)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, m)
	return nil
}

func (a *API) getScoreModel(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	m, err := a.scores.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, m)
	return nil
}

func (a *API) updateScoreModel(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var body score.Input
	if err := httpx.DecodeJSON(w, r, &body, maxBody); err != nil {
		return err
	}
	m, err := a.scores.Update(r.Context(), p, r.PathValue("id"), body)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, m)
	return nil
}

func (a *API) deleteScoreModel(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	if err := a.scores.Delete(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// profileScores is GET /profiles/{id}/scores: the person's score under every model, by model id.
func (a *API) profileScores(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	pr, err := a.profiles.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	scores, err := a.scores.Of(r.Context(), p, pr.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"scores": scores})
	return nil
}

// profileView is a customer profile as the API shows it: with the person's scores when the
// score part is built.
type profileView struct {
	profile.Profile
	Scores map[string]score.ProfileScore `json:"scores,omitempty"`
}

// withScores adds the person's scores to pr.
func (a *API) withScores(r *http.Request, p accounts.Principal, pr profile.Profile) (profileView, error) {
	v := profileView{Profile: pr}
	if a.scores == nil {
		return v, nil
	}
	var err error
	v.Scores, err = a.scores.Of(r.Context(), p, pr.ID)
	return v, err
}
