package search

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Index)(nil)

// ExportSubject exports nothing: the index holds copies of what other parts export.
func (ix *Index) ExportSubject(context.Context, dsr.Subject) ([]dsr.Table, error) { return nil, nil }

// EraseSubject removes the subject's member entries (their name and bio) and gives the entries
// of what they wrote that the community keeps the tombstone as author. Entries of content the
// community removes go with it (Delete, in the community's erasure).
func (ix *Index) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	if len(e.MemberIDs) == 0 {
		return nil
	}
	in, args := db.InList(e.MemberIDs, 2)
	if _, err := tx.ExecContext(ctx, `DELETE FROM search_docs WHERE kind = $1 AND id `+in, append([]any{KindMember}, args...)...); err != nil {
		return fmt.Errorf("erasing member search entries: %w", err)
	}
	for _, m := range e.MemberIDs {
		if _, err := tx.ExecContext(ctx, `UPDATE search_docs SET author_id = $2 WHERE author_id = $1`, m, e.Tombstone); err != nil {
			return fmt.Errorf("erasing search authors: %w", err)
		}
	}
	return nil
}
