package survey

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

// Answer is a member's answer to one question: the chosen options of a single or multiple
// question, the text of a text question or the number of a scale question. A question is answered
// when its id is a key of the answers; an empty choice or blank text counts as unanswered.
type Answer struct {
	OptionIDs []string `json:"option_ids,omitempty"`
	Text      string   `json:"text,omitempty"`
	Scale     int      `json:"scale,omitempty"`
}

// maxText bounds a free-text answer.
const maxText = 5000

// anonymousActor is the anonymousId, under "kizuna:", of responses to anonymous surveys.
const anonymousActor = "anonymous-survey"

// checkAnswers validates answers against the questions and returns them cleaned: only answered
// questions, options de-duplicated in the question's order, text trimmed.
func checkAnswers(qs []Question, answers map[string]Answer) (map[string]Answer, error) {
	for qid := range answers {
		if !slices.ContainsFunc(qs, func(q Question) bool { return q.ID == qid }) {
			return nil, errs.Because(errs.Invalid("answers."+qid, "no question %s in this survey", qid), "unknown_question")
		}
	}
	out := map[string]Answer{}
	for _, q := range qs {
		field := "answers." + q.ID
		a, ok := answers[q.ID]
		switch q.Kind {
		case Single, Multiple:
			var chosen []string
			for _, o := range q.Options {
				if slices.Contains(a.OptionIDs, o.ID) {
					chosen = append(chosen, o.ID)
				}
			}
			for _, oid := range a.OptionIDs {
				if !slices.ContainsFunc(q.Options, func(o Option) bool { return o.ID == oid }) {
					return nil, errs.Because(errs.Invalid(field, "no option %s in this question", oid), "unknown_option")
				}
			}
			if q.Kind == Single && len(chosen) > 1 {
				return nil, errs.Because(errs.Invalid(field, "choose one option"), "one_option")
			}
			if a.Text != "" {
				return nil, errs.Invalid(field, "a choice question takes option ids, not text")
			}
			ok = len(chosen) > 0
			a = Answer{OptionIDs: chosen}
		case Text:
			if len(a.OptionIDs) > 0 {
				return nil, errs.Invalid(field, "a text question takes text, not options")
			}
			a = Answer{Text: strings.TrimSpace(a.Text)}
			if utf8.RuneCountInString(a.Text) > maxText {
				return nil, errs.Because(errs.Invalid(field, "an answer must be at most %d characters", maxText), "answer_long", maxText)
			}
			ok = a.Text != ""
		case Scale:
			if ok && (len(a.OptionIDs) > 0 || a.Text != "") {
				return nil, errs.Invalid(field, "a scale question takes a number")
			}
			if ok && (a.Scale < q.ScaleMin || a.Scale > q.ScaleMax) {
				return nil, errs.Because(errs.Invalid(field, "choose a number from %d to %d", q.ScaleMin, q.ScaleMax), "scale_range", q.ScaleMin, q.ScaleMax)
			}
			a = Answer{Scale: a.Scale}
		}
		if !ok {
			if q.Required {
				return nil, errs.Because(errs.Invalid(field, "this question needs an answer"), "answer_required")
			}
			continue
		}
		out[q.ID] = a
	}
	if len(out) == 0 {
		return nil, errs.Because(errs.Invalid("answers", "answer at least one question"), "answers_empty")
	}
	return out, nil
}

// Respond records p's one response to a survey or poll p may see. A second response is refused
// (already_responded), and so is a response after the survey closed (survey_closed).
func (s *Service) Respond(ctx context.Context, p accounts.Principal, surveyID string, answers map[string]Answer) error {
	sv, _, err := s.load(ctx, p, surveyID)
	if err != nil {
		return err
	}
	if p.Anonymous() {
		return errs.Unauthenticated("log in to respond")
	}
	if p.MemberID == "" {
		return errs.Forbidden("only members respond to surveys")
	}
	m, err := s.acc.GetMember(ctx, p.MemberID)
	if err != nil {
		return err
	}
	if m.Status != "active" {
		return errs.Because(errs.Forbidden("this account is suspended"), "suspended")
	}
	now := s.now()
	if sv.Closed(now) {
		return errs.Because(errs.Conflict("", "this survey is closed"), "survey_closed")
	}
	if sv.Responded {
		return errAlreadyResponded()
	}
	clean, err := checkAnswers(sv.Questions, answers)
	if err != nil {
		return err
	}
	// An anonymous response keeps no member and only the day it was given, so neither its row nor
	// its id's time can be matched with the member's other activity.
	at, member, actor := now, any(p.MemberID), p.MemberID
	if sv.Anonymous {
		at, member, actor = now.UTC().Truncate(24*time.Hour), nil, anonymousActor
	}
	responseID := id.New(at)
	props := map[string]any{}
	for qid, a := range clean {
		switch {
		case a.OptionIDs != nil:
			props[qid] = a.OptionIDs
		case a.Text == "":
			props[qid] = a.Scale
		}
	}
	return s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO survey_respondents (survey_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sv.ID, p.MemberID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errAlreadyResponded()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO survey_responses (id, survey_id, member_id, created_at) VALUES ($1, $2, $3, $4)`,
			responseID, sv.ID, member, db.Now(at)); err != nil {
			return err
		}
		for _, q := range sv.Questions {
			a, ok := clean[q.ID]
			if !ok {
				continue
			}
			switch q.Kind {
			case Single, Multiple:
				for _, oid := range a.OptionIDs {
					if _, err := tx.ExecContext(ctx, `INSERT INTO survey_answers (response_id, survey_id, question_id, option_id) VALUES ($1, $2, $3, $4)`,
						responseID, sv.ID, q.ID, oid); err != nil {
						return err
					}
				}
			case Text:
				if _, err := tx.ExecContext(ctx, `INSERT INTO survey_answers (response_id, survey_id, question_id, text) VALUES ($1, $2, $3, $4)`,
					responseID, sv.ID, q.ID, a.Text); err != nil {
					return err
				}
			case Scale:
				if _, err := tx.ExecContext(ctx, `INSERT INTO survey_answers (response_id, survey_id, question_id, scale) VALUES ($1, $2, $3, $4)`,
					responseID, sv.ID, q.ID, a.Scale); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE surveys SET responses = responses + 1 WHERE id = $1`, sv.ID); err != nil {
			return err
		}
		// Never free text: events reach analytics and connectors.
		return s.outbox.Emit(ctx, tx, event.Community("Survey Responded", actor, now, map[string]any{
			"survey_id": sv.ID, "post_id": sv.PostID, "space_id": sv.SpaceID, "answers": props,
		}))
	})
}

func errAlreadyResponded() error {
	return errs.Because(errs.Conflict("", "you have already responded"), "already_responded")
}
