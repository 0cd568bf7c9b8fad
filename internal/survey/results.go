package survey

import (
	"context"
	"math"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// Results are the counted responses of a survey.
type Results struct {
	SurveyID  string           `json:"survey_id"`
	Total     int              `json:"total"` // responses
	Questions []QuestionResult `json:"questions"`
}

// QuestionResult is what the responses say about one question.
type QuestionResult struct {
	QuestionID string         `json:"question_id"`
	Kind       string         `json:"kind"`
	Prompt     string         `json:"prompt"`
	Answered   int            `json:"answered"`          // responses that answered this question
	Options    []OptionResult `json:"options,omitempty"` // single and multiple
	Texts      []TextAnswer   `json:"texts,omitempty"`   // text, newest first, at most maxTextAnswers
	Scale      *ScaleResult   `json:"scale,omitempty"`   // scale
}

// OptionResult is how often an option was chosen. Percent is of the responses that answered the
// question, so for a multiple-choice question the percentages may add up to more than 100.
type OptionResult struct {
	ID      string  `json:"id"`
	Label   string  `json:"label"`
	Count   int     `json:"count"`
	Percent float64 `json:"percent"` // rounded to one decimal
}

// TextAnswer is one free-text answer. MemberID and At are empty for anonymous surveys.
type TextAnswer struct {
	Text     string     `json:"text"`
	MemberID string     `json:"member_id,omitempty"`
	At       *time.Time `json:"at,omitempty"`
}

// ScaleResult sums up the answers to a scale question.
type ScaleResult struct {
	Min       int     `json:"min"`
	Max       int     `json:"max"`
	Average   float64 `json:"average"`   // rounded to two decimals; 0 without answers
	Histogram []int   `json:"histogram"` // Histogram[i] answers chose Min+i
}

// maxTextAnswers bounds the text answers Results returns per question.
const maxTextAnswers = 500

// Results counts a survey's responses. A poll's results are open to everyone who sees its post
// once they have voted or the poll has closed, and always to the post's author, its moderators and
// staff; a standalone survey's results only to staff (PermManageCommunity, PermManageMarketing or
// PermViewAnalytics). Text answers are for staff only.
func (s *Service) Results(ctx context.Context, p accounts.Principal, surveyID string) (Results, error) {
	sv, post, err := s.load(ctx, p, surveyID)
	if err != nil {
		return Results{}, err
	}
	if sv.Poll() {
		mine := p.MemberID != "" && post.Author.ID == p.MemberID
		if !sv.Responded && !sv.Closed(s.now()) && !mine && !post.CanModerate && !analyst(p) {
			return Results{}, errs.Because(errs.Forbidden("vote to see the results"), "results_after_vote")
		}
	} else if !analyst(p) {
		if err := accounts.Authorize(p, accounts.PermViewAnalytics); err != nil {
			return Results{}, err
		}
	}
	res := Results{SurveyID: sv.ID, Total: sv.Responses, Questions: make([]QuestionResult, len(sv.Questions))}
	byID := map[string]*QuestionResult{}
	for i, q := range sv.Questions {
		qr := &res.Questions[i]
		*qr = QuestionResult{QuestionID: q.ID, Kind: q.Kind, Prompt: q.Prompt}
		switch q.Kind {
		case Single, Multiple:
			qr.Options = make([]OptionResult, len(q.Options))
			for j, o := range q.Options {
				qr.Options[j] = OptionResult{ID: o.ID, Label: o.Label}
			}
		case Scale:
			qr.Scale = &ScaleResult{Min: q.ScaleMin, Max: q.ScaleMax, Histogram: make([]int, q.ScaleMax-q.ScaleMin+1)}
		case Text:
			qr.Texts = []TextAnswer{}
		}
		byID[q.ID] = qr
	}
	if err := s.countAnswered(ctx, sv.ID, byID); err != nil {
		return Results{}, err
	}
	if err := s.countOptions(ctx, sv.ID, byID); err != nil {
		return Results{}, err
	}
	if err := s.countScales(ctx, sv.ID, byID); err != nil {
		return Results{}, err
	}
	if analyst(p) {
		if err := s.texts(ctx, sv, byID); err != nil {
			return Results{}, err
		}
	}
	for i := range res.Questions {
		qr := &res.Questions[i]
		for j := range qr.Options {
			if qr.Answered > 0 {
				qr.Options[j].Percent = round(100*float64(qr.Options[j].Count)/float64(qr.Answered), 1)
			}
		}
	}
	return res, nil
}

func round(x float64, decimals int) float64 {
	f := math.Pow(10, float64(decimals))
	return math.Round(x*f) / f
}

func (s *Service) countAnswered(ctx context.Context, surveyID string, byID map[string]*QuestionResult) error {
	rows, err := s.db.R.QueryContext(ctx, `SELECT question_id, count(DISTINCT response_id) FROM survey_answers WHERE survey_id = $1 GROUP BY question_id`, surveyID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var qid string
		var n int
		if err := rows.Scan(&qid, &n); err != nil {
			return err
		}
		if qr := byID[qid]; qr != nil {
			qr.Answered = n
		}
	}
	return rows.Err()
}

func (s *Service) countOptions(ctx context.Context, surveyID string, byID map[string]*QuestionResult) error {
	rows, err := s.db.R.QueryContext(ctx, `SELECT question_id, option_id, count(*) FROM survey_answers WHERE survey_id = $1 AND option_id <> '' GROUP BY question_id, option_id`, surveyID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var qid, oid string
		var n int
		if err := rows.Scan(&qid, &oid, &n); err != nil {
			return err
		}
		if qr := byID[qid]; qr != nil {
			for j := range qr.Options {
				if qr.Options[j].ID == oid {
					qr.Options[j].Count = n
				}
			}
		}
	}
	return rows.Err()
}

func (s *Service) countScales(ctx context.Context, surveyID string, byID map[string]*QuestionResult) error {
	rows, err := s.db.R.QueryContext(ctx, `SELECT question_id, scale, count(*) FROM survey_answers WHERE survey_id = $1 AND scale IS NOT NULL GROUP BY question_id, scale`, surveyID)
	if err != nil {
		return err
	}
	defer rows.Close()
	sums := map[string][2]int{} // question id → total of the numbers chosen, answers
	for rows.Next() {
		var qid string
		var v, n int
		if err := rows.Scan(&qid, &v, &n); err != nil {
			return err
		}
		qr := byID[qid]
		if qr == nil || qr.Scale == nil || v < qr.Scale.Min || v > qr.Scale.Max {
			continue
		}
		qr.Scale.Histogram[v-qr.Scale.Min] += n
		sum := sums[qid]
		sums[qid] = [2]int{sum[0] + v*n, sum[1] + n}
	}
	for qid, sum := range sums {
		if sum[1] > 0 {
			byID[qid].Scale.Average = round(float64(sum[0])/float64(sum[1]), 2)
		}
	}
	return rows.Err()
}

// texts loads the newest text answers of each text question; for anonymous surveys without who
// gave them or when.
func (s *Service) texts(ctx context.Context, sv Survey, byID map[string]*QuestionResult) error {
	rows, err := s.db.R.QueryContext(ctx, `SELECT a.question_id, a.text, coalesce(r.member_id, ''), r.created_at FROM survey_answers a
		JOIN survey_responses r ON r.id = a.response_id WHERE a.survey_id = $1 AND a.text <> '' ORDER BY r.id DESC`, sv.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var qid, text, member string
		var at int64
		if err := rows.Scan(&qid, &text, &member, &at); err != nil {
			return err
		}
		qr := byID[qid]
		if qr == nil || len(qr.Texts) >= maxTextAnswers {
			continue
		}
		ta := TextAnswer{Text: text}
		if !sv.Anonymous {
			t := db.Time(at)
			ta.MemberID, ta.At = member, &t
		}
		qr.Texts = append(qr.Texts, ta)
	}
	return rows.Err()
}
