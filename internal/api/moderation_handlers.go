package api

import (
	"net/http"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
)

// Page sizes of the moderation queues, as the community serves them.
const queueDefault, queueMax = 50, 200

// moderationRoutes are reports, the approval queue, the community's settings and suspensions.
// Keys act as administrators, so a key with the write scope moderates every space.
func (a *API) moderationRoutes() []route {
	const (
		moderate = accounts.PermModerate       // write scope
		settings = accounts.PermManageSettings // admin scope
		members  = accounts.PermManageMembers  // admin scope
		actAs    = accounts.PermActAsMember    // admin scope
	)
	return []route{
		{method: "GET", path: "/moderation/reports", perm: moderate, handle: a.listReports},
		{method: "POST", path: "/moderation/reports/{id}/resolve", perm: moderate, handle: a.resolveReport},
		{method: "POST", path: "/reports", perm: actAs, handle: a.createReport},
		{method: "GET", path: "/moderation/pending", perm: moderate, handle: a.listPending},
		{method: "POST", path: "/posts/{id}/approve", perm: moderate, handle: a.approvePost},
		{method: "POST", path: "/posts/{id}/reject", perm: moderate, handle: a.rejectPost},
		{method: "GET", path: "/community/settings", handle: a.getSettings},
		{method: "PUT", path: "/community/settings", perm: settings, handle: a.putSettings},
		{method: "POST", path: "/members/{id}/suspend", perm: members, handle: a.setMemberStatus(true)},
		{method: "POST", path: "/members/{id}/reinstate", perm: members, handle: a.setMemberStatus(false)},
	}
}

func (a *API) listReports(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, after, err := parsePageSized(r, queueDefault, queueMax)
	if err != nil {
		return err
	}
	list, next, err := a.community.Reports(r.Context(), p, r.URL.Query().Get("status"), after, page.Limit)
	if err != nil {
		return err
	}
	writeList(w, list, next)
	return nil
}

// resolveInput is the body of POST /moderation/reports/{id}/resolve.
type resolveInput struct {
	Action string `json:"action"` // dismiss or hide
	Note   string `json:"note"`
}

func (a *API) resolveReport(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in resolveInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	if err := a.community.ResolveReport(r.Context(), p, r.PathValue("id"), in.Action, in.Note); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// reportInput is the body of POST /reports: a member's report, which an admin key files for them.
type reportInput struct {
	MemberID   string `json:"member_id"`
	TargetKind string `json:"target_kind"`
	TargetID   string `json:"target_id"`
	Reason     string `json:"reason"`
	Note       string `json:"note"`
}

func (a *API) createReport(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in reportInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	mp, err := a.actingMember(r, p, in.MemberID)
	if err != nil {
		return err
	}
	rep, err := a.community.ReportContent(r.Context(), mp, community.ReportInput{TargetKind: in.TargetKind, TargetID: in.TargetID, Reason: in.Reason, Note: in.Note})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, rep)
	return nil
}

func (a *API) listPending(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, after, err := parsePageSized(r, queueDefault, queueMax)
	if err != nil {
		return err
	}
	list, next, err := a.community.PendingPosts(r.Context(), p, after, page.Limit)
	if err != nil {
		return err
	}
	writeList(w, list, next)
	return nil
}

func (a *API) approvePost(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	if err := a.community.ApprovePost(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	return a.getPost(w, r, p)
}

// rejectInput is the body of POST /posts/{id}/reject.
type rejectInput struct {
	Reason string `json:"reason"`
}

func (a *API) rejectPost(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in rejectInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	if err := a.community.RejectPost(r.Context(), p, r.PathValue("id"), in.Reason); err != nil {
		return err
	}
	return a.getPost(w, r, p)
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	if err := accounts.Authorize(p, accounts.PermViewAdmin); err != nil {
		return err
	}
	set, err := a.community.Settings(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, set)
	return nil
}

// settingsInput is the body of PUT /community/settings: every setting, named.
type settingsInput struct {
	FirstPostApproval *bool `json:"first_post_approval"`
}

func (a *API) putSettings(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in settingsInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	if in.FirstPostApproval == nil {
		return errs.Invalid("first_post_approval", "say whether first posts wait for approval: true or false")
	}
	if err := a.community.SetSettings(r.Context(), p, community.Settings{FirstPostApproval: *in.FirstPostApproval}); err != nil {
		return err
	}
	return a.getSettings(w, r, p)
}

// statusInput is the body of POST /members/{id}/suspend and /reinstate.
type statusInput struct {
	Reason string `json:"reason"`
}

// setMemberStatus suspends (or reinstates) a member and answers with the member.
func (a *API) setMemberStatus(suspend bool) func(http.ResponseWriter, *http.Request, accounts.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
		var in statusInput
		if r.ContentLength != 0 {
			if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
				return err
			}
		}
		id := r.PathValue("id")
		var err error
		if suspend {
			err = a.acc.Suspend(r.Context(), p, id, in.Reason)
		} else {
			err = a.acc.Reinstate(r.Context(), p, id, in.Reason)
		}
		if err != nil {
			return err
		}
		return a.getMember(w, r, p)
	}
}
