package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// mergedLink is the idea a merged idea became part of, as its page links to it.
type mergedLink struct {
	ID    string
	Title string // "" when the reader may not see it
}

// mergedInto reads the idea post was merged into, or returns nil when it was not merged.
func (s *Web) mergedInto(r *http.Request, v *view, post community.Post) (*mergedLink, error) {
	if post.MergedInto == "" {
		return nil, nil
	}
	into, err := s.com.Post(r.Context(), v.principal(), post.MergedInto)
	if errs.KindOf(err) == errs.KindNotFound {
		return &mergedLink{ID: post.MergedInto}, nil
	}
	if err != nil {
		return nil, err
	}
	return &mergedLink{ID: into.ID, Title: into.Title}, nil
}

// canMerge reports whether the reader may merge the idea into another: product staff and the
// space's moderators, as community.Service.MergeIdea decides.
func canMerge(v *view, post community.Post) bool {
	return post.Kind == community.Idea && post.MergedInto == "" &&
		(post.CanModerate || accounts.Allowed(v.principal(), accounts.PermManageCommunity))
}

// ideaRef reads the idea a merge form names: its id, or the address of its page.
func ideaRef(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "/posts/"); i >= 0 {
		s = s[i+len("/posts/"):]
		if j := strings.IndexAny(s, "/?#"); j >= 0 {
			s = s[:j]
		}
	}
	return s
}

// mergeIdea merges the idea of the path into the one the form names.
func (s *Web) mergeIdea(w http.ResponseWriter, r *http.Request, v *view) {
	s.postForm(w, r, v, "ideas", "merged", func(post community.Post) error {
		into := ideaRef(r.PostForm.Get("into"))
		if into == "" {
			return errs.Because(errs.Invalid("into", "name the idea to merge into"), "merge_into")
		}
		return withFieldReason(s.com.MergeIdea(r.Context(), v.principal(), post.ID, into), "merge_")
	})
}

// revisionRow is one earlier version of a post.
type revisionRow struct {
	community.Revision
	BodyHTML template.HTML
	Editor   string
}

// historyData is a post's edit history.
type historyData struct {
	Post      community.Post
	Space     community.Space
	Revisions []revisionRow
}

// postHistory lists the earlier versions of a post, newest first.
func (s *Web) postHistory(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	post, sp, ok := s.loadPost(w, r, v)
	if !ok {
		return
	}
	revs, err := s.com.Revisions(r.Context(), v.principal(), post.ID)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := historyData{Post: post, Space: sp}
	names := map[string]string{}
	md := s.com.Markdown()
	for _, rev := range revs {
		name, ok := names[rev.EditorID]
		if !ok {
			name = s.memberNameByID(r, v, rev.EditorID)
			names[rev.EditorID] = name
		}
		d.Revisions = append(d.Revisions, revisionRow{Revision: rev, BodyHTML: safeHTML(md.HTML(rev.Body)), Editor: name})
	}
	v.Title, v.Data = v.T("history.title", post.Title), d
	s.render(w, r, 0, "post-history", v)
}

// editedAfter is how long after publishing a change counts as an edit (not the publishing itself).
const editedAfter = time.Second

// historyURL is the edit history of a post.
func historyURL(postID string) string { return "/posts/" + url.PathEscape(postID) + "/history" }
