package api

import (
	"net/http"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/survey"
)

// surveyRoutes are the operations on polls and surveys. A key acts with an administrator's role
// limited by its scopes, so a read key views analytics and with it every survey and its results.
func (a *API) surveyRoutes() []route {
	const (
		moderate = accounts.PermModerate        // write scope
		manage   = accounts.PermManageCommunity // write scope
		actAs    = accounts.PermActAsMember     // admin scope
	)
	return []route{
		{method: "POST", path: "/posts/{id}/poll", perm: moderate, handle: a.createPoll},
		{method: "POST", path: "/surveys", perm: manage, handle: a.createSurvey},
		{method: "GET", path: "/surveys/{id}", handle: a.getSurvey},
		{method: "GET", path: "/surveys/{id}/results", handle: a.surveyResults},
		{method: "POST", path: "/surveys/{id}/responses", perm: actAs, handle: a.respondSurvey},
	}
}

// pollInput is the body of POST /posts/{id}/poll. With member_id an admin key adds the poll as
// that member, who must be the post's author; without it the key adds it as a moderator.
type pollInput struct {
	Question string   `json:"question"`
	Options  []string `json:"options"`
	Multiple bool     `json:"multiple"`
	MemberID string   `json:"member_id"`
}

func (a *API) createPoll(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in pollInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	actor := p
	if in.MemberID != "" {
		var err error
		if actor, err = a.actingMember(r, p, in.MemberID); err != nil {
			return err
		}
	}
	sv, err := a.survey.CreatePoll(r.Context(), actor, r.PathValue("id"), in.Question, in.Options, in.Multiple)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/surveys/"+sv.ID)
	httpx.WriteJSON(w, http.StatusCreated, sv)
	return nil
}

// surveyBody is the body of POST /surveys: survey.SurveyInput with its closing time as text, so
// a time that does not parse is named (encoding/json would only say the body is malformed).
type surveyBody struct {
	Title       string            `json:"title"`
	Description string            `json:"description"`
	SpaceID     string            `json:"space_id"`
	Questions   []survey.Question `json:"questions"`
	Anonymous   bool              `json:"anonymous"`
	ClosesAt    string            `json:"closes_at"`
}

func (a *API) createSurvey(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var body surveyBody
	if err := httpx.DecodeJSON(w, r, &body, maxBody); err != nil {
		return err
	}
	in := survey.SurveyInput{Title: body.Title, Description: body.Description, SpaceID: body.SpaceID, Questions: body.Questions, Anonymous: body.Anonymous}
	if body.ClosesAt != "" {
		t, err := time.Parse(time.RFC3339, body.ClosesAt)
		if err != nil {
			return errs.Invalid("closes_at", "must be a time such as 2026-12-01T19:00:00+09:00 (RFC 3339)")
		}
		in.ClosesAt = &t
	}
	sv, err := a.survey.CreateSurvey(r.Context(), p, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/surveys/"+sv.ID)
	httpx.WriteJSON(w, http.StatusCreated, sv)
	return nil
}

func (a *API) getSurvey(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	sv, err := a.survey.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, sv)
	return nil
}

func (a *API) surveyResults(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	res, err := a.survey.Results(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

// responseInput is the body of POST /surveys/{id}/responses: a member's answers by question id.
type responseInput struct {
	MemberID string                   `json:"member_id"`
	Answers  map[string]survey.Answer `json:"answers"`
}

func (a *API) respondSurvey(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in responseInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	mp, err := a.actingMember(r, p, in.MemberID)
	if err != nil {
		return err
	}
	if len(in.Answers) == 0 {
		// The survey part counts a response without answers if no question is required; an API
		// client sending none has most likely misnamed the field.
		return errs.Invalid("answers", "give the member's answers by question id")
	}
	id := r.PathValue("id")
	if err := a.survey.Respond(r.Context(), mp, id, in.Answers); err != nil {
		return err
	}
	sv, err := a.survey.Get(r.Context(), mp, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, sv)
	return nil
}
