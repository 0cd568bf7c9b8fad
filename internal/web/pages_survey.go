package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/survey"
)

// Form sizes of polls and surveys.
const (
	pollOptionSlots     = 10 // the most options a poll has (survey.CreatePoll)
	pollOptionsShown    = 4  // option inputs shown before "more options"
	surveyQuestionSlots = 6  // question blocks of the survey form
)

// surveyRoutes registers polls and surveys; Routes calls it when the service is there.
func (s *Web) surveyRoutes(handle func(string, pageHandler)) {
	handle("GET /posts/{id}/poll", s.pollPage)
	handle("POST /posts/{id}/poll", s.signedIn(s.addPoll))
	handle("POST /posts/{id}/poll/vote", s.signedIn(s.votePoll))
	handle("GET /surveys/{id}", s.signedIn(s.surveyPage))
	handle("POST /surveys/{id}", s.signedIn(s.answerSurvey))
	handle("GET /admin/surveys", s.surveyStaff(s.adminSurveys))
	handle("POST /admin/surveys", s.surveyStaff(s.createSurvey))
	handle("GET /admin/surveys/{id}", s.surveyStaff(s.surveyResults))
}

// surveyStaff guards the survey admin: community managers and marketers run surveys.
func (s *Web) surveyStaff(h pageHandler) pageHandler {
	return s.staff(accounts.PermViewAdmin, func(w http.ResponseWriter, r *http.Request, v *view) {
		p := v.principal()
		if !accounts.Allowed(p, accounts.PermManageCommunity) && !accounts.Allowed(p, accounts.PermManageMarketing) {
			s.fail(w, r, v, accounts.Authorize(p, accounts.PermManageCommunity))
			return
		}
		h(w, r, v)
	})
}

// ---- polls ----

// pollBox is a post's poll as one visitor sees it: the vote form, or the results once they voted
// or the poll closed.
type pollBox struct {
	V        *view
	PostID   string
	Survey   survey.Survey
	Question survey.Question
	Results  *survey.QuestionResult // nil until the visitor may see them
	Total    int
	CanVote  bool
	Closed   bool
	Error    string // why the last vote failed
}

// Multiple reports whether more than one option may be chosen.
func (b pollBox) Multiple() bool { return b.Question.Kind == survey.Multiple }

// Percent is an option's share as a whole number, for <progress>.
func (pollBox) Percent(o survey.OptionResult) int { return int(o.Percent + 0.5) }

// pollBox reads the poll of a post for the visitor; ok is false when the post has none.
func (s *Web) pollBox(r *http.Request, v *view, postID string) (pollBox, bool, error) {
	p := v.principal()
	sv, err := s.srv.ForPost(r.Context(), p, postID)
	if err != nil || sv == nil || len(sv.Questions) == 0 {
		return pollBox{}, false, err
	}
	b := pollBox{V: v, PostID: postID, Survey: *sv, Question: sv.Questions[0], Closed: sv.Closed(time.Now()), Total: sv.Responses}
	b.CanVote = v.Member != nil && !sv.Responded && !b.Closed
	res, err := s.srv.Results(r.Context(), p, sv.ID)
	switch e, _ := errs.As(err); {
	case err == nil:
		if len(res.Questions) > 0 {
			b.Results, b.Total = &res.Questions[0], res.Total
		}
	case e != nil && (e.Kind == errs.KindForbidden || e.Kind == errs.KindUnauthenticated):
	default:
		return b, false, err
	}
	return b, true, nil
}

// pollPageData is the poll's own page: the poll without JavaScript, or the form that adds one.
type pollPageData struct {
	Post  community.Post
	Space community.Space
	Box   *pollBox
	Add   bool // the add-a-poll form
}

// OptionSlots numbers the option inputs of the poll form.
func (pollPageData) OptionSlots() []int { return slots(pollOptionSlots) }

func slots(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// pollPage serves the poll box: to htmx as the fragment the post page loads, else as a page.
func (s *Web) pollPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	post, sp, ok := s.loadPost(w, r, v)
	if !ok {
		return
	}
	b, found, err := s.pollBox(r, v, post.ID)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if isHTMX(r) {
		if !found {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.fragment(w, r, 0, "poll", "poll-box", b)
		return
	}
	if !found {
		s.notFound(w, r, v)
		return
	}
	v.Title = post.Title
	v.Data = pollPageData{Post: post, Space: sp, Box: &b}
	s.render(w, r, 0, "poll", v)
}

// votePoll records a vote; htmx gets the box with the results, a plain form post goes back.
func (s *Web) votePoll(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	r.ParseForm()
	postID := r.PathValue("id")
	sv, err := s.srv.ForPost(r.Context(), v.principal(), postID)
	if err == nil && (sv == nil || len(sv.Questions) == 0) {
		err = errs.NotFound("no poll on post %s", postID)
	}
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	err = s.srv.Respond(r.Context(), v.principal(), sv.ID, map[string]survey.Answer{sv.Questions[0].ID: {OptionIDs: r.PostForm["option"]}})
	e, invalid := errAs(err)
	if err != nil && !invalid {
		s.fail(w, r, v, err)
		return
	}
	if err == nil && !isHTMX(r) {
		s.redirect(w, r, "/posts/"+url.PathEscape(postID)+"#poll")
		return
	}
	b, _, berr := s.pollBox(r, v, postID)
	if berr != nil {
		s.fail(w, r, v, berr)
		return
	}
	status := 0
	if err != nil {
		b.Error, status = s.message(v, e), http.StatusUnprocessableEntity
	}
	if isHTMX(r) {
		s.fragment(w, r, status, "poll", "poll-box", b)
		return
	}
	post, sp, ok := s.loadPost(w, r, v)
	if !ok {
		return
	}
	v.Title, v.Data = post.Title, pollPageData{Post: post, Space: sp, Box: &b}
	s.render(w, r, status, "poll", v)
}

// pollInput reads the poll fields of the compose form: the question, the options typed and
// whether more than one may be chosen. wanted is false when none was filled in.
func pollInput(f url.Values) (question string, options []string, multiple, wanted bool) {
	question = strings.TrimSpace(f.Get("poll_question"))
	for _, o := range f["poll_option"] {
		if o = strings.TrimSpace(o); o != "" {
			options = append(options, o)
		}
	}
	return question, options, f.Get("poll_multiple") == "1", question != "" || len(options) > 0
}

// createPoll attaches the poll of the form to a post, with its errors named for the form's fields.
func (s *Web) createPoll(r *http.Request, v *view, postID string) error {
	q, opts, multiple, wanted := pollInput(r.PostForm)
	if !wanted {
		return nil
	}
	_, err := s.srv.CreatePoll(r.Context(), v.principal(), postID, q, opts, multiple)
	if e, ok := errAs(err); ok && e.Field != "" {
		return errsField(e, "poll_"+e.Field)
	}
	return err
}

// pollFailed shows the add-a-poll form of a post with err and reports true, or false for nil.
func (s *Web) pollFailed(w http.ResponseWriter, r *http.Request, v *view, post community.Post, sp community.Space, err error) bool {
	if err == nil {
		return false
	}
	v.Title = v.T("poll.add_title")
	v.Data = pollPageData{Post: post, Space: sp, Add: true}
	return s.formFailed(w, r, v, "poll", err)
}

// addPoll attaches a poll to a post after publishing it failed to (the compose form shows this
// form with the post already published).
func (s *Web) addPoll(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "spaces"
	r.ParseForm()
	v.Form = newForm(r)
	post, sp, ok := s.loadPost(w, r, v)
	if !ok {
		return
	}
	err := s.createPoll(r, v, post.ID)
	if _, _, _, wanted := pollInput(r.PostForm); !wanted {
		err = errs.Because(errs.Invalid("poll_question", "a poll needs a question"), "poll_question", 500)
	}
	if s.pollFailed(w, r, v, post, sp, err) {
		return
	}
	s.redirect(w, r, "/posts/"+url.PathEscape(post.ID)+"#poll")
}

// ---- standalone surveys ----

// surveyData is the answer form of a survey.
type surveyData struct {
	Survey survey.Survey
	Closed bool
	Done   bool // the visitor has responded
}

// Field is the form field of a question.
func (surveyData) Field(q survey.Question) string { return "q." + q.ID }

// ErrField is the field a question's error is reported on.
func (surveyData) ErrField(q survey.Question) string { return "answers." + q.ID }

// ScaleSteps are the numbers of a scale question.
func (surveyData) ScaleSteps(q survey.Question) []int {
	var out []int
	for n := q.ScaleMin; n <= q.ScaleMax; n++ {
		out = append(out, n)
	}
	return out
}

func (s *Web) surveyPage(w http.ResponseWriter, r *http.Request, v *view) {
	sv, err := s.srv.Get(r.Context(), v.principal(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if sv.Poll() {
		s.redirect(w, r, "/posts/"+url.PathEscape(sv.PostID)+"#poll")
		return
	}
	if r.URL.Query().Get("notice") == "thanks" {
		v.Notice = v.T("survey.thanks")
	}
	v.Title, v.Data = sv.Title, surveyData{Survey: sv, Closed: sv.Closed(time.Now()), Done: sv.Responded}
	s.render(w, r, 0, "survey", v)
}

// surveyAnswers reads the answer form: a question is answered when something was chosen or typed.
func surveyAnswers(qs []survey.Question, f url.Values) map[string]survey.Answer {
	out := map[string]survey.Answer{}
	for _, q := range qs {
		vals := f["q."+q.ID]
		switch q.Kind {
		case survey.Single, survey.Multiple:
			if len(vals) > 0 {
				out[q.ID] = survey.Answer{OptionIDs: vals}
			}
		case survey.Text:
			if t := strings.TrimSpace(f.Get("q." + q.ID)); t != "" {
				out[q.ID] = survey.Answer{Text: t}
			}
		case survey.Scale:
			if n, err := strconv.Atoi(f.Get("q." + q.ID)); err == nil {
				out[q.ID] = survey.Answer{Scale: n}
			}
		}
	}
	return out
}

func (s *Web) answerSurvey(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	sv, err := s.srv.Get(r.Context(), v.principal(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Form = newForm(r)
	v.Title, v.Data = sv.Title, surveyData{Survey: sv, Closed: sv.Closed(time.Now()), Done: sv.Responded}
	err = s.srv.Respond(r.Context(), v.principal(), sv.ID, surveyAnswers(sv.Questions, r.PostForm))
	if s.formFailed(w, r, v, "survey", err) {
		return
	}
	s.redirect(w, r, "/surveys/"+url.PathEscape(sv.ID)+"?notice=thanks")
}

// ---- the survey admin ----

// adminSurveysData is the survey form of the admin.
type adminSurveysData struct {
	Slots   []int
	Kinds   []string
	Surveys []survey.Survey // the standalone surveys, newest first
	More    string          // the next page of the list, or ""
	Later   bool            // this is not the list's first page
}

// surveysPerPage is how many surveys the admin list shows at a time.
const surveysPerPage = 20

func (s *Web) surveysPage(w http.ResponseWriter, r *http.Request, v *view, err error) {
	v.Title, v.Section = v.T("admin.nav.surveys"), "surveys"
	cursor := r.URL.Query().Get("cursor")
	list, next, lerr := s.srv.List(r.Context(), v.principal(), cursor, surveysPerPage)
	if lerr != nil {
		s.fail(w, r, v, lerr)
		return
	}
	d := adminSurveysData{Slots: slots(surveyQuestionSlots), Kinds: []string{survey.Single, survey.Multiple, survey.Text, survey.Scale},
		Surveys: list, Later: cursor != ""}
	if next != "" {
		d.More = withQuery("/admin/surveys", url.Values{"cursor": {next}})
	}
	v.Data = d
	if s.formFailed(w, r, v, "admin-surveys", err) {
		return
	}
	s.render(w, r, 0, "admin-surveys", v)
}

func (s *Web) adminSurveys(w http.ResponseWriter, r *http.Request, v *view) {
	s.surveysPage(w, r, v, nil)
}

// surveyInput reads the survey form: the filled-in question blocks, and for each question the
// block it came from, to put an error back beside it.
func surveyInput(f url.Values) (survey.SurveyInput, []int) {
	in := survey.SurveyInput{Title: f.Get("title"), Description: f.Get("description"), Anonymous: f.Get("anonymous") == "1"}
	var from []int
	for i := range surveyQuestionSlots {
		key := func(name string) string { return fmt.Sprintf("q%d_%s", i, name) }
		prompt := strings.TrimSpace(f.Get(key("prompt")))
		if prompt == "" {
			continue
		}
		q := survey.Question{Kind: f.Get(key("kind")), Prompt: prompt, Required: f.Get(key("required")) == "1"}
		if q.Kind == survey.Single || q.Kind == survey.Multiple {
			for _, line := range strings.Split(f.Get(key("options")), "\n") {
				if line = strings.TrimSpace(line); line != "" {
					q.Options = append(q.Options, survey.Option{Label: line})
				}
			}
		}
		in.Questions = append(in.Questions, q)
		from = append(from, i)
	}
	return in, from
}

// surveyFormError puts an error about questions.N.… beside the block the question came from,
// worded by a reason of its own when the survey part gives none.
func surveyFormError(err error, from []int) error {
	e, ok := errAs(err)
	if !ok || e.Field == "" {
		return err
	}
	c := *e
	rest, isQuestion := strings.CutPrefix(e.Field, "questions.")
	switch {
	case e.Field == "questions":
		c.Field = "questions"
	case isQuestion:
		idx, part, _ := strings.Cut(rest, ".")
		n, aerr := strconv.Atoi(idx)
		if aerr != nil || n < 0 || n >= len(from) {
			return err
		}
		c.Field = fmt.Sprintf("q%d", from[n])
		if c.Reason == "" {
			c.Reason = "survey_question_" + part
		}
	}
	if c.Reason == "" {
		c.Reason = "survey_" + c.Field
	}
	return &c
}

func (s *Web) createSurvey(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	v.Form = newForm(r)
	in, from := surveyInput(r.PostForm)
	sv, err := s.srv.CreateSurvey(r.Context(), v.principal(), in)
	if err != nil {
		s.surveysPage(w, r, v, surveyFormError(err, from))
		return
	}
	s.redirect(w, r, "/admin/surveys/"+url.PathEscape(sv.ID)+"?notice=created")
}

// surveyResultsData is a survey's results for staff.
type surveyResultsData struct {
	Survey  survey.Survey
	Results survey.Results
	Link    string
}

// Percent is an option's share as a whole number, for <progress>.
func (surveyResultsData) Percent(o survey.OptionResult) int { return int(o.Percent + 0.5) }

// ScaleRows pairs each number of a scale with how often it was chosen.
func (surveyResultsData) ScaleRows(sc *survey.ScaleResult) []scaleRow {
	if sc == nil {
		return nil
	}
	most := 0
	for _, n := range sc.Histogram {
		most = max(most, n)
	}
	out := make([]scaleRow, len(sc.Histogram))
	for i, n := range sc.Histogram {
		out[i] = scaleRow{Value: sc.Min + i, Count: n, Max: max(most, 1)}
	}
	return out
}

// scaleRow is one bar of a scale question's histogram.
type scaleRow struct{ Value, Count, Max int }

func (s *Web) surveyResults(w http.ResponseWriter, r *http.Request, v *view) {
	v.Section = "surveys"
	p := v.principal()
	sv, err := s.srv.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	res, err := s.srv.Results(r.Context(), p, sv.ID)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	link := "/surveys/" + url.PathEscape(sv.ID)
	if sv.Poll() {
		link = "/posts/" + url.PathEscape(sv.PostID) + "#poll"
	}
	if r.URL.Query().Get("notice") == "created" {
		v.Notice = v.T("survey.created")
	}
	v.Title, v.Data = sv.Title, surveyResultsData{Survey: sv, Results: res, Link: link}
	s.render(w, r, 0, "admin-survey", v)
}
