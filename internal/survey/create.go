package survey

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Limits of what a survey may hold.
const (
	maxTitle       = 200
	maxDescription = 2000
	maxPrompt      = 500
	maxLabel       = 200
	maxQuestions   = 50
	maxOptions     = 20
	minPollOptions = 2
	maxPollOptions = 10
	maxPollLabel   = 100
	maxScale       = 10
)

// SurveyInput is what staff make a standalone survey of.
type SurveyInput struct {
	Title       string     `json:"title"`
	Description string     `json:"description"`
	SpaceID     string     `json:"space_id"` // "" for a community-wide survey, members only
	Questions   []Question `json:"questions"`
	Anonymous   bool       `json:"anonymous"`
	ClosesAt    *time.Time `json:"closes_at"`
}

// refRe is what a caller-chosen question or option id looks like (the onboarding survey names its
// questions, e.g. "company_size"); ids left empty are generated.
var refRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// checkQuestions validates qs, trims their text, fills in missing ids and scale bounds.
func checkQuestions(qs []Question, now time.Time) error {
	if len(qs) == 0 || len(qs) > maxQuestions {
		return errs.Invalid("questions", "a survey has 1 to %d questions", maxQuestions)
	}
	seen := map[string]bool{}
	for i := range qs {
		q := &qs[i]
		field := fmt.Sprintf("questions.%d", i)
		q.Prompt = strings.TrimSpace(q.Prompt)
		if q.ID == "" {
			q.ID = id.New(now)
		}
		if !refRe.MatchString(q.ID) || seen[q.ID] {
			return errs.Invalid(field+".id", "question ids must be unique, 1-40 letters, digits, _ or -")
		}
		seen[q.ID] = true
		if q.Prompt == "" || utf8.RuneCountInString(q.Prompt) > maxPrompt {
			return errs.Invalid(field+".prompt", "a question needs a prompt of at most %d characters", maxPrompt)
		}
		switch q.Kind {
		case Single, Multiple:
			if len(q.Options) < 2 || len(q.Options) > maxOptions {
				return errs.Invalid(field+".options", "a choice question has 2 to %d options", maxOptions)
			}
			if err := checkOptions(q.Options, field+".options", maxLabel, now); err != nil {
				return err
			}
			q.ScaleMin, q.ScaleMax = 0, 0
		case Text:
			if len(q.Options) > 0 {
				return errs.Invalid(field+".options", "a text question has no options")
			}
			q.ScaleMin, q.ScaleMax = 0, 0
		case Scale:
			if len(q.Options) > 0 {
				return errs.Invalid(field+".options", "a scale question has no options")
			}
			if q.ScaleMin == 0 && q.ScaleMax == 0 {
				q.ScaleMin, q.ScaleMax = 1, 5
			}
			if q.ScaleMin < 0 || q.ScaleMax > maxScale || q.ScaleMin >= q.ScaleMax {
				return errs.Invalid(field+".scale_max", "a scale runs from a lower to a higher number between 0 and %d", maxScale)
			}
		default:
			return errs.Invalid(field+".kind", "kind must be single, multiple, text or scale")
		}
	}
	return nil
}

// checkOptions trims the labels of opts, fills in missing ids and refuses empty, long or repeated
// labels.
func checkOptions(opts []Option, field string, maxLen int, now time.Time) error {
	labels, ids := map[string]bool{}, map[string]bool{}
	for i := range opts {
		o := &opts[i]
		o.Label = strings.TrimSpace(o.Label)
		if o.ID == "" {
			o.ID = id.New(now)
		}
		if !refRe.MatchString(o.ID) || ids[o.ID] {
			return errs.Invalid(field, "option ids must be unique, 1-40 letters, digits, _ or -")
		}
		ids[o.ID] = true
		if o.Label == "" || utf8.RuneCountInString(o.Label) > maxLen {
			return errs.Because(errs.Invalid(field, "each option needs a label of at most %d characters", maxLen), "option_label", maxLen)
		}
		if labels[o.Label] {
			return errs.Because(errs.Invalid(field, "option %q appears twice", o.Label), "option_duplicate", o.Label)
		}
		labels[o.Label] = true
	}
	return nil
}

func (in *SurveyInput) check(now time.Time) error {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case in.Title == "":
		return errs.Because(errs.Invalid("title", "title is required"), "title_required")
	case utf8.RuneCountInString(in.Title) > maxTitle:
		return errs.Because(errs.Invalid("title", "title must be at most %d characters", maxTitle), "title_long", maxTitle)
	case utf8.RuneCountInString(in.Description) > maxDescription:
		return errs.Invalid("description", "description must be at most %d characters", maxDescription)
	case in.ClosesAt != nil && !in.ClosesAt.After(now):
		return errs.Invalid("closes_at", "a survey must close in the future")
	}
	return checkQuestions(in.Questions, now)
}

// CreateSurvey makes a standalone survey. Needs PermManageCommunity or PermManageMarketing; a
// space survey needs a space p can see.
func (s *Service) CreateSurvey(ctx context.Context, p accounts.Principal, in SurveyInput) (Survey, error) {
	if !staff(p) {
		if err := accounts.Authorize(p, accounts.PermManageMarketing); err != nil {
			return Survey{}, err
		}
	}
	now := s.now()
	// Copy the questions: check fills in ids, and the caller's slice is not ours to change.
	in.Questions = append([]Question(nil), in.Questions...)
	for i := range in.Questions {
		in.Questions[i].Options = append([]Option(nil), in.Questions[i].Options...)
	}
	if err := in.check(now); err != nil {
		return Survey{}, err
	}
	if in.SpaceID != "" {
		sp, err := s.community.Space(ctx, p, in.SpaceID)
		if errs.KindOf(err) == errs.KindNotFound {
			return Survey{}, errs.Invalid("space_id", "no space %s", in.SpaceID)
		}
		if err != nil {
			return Survey{}, err
		}
		in.SpaceID = sp.ID
	}
	sv := Survey{ID: id.New(now), Title: in.Title, Description: in.Description, Questions: in.Questions, SpaceID: in.SpaceID,
		Anonymous: in.Anonymous, CreatedBy: p.Actor(), CreatedAt: now.Truncate(time.Millisecond)}
	if in.ClosesAt != nil {
		t := in.ClosesAt.Truncate(time.Millisecond)
		sv.ClosesAt = &t
	}
	err := s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.insert(ctx, tx, sv); err != nil {
			return err
		}
		if err := s.acc.Audit(ctx, tx, p, "survey.created", sv.ID, map[string]any{"title": sv.Title, "space_id": sv.SpaceID, "anonymous": sv.Anonymous}); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, event.Community("Survey Created", p.Actor(), now, map[string]any{
			"survey_id": sv.ID, "space_id": sv.SpaceID, "question_count": len(sv.Questions), "anonymous": sv.Anonymous,
		}))
	})
	if err != nil {
		return Survey{}, err
	}
	return sv, nil
}

func (s *Service) insert(ctx context.Context, tx *sql.Tx, sv Survey) error {
	qs, err := json.Marshal(sv.Questions)
	if err != nil {
		return err
	}
	var post, space, closes any
	if sv.PostID != "" {
		post = sv.PostID
	}
	if sv.SpaceID != "" {
		space = sv.SpaceID
	}
	if sv.ClosesAt != nil {
		closes = db.Now(*sv.ClosesAt)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO surveys (id, title, description, post_id, space_id, anonymous, questions, closes_at, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		sv.ID, sv.Title, sv.Description, post, space, db.Bool(sv.Anonymous), string(qs), closes, sv.CreatedBy, db.Now(sv.CreatedAt))
	return err
}

// CreatePoll attaches a poll of one question to a post: its author or a moderator of its space may.
// The poll is seen by whoever sees the post. A post has at most one poll.
func (s *Service) CreatePoll(ctx context.Context, p accounts.Principal, postID, question string, options []string, multiple bool) (Survey, error) {
	post, err := s.community.Post(ctx, p, postID)
	if err != nil {
		return Survey{}, err
	}
	if p.Anonymous() {
		return Survey{}, errs.Unauthenticated("log in to add a poll")
	}
	if !post.CanModerate && (p.MemberID == "" || post.Author.ID != p.MemberID) {
		return Survey{}, errs.Forbidden("only the post's author or a moderator may add a poll")
	}
	question = strings.TrimSpace(question)
	if question == "" || utf8.RuneCountInString(question) > maxPrompt {
		return Survey{}, errs.Because(errs.Invalid("question", "a poll needs a question of at most %d characters", maxPrompt), "poll_question", maxPrompt)
	}
	if len(options) < minPollOptions || len(options) > maxPollOptions {
		return Survey{}, errs.Because(errs.Invalid("options", "a poll has %d to %d options", minPollOptions, maxPollOptions), "poll_options", minPollOptions, maxPollOptions)
	}
	now := s.now()
	opts := make([]Option, len(options))
	for i, label := range options {
		opts[i] = Option{Label: label}
	}
	if err := checkOptions(opts, "options", maxPollLabel, now); err != nil {
		return Survey{}, err
	}
	kind := Single
	if multiple {
		kind = Multiple
	}
	sv := Survey{ID: id.New(now), Title: question, PostID: post.ID, SpaceID: post.SpaceID,
		Questions: []Question{{ID: id.New(now), Kind: kind, Prompt: question, Options: opts, Required: true}},
		CreatedBy: p.Actor(), CreatedAt: now.Truncate(time.Millisecond)}
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM surveys WHERE post_id = $1`, post.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.Because(errs.Conflict("", "this post already has a poll"), "poll_exists")
		}
		if err := s.insert(ctx, tx, sv); err != nil {
			return err
		}
		// The post's page now shows a poll.
		if err := s.community.Touch(ctx, tx, post.ID); err != nil {
			return err
		}
		if p.MemberID != post.Author.ID {
			if err := s.acc.Audit(ctx, tx, p, "poll.created", sv.ID, map[string]any{"post_id": post.ID, "author_id": post.Author.ID}); err != nil {
				return err
			}
		}
		return s.outbox.Emit(ctx, tx, event.Community("Poll Created", p.Actor(), now, map[string]any{
			"survey_id": sv.ID, "post_id": post.ID, "space_id": post.SpaceID, "option_count": len(opts), "multiple": multiple,
		}))
	})
	if err != nil {
		return Survey{}, err
	}
	return sv, nil
}
