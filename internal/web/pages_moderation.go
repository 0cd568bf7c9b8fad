package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
)

// reportsPerPage is how many reports or waiting posts the moderation page shows at a time.
const reportsPerPage = 50

// moderationRoutes registers reporting and the moderation pages; Routes calls it with the community.
func (s *Web) moderationRoutes(handle func(string, pageHandler)) {
	handle("GET /report", s.signedIn(s.reportPage))
	handle("POST /report", s.signedIn(s.report))
	// Space moderators are members, not staff: the community service decides who sees the queue.
	handle("GET /admin/moderation", s.signedIn(s.moderation))
	handle("POST /admin/moderation/reports/{id}", s.signedIn(s.resolveReport))
	handle("POST /admin/moderation/posts/{id}", s.signedIn(s.decidePost))
	handle("POST /admin/moderation/settings", s.staff(accounts.PermManageCommunity, s.saveCommunitySettings))
	handle("POST /admin/members/{id}/status", s.staff(accounts.PermModerate, s.setMemberStatus))
}

// ReportReasonName is the translated reason of a report.
func (v *view) ReportReasonName(r string) string { return v.cat.text("report.reason." + r) }

// ReportReasons lists the reasons a member may give.
func (v *view) ReportReasons() []string { return community.ReportReasons }

// reportForm is the "Report" link under a post, a reply or a profile, and the report page it
// leads to.
type reportForm struct {
	V    *view
	Kind string // post, comment or member
	ID   string
	// On the report page: what is reported, as the reader knows it ("" for a reply), and where
	// the form returns to.
	Subject string
	Back    string
}

// reportPage is the form that reports a post, a reply or a member. Threads link here instead of
// carrying a form under every reply.
func (s *Web) reportPage(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	d := &reportForm{V: v, Kind: q.Get("kind"), ID: q.Get("id"), Back: refererPath(r, "/")}
	switch d.Kind {
	case "post":
		post, err := s.com.Post(r.Context(), v.principal(), d.ID)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		d.Subject, d.Back = post.Title, "/posts/"+url.PathEscape(post.ID)
	case "comment":
		if u, err := url.Parse(d.Back); err == nil && strings.HasPrefix(u.Path, "/posts/") {
			u.RawQuery, u.Fragment = "", "c-"+d.ID
			d.Back = u.String()
		}
	case "member":
		pr, err := s.com.Profile(r.Context(), d.ID)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		d.Subject, d.Back = pr.DisplayName, "/members/"+url.PathEscape(pr.MemberID)
		if pr.Handle != "" {
			d.Back = "/members/" + url.PathEscape(pr.Handle)
		}
	default:
		s.errorPage(w, r, v, http.StatusNotFound, v.T("error.not_found.title"), v.T("error.not_found.body"))
		return
	}
	v.Title, v.Data = v.T("report.title"), d
	s.render(w, r, 0, "report", v)
}

// refererPath is the page on this site the request came from, or fallback.
func refererPath(r *http.Request, fallback string) string {
	u, err := url.Parse(r.Referer())
	if err != nil || u.Host != r.Host {
		return fallback
	}
	return safeNext(u.RequestURI(), fallback)
}

// report files a member's report and goes back where it was made.
func (s *Web) report(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	f := r.PostForm
	_, err := s.com.ReportContent(r.Context(), v.principal(), community.ReportInput{TargetKind: f.Get("target_kind"), TargetID: f.Get("target_id"),
		Reason: f.Get("reason"), Note: f.Get("note")})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	back := safeNext(f.Get("next"), "/")
	u, _ := url.Parse(back)
	q := u.Query()
	q.Set("notice", "reported")
	u.RawQuery = q.Encode()
	s.redirect(w, r, u.String())
}

// reportRow is one report in the queue.
type reportRow struct {
	V *view
	community.Report
	Reporter string
	Done     string // what was just done to it, translated
	Error    string
}

// pendingRow is one post waiting for approval.
type pendingRow struct {
	V *view
	community.Post
	SpaceName string
	Done      string
	Error     string
}

// moderationData is the moderation page.
type moderationData struct {
	V            *view
	Tabs         []tab
	Tab          string // open, resolved, dismissed or pending
	Reports      []reportRow
	Pending      []pendingRow
	More         string
	CanSettings  bool
	Settings     community.Settings
	SettingsSave bool
}

// moderationNav adds the moderation section to the admin sidebar of a visitor who may moderate
// (a space moderator who is not staff sees only this section).
func (s *Web) moderationNav(v *view) {
	v.Nav = s.nav(v)
	if !slices.ContainsFunc(v.Nav, func(n navItem) bool { return n.Key == "moderation" }) {
		v.Nav = append(v.Nav, navItem{Key: "moderation", Label: v.T("admin.nav.moderation"), URL: "/admin/moderation"})
	}
	v.Section = "moderation"
}

func (s *Web) moderation(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("admin.nav.moderation")
	q := r.URL.Query()
	d := moderationData{V: v, Tab: q.Get("tab")}
	if d.Tab != "pending" && d.Tab != community.ReportResolved && d.Tab != community.ReportDismissed {
		d.Tab = community.ReportOpen
	}
	p := v.principal()
	cursor := q.Get("cursor")
	var next string
	if d.Tab == "pending" {
		posts, n, err := s.com.PendingPosts(r.Context(), p, cursor, reportsPerPage)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		names := s.spaceNames(r, v)
		for _, post := range posts {
			d.Pending = append(d.Pending, pendingRow{V: v, Post: post, SpaceName: names[post.SpaceID]})
		}
		next = n
	} else {
		reports, n, err := s.com.Reports(r.Context(), p, d.Tab, cursor, reportsPerPage)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		for _, rep := range reports {
			d.Reports = append(d.Reports, reportRow{V: v, Report: rep, Reporter: s.memberNameByID(r, v, rep.ReporterID)})
		}
		next = n
	}
	for _, t := range []string{community.ReportOpen, "pending", community.ReportResolved, community.ReportDismissed} {
		d.Tabs = append(d.Tabs, tab{Label: v.T("moderation.tab." + t), URL: "/admin/moderation?tab=" + t, Current: t == d.Tab})
	}
	if next != "" {
		d.More = withQuery("/admin/moderation", url.Values{"tab": {d.Tab}, "cursor": {next}})
	}
	if accounts.Allowed(p, accounts.PermManageCommunity) {
		set, err := s.com.Settings(r.Context())
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		d.CanSettings, d.Settings = true, set
	}
	switch q.Get("notice") {
	case "settings":
		v.Notice = v.T("moderation.settings_saved")
	case "done":
		v.Notice = v.T("moderation.done")
	}
	s.moderationNav(v)
	v.Data = d
	s.render(w, r, 0, "admin-moderation", v)
}

// spaceNames maps the ids of the spaces v sees to their names.
func (s *Web) spaceNames(r *http.Request, v *view) map[string]string {
	out := map[string]string{}
	list, err := s.com.Spaces(r.Context(), v.principal())
	if err != nil {
		return out
	}
	for _, sp := range list {
		out[sp.ID] = sp.Name
	}
	return out
}

// memberNameByID is a member's display name, the id when the member is gone, or "former member"
// for the tombstone of an erased one.
func (s *Web) memberNameByID(r *http.Request, v *view, id string) string {
	m, err := s.acc.GetMember(r.Context(), id)
	if err != nil {
		return id
	}
	if m.Status == accounts.StatusErased {
		return v.T("messages.former_member")
	}
	return m.DisplayName
}

// resolveReport dismisses a report or hides what it reports; htmx gets the row back with the outcome.
func (s *Web) resolveReport(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	id, action := r.PathValue("id"), r.PostForm.Get("action")
	err := s.com.ResolveReport(r.Context(), v.principal(), id, action, r.PostForm.Get("note"))
	e, known := errAs(err)
	if err != nil && (!known || !isHTMX(r)) {
		s.fail(w, r, v, err)
		return
	}
	if !isHTMX(r) {
		s.redirect(w, r, "/admin/moderation?notice=done")
		return
	}
	row := reportRow{V: v, Report: community.Report{ID: id}}
	status := http.StatusOK
	if err != nil {
		row.Error, status = s.message(v, e), http.StatusUnprocessableEntity
	} else if action == community.ResolveHide {
		row.Done = v.T("moderation.hidden")
	} else {
		row.Done = v.T("moderation.dismissed")
	}
	s.fragment(w, r, status, "admin-moderation", "report-done", row)
}

// decidePost approves or rejects a waiting post; htmx gets the row back with the outcome.
func (s *Web) decidePost(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	id := r.PathValue("id")
	approve := r.PostForm.Get("action") == "approve"
	var err error
	if approve {
		err = s.com.ApprovePost(r.Context(), v.principal(), id)
	} else {
		err = s.com.RejectPost(r.Context(), v.principal(), id, r.PostForm.Get("reason"))
	}
	e, known := errAs(err)
	if err != nil && (!known || !isHTMX(r)) {
		s.fail(w, r, v, err)
		return
	}
	if !isHTMX(r) {
		s.redirect(w, r, "/admin/moderation?tab=pending&notice=done")
		return
	}
	row := pendingRow{V: v, Post: community.Post{ID: id}}
	status := http.StatusOK
	switch {
	case err != nil:
		post, perr := s.com.Post(r.Context(), v.principal(), id)
		if perr != nil {
			s.fail(w, r, v, perr)
			return
		}
		row.Post, row.SpaceName = post, s.spaceNames(r, v)[post.SpaceID]
		row.Error, status = s.message(v, e), http.StatusUnprocessableEntity
		s.fragment(w, r, status, "admin-moderation", "pending-row", row)
		return
	case approve:
		row.Done = v.T("moderation.approved")
	default:
		row.Done = v.T("moderation.rejected")
	}
	s.fragment(w, r, status, "admin-moderation", "pending-done", row)
}

func (s *Web) saveCommunitySettings(w http.ResponseWriter, r *http.Request, v *view) {
	err := s.com.SetSettings(r.Context(), v.principal(), community.Settings{FirstPostApproval: r.PostFormValue("first_post_approval") != ""})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/admin/moderation?notice=settings")
}

// setMemberStatus suspends or reinstates a member with a reason; htmx gets the member's row.
func (s *Web) setMemberStatus(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	id := r.PathValue("id")
	var err error
	if r.PostForm.Get("action") == "reinstate" {
		err = s.acc.Reinstate(r.Context(), v.principal(), id, r.PostForm.Get("reason"))
	} else {
		err = s.acc.Suspend(r.Context(), v.principal(), id, r.PostForm.Get("reason"))
	}
	e, known := errAs(err)
	if err != nil && (!known || !isHTMX(r)) {
		s.fail(w, r, v, err)
		return
	}
	if !isHTMX(r) {
		s.redirect(w, r, "/admin/members")
		return
	}
	m, gerr := s.acc.GetMember(r.Context(), id)
	if gerr != nil {
		s.fail(w, r, v, gerr)
		return
	}
	row := s.memberRow(v, m)
	status := http.StatusOK
	if err != nil {
		row.StatusError, status = s.message(v, e), http.StatusUnprocessableEntity
	} else {
		row.StatusSaved = true
	}
	s.fragment(w, r, status, "admin-members", "member-row", row)
}
