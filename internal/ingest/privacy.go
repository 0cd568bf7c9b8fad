package ingest

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Sources)(nil)

// ExportSubject exports nothing: sources are the community's, not the person's.
func (s *Sources) ExportSubject(context.Context, dsr.Subject) ([]dsr.Table, error) { return nil, nil }

// EraseSubject names the tombstone as the creator of sources the subject created as staff.
func (s *Sources) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	for _, m := range e.MemberIDs {
		if _, err := tx.ExecContext(ctx, `UPDATE sources SET created_by = $2 WHERE created_by = $1`, m, e.Tombstone); err != nil {
			return fmt.Errorf("erasing source creators: %w", err)
		}
	}
	return nil
}
