package kb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Service)(nil)

// ExportSubject returns the help center articles the subject wrote as staff.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.MemberIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.MemberIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+articleCols+` FROM kb_articles WHERE author_id `+in+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting articles: %w", err)
	}
	defer rows.Close()
	list, err := scanArticles(rows)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []Article{}
	}
	return []dsr.Table{{Name: "articles_written", Rows: list}}, nil
}

// EraseSubject keeps the articles the subject wrote, which are the community's help, with the
// tombstone as author.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	for _, m := range e.MemberIDs {
		if _, err := tx.ExecContext(ctx, `UPDATE kb_articles SET author_id = $2 WHERE author_id = $1`, m, e.Tombstone); err != nil {
			return fmt.Errorf("erasing article authors: %w", err)
		}
	}
	return nil
}
