// Package onboarding is the survey every new member is offered right after sign-up: questions staff
// define in Japanese and English (one or several choices, free text, a scale), answers the member can
// change later, and what the answers become — profile traits (an identify event: onboarding_<key>
// for each question and an "interests" list), a Survey Answered event, the member's interests that
// the personalised feed ranks first, and, for the choices staff mark so, an automatic segment of
// the people who picked them.
package onboarding

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/segment"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the onboarding tables; they refer to members, so they run after
// accounts.Migrations.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "onboarding", FS: sub}
}

// Deps are what the onboarding part needs.
type Deps struct {
	DB     *db.DB
	Outbox *backbone.Outbox
	// Segments makes the automatic segments of choices; nil refuses choices that ask for one.
	Segments *segment.Service
	Now      func() time.Time // time.Now when nil
}

// Service is the onboarding part.
type Service struct {
	db       *db.DB
	outbox   *backbone.Outbox
	segments *segment.Service
	now      func() time.Time
}

// New returns the onboarding service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, segments: d.Segments, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Question kinds.
const (
	Single   = "single"
	Multiple = "multiple"
	Text     = "text"
	Scale    = "scale"
)

// Interest kinds a choice may name.
const (
	InterestSpace = "space"
	InterestTag   = "tag"
)

// Choice is one choice of a single or multiple question.
type Choice struct {
	Value   string `json:"value"`
	LabelJA string `json:"label_ja"`
	LabelEN string `json:"label_en"`
	// InterestKind and InterestRef name the space (by slug) or tag the choice is an interest in.
	InterestKind string `json:"interest_kind,omitempty"`
	InterestRef  string `json:"interest_ref,omitempty"`
	// AutoSegment asks, when the question is created, for a segment of those who pick the choice.
	AutoSegment bool `json:"auto_segment,omitempty"`
	// SegmentID is the automatic segment made for the choice, if any.
	SegmentID string `json:"segment_id,omitempty"`
}

// Interest is the "interests" trait's element for the choice: "space:<slug>" or "tag:<tag>", or "".
func (c Choice) Interest() string {
	if c.InterestKind == "" {
		return ""
	}
	return c.InterestKind + ":" + c.InterestRef
}

// Label is the choice's label in lang (ja or en).
func (c Choice) Label(lang string) string {
	if lang == "en" && c.LabelEN != "" {
		return c.LabelEN
	}
	return c.LabelJA
}

// Question is one question of the onboarding survey.
type Question struct {
	ID       string   `json:"id"`
	Key      string   `json:"key"`
	Kind     string   `json:"kind"`
	PromptJA string   `json:"prompt_ja"`
	PromptEN string   `json:"prompt_en"`
	ScaleMin int      `json:"scale_min,omitempty"`
	ScaleMax int      `json:"scale_max,omitempty"`
	Choices  []Choice `json:"choices,omitempty"`
}

// Prompt is the question in lang (ja or en).
func (q Question) Prompt(lang string) string {
	if lang == "en" && q.PromptEN != "" {
		return q.PromptEN
	}
	return q.PromptJA
}

// Trait is the trait the question's answer becomes.
func (q Question) Trait() string { return "onboarding_" + q.Key }

// ScaleSteps lists the points of a scale question, for the form.
func (q Question) ScaleSteps() []int {
	var out []int
	for i := q.ScaleMin; i <= q.ScaleMax; i++ {
		out = append(out, i)
	}
	return out
}

var (
	keyPattern   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	valuePattern = regexp.MustCompile(`^[\p{L}\p{N}_\-.]{1,60}$`)
)

func staff(p accounts.Principal) error { return accounts.Authorize(p, accounts.PermManageCommunity) }

func (q *Question) check() error {
	if !keyPattern.MatchString(q.Key) {
		return errs.Invalid("key", "a key is a lower-case letter then up to 39 letters, digits or underscores")
	}
	q.PromptJA, q.PromptEN = strings.TrimSpace(q.PromptJA), strings.TrimSpace(q.PromptEN)
	if q.PromptJA == "" && q.PromptEN == "" {
		return errs.Invalid("prompt_ja", "give the question in Japanese or English")
	}
	switch q.Kind {
	case Single, Multiple:
		if len(q.Choices) < 2 || len(q.Choices) > 30 {
			return errs.Invalid("choices", "give 2 to 30 choices")
		}
		seen := map[string]bool{}
		for i := range q.Choices {
			c := &q.Choices[i]
			c.LabelJA, c.LabelEN = strings.TrimSpace(c.LabelJA), strings.TrimSpace(c.LabelEN)
			c.InterestRef = strings.TrimSpace(c.InterestRef)
			if c.Value == "" {
				c.Value = fmt.Sprintf("c%d", i+1)
			}
			path := fmt.Sprintf("choices[%d]", i)
			if !valuePattern.MatchString(c.Value) || seen[c.Value] {
				return errs.Invalid(path+".value", "a choice value is 1 to 60 letters, digits, _ - or ., unique in its question")
			}
			seen[c.Value] = true
			if c.LabelJA == "" && c.LabelEN == "" {
				return errs.Invalid(path+".label_ja", "give the choice a label")
			}
			switch c.InterestKind {
			case "":
				c.InterestRef = ""
			case InterestSpace, InterestTag:
				if c.InterestRef == "" || len(c.InterestRef) > 100 {
					return errs.Invalid(path+".interest_ref", "name the space or tag")
				}
				if c.InterestKind == InterestTag {
					c.InterestRef = strings.ToLower(c.InterestRef)
				}
			default:
				return errs.Invalid(path+".interest_kind", "an interest is a space or a tag")
			}
		}
	case Text:
		q.Choices = nil
	case Scale:
		q.Choices = nil
		if q.ScaleMin == 0 && q.ScaleMax == 0 {
			q.ScaleMin, q.ScaleMax = 1, 5
		}
		if q.ScaleMin < 0 || q.ScaleMax <= q.ScaleMin || q.ScaleMax-q.ScaleMin > 10 {
			return errs.Invalid("scale_max", "a scale has 2 to 11 points from 0 or more")
		}
	default:
		return errs.Invalid("kind", "kind must be single, multiple, text or scale")
	}
	return nil
}

// segmentDefinition is the automatic segment of a choice: those interested in its interest, or
// those whose answer holds it.
func segmentDefinition(q Question, c Choice) json.RawMessage {
	cond := map[string]any{"trait": "interests", "op": "contains", "value": c.Interest()}
	if c.Interest() == "" {
		cond = map[string]any{"trait": q.Trait(), "op": "contains", "value": c.Value}
		if q.Kind == Single {
			cond["op"] = "eq"
		}
	}
	b, _ := json.Marshal(cond)
	return b
}

// CreateQuestion adds a question at the end of the survey; choices marked AutoSegment get a
// segment named after them (which needs the permission to build segments).
func (s *Service) CreateQuestion(ctx context.Context, p accounts.Principal, q Question) (Question, error) {
	if err := staff(p); err != nil {
		return Question{}, err
	}
	if err := q.check(); err != nil {
		return Question{}, err
	}
	var taken int
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM onboarding_questions WHERE key = $1`, q.Key).Scan(&taken); err != nil {
		return Question{}, err
	}
	if taken > 0 {
		return Question{}, errs.Conflict("key", "a question with key %s already exists", q.Key)
	}
	for i, c := range q.Choices {
		if !c.AutoSegment {
			continue
		}
		if s.segments == nil {
			return Question{}, errs.Invalid(fmt.Sprintf("choices[%d].auto_segment", i), "segments are not available")
		}
		// Segments live in their own part: made first, and left in place if the question is not.
		sg, err := s.segments.Create(ctx, p, fmt.Sprintf("オンボーディング: %s (%s)", c.Label("ja"), c.Label("en")), segmentDefinition(q, c))
		if err != nil {
			return Question{}, fmt.Errorf("making the segment of choice %s: %w", c.Value, err)
		}
		q.Choices[i].SegmentID = sg.ID
	}
	now := s.now()
	q.ID = id.New(now)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO onboarding_questions (id, key, kind, prompt_ja, prompt_en, scale_min, scale_max, position, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT coalesce(max(position), 0) + 1 FROM onboarding_questions), $8)`,
			q.ID, q.Key, q.Kind, q.PromptJA, q.PromptEN, q.ScaleMin, q.ScaleMax, db.Now(now)); err != nil {
			return err
		}
		for i, c := range q.Choices {
			if _, err := tx.ExecContext(ctx, `INSERT INTO onboarding_choices (id, question_id, value, label_ja, label_en, interest_kind, interest_ref, segment_id, position)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				id.New(now), q.ID, c.Value, c.LabelJA, c.LabelEN, c.InterestKind, c.InterestRef, c.SegmentID, i); err != nil {
				return err
			}
		}
		return nil
	})
	return q, err
}

// DeleteQuestion removes a question and its answers (their traits stay as last sent).
func (s *Service) DeleteQuestion(ctx context.Context, p accounts.Principal, questionID string) error {
	if err := staff(p); err != nil {
		return err
	}
	res, err := s.db.W.ExecContext(ctx, `DELETE FROM onboarding_questions WHERE id = $1`, questionID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("no question %s", questionID)
	}
	return nil
}

// Questions lists the survey's questions in order, with their choices.
func (s *Service) Questions(ctx context.Context) ([]Question, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, key, kind, prompt_ja, prompt_en, scale_min, scale_max FROM onboarding_questions ORDER BY position, id`)
	if err != nil {
		return nil, err
	}
	var out []Question
	byID := map[string]int{}
	for rows.Next() {
		var q Question
		if err := rows.Scan(&q.ID, &q.Key, &q.Kind, &q.PromptJA, &q.PromptEN, &q.ScaleMin, &q.ScaleMax); err != nil {
			rows.Close()
			return nil, err
		}
		byID[q.ID] = len(out)
		out = append(out, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.R.QueryContext(ctx, `SELECT question_id, value, label_ja, label_en, interest_kind, interest_ref, segment_id FROM onboarding_choices ORDER BY question_id, position`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var qid string
		var c Choice
		if err := rows.Scan(&qid, &c.Value, &c.LabelJA, &c.LabelEN, &c.InterestKind, &c.InterestRef, &c.SegmentID); err != nil {
			return nil, err
		}
		if i, ok := byID[qid]; ok {
			out[i].Choices = append(out[i].Choices, c)
		}
	}
	return out, rows.Err()
}

// Answer is a member's answer to one question: Choices for single and multiple, Text, or Scale.
type Answer struct {
	QuestionID string   `json:"question_id"`
	Choices    []string `json:"choices,omitempty"`
	Text       string   `json:"text,omitempty"`
	Scale      *int     `json:"scale,omitempty"`
}

func (a Answer) empty() bool { return len(a.Choices) == 0 && a.Text == "" && a.Scale == nil }

// Has reports whether the answer picked the choice value, for the form.
func (a Answer) Has(value string) bool { return slices.Contains(a.Choices, value) }

// ScaleIs reports whether the answer is the scale point n, for the form.
func (a Answer) ScaleIs(n int) bool { return a.Scale != nil && *a.Scale == n }

// Answers returns the member's answers by question id.
func (s *Service) Answers(ctx context.Context, memberID string) (map[string]Answer, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT question_id, choices, text, scale FROM onboarding_answers WHERE member_id = $1`, memberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Answer{}
	for rows.Next() {
		var a Answer
		var choices string
		var scale sql.NullInt64
		if err := rows.Scan(&a.QuestionID, &choices, &a.Text, &scale); err != nil {
			return nil, err
		}
		if choices != "" {
			a.Choices = strings.Split(choices, ",")
		}
		if scale.Valid {
			n := int(scale.Int64)
			a.Scale = &n
		}
		out[a.QuestionID] = a
	}
	return out, rows.Err()
}

// Interests are what a member said they are interested in: space slugs and tags.
type Interests struct {
	Spaces []string
	Tags   []string
}

// Interests returns the spaces and tags the member's answers name.
func (s *Service) Interests(ctx context.Context, memberID string) (Interests, error) {
	var out Interests
	if memberID == "" {
		return out, nil
	}
	qs, err := s.Questions(ctx)
	if err != nil {
		return out, err
	}
	answers, err := s.Answers(ctx, memberID)
	if err != nil {
		return out, err
	}
	for _, q := range qs {
		for _, c := range q.Choices {
			if !answers[q.ID].Has(c.Value) {
				continue
			}
			switch c.InterestKind {
			case InterestSpace:
				out.Spaces = append(out.Spaces, c.InterestRef)
			case InterestTag:
				out.Tags = append(out.Tags, c.InterestRef)
			}
		}
	}
	return out, nil
}

// SurveyAnswered is the event of a member answering (or changing) the onboarding survey.
const SurveyAnswered = "Survey Answered"

// Submit stores the member's answers (replacing earlier ones; a question left empty clears its
// answer) and, in the same transaction, sends them as traits (an identify event: onboarding_<key>
// per answered question and the "interests" list) and a Survey Answered event.
func (s *Service) Submit(ctx context.Context, p accounts.Principal, answers []Answer) error {
	if p.MemberID == "" {
		return errs.Forbidden("only members answer the onboarding survey")
	}
	qs, err := s.Questions(ctx)
	if err != nil {
		return err
	}
	byID := map[string]Question{}
	for _, q := range qs {
		byID[q.ID] = q
	}
	given := map[string]Answer{}
	for i, a := range answers {
		q, ok := byID[a.QuestionID]
		if !ok {
			return errs.Invalid(fmt.Sprintf("answers[%d].question_id", i), "no question %s", a.QuestionID)
		}
		if err := checkAnswer(q, &a); err != nil {
			return errs.Invalid(fmt.Sprintf("answers[%d]", i), "%s", err)
		}
		given[q.ID] = a
	}
	traits := map[string]any{}
	interests := []string{}
	answered := []string{}
	for _, q := range qs {
		a, ok := given[q.ID]
		if !ok || a.empty() {
			continue // no trait: a cleared answer keeps its last value on the profile
		}
		answered = append(answered, q.Key)
		switch q.Kind {
		case Single:
			traits[q.Trait()] = a.Choices[0]
		case Multiple:
			traits[q.Trait()] = a.Choices
		case Text:
			traits[q.Trait()] = a.Text
		case Scale:
			traits[q.Trait()] = *a.Scale
		}
		for _, c := range q.Choices {
			if a.Has(c.Value) && c.Interest() != "" && !slices.Contains(interests, c.Interest()) {
				interests = append(interests, c.Interest())
			}
		}
	}
	traits["interests"] = interests
	now := s.now()
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM onboarding_answers WHERE member_id = $1`, p.MemberID); err != nil {
			return err
		}
		for _, q := range qs {
			a, ok := given[q.ID]
			if !ok || a.empty() {
				continue
			}
			var scale any
			if a.Scale != nil {
				scale = *a.Scale
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO onboarding_answers (member_id, question_id, choices, text, scale, answered_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				p.MemberID, q.ID, strings.Join(a.Choices, ","), a.Text, scale, db.Now(now)); err != nil {
				return err
			}
		}
		identify := event.New(event.Identify, "", event.SourceCommunity, now)
		identify.UserID, identify.Traits = p.MemberID, traits
		tracked := event.Community(SurveyAnswered, p.MemberID, now, map[string]any{
			"survey": "onboarding", "questions_answered": answered, "interests": interests})
		return s.outbox.Emit(ctx, tx, identify, tracked)
	})
}

// checkAnswer normalises an answer and checks it fits its question.
func checkAnswer(q Question, a *Answer) error {
	a.Text = strings.TrimSpace(a.Text)
	switch q.Kind {
	case Single, Multiple:
		a.Text, a.Scale = "", nil
		var keep []string
		for _, v := range a.Choices {
			if v == "" || slices.Contains(keep, v) {
				continue
			}
			if !slices.ContainsFunc(q.Choices, func(c Choice) bool { return c.Value == v }) {
				return fmt.Errorf("%s is not a choice of question %s", v, q.Key)
			}
			keep = append(keep, v)
		}
		a.Choices = keep
		if q.Kind == Single && len(a.Choices) > 1 {
			return errors.New("choose one")
		}
	case Text:
		a.Choices, a.Scale = nil, nil
		if len([]rune(a.Text)) > 1000 {
			return errors.New("answer in at most 1000 characters")
		}
	case Scale:
		a.Choices, a.Text = nil, ""
		if a.Scale != nil && (*a.Scale < q.ScaleMin || *a.Scale > q.ScaleMax) {
			return fmt.Errorf("answer %d to %d", q.ScaleMin, q.ScaleMax)
		}
	}
	return nil
}
