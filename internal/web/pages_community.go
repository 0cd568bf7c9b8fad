package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/search"
)

// topicsPerPage is how many topics a space page or the idea board shows at a time.
const topicsPerPage = 20

// maxExperts is how many experts a space's sidebar shows.
const maxExperts = 5

// unansweredWait is how long a question waits before the "waiting 24h+" chip lists it.
const unansweredWait = 24 * time.Hour

// communityRoutes registers the community pages; Routes calls it when the service is there.
func (s *Web) communityRoutes(handle func(string, pageHandler)) {
	handle("GET /spaces", s.spaces)
	handle("POST /s/{slug}/join", s.signedIn(s.joinSpace))
	handle("POST /s/{slug}/leave", s.signedIn(s.leaveSpace))
	handle("POST /s/{slug}/mute", s.signedIn(s.muteSpace))
	handle("GET /s/{slug}", s.spacePage)
	handle("GET /s/{slug}/new", s.signedIn(s.composeForm))
	handle("POST /s/{slug}/new", s.signedIn(s.compose))
	handle("GET /posts/{id}", s.postPage)
	handle("POST /posts/{id}/read", s.recordReading)
	handle("GET /posts/{id}/edit", s.signedIn(s.editForm))
	handle("POST /posts/{id}/edit", s.signedIn(s.edit))
	handle("POST /posts/{id}/comments", s.signedIn(s.addComment))
	handle("POST /posts/{id}/accept", s.signedIn(s.acceptAnswer))
	handle("POST /posts/{id}/moderate", s.signedIn(s.moderate))
	handle("POST /posts/{id}/feed-pin", s.staff(accounts.PermManageCommunity, s.pinToFeed))
	handle("POST /posts/{id}/vote", s.signedIn(s.vote))
	handle("POST /posts/{id}/status", s.signedIn(s.ideaStatus))
	handle("POST /posts/{id}/merge", s.signedIn(s.mergeIdea))
	handle("GET /posts/{id}/history", s.postHistory)
	handle("POST /comments/{id}/hide", s.signedIn(s.hideComment))
	handle("POST /react", s.signedIn(s.react))
	handle("GET /ideas", s.ideas)
	handle("GET /members/{handle}", s.profile)
	handle("GET /settings/profile", s.signedIn(s.profileSettings))
	handle("POST /settings/profile", s.signedIn(s.saveProfileSettings))
	handle("GET /search", s.search)
	s.adminSpaceRoutes(handle)
}

// ---- view helpers for the community templates ----

// KindName is the translated name of a post kind.
func (v *view) KindName(k community.Kind) string { return v.cat.text("kind." + string(k)) }

// StatusName is the translated name of an idea status.
func (v *view) StatusName(st string) string {
	if st == "" {
		st = community.IdeaNew
	}
	return v.cat.text("idea.status." + st)
}

// IdeaStatuses lists the idea statuses, for the staff form and the board's chips.
func (v *view) IdeaStatuses() []string { return community.IdeaStatuses }

// VisibilityName is the translated name of a space's visibility.
func (v *view) VisibilityName(vis community.Visibility) string {
	return v.cat.text("visibility." + string(vis))
}

// Staff reports whether someone with role runs the community, as accounts.Allowed decides: their
// posts carry a role badge.
func (v *view) Staff(role accounts.Role) bool {
	p := accounts.Principal{MemberID: "author", Role: role}
	return accounts.Allowed(p, accounts.PermModerate) || accounts.Allowed(p, accounts.PermManageCommunity)
}

// MemberURL is the profile page of an author: by handle, or by id for members without one yet.
func (v *view) MemberURL(a community.Author) string {
	if a.Handle != "" {
		return "/members/" + url.PathEscape(a.Handle)
	}
	return "/members/" + url.PathEscape(a.ID)
}

// safeHTML marks text that a domain service has already sanitised (Markdown output, search
// snippets) as safe to insert. Never call it on anything a member typed.
func safeHTML(s string) template.HTML { return template.HTML(s) }

// ---- spaces ----

// spaceCard is one space in the list, with its join button.
type spaceCard struct {
	V *view
	community.Space
}

func (s *Web) spaces(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Nav2 = v.T("spaces.title"), "spaces"
	list, err := s.com.Spaces(r.Context(), v.principal())
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	cards := make([]spaceCard, len(list))
	for i, sp := range list {
		cards[i] = spaceCard{V: v, Space: sp}
	}
	v.Data = cards
	s.render(w, r, 0, "spaces", v)
}

func (s *Web) joinSpace(w http.ResponseWriter, r *http.Request, v *view) {
	s.membership(w, r, v, true)
}

func (s *Web) leaveSpace(w http.ResponseWriter, r *http.Request, v *view) {
	s.membership(w, r, v, false)
}

// membership joins or leaves a space; htmx gets the new button, a plain post goes back.
func (s *Web) membership(w http.ResponseWriter, r *http.Request, v *view, join bool) {
	slug := r.PathValue("slug")
	var err error
	if join {
		err = s.com.Join(r.Context(), v.principal(), slug)
	} else {
		err = s.com.Leave(r.Context(), v.principal(), slug)
	}
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if !isHTMX(r) {
		s.redirect(w, r, safeNext(r.PostFormValue("next"), "/s/"+url.PathEscape(slug)))
		return
	}
	sp, err := s.com.Space(r.Context(), v.principal(), slug)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.fragment(w, r, 0, "spaces", "space-join", spaceCard{V: v, Space: sp})
}

// muteSpace mutes or unmutes a joined space's notifications; htmx gets the new button, a plain
// post goes back to the space with a confirmation.
func (s *Web) muteSpace(w http.ResponseWriter, r *http.Request, v *view) {
	slug := r.PathValue("slug")
	muted := r.PostFormValue("muted") == "1"
	if err := s.com.SetMuted(r.Context(), v.principal(), slug, muted); err != nil {
		s.fail(w, r, v, err)
		return
	}
	if !isHTMX(r) {
		notice := "unmuted"
		if muted {
			notice = "muted"
		}
		s.redirect(w, r, "/s/"+url.PathEscape(slug)+"?notice="+notice)
		return
	}
	sp, err := s.com.Space(r.Context(), v.principal(), slug)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.fragment(w, r, 0, "space", "space-mute", spaceCard{V: v, Space: sp})
}

// tab is one link of a tab bar or a chip row.
type tab struct {
	Label   string
	URL     string
	Current bool
}

// topicRow is one topic in a list.
type topicRow struct {
	V *view
	community.Post
	Category  string
	SpaceName string
	SpaceSlug string
}

// spaceData is a space's topic list.
type spaceData struct {
	V        *view
	Space    community.Space
	Card     spaceCard
	Tabs     []tab
	Tab      string
	Chips    []tab // the question tabs' "waiting 24h+" filter
	Category string
	Tag      string
	Topics   []topicRow
	More     string // URL of the next page, or ""
	// RowsHTML is the rendered topic rows and "more" link, when they came from the cache.
	RowsHTML template.HTML
	CanPost  bool
	// EventsURL is the space's events tab ("" without the meetup service); EventsTab says it is shown.
	EventsURL string
	EventsTab bool
	// Experts is the sidebar's experts box; nil without the badges service or experts.
	Experts *experts
}

// spaceHead is the header and tab bar of a space's pages, with tab current ("all" … or "events").
func (s *Web) spaceHead(v *view, sp community.Space, current string) spaceData {
	d := spaceData{V: v, Space: sp, Card: spaceCard{V: v, Space: sp}, Tab: current, CanPost: v.Member != nil}
	base := "/s/" + url.PathEscape(sp.Slug)
	for _, t := range spaceTabs {
		u := url.Values{}
		if t.key != "all" {
			u.Set("tab", t.key)
		}
		d.Tabs = append(d.Tabs, tab{Label: v.T("space.tab." + t.key), URL: withQuery(base, u), Current: t.key == current})
	}
	if s.mtp != nil {
		d.EventsURL, d.EventsTab = base+"/events", current == "events"
	}
	return d
}

// spaceTabs are the space page's tabs: key → kind and question filter.
var spaceTabs = []struct {
	key    string
	kind   community.Kind
	filter string
}{
	{"all", "", ""},
	{"unsolved", community.Question, "unsolved"},
	{"solved", community.Question, "solved"},
	{"unanswered", community.Question, "unanswered"},
	{"discussions", community.Discussion, ""},
	{"ideas", community.Idea, ""},
}

func (s *Web) spacePage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	p := v.principal()
	sp, err := s.com.Space(r.Context(), p, r.PathValue("slug"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	q := r.URL.Query()
	d := s.spaceHead(v, sp, "all")
	d.Tabs, d.Category, d.Tag = nil, q.Get("category"), q.Get("tag")
	tq := community.TopicQuery{SpaceID: sp.ID, CategoryID: d.Category, Tag: d.Tag, Cursor: q.Get("cursor"), Limit: topicsPerPage}
	base := "/s/" + url.PathEscape(sp.Slug)
	for _, t := range spaceTabs {
		if q.Get("tab") == t.key {
			d.Tab, tq.Kind, tq.Filter = t.key, t.kind, t.filter
		}
	}
	// Customer success looks for questions nobody has answered for a day.
	waiting := q.Get("waiting") == "24h"
	if waiting {
		d.Tab, tq.Kind, tq.Filter, tq.UnansweredFor = "unanswered", community.Question, "unanswered", unansweredWait
	}
	for _, t := range spaceTabs {
		u := url.Values{}
		if t.key != "all" {
			u.Set("tab", t.key)
		}
		if d.Category != "" {
			u.Set("category", d.Category)
		}
		if d.Tag != "" {
			u.Set("tag", d.Tag)
		}
		d.Tabs = append(d.Tabs, tab{Label: v.T("space.tab." + t.key), URL: withQuery(base, u), Current: t.key == d.Tab})
	}
	if d.Tab == "unsolved" || d.Tab == "unanswered" {
		u := url.Values{"tab": {"unanswered"}, "waiting": {"24h"}}
		if d.Category != "" {
			u.Set("category", d.Category)
		}
		if d.Tag != "" {
			u.Set("tag", d.Tag)
		}
		d.Chips = []tab{{Label: v.T("space.waiting_24h"), URL: withQuery(base, u), Current: waiting}}
	}
	switch q.Get("notice") {
	case "muted":
		v.Notice = v.T("space.muted_notice")
	case "unmuted":
		v.Notice = v.T("space.unmuted_notice")
	}
	posts, next, err := s.com.Topics(r.Context(), p, tq)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	// The experts box: read only now that the visitor may see the space.
	if s.bdg != nil && !isHTMX(r) {
		rows, err := s.bdg.Experts(r.Context(), sp.ID)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		if len(rows) > 0 {
			d.Experts = &experts{V: v, Rows: rows[:min(len(rows), maxExperts)]}
		}
	}
	cats := categoryNames(sp)
	for _, post := range posts {
		d.Topics = append(d.Topics, topicRow{V: v, Post: post, Category: cats[post.CategoryID], SpaceSlug: sp.Slug})
	}
	if next != "" {
		u := url.Values{"cursor": {next}}
		if d.Tab != "all" {
			u.Set("tab", d.Tab)
		}
		if waiting {
			u.Set("waiting", "24h")
		}
		if d.Category != "" {
			u.Set("category", d.Category)
		}
		if d.Tag != "" {
			u.Set("tag", d.Tag)
		}
		d.More = withQuery(base, u)
	}
	v.Title = sp.Name
	v.Data = d
	if isHTMX(r) {
		s.fragment(w, r, 0, "space", "topic-page", d)
		return
	}
	// Visitors who are not logged in share one rendering of the first page while the space and
	// the topics on it are unchanged: the key holds what the page shows.
	if v.Member == nil && r.URL.RawQuery == "" {
		key := topicListKey(v.Lang, sp, posts, next, d.Experts)
		if body, ok := s.anon.get(key, 0, time.Now()); ok {
			writeHTML(w, 0, body)
			return
		}
		body, err := s.renderBytes("space", "layout", v)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		s.anon.put(key, 0, time.Now(), body)
		writeHTML(w, 0, body)
		return
	}
	// Members' pages differ in the header and the join and mute buttons, but the rows of topics
	// are the same for everyone who sees the same topics: render them once.
	key := "rows|" + topicListKey(v.Lang, sp, posts, d.More, nil)
	rows, ok := s.anon.get(key, 0, time.Now())
	if !ok {
		var err error
		if rows, err = s.renderBytes("space", "topic-page", d); err != nil {
			s.fail(w, r, v, err)
			return
		}
		s.anon.put(key, 0, time.Now(), rows)
	}
	d.RowsHTML = template.HTML(rows)
	v.Data = d
	s.render(w, r, 0, "space", v)
}

// topicListKey identifies a rendering of a space's first page: the reader's language, the
// space as shown, and each topic with its version (which every change to a post bumps).
func topicListKey(lang string, sp community.Space, posts []community.Post, next string, ex *experts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "space|%s|%s|%s|%s|%s|%d|%s", lang, sp.ID, sp.Name, sp.Description, sp.Visibility, len(sp.Categories), next)
	for _, c := range sp.Categories {
		b.WriteString("|" + c.ID + "=" + c.Name)
	}
	for _, p := range posts {
		fmt.Fprintf(&b, "|%s:%d", p.ID, p.Version)
	}
	if ex != nil { // the experts box, as shown
		for _, e := range ex.Rows {
			fmt.Fprintf(&b, "|e:%s:%s:%s:%d:%d", e.MemberID, e.DisplayName, e.Handle, e.AcceptedAnswers, e.Points)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// withQuery is path with the query u, or path alone when u is empty.
func withQuery(path string, u url.Values) string {
	if len(u) == 0 {
		return path
	}
	return path + "?" + u.Encode()
}

func categoryNames(sp community.Space) map[string]string {
	out := map[string]string{}
	for _, c := range sp.Categories {
		out[c.ID] = c.Name
	}
	return out
}

// ---- compose and edit ----

// composeData is the new-post and edit form.
type composeData struct {
	Space  community.Space
	Edit   bool
	PostID string
	Action string
	Poll   bool // offer a poll (new posts, with the survey service)
}

// OptionSlots numbers the option inputs of the poll.
func (composeData) OptionSlots() []int { return slots(pollOptionSlots) }

// OptionsShown is how many option inputs show before "more options".
func (composeData) OptionsShown() int { return pollOptionsShown }

// Kinds lists the post kinds a member may pick.
func (composeData) Kinds() []community.Kind {
	return []community.Kind{community.Discussion, community.Question, community.Idea}
}

func (s *Web) composeForm(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	sp, err := s.com.Space(r.Context(), v.principal(), r.PathValue("slug"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	kind := r.URL.Query().Get("kind")
	if kind == "" {
		kind = string(community.Discussion)
	}
	v.Form.values = url.Values{"kind": {kind}}
	v.Title = v.T("compose.title")
	v.Data = composeData{Space: sp, Action: "/s/" + url.PathEscape(sp.Slug) + "/new", Poll: s.srv != nil}
	s.render(w, r, 0, "compose", v)
}

// splitTags reads the tags field: words separated by commas (also Japanese ones) or spaces.
func splitTags(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '、' || r == '，' || unicode.IsSpace(r) })
}

func (s *Web) compose(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	r.ParseForm()
	v.Form = newForm(r)
	v.Title = v.T("compose.title")
	sp, err := s.com.Space(r.Context(), v.principal(), r.PathValue("slug"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = composeData{Space: sp, Action: "/s/" + url.PathEscape(sp.Slug) + "/new", Poll: s.srv != nil}
	f := r.PostForm
	post, err := s.com.CreatePost(r.Context(), v.principal(), sp.ID, community.PostInput{Kind: community.Kind(f.Get("kind")),
		Title: f.Get("title"), Body: f.Get("body"), CategoryID: f.Get("category"), Tags: splitTags(f.Get("tags"))})
	if s.formFailed(w, r, v, "compose", err) {
		return
	}
	if s.srv != nil {
		// The post is published: a poll that fails goes to the form that adds one to it, so that
		// sending it again cannot publish the post twice.
		if err := s.createPoll(r, v, post.ID); err != nil {
			v.Notice = v.T("poll.post_published")
			s.pollFailed(w, r, v, post, sp, err)
			return
		}
	}
	s.redirect(w, r, "/posts/"+post.ID)
}

func (s *Web) editForm(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	post, sp, ok := s.loadPost(w, r, v)
	if !ok {
		return
	}
	if !post.CanEdit {
		s.errorPage(w, r, v, http.StatusForbidden, v.T("error.forbidden.title"), v.T("error.forbidden.body"))
		return
	}
	v.Form.values = url.Values{"kind": {string(post.Kind)}, "title": {post.Title}, "body": {post.Body},
		"category": {post.CategoryID}, "tags": {strings.Join(post.Tags, ", ")}}
	v.Title = v.T("compose.edit_title")
	v.Data = composeData{Space: sp, Edit: true, PostID: post.ID, Action: "/posts/" + post.ID + "/edit"}
	s.render(w, r, 0, "compose", v)
}

func (s *Web) edit(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	r.ParseForm()
	post, sp, ok := s.loadPost(w, r, v)
	if !ok {
		return
	}
	v.Form = newForm(r)
	v.Form.values.Set("kind", string(post.Kind))
	v.Title = v.T("compose.edit_title")
	v.Data = composeData{Space: sp, Edit: true, PostID: post.ID, Action: "/posts/" + post.ID + "/edit"}
	f := r.PostForm
	_, err := s.com.EditPost(r.Context(), v.principal(), post.ID, community.PostInput{Title: f.Get("title"), Body: f.Get("body"),
		CategoryID: f.Get("category"), Tags: splitTags(f.Get("tags"))})
	if s.formFailed(w, r, v, "compose", err) {
		return
	}
	s.redirect(w, r, "/posts/"+post.ID)
}

// loadPost reads the post of the path and its space, or shows why not and reports false.
func (s *Web) loadPost(w http.ResponseWriter, r *http.Request, v *view) (community.Post, community.Space, bool) {
	post, err := s.com.Post(r.Context(), v.principal(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, v, err)
		return post, community.Space{}, false
	}
	sp, err := s.com.Space(r.Context(), v.principal(), post.SpaceID)
	if err != nil {
		s.fail(w, r, v, err)
		return post, sp, false
	}
	return post, sp, true
}

// ---- the post page ----

// reactionItem is one emoji of a reactions bar.
type reactionItem struct {
	Emoji string
	Glyph string
	Label string
	Count int
	Mine  bool
}

// reactionBar is the reactions under a post or reply.
type reactionBar struct {
	V       *view
	Kind    string // post or comment
	ID      string
	Back    string // where a plain form post returns to
	Items   []reactionItem
	Enabled bool // the visitor may react
}

// emojiGlyphs are how the community's reaction names look.
var emojiGlyphs = map[string]string{"like": "👍", "heart": "❤️", "laugh": "😄", "party": "🎉", "thinking": "🤔", "clap": "👏"}

func (s *Web) reactions(r *http.Request, v *view, kind, id, back string) (reactionBar, error) {
	counts, mine, err := s.com.Reactions(r.Context(), v.principal(), kind, id)
	if err != nil {
		return reactionBar{}, err
	}
	return newReactionBar(v, kind, id, back, counts, mine), nil
}

// newReactionBar builds the bar of one post or reply from its counts and the viewer's reactions.
func newReactionBar(v *view, kind, id, back string, counts map[string]int, mine map[string]bool) reactionBar {
	bar := reactionBar{V: v, Kind: kind, ID: id, Back: back, Enabled: v.Member != nil}
	bar.Items = make([]reactionItem, 0, len(community.Emojis))
	for _, e := range community.Emojis {
		it := reactionItem{Emoji: e, Glyph: emojiGlyphs[e], Label: v.T("reaction." + e), Count: counts[e], Mine: mine[e]}
		if it.Count > 0 { // the button's name, which hides its visible count from screen readers
			it.Label += " " + strconv.Itoa(it.Count)
		}
		bar.Items = append(bar.Items, it)
	}
	return bar
}

// commentRow is one reply as the post page shows it.
type commentRow struct {
	V *view
	community.Comment
	BodyHTML    template.HTML
	Post        community.Post
	Reactions   reactionBar
	CanAccept   bool
	CanModerate bool
	Report      *reportForm // nil when the visitor may not report it (logged out, or their own)
	// Head is the reply's opening, byline and body, Bar its reactions and ReportLink the link
	// to report it ("" with Report nil): rendered HTML, mostly reused from the thread's replyParts.
	Head       template.HTML
	Bar        template.HTML
	ReportLink template.HTML
}

// voteBox is an idea's vote button and count.
type voteBox struct {
	V       *view
	PostID  string
	Count   int
	Voted   bool
	Enabled bool // signed in and the idea was not merged
	Back    string
}

// postData is the post page.
type postData struct {
	Post      community.Post
	BodyHTML  template.HTML
	Space     community.Space
	Category  string
	Reactions reactionBar
	Vote      voteBox
	Accepted  *commentRow
	Comments  []commentRow
	CanReply  bool
	Edited    bool
	Report    *reportForm
	// Articles are the help center articles made from this thread (nil without the help center);
	// CanKB offers to make one of the accepted answer.
	Articles []kb.Article
	CanKB    bool
	// PollID is the post's poll, loaded per visitor as a fragment so the page stays cacheable.
	PollID string
	// Merged is the idea this one was merged into (nil when it was not); CanMerge offers the
	// merge form. HistoryURL is the edit history, for an edited post.
	Merged     *mergedLink
	CanMerge   bool
	HistoryURL string
	// CanFeedPin offers staff to pin the post to everyone's home feed; FeedPinned says it is.
	CanFeedPin bool
	FeedPinned bool
}

// postData reads everything the post page shows.
func (s *Web) postData(r *http.Request, v *view, post community.Post, sp community.Space) (postData, error) {
	back := "/posts/" + post.ID
	d := postData{Post: post, BodyHTML: safeHTML(post.BodyHTML), Space: sp, Category: categoryNames(sp)[post.CategoryID],
		CanReply: v.Member != nil && !post.Locked, Edited: post.UpdatedAt.After(post.CreatedAt.Add(editedAfter)),
		CanMerge: canMerge(v, post)}
	if d.Edited {
		d.HistoryURL = historyURL(post.ID)
	}
	// The whole thread's reactions come in one query, not one per reply.
	counts, mine, err := s.com.ThreadReactions(r.Context(), v.principal(), post.ID)
	if err != nil {
		return d, err
	}
	d.Reactions = newReactionBar(v, "post", post.ID, back, counts[post.ID], mine[post.ID])
	reportable := func(kind, id, author string) *reportForm {
		if v.Member == nil || v.Member.ID == author {
			return nil
		}
		return &reportForm{V: v, Kind: kind, ID: id}
	}
	d.Report = reportable("post", post.ID, post.Author.ID)
	if d.Articles, d.PollID, err = s.postExtras(r, v, post); err != nil {
		return d, err
	}
	if d.Merged, err = s.mergedInto(r, v, post); err != nil {
		return d, err
	}
	d.CanKB = s.kbs != nil && post.AcceptedCommentID != "" && accounts.Allowed(v.principal(), accounts.PermManageCommunity)
	if d.CanFeedPin = accounts.Allowed(v.principal(), accounts.PermManageCommunity); d.CanFeedPin {
		if d.FeedPinned, err = s.com.FeedPinned(r.Context(), post.ID); err != nil {
			return d, err
		}
	}
	d.Vote = voteBox{V: v, PostID: post.ID, Count: post.VoteCount, Voted: post.Voted, Enabled: v.Member != nil && post.MergedInto == "", Back: back}
	comments, _, err := s.com.Comments(r.Context(), v.principal(), post.ID, "", 500)
	if err != nil {
		return d, err
	}
	d.Comments = make([]commentRow, 0, len(comments))
	for _, c := range comments {
		row := commentRow{V: v, Comment: c, BodyHTML: safeHTML(c.BodyHTML), Post: post,
			CanAccept: post.CanAccept && !c.Accepted && !c.Hidden, CanModerate: post.CanModerate,
			Reactions: newReactionBar(v, "comment", c.ID, back+"#c-"+c.ID, counts[c.ID], mine[c.ID]),
			Report:    reportable("comment", c.ID, c.Author.ID)}
		d.Comments = append(d.Comments, row)
		if c.Accepted {
			acc := row
			d.Accepted = &acc
		}
	}
	if err := s.renderReplies(v, post, d.Comments); err != nil {
		return d, err
	}
	return d, nil
}

func (s *Web) postPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	post, sp, ok := s.loadPost(w, r, v)
	if !ok {
		return
	}
	// Visitors who are not logged in all see the same page until the post or its replies change.
	if v.Member == nil && r.URL.RawQuery == "" {
		// The cookie is a header, outside the shared body: the reading reports of app.js carry it.
		s.anonymousID(w, r)
		// Everything the page shows moves the post's version (replies, reactions, an article made
		// from an answer, a poll), so the version alone says whether the rendering is current.
		key := "post|" + v.Lang + "|" + post.ID
		if body, ok := s.anon.get(key, post.Version, time.Now()); ok {
			writeHTML(w, 0, body)
			return
		}
		d, err := s.postData(r, v, post, sp)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		v.Title, v.Data = post.Title, d
		body, err := s.renderBytes("post", "layout", v)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		s.anon.put(key, post.Version, time.Now(), body)
		writeHTML(w, 0, body)
		return
	}
	s.showPost(w, r, v, 0, post, sp)
}

// postExtras reads what other parts attach to a post: the help center articles made from it
// and its poll.
func (s *Web) postExtras(r *http.Request, v *view, post community.Post) ([]kb.Article, string, error) {
	var arts []kb.Article
	var pollID string
	if s.kbs != nil {
		var err error
		if arts, err = s.kbs.ArticlesForPost(r.Context(), v.principal(), post.ID); err != nil {
			return nil, "", err
		}
	}
	if s.srv != nil {
		sv, err := s.srv.ForPost(r.Context(), v.principal(), post.ID)
		if err != nil {
			return nil, "", err
		}
		if sv != nil {
			pollID = sv.ID
		}
	}
	return arts, pollID, nil
}

// showPost renders the post page with status (0 for 200), keeping v.Form for a failed form.
func (s *Web) showPost(w http.ResponseWriter, r *http.Request, v *view, status int, post community.Post, sp community.Space) {
	d, err := s.postData(r, v, post, sp)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Title, v.Data = post.Title, d
	switch r.URL.Query().Get("notice") {
	case "edited":
		v.Notice = v.T("post.edited")
	case "accepted":
		v.Notice = v.T("post.accepted_notice")
	case "moderated":
		v.Notice = v.T("post.moderated")
	case "status":
		v.Notice = v.T("idea.status_saved")
	case "merged":
		v.Notice = v.T("idea.merged_notice")
	case "reported":
		v.Notice = v.T("report.thanks")
	}
	s.render(w, r, status, "post", v)
}

// postFormFailed shows a form error on the post page and reports true, or reports false for nil.
func (s *Web) postFormFailed(w http.ResponseWriter, r *http.Request, v *view, post community.Post, sp community.Space, err error) bool {
	if err == nil {
		return false
	}
	d, derr := s.postData(r, v, post, sp)
	if derr != nil {
		s.fail(w, r, v, derr)
		return true
	}
	v.Title, v.Data = post.Title, d
	return s.formFailed(w, r, v, "post", err)
}

func (s *Web) addComment(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	r.ParseForm()
	post, sp, ok := s.loadPost(w, r, v)
	if !ok {
		return
	}
	v.Form = newForm(r)
	c, err := s.com.AddComment(r.Context(), v.principal(), post.ID, community.CommentInput{Body: r.PostForm.Get("body")})
	if s.postFormFailed(w, r, v, post, sp, err) {
		return
	}
	s.redirect(w, r, "/posts/"+post.ID+"#c-"+c.ID)
}

func (s *Web) acceptAnswer(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	if err := s.com.AcceptAnswer(r.Context(), v.principal(), id, r.PostFormValue("comment_id")); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/posts/"+id+"?notice=accepted#answer")
}

func (s *Web) moderate(w http.ResponseWriter, r *http.Request, v *view) {
	s.postForm(w, r, v, "spaces", "moderated", func(post community.Post) error {
		return s.com.Moderate(r.Context(), v.principal(), post.ID, r.PostForm.Get("action"), r.PostForm.Get("reason"))
	})
}

// postForm handles a staff form on a post page: it runs act on the post, shows a failure next
// to its field on the post page, and otherwise returns to the post with notice.
func (s *Web) postForm(w http.ResponseWriter, r *http.Request, v *view, nav, notice string, act func(community.Post) error) {
	v.Nav2 = nav
	r.ParseForm()
	post, sp, ok := s.loadPost(w, r, v)
	if !ok {
		return
	}
	v.Form = newForm(r)
	if s.postFormFailed(w, r, v, post, sp, act(post)) {
		return
	}
	s.redirect(w, r, "/posts/"+post.ID+"?notice="+notice)
}

func (s *Web) hideComment(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	postID := r.PostForm.Get("post_id")
	hide := r.PostForm.Get("hide") != "0"
	err := s.com.HideComment(r.Context(), v.principal(), r.PathValue("id"), hide, r.PostForm.Get("reason"))
	if e, ok := errAs(err); ok && e.Field == "reason" {
		post, perr := s.com.Post(r.Context(), v.principal(), postID)
		if perr != nil {
			s.fail(w, r, v, perr)
			return
		}
		sp, serr := s.com.Space(r.Context(), v.principal(), post.SpaceID)
		if serr != nil {
			s.fail(w, r, v, serr)
			return
		}
		v.Form = newForm(r)
		// Only the reply that was being hidden shows the message.
		v.Form.values.Set("comment_id", r.PathValue("id"))
		s.postFormFailed(w, r, v, post, sp, errsField(e, "hide_reason"))
		return
	}
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/posts/"+url.PathEscape(postID)+"?notice=moderated#c-"+r.PathValue("id"))
}

func (s *Web) vote(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	p := v.principal()
	var err error
	if r.PostFormValue("action") == "unvote" {
		err = s.com.Unvote(r.Context(), p, id)
	} else {
		err = s.com.Vote(r.Context(), p, id)
	}
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if !isHTMX(r) {
		s.redirect(w, r, safeNext(r.PostFormValue("next"), "/posts/"+id))
		return
	}
	post, err := s.com.Post(r.Context(), p, id)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.fragment(w, r, 0, "post", "vote-box", voteBox{V: v, PostID: id, Count: post.VoteCount, Voted: post.Voted,
		Enabled: post.MergedInto == "", Back: safeNext(r.PostFormValue("next"), "/posts/"+id)})
}

func (s *Web) ideaStatus(w http.ResponseWriter, r *http.Request, v *view) {
	s.postForm(w, r, v, "ideas", "status", func(post community.Post) error {
		return s.com.SetIdeaStatus(r.Context(), v.principal(), post.ID, r.PostForm.Get("status"), r.PostForm.Get("response"))
	})
}

// react toggles a reaction: the emoji the member already gave is taken back, another one is
// added. The server decides from the stored reactions, so a stale page or a second tab cannot
// add twice or take back what is not there. htmx gets the refreshed bar.
func (s *Web) react(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	f := r.PostForm
	kind, id, emoji := f.Get("kind"), f.Get("id"), f.Get("emoji")
	if kind != "post" && kind != "comment" {
		s.errorPage(w, r, v, http.StatusBadRequest, v.T("error.invalid.title"), v.T("error.not_found.body"))
		return
	}
	_, mine, err := s.com.Reactions(r.Context(), v.principal(), kind, id)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if mine[emoji] {
		err = s.com.Unreact(r.Context(), v.principal(), kind, id, emoji)
	} else {
		err = s.com.React(r.Context(), v.principal(), kind, id, emoji)
	}
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	back := safeNext(f.Get("next"), "/")
	if !isHTMX(r) {
		s.redirect(w, r, back)
		return
	}
	bar, err := s.reactions(r, v, kind, id, back)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.fragment(w, r, 0, "post", "reaction-buttons", bar)
}

// ---- the idea board ----

// ideasData is the idea board.
type ideasData struct {
	V        *view
	Sorts    []tab
	Statuses []tab
	Ideas    []topicRow
	More     string
}

func (s *Web) ideas(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Nav2 = v.T("ideas.title"), "ideas"
	q := r.URL.Query()
	sort := q.Get("sort")
	if sort != community.SortTrending && sort != community.SortNewest {
		sort = community.SortVotes
	}
	status := q.Get("status")
	if !slices.Contains(community.IdeaStatuses, status) {
		status = ""
	}
	link := func(sort, status, cursor string) string {
		u := url.Values{}
		if sort != community.SortVotes {
			u.Set("sort", sort)
		}
		if status != "" {
			u.Set("status", status)
		}
		if cursor != "" {
			u.Set("cursor", cursor)
		}
		return withQuery("/ideas", u)
	}
	d := ideasData{V: v}
	for _, so := range []string{community.SortVotes, community.SortTrending, community.SortNewest} {
		d.Sorts = append(d.Sorts, tab{Label: v.T("ideas.sort." + so), URL: link(so, status, ""), Current: so == sort})
	}
	d.Statuses = append(d.Statuses, tab{Label: v.T("ideas.status_all"), URL: link(sort, "", ""), Current: status == ""})
	for _, st := range community.IdeaStatuses {
		d.Statuses = append(d.Statuses, tab{Label: v.StatusName(st), URL: link(sort, st, ""), Current: st == status})
	}
	p := v.principal()
	spaces, err := s.com.Spaces(r.Context(), p)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	byID := map[string]community.Space{}
	for _, sp := range spaces {
		byID[sp.ID] = sp
	}
	// The status filter is applied here, as the topic list has none: read on until a page is
	// full or the ideas run out.
	cursor := q.Get("cursor")
	for {
		posts, next, err := s.com.Topics(r.Context(), p, community.TopicQuery{Kind: community.Idea, Sort: sort, Cursor: cursor, Limit: topicsPerPage})
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		for _, post := range posts {
			st := post.Status
			if st == "" {
				st = community.IdeaNew
			}
			if status != "" && st != status {
				continue
			}
			sp := byID[post.SpaceID]
			d.Ideas = append(d.Ideas, topicRow{V: v, Post: post, SpaceName: sp.Name, SpaceSlug: sp.Slug, Category: categoryNames(sp)[post.CategoryID]})
		}
		cursor = next
		if next == "" || len(d.Ideas) >= topicsPerPage {
			break
		}
	}
	if cursor != "" {
		d.More = link(sort, status, cursor)
	}
	v.Data = d
	if isHTMX(r) {
		s.fragment(w, r, 0, "ideas", "idea-page", d)
		return
	}
	s.render(w, r, 0, "ideas", v)
}

// ---- profiles ----

// profileData is a member's profile page.
type profileData struct {
	community.Profile
	BioHTML    template.HTML
	Self       bool
	MessageURL string // "" when the visitor cannot message this member
	Report     *reportForm
	HasBadges  bool // the badges service is there
	Badges     []profileBadge
}

func (s *Web) profile(w http.ResponseWriter, r *http.Request, v *view) {
	ref := r.PathValue("handle")
	pr, err := s.com.Profile(r.Context(), ref)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	// Member ids and other letter cases lead to the one address of the profile.
	if pr.Handle != "" && ref != pr.Handle {
		s.redirect(w, r, "/members/"+url.PathEscape(pr.Handle))
		return
	}
	d := profileData{Profile: pr, BioHTML: safeHTML(pr.BioHTML), Self: v.Member != nil && v.Member.ID == pr.MemberID}
	if s.dms != nil && v.Member != nil && !d.Self {
		d.MessageURL = "/messages/to/" + url.PathEscape(pr.MemberID)
	}
	if v.Member != nil && !d.Self {
		d.Report = &reportForm{V: v, Kind: "member", ID: pr.MemberID}
	}
	if s.bdg != nil {
		d.HasBadges = true
		if d.Badges, err = s.profileBadges(r.Context(), v.principal(), pr.MemberID); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	if r.URL.Query().Get("notice") == "reported" {
		v.Notice = v.T("report.thanks")
	}
	v.Title, v.Data = pr.DisplayName, d
	s.render(w, r, 0, "profile", v)
}

// profileSettingsData is the profile form; Saved shows the confirmation inside it.
type profileSettingsData struct {
	community.Profile
	Saved bool
}

// profileSettings is the form that edits the visitor's own profile text.
func (s *Web) profileSettings(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("settings.profile.title")
	pr, err := s.com.Profile(r.Context(), v.Member.ID)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Form.values = url.Values{"bio": {pr.Bio}}
	v.Data = profileSettingsData{Profile: pr, Saved: r.URL.Query().Get("notice") == "saved"}
	s.render(w, r, 0, "settings-profile", v)
}

func (s *Web) saveProfileSettings(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("settings.profile.title")
	r.ParseForm()
	v.Form = newForm(r)
	if _, err := s.com.SetBio(r.Context(), v.principal(), r.PostForm.Get("bio")); err != nil {
		pr, perr := s.com.Profile(r.Context(), v.Member.ID)
		if perr != nil {
			s.fail(w, r, v, perr)
			return
		}
		v.Data = profileSettingsData{Profile: pr}
		s.formFailed(w, r, v, "settings-profile", withFieldReason(err, "profile_"))
		return
	}
	s.redirect(w, r, "/settings/profile?notice=saved")
}

// ---- search ----

// hitRow is one search result.
type hitRow struct {
	Kind    string // translated
	KindKey string
	Title   string
	URL     string
	Snippet template.HTML
	search.Hit
}

// searchData is the search page.
type searchData struct {
	Q        string
	Searched bool
	Hits     []hitRow
	More     string
}

func (s *Web) search(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "search"
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	v.Query = q
	v.Title = v.T("search.title")
	d := searchData{Q: q}
	v.Data = d
	if q == "" {
		s.render(w, r, 0, "search", v)
		return
	}
	v.Title = v.T("search.title_for", q)
	hits, next, err := s.com.Search(r.Context(), v.principal(), search.Query{Text: q, Limit: topicsPerPage, After: r.URL.Query().Get("after")})
	if e, ok := errAs(err); ok && e.Field != "" {
		v.Form.errors["q"] = s.message(v, e)
		s.render(w, r, http.StatusUnprocessableEntity, "search", v)
		return
	}
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Searched = true
	for _, h := range hits {
		d.Hits = append(d.Hits, hitRow{Kind: v.T("search.kind." + h.Kind), KindKey: h.Kind, Title: h.Title,
			URL: safeNext(h.URL, "/"), Snippet: safeHTML(h.Snippet), Hit: h})
	}
	if next != "" {
		d.More = withQuery("/search", url.Values{"q": {q}, "after": {next}})
	}
	v.Data = d
	s.render(w, r, 0, "search", v)
}
