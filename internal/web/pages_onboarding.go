package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/onboarding"
)

// onboardingChoiceSlots is how many choice rows the staff's question form offers.
const onboardingChoiceSlots = 8

// onboardingRoutes registers the onboarding survey, the member's interests in their settings and
// its staff page; Routes calls it when the service is there.
func (s *Web) onboardingRoutes(handle func(string, pageHandler)) {
	handle("GET /welcome", s.signedIn(s.welcome))
	handle("POST /welcome", s.signedIn(s.saveWelcome))
	handle("GET /settings/interests", s.signedIn(s.interestSettings))
	handle("POST /settings/interests", s.signedIn(s.saveInterestSettings))
	handle("GET /admin/onboarding", s.staff(accounts.PermManageCommunity, s.adminOnboarding))
	handle("POST /admin/onboarding", s.staff(accounts.PermManageCommunity, s.createOnboardingQuestion))
	handle("POST /admin/onboarding/{id}/delete", s.staff(accounts.PermManageCommunity, s.deleteOnboardingQuestion))
}

// afterSignUp is where a new member goes: the onboarding survey when there is one.
func (s *Web) afterSignUp() string {
	if s.onb != nil {
		return "/welcome"
	}
	return "/?notice=welcome"
}

// onboardingData is the survey as one member answers it.
type onboardingData struct {
	V         *view
	Questions []onboardingQuestion
	Settings  bool // shown from the member's settings, not right after sign-up
	Saved     bool
	Action    string
}

// onboardingQuestion is a question with the member's current answer.
type onboardingQuestion struct {
	onboarding.Question
	Answer onboarding.Answer
	N      int
}

func (s *Web) onboardingForm(w http.ResponseWriter, r *http.Request, v *view, settings bool) {
	qs, err := s.onb.Questions(r.Context())
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if len(qs) == 0 && !settings {
		s.redirect(w, r, "/?notice=welcome")
		return
	}
	answers, err := s.onb.Answers(r.Context(), v.Member.ID)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := onboardingData{V: v, Settings: settings, Saved: r.URL.Query().Get("saved") == "1", Action: "/welcome"}
	if settings {
		d.Action = "/settings/interests"
	}
	for i, q := range qs {
		d.Questions = append(d.Questions, onboardingQuestion{Question: q, Answer: answers[q.ID], N: i + 1})
	}
	v.Title, v.Data = v.T("onboarding.title"), d
	if settings {
		v.Title = v.T("settings.interests.title")
	}
	if v.Form != nil && v.Form.Alert() != "" {
		s.render(w, r, http.StatusUnprocessableEntity, "onboarding", v)
		return
	}
	s.render(w, r, 0, "onboarding", v)
}

func (s *Web) welcome(w http.ResponseWriter, r *http.Request, v *view) {
	s.onboardingForm(w, r, v, false)
}

func (s *Web) interestSettings(w http.ResponseWriter, r *http.Request, v *view) {
	s.onboardingForm(w, r, v, true)
}

// onboardingAnswers reads the form: per question, q_<id> values, or the text or scale.
func onboardingAnswers(r *http.Request, qs []onboarding.Question) []onboarding.Answer {
	var out []onboarding.Answer
	for _, q := range qs {
		a := onboarding.Answer{QuestionID: q.ID}
		name := "q_" + q.ID
		switch q.Kind {
		case onboarding.Single, onboarding.Multiple:
			a.Choices = r.PostForm[name]
		case onboarding.Text:
			a.Text = r.PostForm.Get(name)
		case onboarding.Scale:
			if n, err := strconv.Atoi(r.PostForm.Get(name)); err == nil {
				a.Scale = &n
			}
		}
		out = append(out, a)
	}
	return out
}

func (s *Web) submitOnboarding(w http.ResponseWriter, r *http.Request, v *view, settings bool) {
	r.ParseForm()
	v.Form = newForm(r)
	qs, err := s.onb.Questions(r.Context())
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if err := s.onb.Submit(r.Context(), v.principal(), onboardingAnswers(r, qs)); err != nil {
		if e, ok := errAs(err); ok {
			v.Form.alert = s.message(v, e)
			s.onboardingForm(w, r, v, settings)
			return
		}
		s.fail(w, r, v, err)
		return
	}
	if settings {
		s.redirect(w, r, "/settings/interests?saved=1")
		return
	}
	s.redirect(w, r, "/?notice=interests")
}

func (s *Web) saveWelcome(w http.ResponseWriter, r *http.Request, v *view) {
	s.submitOnboarding(w, r, v, false)
}

func (s *Web) saveInterestSettings(w http.ResponseWriter, r *http.Request, v *view) {
	s.submitOnboarding(w, r, v, true)
}

// ---- staff ----

// adminOnboardingData is the staff's page: the questions and the form for a new one.
type adminOnboardingData struct {
	Questions []onboarding.Question
	Kinds     []string
	Slots     []int
	Spaces    []community.Space
}

func (s *Web) adminOnboarding(w http.ResponseWriter, r *http.Request, v *view) {
	s.adminOnboardingPage(w, r, v, nil)
}

func (s *Web) adminOnboardingPage(w http.ResponseWriter, r *http.Request, v *view, err error) {
	v.Title, v.Section = v.T("admin.nav.onboarding"), "onboarding"
	qs, qerr := s.onb.Questions(r.Context())
	if qerr != nil {
		s.fail(w, r, v, qerr)
		return
	}
	d := adminOnboardingData{Questions: qs, Kinds: []string{onboarding.Single, onboarding.Multiple, onboarding.Text, onboarding.Scale},
		Slots: slots(onboardingChoiceSlots)}
	if s.com != nil {
		if d.Spaces, qerr = s.com.Spaces(r.Context(), v.principal()); qerr != nil {
			s.fail(w, r, v, qerr)
			return
		}
	}
	v.Data = d
	switch r.URL.Query().Get("notice") {
	case "created":
		v.Notice = v.T("onboarding.admin.created")
	case "deleted":
		v.Notice = v.T("onboarding.admin.deleted")
	}
	if v.Form == nil {
		v.Form = newForm(r)
	}
	if e, ok := errAs(err); ok && e.Field != "key" && e.Field != "kind" && e.Field != "prompt_ja" && e.Field != "scale_max" {
		c := *e // a choice's error is about a row: said above the form, with the row's number
		c.Field = ""
		if strings.HasPrefix(e.Field, "choices[") {
			c.Msg = v.T("onboarding.admin.choice_error", e.Field, e.Msg)
			c.Reason = ""
		}
		err = &c
	}
	if s.formFailed(w, r, v, "admin-onboarding", err) {
		return
	}
	s.render(w, r, 0, "admin-onboarding", v)
}

// onboardingQuestionInput reads the staff's question form; a choice row is used when it has a
// label. Its interest is "space:<slug>", "tag:<tag>" or "".
func onboardingQuestionInput(r *http.Request) onboarding.Question {
	f := r.PostForm
	q := onboarding.Question{Key: strings.TrimSpace(f.Get("key")), Kind: f.Get("kind"), PromptJA: f.Get("prompt_ja"), PromptEN: f.Get("prompt_en")}
	q.ScaleMin, _ = strconv.Atoi(f.Get("scale_min"))
	q.ScaleMax, _ = strconv.Atoi(f.Get("scale_max"))
	if q.Kind != onboarding.Single && q.Kind != onboarding.Multiple {
		return q
	}
	for i := range onboardingChoiceSlots {
		key := func(name string) string { return fmt.Sprintf("c%d_%s", i, name) }
		c := onboarding.Choice{Value: strings.TrimSpace(f.Get(key("value"))), LabelJA: f.Get(key("label_ja")), LabelEN: f.Get(key("label_en")),
			AutoSegment: f.Get(key("segment")) == "1"}
		if strings.TrimSpace(c.LabelJA+c.LabelEN) == "" {
			continue
		}
		switch kind, ref, _ := strings.Cut(f.Get(key("interest")), ":"); kind {
		case onboarding.InterestSpace, onboarding.InterestTag:
			c.InterestKind, c.InterestRef = kind, ref
		}
		if t := strings.TrimSpace(f.Get(key("tag"))); t != "" && c.InterestKind == "" {
			c.InterestKind, c.InterestRef = onboarding.InterestTag, strings.TrimPrefix(t, "#")
		}
		q.Choices = append(q.Choices, c)
	}
	return q
}

func (s *Web) createOnboardingQuestion(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	v.Form = newForm(r)
	if _, err := s.onb.CreateQuestion(r.Context(), v.principal(), onboardingQuestionInput(r)); err != nil {
		s.adminOnboardingPage(w, r, v, err)
		return
	}
	s.redirect(w, r, "/admin/onboarding?notice=created")
}

func (s *Web) deleteOnboardingQuestion(w http.ResponseWriter, r *http.Request, v *view) {
	if err := s.onb.DeleteQuestion(r.Context(), v.principal(), r.PathValue("id")); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/admin/onboarding?notice=deleted")
}

// ---- the home feed ----

// feedRow is one post of the home feed as the template shows it.
type feedRow struct {
	V *view
	community.FeedItem
}

// ReasonText says why the post is in the reader's feed where it is, or "".
func (f feedRow) ReasonText() string {
	switch f.Reason {
	case community.ReasonInterest:
		if len(f.Interests) > 0 && f.Interests[0] == f.SpaceSlug {
			return f.V.T("feed.reason.interest_space", f.SpaceName)
		}
		if len(f.Interests) > 0 {
			return f.V.T("feed.reason.interest", f.Interests[0])
		}
	case community.ReasonPinned, community.ReasonJoined, community.ReasonAffinity, community.ReasonPopular:
		return f.V.T("feed.reason." + f.Reason)
	}
	return ""
}

// Excerpt is the start of the post's text, for the card.
func (f feedRow) Excerpt() string {
	text := strings.Join(strings.Fields(stripMarkdown(f.Body)), " ")
	if r := []rune(text); len(r) > 90 {
		return string(r[:90]) + "…"
	}
	return text
}

// stripMarkdown drops the Markdown marks a card's excerpt should not show.
func stripMarkdown(s string) string {
	return strings.NewReplacer("#", "", "*", "", "`", "", ">", "", "_", "", "[", "", "]", "").Replace(s)
}

// feedFor is p's home feed: by their onboarding interests, joined spaces and reactions when
// signed in, the popular feed otherwise.
func (s *Web) feedFor(r *http.Request, v *view) ([]feedRow, error) {
	q := community.FeedQuery{Limit: 20}
	if s.onb != nil && v.Member != nil {
		in, err := s.onb.Interests(r.Context(), v.Member.ID)
		if err != nil {
			return nil, err
		}
		q.InterestSpaces, q.InterestTags = in.Spaces, in.Tags
	}
	items, err := s.com.Feed(r.Context(), v.principal(), q)
	if err != nil {
		return nil, err
	}
	out := make([]feedRow, len(items))
	for i, it := range items {
		out[i] = feedRow{V: v, FeedItem: it}
	}
	return out, nil
}

// pinToFeed pins a post to everyone's home feed, or unpins it (pin=0).
func (s *Web) pinToFeed(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	if err := s.com.PinToFeed(r.Context(), v.principal(), id, r.PostFormValue("pin") != "0"); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/posts/"+id)
}
