package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/search"
)

// Page sizes of the community's lists, as the community serves them.
const (
	topicsDefault, topicsMax     = 30, 100
	commentsDefault, commentsMax = 50, 500
)

// communityRoutes are the operations on spaces, posts, comments, ideas, profiles and search.
// API keys see every space, private ones included: they are the organisation's integrations.
func (a *API) communityRoutes() []route {
	const (
		manage   = accounts.PermManageCommunity // write scope
		moderate = accounts.PermModerate        // write scope
		actAs    = accounts.PermActAsMember     // admin scope
	)
	return []route{
		{method: "GET", path: "/spaces", handle: a.listSpaces},
		{method: "POST", path: "/spaces", perm: manage, handle: a.createSpace},
		{method: "GET", path: "/spaces/{ref}", handle: a.getSpace},
		{method: "POST", path: "/spaces/{ref}/members", perm: moderate, handle: a.addSpaceMember},
		{method: "GET", path: "/spaces/{ref}/posts", handle: a.listTopics},
		{method: "POST", path: "/spaces/{ref}/posts", perm: actAs, handle: a.createPost},
		{method: "GET", path: "/posts/{id}", handle: a.getPost},
		{method: "PATCH", path: "/posts/{id}", perm: moderate, handle: a.editPost},
		{method: "GET", path: "/posts/{id}/revisions", handle: a.listRevisions},
		{method: "POST", path: "/posts/{id}/moderation", perm: moderate, handle: a.moderatePost},
		{method: "GET", path: "/posts/{id}/comments", handle: a.listComments},
		{method: "POST", path: "/posts/{id}/comments", perm: actAs, handle: a.addComment},
		{method: "POST", path: "/posts/{id}/accept", perm: moderate, handle: a.acceptAnswer},
		{method: "POST", path: "/comments/{id}/moderation", perm: moderate, handle: a.moderateComment},
		{method: "POST", path: "/posts/{id}/reactions/{emoji}", perm: actAs, handle: a.react("post", true)},
		{method: "DELETE", path: "/posts/{id}/reactions/{emoji}", perm: actAs, handle: a.react("post", false)},
		{method: "POST", path: "/comments/{id}/reactions/{emoji}", perm: actAs, handle: a.react("comment", true)},
		{method: "DELETE", path: "/comments/{id}/reactions/{emoji}", perm: actAs, handle: a.react("comment", false)},
		{method: "POST", path: "/posts/{id}/vote", perm: actAs, handle: a.vote(true)},
		{method: "DELETE", path: "/posts/{id}/vote", perm: actAs, handle: a.vote(false)},
		{method: "PUT", path: "/posts/{id}/status", perm: manage, handle: a.setIdeaStatus},
		{method: "POST", path: "/posts/{id}/merge", perm: manage, handle: a.mergeIdea},
		{method: "GET", path: "/members/{ref}/profile", handle: a.getProfile},
		{method: "GET", path: "/search", handle: a.search},
	}
}

// memberAction is the body of an action only a member takes (a reaction, a vote, an RSVP) when
// an admin-scoped API key takes it for a member.
type memberAction struct {
	MemberID string `json:"member_id"`
}

// actingMember returns the principal of the member an API key acts for in a member action. Such
// actions count as the member's own (their vote, their reaction, their RSVP), so the key itself
// never takes them: it needs the admin scope (PermActAsMember, as for imports) and must name the
// member in the body's member_id.
func (a *API) actingMember(r *http.Request, p accounts.Principal, memberID string) (accounts.Principal, error) {
	if err := accounts.Authorize(p, accounts.PermActAsMember); err != nil {
		return accounts.Principal{}, err
	}
	if memberID = strings.TrimSpace(memberID); memberID == "" {
		return accounts.Principal{}, errs.Invalid("member_id", "this is a member's action: name the member it is for in member_id")
	}
	m, err := a.acc.GetMember(r.Context(), memberID)
	if errs.KindOf(err) == errs.KindNotFound {
		return accounts.Principal{}, errs.Invalid("member_id", "no member with id %s", memberID)
	}
	if err != nil {
		return accounts.Principal{}, err
	}
	if m.Status != "active" {
		return accounts.Principal{}, errs.Because(errs.Forbidden("this account is suspended"), "suspended")
	}
	return m.Principal(), nil
}

// decodeMemberAction reads a {member_id} body and returns the member's principal. A missing body
// is a missing member_id, so a DELETE without one is told what it lacks.
func (a *API) decodeMemberAction(w http.ResponseWriter, r *http.Request, p accounts.Principal) (accounts.Principal, error) {
	if err := accounts.Authorize(p, accounts.PermActAsMember); err != nil {
		return accounts.Principal{}, err
	}
	var in memberAction
	if r.ContentLength != 0 {
		if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
			return accounts.Principal{}, err
		}
	}
	return a.actingMember(r, p, in.MemberID)
}

func (a *API) listSpaces(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	list, err := a.community.Spaces(r.Context(), p)
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

func (a *API) createSpace(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in community.SpaceInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	sp, err := a.community.CreateSpace(r.Context(), p, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/spaces/"+sp.Slug)
	httpx.WriteJSON(w, http.StatusCreated, sp)
	return nil
}

func (a *API) getSpace(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	sp, err := a.community.Space(r.Context(), p, r.PathValue("ref"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, sp)
	return nil
}

// spaceMemberInput is the body of POST /spaces/{ref}/members.
type spaceMemberInput struct {
	MemberID string `json:"member_id"`
	Role     string `json:"role"` // member when empty
}

func (a *API) addSpaceMember(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in spaceMemberInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	if in.MemberID == "" {
		return errs.Invalid("member_id", "name the member to add")
	}
	if in.Role == "" {
		in.Role = community.SpaceMember
	}
	if err := a.community.AddSpaceMember(r.Context(), p, r.PathValue("ref"), in.MemberID, in.Role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listTopics(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, pos, err := parsePageSized(r, topicsDefault, topicsMax)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	kind := community.Kind(q.Get("kind"))
	if kind != "" && kind != community.Discussion && kind != community.Question && kind != community.Idea {
		return errs.Invalid("kind", "kind must be discussion, question or idea")
	}
	var waiting time.Duration
	if h := q.Get("unanswered_for_hours"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 1 || n > 8760 {
			return errs.Invalid("unanswered_for_hours", "must be a whole number of hours from 1 to 8760")
		}
		waiting = time.Duration(n) * time.Hour
	}
	list, next, err := a.community.Topics(r.Context(), p, community.TopicQuery{
		SpaceID: r.PathValue("ref"), Kind: kind, Filter: q.Get("filter"), UnansweredFor: waiting, CategoryID: q.Get("category_id"),
		Tag: q.Get("tag"), Sort: q.Get("sort"), Cursor: pos, Limit: page.Limit,
	})
	if err != nil {
		return err
	}
	writeList(w, list, next)
	return nil
}

func (a *API) createPost(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in community.PostInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	post, err := a.community.CreatePost(r.Context(), p, r.PathValue("ref"), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/posts/"+post.ID)
	httpx.WriteJSON(w, http.StatusCreated, post)
	return nil
}

func (a *API) getPost(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	post, err := a.community.Post(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, post)
	return nil
}

// postPatch is the body of PATCH /posts/{id}: the fields given replace the post's.
type postPatch struct {
	Title *string   `json:"title"`
	Body  *string   `json:"body"`
	Tags  *[]string `json:"tags"`
}

func (a *API) editPost(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in postPatch
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	id := r.PathValue("id")
	post, err := a.community.Post(r.Context(), p, id)
	if err != nil {
		return err
	}
	if in.Title != nil || in.Body != nil || in.Tags != nil {
		edit := community.PostInput{Title: post.Title, Body: post.Body, Tags: post.Tags}
		if in.Title != nil {
			edit.Title = *in.Title
		}
		if in.Body != nil {
			edit.Body = *in.Body
		}
		if in.Tags != nil {
			edit.Tags = *in.Tags
		}
		if post, err = a.community.EditPost(r.Context(), p, id, edit); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusOK, post)
	return nil
}

func (a *API) listRevisions(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	list, err := a.community.Revisions(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

// postModeration is the body of POST /posts/{id}/moderation.
type postModeration struct {
	Action string `json:"action"`
	Reason string `json:"reason"`
}

func (a *API) moderatePost(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in postModeration
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	if err := a.community.Moderate(r.Context(), p, r.PathValue("id"), in.Action, in.Reason); err != nil {
		return err
	}
	return a.getPost(w, r, p)
}

func (a *API) listComments(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, after, err := parsePageSized(r, commentsDefault, commentsMax)
	if err != nil {
		return err
	}
	list, next, err := a.community.Comments(r.Context(), p, r.PathValue("id"), after, page.Limit)
	if err != nil {
		return err
	}
	writeList(w, list, next)
	return nil
}

func (a *API) addComment(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in community.CommentInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	c, err := a.community.AddComment(r.Context(), p, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, c)
	return nil
}

// acceptInput is the body of POST /posts/{id}/accept.
type acceptInput struct {
	CommentID string `json:"comment_id"`
}

func (a *API) acceptAnswer(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in acceptInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	if err := a.community.AcceptAnswer(r.Context(), p, r.PathValue("id"), in.CommentID); err != nil {
		return err
	}
	return a.getPost(w, r, p)
}

// commentModeration is the body of POST /comments/{id}/moderation.
type commentModeration struct {
	Hide   *bool  `json:"hide"`
	Reason string `json:"reason"`
}

func (a *API) moderateComment(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in commentModeration
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	if in.Hide == nil {
		return errs.Invalid("hide", "say whether to hide the reply: true or false")
	}
	if err := a.community.HideComment(r.Context(), p, r.PathValue("id"), *in.Hide, in.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// reactionSummary is the answer to adding or removing a reaction: the counts by emoji and the
// emojis the member has given.
type reactionSummary struct {
	Counts        map[string]int `json:"counts"`
	MemberReacted []string       `json:"member_reacted"`
}

// react adds (or removes) a member's reaction to a post or comment.
func (a *API) react(kind string, add bool) func(http.ResponseWriter, *http.Request, accounts.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
		mp, err := a.decodeMemberAction(w, r, p)
		if err != nil {
			return err
		}
		id, emoji := r.PathValue("id"), r.PathValue("emoji")
		if add {
			err = a.community.React(r.Context(), mp, kind, id, emoji)
		} else {
			err = a.community.Unreact(r.Context(), mp, kind, id, emoji)
		}
		if err != nil {
			return err
		}
		counts, mine, err := a.community.Reactions(r.Context(), mp, kind, id)
		if err != nil {
			return err
		}
		out := reactionSummary{Counts: counts, MemberReacted: []string{}}
		for e := range mine {
			out.MemberReacted = append(out.MemberReacted, e)
		}
		slices.Sort(out.MemberReacted)
		httpx.WriteJSON(w, http.StatusOK, out)
		return nil
	}
}

// vote gives (or takes back) a member's vote for an idea and answers with the idea as the member
// sees it.
func (a *API) vote(add bool) func(http.ResponseWriter, *http.Request, accounts.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
		mp, err := a.decodeMemberAction(w, r, p)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		if add {
			err = a.community.Vote(r.Context(), mp, id)
		} else {
			err = a.community.Unvote(r.Context(), mp, id)
		}
		if err != nil {
			return err
		}
		post, err := a.community.Post(r.Context(), mp, id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, post)
		return nil
	}
}

// ideaStatusInput is the body of PUT /posts/{id}/status.
type ideaStatusInput struct {
	Status   string `json:"status"`
	Response string `json:"response"`
}

func (a *API) setIdeaStatus(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in ideaStatusInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	if err := a.community.SetIdeaStatus(r.Context(), p, r.PathValue("id"), in.Status, in.Response); err != nil {
		return err
	}
	return a.getPost(w, r, p)
}

// mergeInput is the body of POST /posts/{id}/merge.
type mergeInput struct {
	Into string `json:"into"`
}

func (a *API) mergeIdea(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in mergeInput
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	if in.Into == "" {
		return errs.Invalid("into", "name the idea to merge into")
	}
	if err := a.community.MergeIdea(r.Context(), p, r.PathValue("id"), in.Into); err != nil {
		return err
	}
	return a.getPost(w, r, p)
}

func (a *API) getProfile(w http.ResponseWriter, r *http.Request, _ accounts.Principal) error {
	ref := r.PathValue("ref")
	// community.Profile looks its ref up in lower case, so it never finds a member id (ULIDs are
	// upper case) and, finding the member by id, calls itself again without end. Until it can,
	// profiles are looked up by handle here; an id gets an answer that says so.
	if _, err := a.acc.GetMember(r.Context(), ref); err == nil {
		return errs.Invalid("ref", "look a profile up by the member's handle; member ids are not supported yet")
	}
	pr, err := a.community.Profile(r.Context(), ref)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, pr)
	return nil
}

// searchHit is one search result.
type searchHit struct {
	Kind     string    `json:"kind"`
	ID       string    `json:"id"`
	SpaceID  string    `json:"space_id,omitempty"`
	Title    string    `json:"title"`
	Snippet  string    `json:"snippet"` // HTML-escaped, matches in <mark>
	URL      string    `json:"url"`
	AuthorID string    `json:"author_id,omitempty"`
	At       time.Time `json:"at"`
}

// searchKinds are what ?kinds= may name.
var searchKinds = []string{search.KindPost, search.KindComment, search.KindArticle, search.KindEvent, search.KindMember}

func (a *API) search(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, after, err := parsePageSized(r, search.DefaultLimit, search.MaxLimit)
	if err != nil {
		return err
	}
	q := search.Query{Text: r.URL.Query().Get("q"), Limit: page.Limit, After: after}
	if ks := r.URL.Query().Get("kinds"); ks != "" {
		for k := range strings.SplitSeq(ks, ",") {
			if k = strings.TrimSpace(k); !slices.Contains(searchKinds, k) {
				return errs.Invalid("kinds", "kinds must be a comma-separated list of %s", strings.Join(searchKinds, ", "))
			}
			q.Kinds = append(q.Kinds, k)
		}
	}
	hits, next, err := a.community.Search(r.Context(), p, q)
	if err != nil {
		return err
	}
	out := make([]searchHit, len(hits))
	for i, h := range hits {
		out[i] = searchHit{Kind: h.Kind, ID: h.ID, SpaceID: h.SpaceID, Title: h.Title, Snippet: h.Snippet, URL: h.URL, AuthorID: h.AuthorID, At: h.At}
	}
	writeList(w, out, next)
	return nil
}
