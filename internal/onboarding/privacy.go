package onboarding

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Service)(nil)

// answerExport is one onboarding answer in a data-subject export.
type answerExport struct {
	Question   string    `json:"question"`
	Key        string    `json:"key"`
	Choices    string    `json:"choices"`
	Text       string    `json:"text"`
	Scale      *int64    `json:"scale"`
	AnsweredAt time.Time `json:"answered_at"`
}

// ExportSubject returns the subject's onboarding answers.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.MemberIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.MemberIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT q.prompt_ja, q.key, a.choices, a.text, a.scale, a.answered_at
		FROM onboarding_answers a JOIN onboarding_questions q ON q.id = a.question_id WHERE a.member_id `+in+` ORDER BY q.position`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting onboarding answers: %w", err)
	}
	defer rows.Close()
	out := []answerExport{}
	for rows.Next() {
		var a answerExport
		var scale sql.NullInt64
		var at int64
		if err := rows.Scan(&a.Question, &a.Key, &a.Choices, &a.Text, &scale, &at); err != nil {
			return nil, err
		}
		if scale.Valid {
			a.Scale = &scale.Int64
		}
		a.Choices = strings.ReplaceAll(a.Choices, ",", ", ")
		a.AnsweredAt = db.Time(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return []dsr.Table{{Name: "onboarding_answers", Rows: out}}, nil
}

// EraseSubject deletes the subject's onboarding answers.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.MemberIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.MemberIDs, 1)
	if _, err := tx.ExecContext(ctx, `DELETE FROM onboarding_answers WHERE member_id `+in, args...); err != nil {
		return fmt.Errorf("erasing onboarding answers: %w", err)
	}
	return nil
}
