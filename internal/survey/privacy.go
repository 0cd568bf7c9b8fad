package survey

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Service)(nil)

// answerExport is one answer of the subject's to a question.
type answerExport struct {
	SurveyID    string    `json:"survey_id"`
	SurveyTitle string    `json:"survey_title"`
	ResponseID  string    `json:"response_id"`
	RespondedAt time.Time `json:"responded_at"`
	Question    string    `json:"question"`
	Answer      any       `json:"answer"` // the option's label, the text or the number
}

// respondedExport is a survey the subject responded to; for an anonymous survey it is all that
// links them to it: their answers were never kept with their name.
type respondedExport struct {
	SurveyID    string `json:"survey_id"`
	SurveyTitle string `json:"survey_title"`
	Anonymous   bool   `json:"anonymous"`
}

// ExportSubject returns the subject's answers to surveys and polls that are not anonymous, and
// the list of every survey they responded to.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.MemberIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.MemberIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT r.id, r.created_at, s.id, s.title, s.questions, a.question_id, a.option_id, a.scale, a.text
		FROM survey_responses r JOIN surveys s ON s.id = r.survey_id JOIN survey_answers a ON a.response_id = r.id
		WHERE r.member_id `+in+` ORDER BY r.id, a.question_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting survey answers: %w", err)
	}
	answers := []answerExport{}
	for rows.Next() {
		var a answerExport
		var at int64
		var questions, qid, option, text string
		var scale sql.NullInt64
		if err := rows.Scan(&a.ResponseID, &at, &a.SurveyID, &a.SurveyTitle, &questions, &qid, &option, &scale, &text); err != nil {
			rows.Close()
			return nil, err
		}
		a.RespondedAt = db.Time(at)
		var qs []Question
		if err := json.Unmarshal([]byte(questions), &qs); err != nil {
			rows.Close()
			return nil, err
		}
		a.Question = qid
		switch {
		case option != "":
			a.Answer = option
		case scale.Valid:
			a.Answer = scale.Int64
		default:
			a.Answer = text
		}
		for _, q := range qs {
			if q.ID != qid {
				continue
			}
			a.Question = q.Prompt
			for _, o := range q.Options {
				if o.ID == option {
					a.Answer = o.Label
				}
			}
		}
		answers = append(answers, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.R.QueryContext(ctx, `SELECT s.id, s.title, s.anonymous FROM survey_respondents r JOIN surveys s ON s.id = r.survey_id
		WHERE r.member_id `+in+` ORDER BY s.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting surveys responded to: %w", err)
	}
	defer rows.Close()
	responded := []respondedExport{}
	for rows.Next() {
		var r respondedExport
		var anon int
		if err := rows.Scan(&r.SurveyID, &r.SurveyTitle, &anon); err != nil {
			return nil, err
		}
		r.Anonymous = anon == 1
		responded = append(responded, r)
	}
	return []dsr.Table{{Name: "survey_answers", Rows: answers}, {Name: "surveys_responded", Rows: responded}}, rows.Err()
}

// EraseSubject deletes the subject's answers to surveys and polls that are not anonymous (the
// results count one response fewer) and the record of which surveys they responded to.
// Responses to anonymous surveys were never linked to them and stay in the results. Surveys they
// created name the tombstone as creator.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.MemberIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.MemberIDs, 1)
	for _, q := range []string{
		`UPDATE surveys SET responses = responses - (SELECT count(*) FROM survey_responses r WHERE r.survey_id = surveys.id AND r.member_id ` + in + `)
			WHERE id IN (SELECT survey_id FROM survey_responses WHERE member_id ` + in + `)`,
		`DELETE FROM survey_answers WHERE response_id IN (SELECT id FROM survey_responses WHERE member_id ` + in + `)`,
		`DELETE FROM survey_responses WHERE member_id ` + in,
		`DELETE FROM survey_respondents WHERE member_id ` + in,
	} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("erasing survey responses: %w", err)
		}
	}
	for _, m := range e.MemberIDs {
		if _, err := tx.ExecContext(ctx, `UPDATE surveys SET created_by = $2 WHERE created_by = $1`, m, e.Tombstone); err != nil {
			return err
		}
	}
	return nil
}
